//! Jobs of the Discord integration: one customer's roles after a change of coverage, and the
//! recurring pass that repairs roles and kicks members expired long enough.

use crate::{JobError, Recurring, Registry};
use boxoffice_app::discord::{DISCORD_SYNC_JOB, DISCORD_SYNC_MEMBER_JOB, DiscordFailure};

/// A 429 waits Discord's `retry_after`; other transient failures back off; the rest (a missing
/// permission, an unknown role name) park the job with the message saying what to fix.
fn job_error(f: DiscordFailure) -> JobError {
    match f.retry_after() {
        Some(d) => JobError::RetryAfter {
            message: f.to_string(),
            after_secs: i64::try_from(d.as_secs_f64().ceil() as u64).unwrap_or(i64::MAX),
        },
        None if f.retryable() => JobError::Retry(f.to_string()),
        None => JobError::Fail(f.to_string()),
    }
}

pub fn register(r: &mut Registry) {
    r.handle(DISCORD_SYNC_MEMBER_JOB, |app, ctx| async move {
        let Some(id) = ctx.payload["customer_id"].as_i64() else {
            return Err(JobError::Fail(format!(
                "payload has no customer_id: {}",
                ctx.payload
            )));
        };
        let out = app.sync_discord_member(id).await.map_err(job_error)?;
        tracing::info!(customer_id = id, outcome = ?out, "Discord member synced");
        Ok::<(), JobError>(())
    });
    r.handle(DISCORD_SYNC_JOB, |app, _ctx| async move {
        let report = app.run_discord_sync().await.map_err(job_error)?;
        tracing::info!(
            checked = report.checked,
            changed = report.changed,
            kicked = report.kicked,
            failed = report.failed,
            "Discord sync pass"
        );
        Ok::<(), JobError>(())
    })
    .every(Recurring {
        name: "discord_sync",
        kind: DISCORD_SYNC_JOB,
    });
}
