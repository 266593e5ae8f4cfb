//! Request apps (product §8.8, §28.2 step 8, §28.4 step 5): each customer gets an account in
//! Overseerr/Jellyseerr, Ombi and Petio with the permissions and request quotas their plan maps
//! to, disabled or deleted at expiry. The lifecycle use cases only enqueue
//! [`SYNC_CUSTOMER_JOB`] in their own transaction; the calls happen in that job, so a failing
//! request app delays the account and never the invite or share.

mod connect;
mod plan_mapping;
mod sync;
mod view;

/// Names the plan editor offers.
pub use boxoffice_requests::{OMBI_ROLES, OVERSEERR_PERMISSIONS};
pub use plan_mapping::{PlanMapping, PlanMappingInput};
pub use sync::{AppFailure, CustomerSync, DailySync};
pub use view::RequestAppAccount;

use crate::queue::JobSpec;
use crate::{App, AppError};
use boxoffice_store::Tx;
use serde_json::json;

/// Brings one customer's request-app accounts in line with their plan (payload `{"customer_id"}`).
pub const SYNC_CUSTOMER_JOB: &str = "request_apps.sync_customer";
/// The daily pass: enqueues [`SYNC_CUSTOMER_JOB`] for every customer concerned.
pub const SYNC_JOB: &str = "request_apps.sync";

/// Request-app jobs try for about a day before they are parked (backoff grows to an hour).
const SYNC_ATTEMPTS: i64 = 30;

impl App {
    /// Enqueues the request-app sync of `customer_id` in the caller's transaction when any
    /// request app is enabled. `reason` names the event so a retried use case enqueues once.
    pub async fn enqueue_request_app_sync(
        &self,
        tx: &mut Tx,
        customer_id: i64,
        reason: &str,
    ) -> Result<(), AppError> {
        // Read through the caller's transaction: on SQLite a second connection could wait on it.
        let stored = boxoffice_store::settings::all(tx.ex()).await?;
        let enabled = connect::APPS.iter().any(|app| {
            let key = format!("requests.{}.enabled", app.as_str());
            stored.iter().any(|(k, v)| *k == key && v == "true")
        });
        if !enabled {
            return Ok(());
        }
        self.enqueue(
            tx.ex(),
            JobSpec::new(SYNC_CUSTOMER_JOB, json!({ "customer_id": customer_id }))
                .key(format!("request_apps:{customer_id}:{reason}"))
                .attempts(SYNC_ATTEMPTS),
        )
        .await?;
        Ok(())
    }
}
