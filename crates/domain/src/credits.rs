//! Changing plan mid-period and starting the new plan now: the unused part of the current payment
//! becomes a credit that lengthens the new payment (operations §3.5 and §6.13, product §10.3,
//! README essential 12). Only boxoffice's own records change; gateways are not touched.
//!
//! **Prices per day.** The spec's formula divides the old *plan's* price by its duration. We divide
//! the old *payment's* amount by the old payment's own length instead: it is the same number for an
//! ordinary payment (30 USD over 30 days), and it stays right when the payment was discounted or was
//! itself lengthened by an earlier credit, so a credit can never exceed what was paid. The new
//! plan's daily price is its cost over the length of one period starting now (a calendar month for
//! `Months` plans). All arithmetic is in integers (i128, seconds and minor units).
//!
//! **Rounding.** The credit is rounded half-up to a whole minor unit (operations §3.5 open point),
//! and the extra time it buys is rounded half-up to a whole second. The money is conserved exactly
//! (old amount − credit + credit); the credit is within half a minor unit of the unused value.
//!
//! The alternative choice, starting the new plan when the current coverage ends, needs no credit:
//! `coverage::extend(coverage::renewal_start(now, periods), plan.duration, 1)`.

use crate::Money;
use crate::coverage::Period;
use crate::plans::{OutOfRange, Plan};
use serde::{Deserialize, Serialize};

const SECS_PER_DAY: i64 = 86_400;

/// The payment being cut short: its period and the amount it recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaidPeriod {
    pub period: Period,
    pub amount: Money,
}

/// What the plan change writes: the old payment ended and reduced, the new one created.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanChange {
    /// The old payment's period, now ending at the change (unchanged if it had already ended).
    pub old_period: Period,
    /// The old payment's amount less the credit.
    pub old_amount: Money,
    /// The unused value moved to the new payment; never negative.
    pub credit: Money,
    /// Note for the old payment.
    pub old_note: String,
    /// Starts at the change; one plan period plus `extra_secs`.
    pub new_period: Period,
    /// The new plan's cost plus the credit (operations §3.5 step 4).
    pub new_amount: Money,
    /// Time the credit bought at the new plan's daily price.
    pub extra_secs: i64,
    /// Note for the new payment.
    pub new_note: String,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PlanChangeError {
    #[error(
        "the credit is in {credit} but plan \"{plan}\" costs {cost}: a credit cannot move between currencies"
    )]
    CurrencyMismatch {
        plan: String,
        credit: String,
        cost: String,
    },
    #[error(
        "plan \"{plan}\" is free, so a credit of {credit} cannot buy time on it; let the current payment run out or refund it"
    )]
    FreePlan { plan: String, credit: String },
    #[error(transparent)]
    OutOfRange(#[from] OutOfRange),
}

