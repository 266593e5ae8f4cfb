//! Jobs of the subscription lifecycle: applying a share to its server, the hourly expiry pass,
//! and the second half of deleting a customer.

use crate::{JobError, Recurring, Registry};
use boxoffice_app::subscriptions::{CUSTOMER_DELETE_JOB, EXPIRY_JOB, SHARE_APPLY_JOB};

pub fn register(r: &mut Registry) {
    r.handle(SHARE_APPLY_JOB, |app, ctx| async move {
        let Some(id) = ctx.payload["share_id"].as_i64() else {
            return Err(JobError::Fail(format!(
                "payload has no share_id: {}",
                ctx.payload
            )));
        };
        // A media failure maps to Retry/RetryAfter when transient (5xx, 429, timeouts): the
        // share waits for its server and is never dropped.
        let done = app.apply_share(id).await?;
        tracing::info!(share_id = id, outcome = ?done, "applied share");
        Ok::<(), JobError>(())
    });
    r.handle(EXPIRY_JOB, |app, _ctx| async move {
        let report = app.run_expiry().await?;
        tracing::info!(
            restricted = report.restricted,
            removed = report.removed,
            failed = report.failed,
            "expiry pass"
        );
        Ok::<(), JobError>(())
    })
    .every(Recurring {
        name: "expiry",
        kind: EXPIRY_JOB,
    });
    r.handle(CUSTOMER_DELETE_JOB, |app, ctx| async move {
        let Some(id) = ctx.payload["customer_id"].as_i64() else {
            return Err(JobError::Fail(format!(
                "payload has no customer_id: {}",
                ctx.payload
            )));
        };
        app.finish_customer_deletion(id).await?;
        Ok::<(), JobError>(())
    });
}
