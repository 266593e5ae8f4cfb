//! The Site logins list, and ending the sessions of a login other than one's own (a lost phone,
//! a member of staff who left, a role just taken away).

use crate::audit::Actor;
use crate::{App, AppError};
use boxoffice_store::logins::{self, LoginSummary};
use boxoffice_store::sessions;

/// The most logins one page lists; a search narrows it.
pub const LIST_LIMIT: i64 = 200;

impl App {
    pub async fn site_logins(&self, search: &str) -> Result<Vec<LoginSummary>, AppError> {
        Ok(logins::summaries(self.db.ex(), search, LIST_LIMIT).await?)
    }

    pub async fn site_login(&self, id: i64) -> Result<logins::Login, AppError> {
        logins::find(self.db.ex(), id)
            .await
            .map_err(AppError::not_found_as("login"))
    }

    /// Ends every session of a login: its next request goes to the login page. API tokens are
    /// not sessions and stay (revoke them separately). Returns how many ended.
    pub async fn end_sessions_of(&self, actor: &Actor, login_id: i64) -> Result<u64, AppError> {
        let mut tx = self.db.begin().await?;
        let login = logins::find(tx.ex(), login_id)
            .await
            .map_err(AppError::not_found_as("login"))?;
        let n = sessions::delete_all_for_login(tx.ex(), login.id).await?;
        self.audit(
            tx.ex(),
            actor,
            "logout.ended_by_staff",
            &login.email,
            &format!("{n} sessions ended"),
        )
        .await?;
        tx.commit().await?;
        Ok(n)
    }
}
