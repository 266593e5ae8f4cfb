//! Request-app jobs: one customer's sync (enqueued by activation, renewal, plan change, expiry
//! and "Sync now") and the daily pass that repairs drift.

use crate::{JobError, Recurring, Registry};
use boxoffice_app::request_apps::{SYNC_CUSTOMER_JOB, SYNC_JOB};

pub fn register(r: &mut Registry) {
    r.handle(SYNC_CUSTOMER_JOB, |app, ctx| async move {
        let Some(id) = ctx.payload["customer_id"].as_i64() else {
            return Err(JobError::Fail(format!(
                "payload has no customer_id: {}",
                ctx.payload
            )));
        };
        let report = app.sync_customer_request_apps(id).await?;
        tracing::info!(customer_id = id, synced = ?report.synced, failed = report.failures.len(), "request-app sync");
        if report.failures.is_empty() {
            return Ok(());
        }
        let message = report
            .failures
            .iter()
            .map(|f| f.message.as_str())
            .collect::<Vec<_>>()
            .join("; ");
        // Any transient failure retries the whole sync (the apps already right are left
        // alone); only refusals that need the admin (a wrong key) park the job.
        if !report.failures.iter().any(|f| f.retryable) {
            return Err(JobError::Fail(message));
        }
        match report.failures.iter().filter_map(|f| f.retry_after_secs).max() {
            Some(after_secs) => Err(JobError::RetryAfter { message, after_secs }),
            None => Err(JobError::Retry(message)),
        }
    });
    r.handle(SYNC_JOB, |app, ctx| async move {
        let tick = ctx.payload["tick"]
            .as_str()
            .map(str::to_string)
            .or_else(|| ctx.payload["tick"].as_i64().map(|t| t.to_string()))
            .unwrap_or_else(|| ctx.id.to_string());
        let report = app.run_request_apps_sync(&tick).await?;
        tracing::info!(
            customers = report.customers,
            "daily request-app sync enqueued"
        );
        Ok::<(), JobError>(())
    })
    .every(Recurring {
        name: "request_apps_sync",
        kind: SYNC_JOB,
    });
}
