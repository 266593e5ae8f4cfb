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
    pub platform: String,
    pub enabled: bool,
    /// Shares that are not removed.
    pub users: i64,
    /// 0 means no limit.
    pub max_users: i64,
    pub last_synced_at: Option<i64>,
    pub last_error: Option<String>,
}

impl App {
    pub async fn dashboard_customers(&self) -> Result<CustomerCounts, AppError> {
        let now = self.now();
        Ok(store::customer_counts(self.db.ex(), now, now + EXPIRING_DAYS * 86_400).await?)
    }

    /// Revenue per currency since the first day of the current month (UTC).
    pub async fn dashboard_revenue_this_month(&self) -> Result<Vec<(String, i64)>, AppError> {
        let now = time::OffsetDateTime::from_unix_timestamp(self.now())
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
        let first = now
            .date()
            .replace_day(1)
            .unwrap_or(now.date())
            .midnight()
            .assume_utc()
            .unix_timestamp();
        Ok(store::revenue_since(self.db.ex(), first).await?)
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
