//! Payments seen as coverage periods: whether a user is active, until when, and where a renewal
//! starts (operations §3.1, README essential 1).
//!
//! A payment covers the half-open interval `[from, to)` in unix seconds [INF, operations §3.1]: when
//! one payment ends exactly where the next begins, the shared instant belongs to the next one only,
//! so back-to-back payments neither overlap nor leave a gap. A period with `to ≤ from` covers
//! nothing (a plan change ends a payment "now", which may be its start).

use crate::plans::{OutOfRange, PlanDuration};
use serde::{Deserialize, Serialize};

/// The half-open interval `[from, to)` one payment covers, in unix seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Period {
    pub from: i64,
    pub to: i64,
}

impl Period {
    pub fn new(from: i64, to: i64) -> Self {
        Self { from, to }
    }

    /// Whether `t` lies in `[from, to)`.
    pub fn contains(&self, t: i64) -> bool {
        self.from <= t && t < self.to
    }

    pub fn is_empty(&self) -> bool {
        self.to <= self.from
    }

    /// Length in seconds; 0 for an empty period.
    pub fn len_secs(&self) -> i64 {
        self.to.saturating_sub(self.from).max(0)
    }

    /// Whether the two periods share at least one instant.
    pub fn overlaps(&self, other: &Period) -> bool {
        !self.is_empty() && !other.is_empty() && self.from < other.to && other.from < self.to
    }
}

/// Operations §3.1: permanent users are always active; others are active while some payment
/// covers `now`. A payment for a later period does not make the user active before it starts.
pub fn is_active(permanent: bool, periods: &[Period], now: i64) -> bool {
    permanent || periods.iter().any(|p| p.contains(now))
}

/// The latest instant any payment covers (the end of the last non-empty period), or `None` when no
/// payment covers anything. Pre-paid future periods count: a renewal goes after them.
pub fn coverage_end(periods: &[Period]) -> Option<i64> {
    periods.iter().filter(|p| !p.is_empty()).map(|p| p.to).max()
}

/// Until when the user stays active without a further payment: the end of the unbroken run of
/// periods (overlapping or back to back) that covers `now`; `None` when `now` is not covered.
/// This is the "expires on" shown to the user; reminders are due relative to it.
pub fn covered_until(periods: &[Period], now: i64) -> Option<i64> {
    let mut end = periods
        .iter()
        .filter(|p| p.contains(now))
        .map(|p| p.to)
        .max()?;
    // Each pass extends the run by any period that starts inside it; at most one pass per period.
    loop {
        let next = periods
            .iter()
            .filter(|p| !p.is_empty() && p.from <= end && p.to > end)
            .map(|p| p.to)
            .max();
        match next {
            Some(t) => end = t,
            None => return Some(end),
        }
    }
}

/// Where a renewal's coverage starts: `max(now, coverage end)` [INF, operations §3.1], so paying
/// early never loses the days already paid for, and paying late does not back-date access.
pub fn renewal_start(now: i64, periods: &[Period]) -> i64 {
    coverage_end(periods).map_or(now, |end| end.max(now))
}

/// The period `quantity` plan periods long starting at `start` (operations §6.17: Quantity × plan
/// duration). A quantity of 0 gives an empty period.
pub fn extend(start: i64, duration: PlanDuration, quantity: u32) -> Result<Period, OutOfRange> {
    Ok(Period::new(start, duration.add_to(start, quantity)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const DAY: i64 = 86_400;

    #[test]
    fn a_permanent_user_is_active_without_payments() {
        assert!(is_active(true, &[], 0));
        assert!(!is_active(false, &[], 0));
    }

    #[test]
    fn a_payment_covers_its_start_but_not_its_end() {
        let p = [Period::new(100, 200)];
        assert!(!is_active(false, &p, 99));
        assert!(is_active(false, &p, 100));
        assert!(is_active(false, &p, 199));
        assert!(!is_active(false, &p, 200));
    }

    #[test]
    fn a_future_payment_does_not_make_a_user_active_early() {
        let p = [Period::new(0, 10), Period::new(20, 30)];
        assert!(!is_active(false, &p, 15));
        assert_eq!(covered_until(&p, 5), Some(10));
        assert_eq!(coverage_end(&p), Some(30));
    }

    #[test]
    fn back_to_back_payments_cover_without_a_gap() {
        let p = [Period::new(0, 10), Period::new(10, 20), Period::new(15, 40)];
        assert_eq!(covered_until(&p, 3), Some(40));
        assert!(is_active(false, &p, 10));
    }

    #[test]
    fn a_renewal_starts_at_the_end_of_current_coverage() {
        let now = 1_000;
        let p = [Period::new(0, now + 5 * DAY)];
        assert_eq!(renewal_start(now, &p), now + 5 * DAY);
        let r = extend(renewal_start(now, &p), PlanDuration::Days(30), 1).unwrap();
        assert_eq!(r, Period::new(now + 5 * DAY, now + 35 * DAY));
    }

    #[test]
    fn a_renewal_after_expiry_starts_now() {
        let p = [Period::new(0, 500)];
        assert_eq!(renewal_start(1_000, &p), 1_000);
        assert_eq!(renewal_start(1_000, &[]), 1_000);
        assert_eq!(renewal_start(1_000, &[Period::new(2_000, 2_000)]), 1_000);
    }

    #[test]
    fn a_quantity_buys_that_many_periods() {
        assert_eq!(
            extend(0, PlanDuration::Days(30), 3).unwrap(),
            Period::new(0, 90 * DAY)
        );
        assert!(extend(0, PlanDuration::Days(30), 0).unwrap().is_empty());
    }

    fn periods() -> impl Strategy<Value = Vec<Period>> {
        prop::collection::vec(
            (0i64..1_000, 0i64..300).prop_map(|(f, l)| Period::new(f, f + l)),
            0..6,
        )
    }

    proptest! {
        #[test]
        fn active_exactly_when_some_payment_covers_now(ps in periods(), now in -10i64..1_400) {
            let by_scan = ps.iter().any(|p| p.from <= now && now < p.to);
            prop_assert_eq!(is_active(false, &ps, now), by_scan);
            prop_assert_eq!(covered_until(&ps, now).is_some(), by_scan);
            prop_assert!(is_active(true, &ps, now));
        }

        #[test]
        fn covered_until_is_reached_without_a_gap(ps in periods(), now in 0i64..1_400) {
            if let Some(end) = covered_until(&ps, now) {
                prop_assert!(end > now);
                for t in now..end {
                    prop_assert!(is_active(false, &ps, t));
                }
                prop_assert!(!is_active(false, &ps, end));
            }
        }

        #[test]
        fn a_renewal_never_overlaps_paid_coverage_nor_starts_in_the_past(
            ps in periods(), now in 0i64..1_400, days in 1u32..60, q in 1u32..4,
        ) {
            let start = renewal_start(now, &ps);
            prop_assert!(start >= now);
            let r = extend(start, PlanDuration::Days(days), q).unwrap();
            prop_assert_eq!(r.len_secs(), i64::from(days * q) * DAY);
            prop_assert!(ps.iter().all(|p| !p.overlaps(&r)));
            // An active user stays active through the renewal when coverage runs up to it.
            if covered_until(&ps, now) == coverage_end(&ps) && is_active(false, &ps, now) {
                prop_assert_eq!(start, coverage_end(&ps).unwrap());
            }
        }
    }
}
