//! Putting work on the durable queue. A use case writes its change and the jobs it implies in one
//! transaction, so either both happen or neither does.

use crate::{App, AppError};
use boxoffice_store::jobs::{self, Enqueued, NewJob, QueueListener};
use boxoffice_store::{Db, Ex};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::watch;

pub const DEFAULT_MAX_ATTEMPTS: i64 = 8;

#[derive(Clone, Debug)]
pub struct JobSpec {
    pub kind: &'static str,
    pub payload: serde_json::Value,
    pub idempotency_key: Option<String>,
    pub run_after: Option<i64>,
    pub max_attempts: i64,
}

impl JobSpec {
    pub fn new(kind: &'static str, payload: serde_json::Value) -> Self {
        Self {
            kind,
            payload,
            idempotency_key: None,
            run_after: None,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
        }
    }

    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }

    pub fn at(mut self, t: i64) -> Self {
        self.run_after = Some(t);
        self
    }

    pub fn attempts(mut self, n: i64) -> Self {
        self.max_attempts = n.max(1);
        self
    }
}

/// Wakes this instance's idle workers when a job is queued, instead of leaving the job to their
/// next poll. Rung by every enqueue here and, on PostgreSQL, by the announcements of every
/// instance (see [`App::listen_for_queued_jobs`]).
#[derive(Debug)]
pub struct QueueWake {
    tx: watch::Sender<u64>,
    listening: AtomicBool,
    connected: AtomicBool,
}

impl Default for QueueWake {
    fn default() -> Self {
        Self {
            tx: watch::channel(0).0,
            listening: AtomicBool::new(false),
            connected: AtomicBool::new(false),
        }
    }
}

impl QueueWake {
    /// True once this instance hears the announcements of the others (PostgreSQL).
    pub fn hears_other_instances(&self) -> bool {
        self.connected.load(Ordering::SeqCst)
    }

    pub fn ring(&self) {
        self.tx.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// A receiver whose `changed()` resolves at the next ring.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.tx.subscribe()
    }
}

impl App {
    /// Queues a job in the caller's transaction and wakes the idle workers. The wake may come
    /// before the commit: on SQLite a worker's claim is a write, which waits for the enqueuing
    /// transaction to end and then sees the job; on PostgreSQL the `NOTIFY` the enqueue sent is
    /// delivered at commit and wakes them again.
    pub async fn enqueue(&self, ex: Ex<'_>, spec: JobSpec) -> Result<Enqueued, AppError> {
        let queued = self.enqueue_quietly(ex, spec).await?;
        if matches!(queued, Enqueued::Created(_)) {
            self.queue_wake.ring();
        }
        Ok(queued)
    }

    async fn enqueue_quietly(&self, ex: Ex<'_>, spec: JobSpec) -> Result<Enqueued, AppError> {
        let now = self.now();
        let payload = spec.payload.to_string();
        Ok(jobs::enqueue(
            ex,
            NewJob {
                kind: spec.kind,
                payload: &payload,
                idempotency_key: spec.idempotency_key.as_deref(),
                run_after: spec.run_after.unwrap_or(now),
                max_attempts: spec.max_attempts,
            },
            now,
        )
        .await?)
    }

    pub async fn retry_dead_job(
        &self,
        actor: &crate::audit::Actor,
        id: i64,
    ) -> Result<(), AppError> {
        let mut tx = self.db.begin().await?;
        jobs::requeue_dead(tx.ex(), id, self.now())
            .await
            .map_err(AppError::not_found_as("dead job"))?;
        self.audit(tx.ex(), actor, "jobs.retry", &id.to_string(), "")
            .await?;
        tx.commit().await?;
        self.queue_wake.ring();
        Ok(())
    }

    /// Hands back every job lease a previous process of `instance` still held: queued, due now,
    /// the attempt not counted, as at a shutdown. Only for a start that knows that process is gone
    /// (it took the data directory's lock, which the operating system frees when a process
    /// ends, however it ends); other instances' leases are left alone. Returns how many.
    pub async fn hand_back_leases_of(&self, instance: &str) -> Result<u64, AppError> {
        let n = jobs::release_instance(self.db.ex(), instance, self.now()).await?;
        if n > 0 {
            self.queue_wake.ring();
        }
        Ok(n)
    }

    /// On PostgreSQL, listens for the jobs any instance queues and wakes this instance's idle
    /// workers (once per `App`; a no-op on SQLite). A dropped connection is re-established.
    pub fn listen_for_queued_jobs(&self) {
        if self.queue_wake.listening.swap(true, Ordering::SeqCst) {
            return;
        }
        let db: Db = self.db.clone();
        let wake = self.queue_wake.clone();
        tokio::spawn(async move {
            while !db.is_closed() {
                match QueueListener::connect(&db).await {
                    Ok(None) => return,
                    Ok(Some(mut listener)) => {
                        // Jobs announced while no one listened (at start, or while the
                        // connection was lost) are picked up by this ring.
                        wake.connected.store(true, Ordering::SeqCst);
                        wake.ring();
                        while listener.next().await.is_ok() {
                            wake.ring();
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot listen for queued jobs; the workers poll meanwhile");
                    }
                }
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        });
    }
}

impl App {
    /// Deletes finished jobs older than 14 days. Dead jobs stay until retried.
    pub async fn prune_finished_jobs(&self) -> Result<u64, AppError> {
        Ok(jobs::prune_done(self.db.ex(), self.now() - 14 * 86_400).await?)
    }

    pub async fn job_counts(&self) -> Result<Vec<(String, i64)>, AppError> {
        Ok(jobs::counts_by_state(self.db.ex()).await?)
    }

    pub async fn list_jobs(
        &self,
        state: Option<&str>,
        limit: i64,
    ) -> Result<Vec<jobs::Job>, AppError> {
        Ok(jobs::list(self.db.ex(), state, None, limit).await?)
    }
}