/// Operations §3.5 steps 1–4 for a change that starts now. `old_plan_name` is only used in notes.
///
/// A `now` before the old payment starts (a pre-paid future period) credits all of it and leaves
/// it empty; a `now` after it ended credits nothing.
pub fn change_plan_now(
    old: &PaidPeriod,
    old_plan_name: &str,
    new_plan: &Plan,
    now: i64,
) -> Result<PlanChange, PlanChangeError> {
    let Period { from, to } = old.period;
    let cut = now.clamp(from, to.max(from));
    let remaining = i128::from(to - cut).max(0);
    let length = i128::from(old.period.len_secs());
    let paid = i128::from(old.amount.minor.max(0));
    let credit_minor = if length == 0 {
        0
    } else {
        // Half-up: floor((2·a·r + len) / (2·len)); every term is non-negative.
        (2 * paid * remaining + length) / (2 * length)
    };
    // credit ≤ paid ≤ i64::MAX because remaining ≤ length.
    let credit_minor = i64::try_from(credit_minor).unwrap_or(old.amount.minor.max(0));
    let credit = Money::new(credit_minor, old.amount.currency);

    let price = new_plan.cost.minor;
    if credit_minor > 0 && credit.currency != new_plan.cost.currency {
        return Err(PlanChangeError::CurrencyMismatch {
            plan: new_plan.name.clone(),
            credit: credit.to_string(),
            cost: new_plan.cost.to_string(),
        });
    }
    if credit_minor > 0 && price <= 0 {
        return Err(PlanChangeError::FreePlan {
            plan: new_plan.name.clone(),
            credit: credit.to_string(),
        });
    }

    let base_end = new_plan.duration.add_to(now, 1)?;
    let base_len = i128::from(base_end - now);
    let extra = if credit_minor == 0 {
        0
    } else {
        let p = i128::from(price);
        (2 * i128::from(credit_minor) * base_len + p) / (2 * p)
    };
    let extra_secs = i64::try_from(extra).map_err(|_| OutOfRange)?;
    let new_end = base_end.checked_add(extra_secs).ok_or(OutOfRange)?;
    if time::OffsetDateTime::from_unix_timestamp(new_end).is_err() {
        return Err(OutOfRange.into());
    }

    let old_period = Period::new(from, cut);
    let unused = to_days(remaining);
    let bought = to_days(i128::from(extra_secs));
    Ok(PlanChange {
        old_period,
        old_amount: Money::new(old.amount.minor - credit_minor, old.amount.currency),
        credit,
        old_note: format!(
            "Plan changed to {}: credit of {credit} for {unused} unused, moved to the new payment",
            new_plan.name
        ),
        new_period: Period::new(now, new_end),
        new_amount: Money::new(price.saturating_add(credit_minor), new_plan.cost.currency),
        extra_secs,
        new_note: format!(
            "Includes a credit of {credit} from plan {old_plan_name}, which adds {bought}"
        ),
    })
}

/// A payment for time after the change (a renewal paid ahead), moved behind the new payment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rechained {
    pub period: Period,
    /// Appended to the payment's notes.
    pub note: String,
}

/// Moves a pre-paid future payment so it starts at `start` (the end of the new payment, or of
/// the payment moved before it): the coverage of one customer never overlaps. Its amount buys
/// time at the new plan's daily price, as a credit does (operations §3.5 step 4), because the
/// customer is on the new plan when it runs; the amount itself is unchanged. A payment of nothing
/// (a free period given by hand) keeps its length.
pub fn rechain_prepaid(
    prepaid: &PaidPeriod,
    new_plan: &Plan,
    start: i64,
) -> Result<Rechained, PlanChangeError> {
    let paid = prepaid.amount.minor.max(0);
    let price = new_plan.cost.minor;
    let len = if paid == 0 {
        prepaid.period.len_secs()
    } else {
        if prepaid.amount.currency != new_plan.cost.currency {
            return Err(PlanChangeError::CurrencyMismatch {
                plan: new_plan.name.clone(),
                credit: prepaid.amount.to_string(),
                cost: new_plan.cost.to_string(),
            });
        }
        if price <= 0 {
            return Err(PlanChangeError::FreePlan {
                plan: new_plan.name.clone(),
                credit: prepaid.amount.to_string(),
            });
        }
        let base_len = i128::from(new_plan.duration.add_to(start, 1)? - start);
        let p = i128::from(price);
        i64::try_from((2 * i128::from(paid) * base_len + p) / (2 * p)).map_err(|_| OutOfRange)?
    };
    // A period is never empty (one second at least), so the payment stays a payment.
    let end = start.checked_add(len.max(1)).ok_or(OutOfRange)?;
    if time::OffsetDateTime::from_unix_timestamp(end).is_err() {
        return Err(OutOfRange.into());
    }
    let period = Period::new(start, end);
    Ok(Rechained {
        period,
        note: format!(
            "Plan changed to {}: this pre-paid period of {} moved to follow the new plan's payment, {} of {} at its price",
            new_plan.name,
            prepaid.amount,
            to_days(i128::from(period.len_secs())),
            new_plan.name,
        ),
    })
}

