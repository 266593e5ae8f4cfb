//! The recurring jobs of the foundation. Later features register theirs the same way.

use crate::{JobError, Recurring, Registry};

pub fn registry_with_builtins() -> Registry {
    let mut r = Registry::default();
    r.handle("sessions.purge", |app, _ctx| async move {
        let n = app.purge_expired_sessions().await?;
        tracing::info!(
            removed = n,
            "purged ended sessions, stale counters and spent tokens"
        );
        Ok::<(), JobError>(())
    })
    .every(Recurring {
        name: "sessions_purge",
        kind: "sessions.purge",
    });
    r.handle("queue.prune", |app, _ctx| async move {
        let n = app.prune_finished_jobs().await?;
        tracing::info!(removed = n, "pruned finished jobs");
        Ok::<(), JobError>(())
    })
    .every(Recurring {
        name: "queue_prune",
        kind: "queue.prune",
    });
    crate::media_jobs::register(&mut r);
    crate::subscription_jobs::register(&mut r);
    crate::bulk_invite_jobs::register(&mut r);
    crate::notify_jobs::register(&mut r);
    crate::discord_jobs::register(&mut r);
    crate::request_app_jobs::register(&mut r);
    crate::media_password_jobs::register(&mut r);
    crate::enforcement_jobs::register(&mut r);
    crate::payment_sync_jobs::register(&mut r);
    r
}

#[cfg(test)]
mod tests {
    use boxoffice_domain::settings;

    #[test]
    fn every_recurring_job_has_its_settings_declared() {
        for r in super::registry_with_builtins().recurring() {
            assert!(
                settings::find(&r.enabled_key()).is_some(),
                "{}",
                r.enabled_key()
            );
            assert!(
                settings::find(&r.schedule_key()).is_some(),
                "{}",
                r.schedule_key()
            );
        }
    }
}
