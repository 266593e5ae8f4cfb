//! Putting work on the durable queue. A use case writes its change and the jobs it implies in one
//! transaction, so either both happen or neither does.

use crate::{App, AppError};
use boxoffice_store::Ex;
use boxoffice_store::jobs::{self, Enqueued, NewJob};

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

impl App {
    pub async fn enqueue(&self, ex: Ex<'_>, spec: JobSpec) -> Result<Enqueued, AppError> {
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
        Ok(())
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
