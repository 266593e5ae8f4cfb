//! Jobs of the subscription lifecycle: applying a share to its server, the hourly expiry pass,
//! reconciliation, and the second half of deleting a customer.

use crate::{JobError, Recurring, Registry};
use boxoffice_app::subscriptions::{
    CUSTOMER_DELETE_JOB, EXPIRY_JOB, MIGRATION_JOB, PLACE_WAITING_JOB, RECONCILE_JOB,
    SHARE_APPLY_JOB,
};

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
        // Set by an identity edit: the old identity's user is removed before the new is invited.
        let replace = ctx.payload["replace"].as_str();
        // Set by a re-invite: an unaccepted invite is cancelled and sent again.
        let resend = ctx.payload["resend"].as_bool().unwrap_or(false);
        let done = app.apply_share_with(id, replace, resend).await?;
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
    r.handle(PLACE_WAITING_JOB, |app, _ctx| async move {
        let report = app.place_waiting_customers().await?;
        tracing::info!(
            placed = report.placed,
            waiting = report.waiting,
            dropped = report.dropped,
            "placing customers waiting for a server"
        );
        Ok::<(), JobError>(())
    })
    .every(Recurring {
        name: "place_waiting",
        kind: PLACE_WAITING_JOB,
    });
    r.handle(RECONCILE_JOB, |app, ctx| async move {
        // Scheduler ticks carry `{"tick"}`; a scan asked for by hand only reports.
        let scheduled = !ctx.payload["manual"].as_bool().unwrap_or(false);
        let report = app.run_reconcile(scheduled).await?;
        tracing::info!(
            servers = report.servers,
            failed = report.failed,
            findings = report.findings,
            imported = report.imported,
            repairs = report.repairs,
            "reconciliation pass"
        );
        Ok::<(), JobError>(())
    })
    .every(Recurring {
        name: "reconcile",
        kind: RECONCILE_JOB,
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
    r.handle(MIGRATION_JOB, |app, ctx| async move {
        let Some(id) = ctx.payload["migration_id"].as_i64() else {
            return Err(JobError::Fail(format!(
                "payload has no migration_id: {}",
                ctx.payload
            )));
        };
        // Per-customer failures are recorded on the migration, not retried here: the admin
        // retries them from the migration once the target is fixed.
        let report = app.run_migration_under(id, &ctx.lease).await?;
        tracing::info!(
            migration_id = id,
            moved = report.moved,
            failed = report.failed,
            "migration run"
        );
        Ok::<(), JobError>(())
    });
}
