//! An import whose job does not run to the end: paused when its worker shut down between rows
//! (the job is handed back and resumes by itself), or stopped when its job was given up. A
//! stopped import says why on its page and in the API, the administrator is told, and Retry
//! resumes it at its first row not yet invited.

use crate::audit::Actor;
use crate::bulk_invite::BULK_INVITE_JOB;
use crate::queue::JobSpec;
use crate::{App, AppError};
use boxoffice_store::bulk_invites::{self, BulkInviteRow};
use boxoffice_store::{Ex, StoreError, jobs};

fn job_key(id: i64) -> String {
    format!("bulk_invite:{id}")
}

impl App {
    /// The import's job was given up (`reason` is its last error): the import shows as stopped
    /// and the administrator hears of it once per death.
    pub(crate) async fn bulk_invite_stopped(
        &self,
        id: i64,
        job_id: i64,
        attempts: i64,
        reason: &str,
    ) -> Result<(), AppError> {
        let mut tx = self.db.begin().await?;
        let b = match bulk_invites::find(tx.ex(), id).await {
            Ok(b) => b,
            Err(StoreError::NotFound) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        if b.state == "finished" {
            return Ok(());
        }
        bulk_invites::set_stopped(tx.ex(), id, reason).await?;
        let remaining = b.total_rows - b.done_rows - b.failed_rows;
        let title = format!("Bulk invite #{id} stopped");
        let message = format!(
            "File: {}\nRows: {}\nInvited: {}\nFailed: {}\nNot invited yet: {remaining}\nWhy: {reason}\nOpen the bulk invite (/admin/users/bulk-invite/{id}) and press Retry to resume at the first row not invited yet.",
            b.file_name, b.total_rows, b.done_rows, b.failed_rows
        );
        self.notify(
            tx.ex(),
            crate::notify::Notice::system_message(&title, &message)
                .once(format!("bulk_invite_stopped:{id}:{job_id}:{attempts}")),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Retry of a stopped or paused import (`before` is the import as it was): back to running,
    /// its dead job given fresh attempts, or a new job when none is left and `queued` (a job
    /// the caller queued for failed rows) is false. Returns how many rows are pending; None when
    /// the import was neither stopped nor paused.
    pub(crate) async fn resume_stopped_bulk_invite(
        &self,
        mut ex: Ex<'_>,
        actor: &Actor,
        before: &BulkInviteRow,
        queued: bool,
    ) -> Result<Option<u64>, AppError> {
        if before.state != "stopped" && before.state != "paused" {
            return Ok(None);
        }
        let id = before.id;
        let key = job_key(id);
        bulk_invites::set_running(ex.reborrow(), id).await?;
        let revived = if queued {
            0
        } else {
            jobs::requeue_dead_family(ex.reborrow(), &key, self.now()).await?
        };
        if revived == 0 && jobs::live_in_family(ex.reborrow(), &key).await? == 0 {
            self.enqueue(
                ex.reborrow(),
                JobSpec::new(BULK_INVITE_JOB, serde_json::json!({ "bulk_invite_id": id }))
                    .key(format!("{key}:resume:{}", self.now())),
            )
            .await?;
        }
        let now = bulk_invites::find(ex.reborrow(), id).await?;
        let pending = now.total_rows - now.done_rows - now.failed_rows;
        self.audit(
            ex,
            actor,
            "bulk_invite.resume",
            &key,
            &format!("{pending} rows pending"),
        )
        .await?;
        Ok(Some(u64::try_from(pending).unwrap_or(0)))
    }
}
