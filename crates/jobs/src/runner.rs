use crate::registry::{JobCtx, JobError, Registry};
use boxoffice_app::{App, AppError, metrics::labels};
use boxoffice_domain::backoff::retry_delay_secs;
use boxoffice_store::jobs::{self, Job};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Clone, Debug)]
pub struct RunnerOptions {
    pub lease_secs: i64,
    pub retry_base_secs: i64,
    pub retry_cap_secs: i64,
    pub poll_interval: Duration,
    pub scheduler: bool,
}

impl Default for RunnerOptions {
    fn default() -> Self {
        Self {
            lease_secs: 300,
            retry_base_secs: 10,
            retry_cap_secs: 6 * 3600,
            poll_interval: Duration::from_secs(1),
            scheduler: true,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Done,
    RetryAt(i64),
    Dead(String),
    /// The lease ran out while the handler worked and another worker took the job over.
    LeaseLost,
}

#[derive(Clone)]
pub struct Runner {
    pub(crate) app: App,
    pub(crate) registry: Arc<Registry>,
    pub(crate) opts: RunnerOptions,
    worker: String,
}

fn jitter() -> f64 {
    let mut b = [0u8; 2];
    let _ = getrandom::fill(&mut b);
    u16::from_le_bytes(b) as f64 / 65536.0
}

fn new_lease_token(worker: &str) -> String {
    let mut b = [0u8; 8];
    let _ = getrandom::fill(&mut b);
    format!("{worker}:{:016x}", u64::from_le_bytes(b))
}

impl Runner {
    pub fn new(app: App, registry: Arc<Registry>, opts: RunnerOptions) -> Self {
        let mut b = [0u8; 4];
        let _ = getrandom::fill(&mut b);
        let worker = format!("w{}-{:08x}", std::process::id(), u32::from_le_bytes(b));
        Self {
            app,
            registry,
            opts,
            worker,
        }
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Claims and runs one due job. None when nothing is due.
    pub async fn run_one(&self) -> Result<Option<(Job, Outcome)>, AppError> {
        let now = self.app.now();
        let token = new_lease_token(&self.worker);
        let Some(job) =
            jobs::claim(self.app.db.ex(), now, now + self.opts.lease_secs, &token).await?
        else {
            return Ok(None);
        };
        let outcome = self.execute(&job, &token).await?;
        Ok(Some((job, outcome)))
    }

    /// Runs jobs until none is due. Returns how many ran.
    pub async fn run_pending(&self) -> Result<usize, AppError> {
        let mut n = 0;
        while self.run_one().await?.is_some() {
            n += 1;
        }
        Ok(n)
    }

    async fn execute(&self, job: &Job, token: &str) -> Result<Outcome, AppError> {
        let outcome = self.execute_once(job, token).await?;
        if let Outcome::Dead(e) = &outcome {
            // The administrator hears of every job given up, whichever way it died.
            if let Err(err) = self
                .app
                .job_died(job.id, &job.kind, &job.payload, job.attempts, e)
                .await
            {
                tracing::warn!(id = job.id, error = %err, "could not record the dead job's notice");
            }
        }
        Ok(outcome)
    }

    async fn execute_once(&self, job: &Job, token: &str) -> Result<Outcome, AppError> {
        let now = self.app.now();
        let kind_label = labels(&[("kind", &job.kind)]);
        if job.attempts > job.max_attempts {
            // Claimed again after its lease ran out on the last allowed attempt.
            let msg = format!(
                "gave up after {} attempts; the last one did not finish before its lease ran out",
                job.max_attempts
            );
            jobs::bury(self.app.db.ex(), job.id, token, now, &msg).await?;
            self.count(&job.kind, "dead");
            return Ok(Outcome::Dead(msg));
        }
        let Some(handler) = self.registry.handlers.get(job.kind.as_str()).cloned() else {
            let msg = format!("no handler for job kind \"{}\" in this version", job.kind);
            jobs::bury(self.app.db.ex(), job.id, token, now, &msg).await?;
            self.count(&job.kind, "dead");
            return Ok(Outcome::Dead(msg));
        };
        let payload = match serde_json::from_str(&job.payload) {
            Ok(p) => p,
            Err(e) => {
                let msg = format!("payload is not JSON: {e}");
                jobs::bury(self.app.db.ex(), job.id, token, now, &msg).await?;
                self.count(&job.kind, "dead");
                return Ok(Outcome::Dead(msg));
            }
        };
        let ctx = JobCtx {
            id: job.id,
            kind: job.kind.clone(),
            payload,
            attempt: job.attempts,
            max_attempts: job.max_attempts,
        };
        let span =
            tracing::info_span!("job", id = job.id, kind = %job.kind, attempt = job.attempts);
        let started = Instant::now();
        // Spawned so a panicking handler fails its job instead of the worker.
        let task = tokio::spawn(tracing::Instrument::instrument(
            handler(self.app.clone(), ctx),
            span,
        ));
        let result = self.with_heartbeat(job.id, token, task).await;
        self.app.metrics.observe(
            "boxoffice_job_duration_seconds",
            kind_label,
            started.elapsed().as_secs_f64(),
        );
        let now = self.app.now();
        let outcome = match result {
            Ok(()) => {
                if jobs::complete(self.app.db.ex(), job.id, token, now).await? {
                    Outcome::Done
                } else {
                    Outcome::LeaseLost
                }
            }
            Err(JobError::Fail(msg)) => {
                if jobs::bury(self.app.db.ex(), job.id, token, now, &msg).await? {
                    Outcome::Dead(msg)
                } else {
                    Outcome::LeaseLost
                }
            }
            Err(e @ (JobError::Retry(_) | JobError::RetryAfter { .. })) => {
                let msg = e.to_string();
                if job.attempts >= job.max_attempts {
                    let msg = format!("gave up after {} attempts: {msg}", job.attempts);
                    if jobs::bury(self.app.db.ex(), job.id, token, now, &msg).await? {
                        Outcome::Dead(msg)
                    } else {
                        Outcome::LeaseLost
                    }
                } else {
                    let mut delay = retry_delay_secs(
                        (job.attempts - 1).max(0) as u32,
                        self.opts.retry_base_secs,
                        self.opts.retry_cap_secs,
                        jitter(),
                    );
                    if let JobError::RetryAfter { after_secs, .. } = e {
                        delay = delay.max(after_secs);
                    }
                    let at = now + delay;
                    if jobs::retry_later(self.app.db.ex(), job.id, token, now, at, &msg).await? {
                        Outcome::RetryAt(at)
                    } else {
                        Outcome::LeaseLost
                    }
                }
            }
        };
        match &outcome {
            Outcome::Done => tracing::info!(id = job.id, kind = %job.kind, "job done"),
            Outcome::RetryAt(at) => {
                tracing::warn!(id = job.id, kind = %job.kind, retry_at = at, "job failed; will retry")
            }
            Outcome::Dead(e) => {
                tracing::error!(id = job.id, kind = %job.kind, error = %e, "job dead")
            }
            Outcome::LeaseLost => {
                tracing::warn!(id = job.id, kind = %job.kind, "job lease lost; another worker has it")
            }
        }
        self.count(
            &job.kind,
            match outcome {
                Outcome::Done => "done",
                Outcome::RetryAt(_) => "retry",
                Outcome::Dead(_) => "dead",
                Outcome::LeaseLost => "lease_lost",
            },
        );
        Ok(outcome)
    }

    /// Awaits the handler while extending its lease, so a long job is not taken over while alive.
    async fn with_heartbeat(
        &self,
        id: i64,
        token: &str,
        mut task: tokio::task::JoinHandle<Result<(), JobError>>,
    ) -> Result<(), JobError> {
        let every = Duration::from_secs((self.opts.lease_secs / 3).max(1) as u64);
        loop {
            tokio::select! {
                r = &mut task => {
                    return match r {
                        Ok(r) => r,
                        Err(e) if e.is_panic() => Err(JobError::Retry("the job's handler panicked".into())),
                        Err(e) => Err(JobError::Retry(format!("the job's task ended: {e}"))),
                    };
                }
                _ = tokio::time::sleep(every) => {
                    let until = self.app.now() + self.opts.lease_secs;
                    if let Err(e) = jobs::extend_lease(self.app.db.ex(), id, token, until).await {
                        tracing::warn!(id, error = %e, "could not extend a job's lease");
                    }
                }
            }
        }
    }

    fn count(&self, kind: &str, outcome: &str) {
        self.app.metrics.inc(
            "boxoffice_jobs_run_total",
            labels(&[("kind", kind), ("outcome", outcome)]),
        );
    }

    /// The worker loop: scheduler tick, drain the queue, wait a poll interval; until `shutdown`.
    pub async fn run_forever(self, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        loop {
            if self.opts.scheduler
                && let Err(e) = self.tick_scheduler().await
            {
                tracing::error!(error = %e, "scheduler tick failed");
            }
            if let Err(e) = self.run_pending().await {
                tracing::error!(error = %e, "job worker failed; retrying after the poll interval");
            }
            tokio::select! {
                _ = tokio::time::sleep(self.opts.poll_interval) => {}
                _ = shutdown.changed() => {}
            }
            if *shutdown.borrow() {
                return;
            }
        }
    }
}