/// "5 days", "1 day", "4.5 days": days to one decimal, rounded half-up.
/// A length as the notes and the plan-change preview say it: "1 day", "5 days", "2.5 days".
pub fn to_days(secs: i128) -> String {
    let day = i128::from(SECS_PER_DAY);
    let tenths = (secs.max(0) * 10 + day / 2) / day;
    match (tenths / 10, tenths % 10) {
        (1, 0) => "1 day".into(),
        (d, 0) => format!("{d} days"),
        (d, t) => format!("{d}.{t} days"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plans::PlanDuration;
    use crate::plans::tests::{plan, usd};
    use proptest::prelude::*;

    const DAY: i64 = SECS_PER_DAY;

    fn paid(from: i64, to: i64, minor: i64) -> PaidPeriod {
        PaidPeriod {
            period: Period::new(from, to),
            amount: usd(minor),
        }
    }

    #[test]
    fn the_spec_example_thirty_dollars_with_five_days_left_buys_ten_days_at_fifteen() {
        // operations §3.5: 30 USD / 30 days, 5 days left → 5 USD credit; 15 USD / 30 days plan →
        // 20 USD payment lasting 30 + 10 days.
        let old = paid(0, 30 * DAY, 3000);
        let new = Plan {
            cost: usd(1500),
            duration: PlanDuration::Days(30),
            ..plan("Basic")
        };
        let c = change_plan_now(&old, "Premium", &new, 25 * DAY).unwrap();
        assert_eq!(c.old_period, Period::new(0, 25 * DAY));
        assert_eq!(c.credit, usd(500));
        assert_eq!(c.old_amount, usd(2500));
        assert_eq!(c.new_amount, usd(2000));
        assert_eq!(c.extra_secs, 10 * DAY);
        assert_eq!(c.new_period, Period::new(25 * DAY, 65 * DAY));
        assert_eq!(
            c.old_note,
            "Plan changed to Basic: credit of 5.00 USD for 5 days unused, moved to the new payment"
        );
        assert_eq!(
            c.new_note,
            "Includes a credit of 5.00 USD from plan Premium, which adds 10 days"
        );
    }

    #[test]
    fn a_credit_is_rounded_half_up_to_the_cent() {
        let new = plan("Basic");
        // 10.00 over 3 days, 1 day left: 3.333… → 3.33.
        let c = change_plan_now(&paid(0, 3 * DAY, 1000), "Old", &new, 2 * DAY).unwrap();
        assert_eq!(c.credit, usd(333));
        // 0.01 over 2 days, 1 day left: 0.005 → 0.01.
        let c = change_plan_now(&paid(0, 2 * DAY, 1), "Old", &new, DAY).unwrap();
        assert_eq!(c.credit, usd(1));
    }

    #[test]
    fn a_free_trial_leaves_no_credit() {
        let c = change_plan_now(&paid(0, 7 * DAY, 0), "Trial", &plan("Basic"), DAY).unwrap();
        assert_eq!(c.credit, usd(0));
        assert_eq!(c.extra_secs, 0);
        assert_eq!(c.new_period, Period::new(DAY, 31 * DAY));
        assert_eq!(c.new_amount, usd(1500));
    }

    #[test]
    fn an_ended_payment_credits_nothing_and_a_future_one_credits_everything() {
        let c = change_plan_now(&paid(0, 10 * DAY, 900), "Old", &plan("New"), 20 * DAY).unwrap();
        assert_eq!((c.credit, c.old_period), (usd(0), Period::new(0, 10 * DAY)));
        let c = change_plan_now(&paid(10 * DAY, 20 * DAY, 900), "Old", &plan("New"), 0).unwrap();
        assert_eq!(c.credit, usd(900));
        assert!(c.old_period.is_empty());
    }

    #[test]
    fn a_credit_cannot_move_to_a_free_plan_or_another_currency() {
        let free = Plan {
            cost: usd(0),
            ..plan("Free")
        };
        let old = paid(0, 30 * DAY, 3000);
        assert!(matches!(
            change_plan_now(&old, "Old", &free, DAY),
            Err(PlanChangeError::FreePlan { .. })
        ));
        let eur = Plan {
            cost: Money::new(1500, crate::money::Currency::parse("EUR").unwrap()),
            ..plan("Euro")
        };
        assert!(matches!(
            change_plan_now(&old, "Old", &eur, DAY),
            Err(PlanChangeError::CurrencyMismatch { .. })
        ));
    }

    #[test]
    fn monthly_plans_price_a_day_by_the_month_starting_now() {
        // February 2026 has 28 days: 28.00 for the month is 1.00 a day, so 5.00 buys 5 days.
        let feb1 = 1_769_904_000; // 2026-02-01 00:00 UTC
        let monthly = Plan {
            cost: usd(2800),
            duration: PlanDuration::Months(1),
            ..plan("Monthly")
        };
        let old = paid(feb1 - 25 * DAY, feb1 + 5 * DAY, 3000);
        let c = change_plan_now(&old, "Old", &monthly, feb1).unwrap();
        assert_eq!(c.credit, usd(500));
        assert_eq!(c.extra_secs, 5 * DAY);
        assert_eq!(c.new_period.to, feb1 + 33 * DAY);
    }

    #[test]
    fn a_prepaid_renewal_follows_the_new_payment_at_the_new_plans_price() {
        // 30.00 paid ahead for days 30..60; on a 15.00 / 30-day plan it buys 60 days.
        let new = Plan {
            cost: usd(1500),
            duration: PlanDuration::Days(30),
            ..plan("Basic")
        };
        let r = rechain_prepaid(&paid(30 * DAY, 60 * DAY, 3000), &new, 40 * DAY).unwrap();
        assert_eq!(r.period, Period::new(40 * DAY, 100 * DAY));
        assert!(r.note.contains("60 days of Basic"), "{}", r.note);
        // A free period keeps its length.
        let r = rechain_prepaid(&paid(30 * DAY, 37 * DAY, 0), &new, 40 * DAY).unwrap();
        assert_eq!(r.period, Period::new(40 * DAY, 47 * DAY));
    }

    #[test]
    fn a_prepaid_payment_cannot_move_to_a_free_plan() {
        let free = Plan {
            cost: usd(0),
            ..plan("Free")
        };
        assert!(matches!(
            rechain_prepaid(&paid(30 * DAY, 60 * DAY, 3000), &free, 40 * DAY),
            Err(PlanChangeError::FreePlan { .. })
        ));
    }

    proptest! {
        #[test]
        fn value_is_conserved_when_changing_plan(
            len in 1i64..400 * DAY,
            elapsed_frac in 0.0f64..=1.0,
            amount in 0i64..10_000_000,
            days in 1u32..400,
            price_per_day in 1i64..86_400,
        ) {
            let elapsed = (len as f64 * elapsed_frac) as i64;
            let now = 1_700_000_000 + elapsed;
            let old = PaidPeriod { period: Period::new(1_700_000_000, 1_700_000_000 + len), amount: usd(amount) };
            let price = price_per_day * i64::from(days);
            let new = Plan { cost: usd(price), duration: PlanDuration::Days(days), ..plan("New") };
            let c = change_plan_now(&old, "Old", &new, now).unwrap();

            let credit = i128::from(c.credit.minor);
            let remaining = i128::from(old.period.to - now);
            let len = i128::from(len);
            let base = i128::from(days) * i128::from(DAY);
            prop_assert!(credit >= 0, "never negative");
            prop_assert!(credit <= i128::from(amount), "never more than was paid");
            prop_assert_eq!(c.old_amount.minor + c.credit.minor, amount, "money is conserved exactly");
            prop_assert_eq!(c.new_amount.minor, price + c.credit.minor);
            prop_assert_eq!(c.old_period, Period::new(old.period.from, now));
            // The credit is the unused value to within half a minor unit.
            prop_assert!((2 * credit * len - 2 * i128::from(amount) * remaining).abs() <= len);
            // The extra time is worth the unused value to within one minor unit at the new price
            // (prices here stay below one minor unit a second, i.e. 864.00 a day).
            let extra = i128::from(c.extra_secs);
            let p = i128::from(price);
            prop_assert!((extra * p * len - i128::from(amount) * remaining * base).abs() <= base * len);
            prop_assert_eq!(c.new_period, Period::new(now, now + days as i64 * DAY + c.extra_secs));
        }
    }
}
