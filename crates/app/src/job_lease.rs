//! What a long use case sees of the job it runs under. An import or a migration works in units
//! (a row, a customer); between units it asks whether the worker is shutting down, so it can
//! stop and hand the job back instead of being cut off, and after each unit it records that it
//! made progress, so losing its lease (a crash, a deploy) is not counted as a failed attempt.

use crate::{App, AppError};
use boxoffice_store::jobs;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::watch;

#[derive(Clone, Debug, Default)]
pub struct Lease {
    held: Option<Held>,
}

#[derive(Clone, Debug)]
struct Held {
    job_id: i64,
    token: String,
    stop: watch::Receiver<bool>,
    /// Set once the job is marked: one write per run, not per unit.
    marked: Arc<AtomicBool>,
}

impl Lease {
    /// The lease `token` on job `job_id`; `stop` turns true when the worker is shutting down.
    pub fn new(job_id: i64, token: impl Into<String>, stop: watch::Receiver<bool>) -> Self {
        Self {
            held: Some(Held {
                job_id,
                token: token.into(),
                stop,
                marked: Arc::new(AtomicBool::new(false)),
            }),
        }
    }

    /// For a use case called outside a job (a command, a test): never asked to stop, and its
    /// progress is recorded nowhere.
    pub fn detached() -> Self {
        Self::default()
    }

    /// True once the worker is shutting down: finish the unit at hand, then return
    /// [`AppError::Interrupted`].
    pub fn stop_requested(&self) -> bool {
        self.held.as_ref().is_some_and(|h| *h.stop.borrow())
    }

    /// Whether this run recorded progress.
    pub fn made_progress(&self) -> bool {
        self.held
            .as_ref()
            .is_some_and(|h| h.marked.load(Ordering::SeqCst))
    }

    /// Records that a unit of work is done. Call it after the unit's transaction commits.
    pub async fn progressed(&self, app: &App) -> Result<(), AppError> {
        let Some(h) = &self.held else {
            return Ok(());
        };
        if h.marked.load(Ordering::SeqCst) {
            return Ok(());
        }
        // False when the lease was lost: whoever holds the job now keeps its own count.
        jobs::mark_progress(app.db.ex(), h.job_id, &h.token).await?;
        h.marked.store(true, Ordering::SeqCst);
        Ok(())
    }
}
