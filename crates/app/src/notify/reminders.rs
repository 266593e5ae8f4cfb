//! Payment reminders (product §8.6): "Subscription Expiring Soon" on the configured days before a
//! customer's paid time ends. Pay-as-you-go customers only: permanent customers never expire, and
//! a running gateway subscription renews by itself. Each reminder is keyed by customer, end of
//! coverage and day, so a restart or a second pass never repeats one, and a renewal (which moves
//! the end of coverage) silences the reminders of the old end.

use super::{Notice, date, money};
use crate::{App, AppError};
use boxoffice_store::notifications as store;

pub const REMINDERS_JOB: &str = "notify.reminders";
const DAY: i64 = 86_400;

/// The configured days, largest first, ignoring anything that is not a positive whole number.
pub fn days_prior(raw: &str) -> Vec<i64> {
    let mut days: Vec<i64> = raw
        .split(',')
        .filter_map(|d| d.trim().parse().ok())
        .filter(|d| *d > 0)
        .collect();
    days.sort_unstable_by(|a, b| b.cmp(a));
    days.dedup();
    days
}

/// The reminder due for coverage ending in `left` seconds: the smallest configured day that
/// still covers it, so a customer found late gets the latest reminder only, not every missed one.
pub fn due_day(days: &[i64], left: i64) -> Option<i64> {
    days.iter().copied().filter(|d| left <= d * DAY).min()
}

impl App {
    /// Queues the reminders due now; answers how many customers were reminded.
    pub async fn run_reminders(&self) -> Result<usize, AppError> {
        let settings = self.settings().await?;
        if !settings.bool("reminders.enabled") {
            return Ok(0);
        }
        let days = days_prior(settings.get("reminders.days_prior"));
        let Some(max) = days.first().copied() else {
            return Ok(0);
        };
        let now = self.now();
        let renew = settings.account_url();
        let batch = self
            .notice_batch(self.db.ex(), "subscription_expiring_soon")
            .await?;
        if !batch.reaches_anyone() {
            return Ok(0);
        }
        let mut reminded = 0;
        for c in store::reminder_candidates(self.db.ex(), now, now + max * DAY).await? {
            if !c.subscription_id.is_empty() {
                continue;
            }
            let left = c.covered_until - now;
            let Some(day) = due_day(&days, left) else {
                continue;
            };
            let days_left = (left + DAY - 1) / DAY;
            let notice = Notice::to_customer("subscription_expiring_soon", c.customer_id)
                .with("plan_name", c.plan_name)
                .with("plan_cost", money(c.cost_minor, &c.currency))
                .with("expiration_date", date(c.covered_until))
                .with("days_left", days_left.to_string())
                .with("renew_url", renew.clone())
                .once(format!(
                    "reminder:{}:{}:{day}",
                    c.customer_id, c.covered_until
                ));
            let mut tx = self.db.begin().await?;
            let queued = self.queue_notice(tx.ex(), &batch, notice).await?;
            tx.commit().await?;
            if queued > 0 {
                reminded += 1;
            }
        }
        Ok(reminded)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_prior_reads_the_setting_largest_first() {
        assert_eq!(days_prior("1,3"), vec![3, 1]);
        assert_eq!(days_prior(" 7, 3 ,1,3,x,0"), vec![7, 3, 1]);
        assert!(days_prior("").is_empty());
    }

    #[test]
    fn the_latest_applicable_reminder_is_the_one_due() {
        let days = [3, 1];
        assert_eq!(due_day(&days, 4 * DAY), None);
        assert_eq!(due_day(&days, 3 * DAY), Some(3));
        assert_eq!(due_day(&days, 2 * DAY), Some(3));
        assert_eq!(due_day(&days, DAY), Some(1));
        assert_eq!(due_day(&days, 60), Some(1));
    }
}
