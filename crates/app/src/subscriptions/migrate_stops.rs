//! A migration whose job is given up: it shows as stopped with the job's last error on the
//! server page and in the API, the administrator is told once per burial, and Retry revives
//! the same job, which resumes at the first customer not moved yet.

use super::migrate::MIGRATION_JOB;
use crate::queue::JobSpec;
use crate::{App, AppError};
use boxoffice_store::{Ex, StoreError, jobs, server_migrations};
use serde_json::json;

pub(super) fn job_key(id: i64) -> String {
    format!("migration:{id}")
}

impl App {
    /// The migration's job was given up (`reason` is its last error).
    pub(crate) async fn migration_stopped(
        &self,
        id: i64,
        job_id: i64,
        attempts: i64,
        reason: &str,
    ) -> Result<(), AppError> {
        let mut tx = self.db.begin().await?;
        let row = match server_migrations::find(tx.ex(), id).await {
            Ok(r) => r,
            Err(StoreError::NotFound) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        if server_migrations::set_stopped(tx.ex(), id, reason).await? == 0 {
            return Ok(());
        }
        let items = server_migrations::items(tx.ex(), id).await?;
        let count = |o: &str| items.iter().filter(|i| i.outcome == o).count();
        let title = format!("Migration #{id} stopped");
        let message = format!(
            "Customers: {}\nMoved: {}\nFailed: {}\nNot moved yet: {}\nWhy: {reason}\nOpen the source server's page (/admin/servers/{}) and press Retry to resume at the first customer not moved yet.",
            items.len(),
            count("moved"),
            count("failed"),
            count("pending"),
            row.source
        );
        self.notify(
            tx.ex(),
            crate::notify::Notice::system_message(&title, &message)
                .once(format!("migration_stopped:{id}:{job_id}:{attempts}")),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Retry of a stopped migration: its dead job gets fresh attempts, or a new job is queued
    /// when none is left.
    pub(super) async fn resume_stopped_migration(
        &self,
        mut ex: Ex<'_>,
        id: i64,
    ) -> Result<(), AppError> {
        let key = job_key(id);
        let revived = jobs::requeue_dead_family(ex.reborrow(), &key, self.now()).await?;
        if revived == 0 && jobs::live_in_family(ex.reborrow(), &key).await? == 0 {
            self.enqueue(
                ex.reborrow(),
                JobSpec::new(MIGRATION_JOB, json!({ "migration_id": id }))
                    .key(format!("{key}:resume:{}", self.now())),
            )
            .await?;
        }
        Ok(())
    }
}
