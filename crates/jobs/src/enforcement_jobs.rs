//! The enforcement pass, every five minutes by default (`jobs.enforcement.*`).

use crate::{JobError, Recurring, Registry};

pub fn register(r: &mut Registry) {
    r.handle("enforcement.pass", |app, _ctx| async move {
        let report = app.run_enforcement_pass().await?;
        tracing::info!(
            servers = report.servers_read,
            failed = report.servers_failed.len(),
            sessions = report.sessions,
            stopped = report.stopped,
            not_stopped = report.not_stopped,
            notified = report.notified,
            "enforcement pass"
        );
        Ok::<(), JobError>(())
    })
    .every(Recurring {
        name: "enforcement",
        kind: "enforcement.pass",
    });
}
