//! Reading the notification log: what was told to whom, and how delivery went.

use crate::{App, AppError};
use boxoffice_store::notifications::{self as store, LogFilter, NotificationRow};

/// The most rows one page of the log shows.
pub const LOG_PAGE_MAX: i64 = 200;

impl App {
    /// Newest first; `filter.before_id` pages to older rows. The limit is capped at
    /// [`LOG_PAGE_MAX`] so no caller can ask for the whole table at once.
    pub async fn notification_log(
        &self,
        filter: &LogFilter,
    ) -> Result<Vec<NotificationRow>, AppError> {
        let f = LogFilter {
            limit: filter.limit.clamp(1, LOG_PAGE_MAX),
            ..filter.clone()
        };
        Ok(store::log(self.db.ex(), &f).await?)
    }
}
