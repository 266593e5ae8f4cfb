//! Jobs that talk to media servers: the library sync of one server, the periodic refresh of
//! all of them, and the self-test.

use crate::{JobError, Recurring, Registry};
use boxoffice_app::servers::{SELF_TEST_JOB, SYNC_ALL_JOB, SYNC_LIBRARIES_JOB};

pub fn register(r: &mut Registry) {
    r.handle(SYNC_LIBRARIES_JOB, |app, ctx| async move {
        let Some(id) = ctx.payload["server_id"].as_i64() else {
            return Err(JobError::Fail(format!(
                "payload has no server_id: {}",
                ctx.payload
            )));
        };
        let report = app.sync_server_libraries(id).await?;
        tracing::info!(
            server_id = id,
            libraries = report.libraries,
            removed = report.removed,
            "synced libraries"
        );
        Ok::<(), JobError>(())
    });
    r.handle(SYNC_ALL_JOB, |app, ctx| async move {
        // The scheduler names the tick; a job queued by hand is its own tick.
        let tick = match ctx.payload["tick"].as_i64() {
            Some(t) => t.to_string(),
            None => format!("job{}", ctx.id),
        };
        let report = app.sync_all_servers(&tick).await?;
        tracing::info!(
            refreshed = report.refreshed,
            failed = report.failed,
            "refreshed servers and queued their library syncs"
        );
        Ok::<(), JobError>(())
    })
    .every(Recurring {
        name: "server_sync",
        kind: SYNC_ALL_JOB,
    });
    r.handle(SELF_TEST_JOB, |app, ctx| async move {
        let cause = ctx.payload["cause"].as_str().unwrap_or("schedule");
        let run = app.run_self_test(cause).await?;
        tracing::info!(run, "media self-test finished");
        Ok::<(), JobError>(())
    })
    .every(Recurring {
        name: "self_test",
        kind: SELF_TEST_JOB,
    });
}
