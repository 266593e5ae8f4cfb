//! The admin dashboard (product: "numbers first"): customers by status, this month's revenue, each
//! server's fill, the latest administrator events and notifications. Each part is read only when
//! the caller may see it.

use crate::{App, AppError};
use boxoffice_store::admin_events::{self, AdminEventRow};
use boxoffice_store::dashboard::{self as store, CustomerCounts};
use boxoffice_store::notifications::{LogFilter, NotificationRow};

/// "Expiring soon" on the dashboard: within this many days.
pub const EXPIRING_DAYS: i64 = 7;

/// One server's place on the dashboard.
#[derive(Debug, Clone)]
pub struct ServerFill {
    pub id: i64,
    pub name: String,
    pub platform: boxoffice_domain::platform::Platform,
    pub enabled: bool,
    /// Shares that are not removed.
    pub users: i64,
    /// 0 means no limit.
    pub max_users: i64,
    pub last_synced_at: Option<i64>,
    pub last_error: Option<String>,
}

/// One month's total for the dashboard's chart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonthTotal {
    pub label: String,
    pub minor: i64,
}

/// Midnight UTC on the first day of the month `back` months before the one holding `now`
/// (negative: after it).
fn month_start(now: i64, back: i32) -> time::OffsetDateTime {
    let d = time::OffsetDateTime::from_unix_timestamp(now)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        .date();
    let index = d.year() * 12 + i32::from(u8::from(d.month())) - 1 - back;
    let (year, month0) = (index.div_euclid(12), index.rem_euclid(12));
    let month = u8::try_from(month0 + 1)
        .ok()
        .and_then(|m| time::Month::try_from(m).ok())
        .unwrap_or(time::Month::January);
    time::Date::from_calendar_date(year, month, 1)
        .unwrap_or(d)
        .midnight()
        .assume_utc()
}

impl App {
    pub async fn dashboard_customers(&self) -> Result<CustomerCounts, AppError> {
        let now = self.now();
        Ok(store::customer_counts(self.db.ex(), now, now + EXPIRING_DAYS * 86_400).await?)
    }

    /// Revenue per currency since the first day of the current month (UTC).
    pub async fn dashboard_revenue_this_month(&self) -> Result<Vec<(String, i64)>, AppError> {
        let first = month_start(self.now(), 0);
        Ok(store::revenue_since(self.db.ex(), first.unix_timestamp()).await?)
    }

    /// The payments in `currency` received in each of the last `months` calendar months (UTC),
    /// oldest first, with the month's name ("Mar 2026"); the current month is the last.
    pub async fn dashboard_revenue_by_month(
        &self,
        currency: &str,
        months: u8,
    ) -> Result<Vec<MonthTotal>, AppError> {
        let now = self.now();
        let mut out = Vec::with_capacity(usize::from(months));
        for back in (0..i32::from(months)).rev() {
            let from = month_start(now, back);
            let to = month_start(now, back - 1);
            let minor = store::revenue_between(
                self.db.ex(),
                currency,
                from.unix_timestamp(),
                to.unix_timestamp(),
            )
            .await?;
            out.push(MonthTotal {
                label: format!("{} {}", &from.month().to_string()[..3], from.year()),
                minor,
            });
        }
        Ok(out)
    }

    pub async fn dashboard_servers(&self) -> Result<Vec<ServerFill>, AppError> {
        let servers = boxoffice_store::servers::list(self.db.ex()).await?;
        let counts = store::shares_per_server(self.db.ex()).await?;
        Ok(servers
            .into_iter()
            .map(|s| ServerFill {
                users: counts
                    .iter()
                    .find(|(id, _)| *id == s.id)
                    .map_or(0, |(_, n)| *n),
                id: s.id,
                name: s.name,
                platform: s.platform,
                enabled: s.enabled,
                max_users: s.max_users,
                last_synced_at: s.last_synced_at,
                last_error: s.last_error,
            })
            .collect())
    }

    pub async fn dashboard_events(&self, limit: i64) -> Result<Vec<AdminEventRow>, AppError> {
        Ok(admin_events::list(self.db.ex(), None, limit).await?)
    }

    pub async fn dashboard_notifications(
        &self,
        limit: i64,
    ) -> Result<Vec<NotificationRow>, AppError> {
        self.notification_log(&LogFilter {
            customer_id: None,
            event: None,
            status: None,
            before_id: None,
            limit,
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::month_start;

    #[test]
    fn month_starts_step_back_across_a_year() {
        // 2026-01-15 12:00 UTC
        let now = 1_768_478_400;
        let fmt = |b| {
            let t = month_start(now, b);
            (t.year(), u8::from(t.month()), t.day(), t.hour())
        };
        assert_eq!(fmt(0), (2026, 1, 1, 0));
        assert_eq!(fmt(1), (2025, 12, 1, 0));
        assert_eq!(fmt(13), (2024, 12, 1, 0));
        assert_eq!(fmt(-1), (2026, 2, 1, 0));
    }
}
