//! Transaction sync, hourly by default (`jobs.payments_sync.*`): the tick queues one job per
//! gateway account, each retried on its own; and the refunds asked for on the Payments page.

use crate::{JobError, Recurring, Registry};
use boxoffice_app::payments_sync::{REFUND_JOB, SYNC_ALL_JOB, SYNC_JOB};

pub fn register(r: &mut Registry) {
    r.handle(SYNC_ALL_JOB, |app, ctx| async move {
        let tick = ctx.payload["tick"].as_i64().unwrap_or(ctx.id);
        let n = app.queue_payment_syncs(&format!("tick:{tick}")).await?;
        tracing::info!(accounts = n, "payment sync queued");
        Ok::<(), JobError>(())
    })
    .every(Recurring {
        name: "payments_sync",
        kind: SYNC_ALL_JOB,
    });
    r.handle(SYNC_JOB, |app, ctx| async move {
        let report = app.run_payment_sync_job(&ctx.payload).await?;
        tracing::info!(
            gateway = %ctx.payload["gateway"],
            account = %ctx.payload["account"],
            seen = report.counts.seen,
            matched = report.counts.matched,
            unmatched = report.counts.unmatched,
            "payment sync"
        );
        Ok::<(), JobError>(())
    });
    r.handle(REFUND_JOB, |app, ctx| async move {
        app.run_refund_job(&ctx.payload).await?;
        Ok::<(), JobError>(())
    });
}
