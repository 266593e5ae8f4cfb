//! Delivery of queued notifications.

use crate::{JobError, Recurring, Registry};
use boxoffice_app::notify::{NOTIFY_SEND_JOB, REMINDERS_JOB};

pub fn register(r: &mut Registry) {
    r.handle(NOTIFY_SEND_JOB, |app, ctx| async move {
        let Some(id) = ctx.payload["notification_id"].as_i64() else {
            return Err(JobError::Fail(format!(
                "payload has no notification_id: {}",
                ctx.payload
            )));
        };
        let last = ctx.attempt >= ctx.max_attempts;
        let outcome = app.deliver_notification(id, last).await?;
        tracing::info!(notification_id = id, outcome = ?outcome, "notification delivered");
        Ok::<(), JobError>(())
    });
    r.handle(REMINDERS_JOB, |app, _ctx| async move {
        let n = app.run_reminders().await?;
        tracing::info!(reminded = n, "payment reminders");
        Ok::<(), JobError>(())
    })
    .every(Recurring {
        name: "reminders",
        kind: REMINDERS_JOB,
    });
}
