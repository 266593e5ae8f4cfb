//! Each customer's request-app accounts, for their page.

use crate::{App, AppError};
use boxoffice_requests::AppKind;
use boxoffice_store::request_apps;
use serde::Serialize;

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct RequestAppAccount {
    pub app: String,
    pub label: String,
    pub username: String,
    /// pending, active, disabled, deleted, failed.
    pub state: String,
    pub last_error: String,
    pub updated_at: i64,
    /// A password boxoffice set and still holds for the credentials notification.
    pub has_password: bool,
}

impl App {
    pub async fn customer_request_apps(
        &self,
        customer_id: i64,
    ) -> Result<Vec<RequestAppAccount>, AppError> {
        Ok(
            request_apps::accounts_for_customer(self.db.ex(), customer_id)
                .await?
                .into_iter()
                .map(|a| RequestAppAccount {
                    label: AppKind::parse(&a.app).map_or_else(|| a.app.clone(), |k| k.to_string()),
                    app: a.app,
                    username: a.username,
                    state: a.state,
                    last_error: a.last_error,
                    updated_at: a.updated_at,
                    has_password: !a.sealed_password.is_empty(),
                })
                .collect(),
        )
    }

    /// Whether any request app is switched on (the customer page shows the section then).
    pub async fn request_apps_enabled(&self) -> Result<bool, AppError> {
        let s = self.settings().await?;
        Ok(AppKind::ALL
            .iter()
            .any(|k| s.bool(&format!("requests.{}.enabled", k.as_str()))))
    }
}
