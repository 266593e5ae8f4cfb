//! Messages to the administrator that the machinery itself raises.

use super::{NOTIFY_SEND_JOB, Notice};
use crate::{App, AppError};

impl App {
    /// Called when a job is given up. A dead delivery job marks its notification failed (telling
    /// the administrator about it by another message could fail the same way, and loop); any other
    /// dead job is told to the administrator once per burial.
    pub async fn job_died(
        &self,
        id: i64,
        kind: &str,
        payload: &str,
        attempts: i64,
        error: &str,
    ) -> Result<(), AppError> {
        if kind == NOTIFY_SEND_JOB {
            let nid = serde_json::from_str::<serde_json::Value>(payload)
                .ok()
                .and_then(|p| p["notification_id"].as_i64());
            if let Some(nid) = nid {
                self.notification_given_up(nid, error).await?;
            }
            return Ok(());
        }
        if kind == crate::bulk_invite::BULK_INVITE_JOB {
            let import = serde_json::from_str::<serde_json::Value>(payload)
                .ok()
                .and_then(|p| p["bulk_invite_id"].as_i64());
            if let Some(import) = import {
                // The import's own notice names the file, the counts and the Retry.
                return self.bulk_invite_stopped(import, id, attempts, error).await;
            }
        }
        if kind == crate::subscriptions::MIGRATION_JOB {
            let migration = serde_json::from_str::<serde_json::Value>(payload)
                .ok()
                .and_then(|p| p["migration_id"].as_i64());
            if let Some(migration) = migration {
                return self.migration_stopped(migration, id, attempts, error).await;
            }
        }
        self.notify_now(
            Notice::to_admin("job_failed", None)
                .with("job_kind", kind)
                .with("job_id", id.to_string())
                .with("error", error)
                .once(format!("job_failed:{id}:{attempts}")),
        )
        .await?;
        Ok(())
    }
}
