use crate::registry::{JobCtx, JobError, Registry};
use boxoffice_app::job_lease::Lease;
use boxoffice_app::{App, AppError, metrics::labels};
use boxoffice_domain::backoff::retry_delay_secs;
use boxoffice_store::jobs::{self, Job};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

#[derive(Clone, Debug)]
pub struct RunnerOptions {
    pub lease_secs: i64,
    pub retry_base_secs: i64,
    pub retry_cap_secs: i64,
    pub poll_interval: Duration,
    pub scheduler: bool,
    /// How long a handler may run on after shutdown is asked before it is cut off (its job is
    /// handed back either way). Long handlers stop sooner, between units of work.
    pub shutdown_grace: Duration,
    /// The instance the workers lease jobs for: its id is in every lease token they take. The
    /// binary sets the data directory's identity; otherwise one random id per process.
    pub instance: String,
}

impl Default for RunnerOptions {
    fn default() -> Self {
        Self {
            lease_secs: 300,
            retry_base_secs: 10,
            retry_cap_secs: 6 * 3600,
            poll_interval: Duration::from_secs(1),
            scheduler: true,
            shutdown_grace: Duration::from_secs(3),
            instance: process_instance().to_owned(),
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
    /// The worker is shutting down: the job went back to the queue, due at once, its attempt
    /// not counted.
    HandedBack,
}

#[derive(Clone)]
pub struct Runner {
    pub(crate) app: App,
    pub(crate) registry: Arc<Registry>,
    pub(crate) opts: RunnerOptions,
    worker: String,
    /// Turns true when the worker is to shut down.
    stop: watch::Receiver<bool>,
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

/// The identity of a process that has none of its own (a command, a test): random, one per
/// process.
fn process_instance() -> &'static str {
    static ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ID.get_or_init(|| {
        let mut b = [0u8; 8];
        let _ = getrandom::fill(&mut b);
        format!("p{:016x}", u64::from_le_bytes(b))
    })
}

impl Runner {
    pub fn new(app: App, registry: Arc<Registry>, opts: RunnerOptions) -> Self {
        let mut b = [0u8; 4];
        let _ = getrandom::fill(&mut b);
        let worker = jobs::instance_token(
            &opts.instance,
            &format!("w{}-{:08x}", std::process::id(), u32::from_le_bytes(b)),
        );
        Self {
            app,
            registry,
            opts,
            worker,
            stop: watch::channel(false).1,
        }
    }

    /// Stops this runner when `stop` turns true: no new job is claimed, a long handler stops
    /// between units of work, and the job it held is handed back.
    pub fn with_shutdown(mut self, stop: watch::Receiver<bool>) -> Self {
        self.stop = stop;
        self
    }

    fn stopping(&self) -> bool {
        *self.stop.borrow()
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Claims and runs one due job. None when nothing is due.
    pub async fn run_one(&self) -> Result<Option<(Job, Outcome)>, AppError> {
        if self.stopping() {
            return Ok(None);
        }
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
        let lease = Lease::new(job.id, token, self.stop.clone());
        let ctx = JobCtx {
            id: job.id,
            kind: job.kind.clone(),
            payload,
            attempt: job.attempts,
            max_attempts: job.max_attempts,
            lease: lease.clone(),
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
            Err(JobError::Interrupted) => {
                if jobs::release(self.app.db.ex(), job.id, token, now).await? {
                    Outcome::HandedBack
                } else {
                    Outcome::LeaseLost
                }
            }
            Err(e @ (JobError::Retry(_) | JobError::RetryAfter { .. })) => {
                let msg = e.to_string();
                // A run that made progress is not charged its attempt (the store keeps the count).
                if job.attempts >= job.max_attempts && !lease.made_progress() {
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
            Outcome::HandedBack => {
                tracing::info!(id = job.id, kind = %job.kind, "job handed back for shutdown")
            }
        }
        self.count(
            &job.kind,
            match outcome {
                Outcome::Done => "done",
                Outcome::RetryAt(_) => "retry",
                Outcome::Dead(_) => "dead",
                Outcome::LeaseLost => "lease_lost",
                Outcome::HandedBack => "handed_back",
            },
        );
        Ok(outcome)
    }

    /// Awaits the handler while extending its lease, so a long job is not taken over while alive.
    /// When shutdown is asked, the handler gets `shutdown_grace` to return (a long one stops
    /// between units of work and answers `Interrupted`); past it, it is cut off, and the job is
    /// handed back all the same. Handlers are written to be cut off anywhere, as by a crash.
    async fn with_heartbeat(
        &self,
        id: i64,
        token: &str,
        mut task: tokio::task::JoinHandle<Result<(), JobError>>,
    ) -> Result<(), JobError> {
        let every = Duration::from_secs((self.opts.lease_secs / 3).max(1) as u64);
        let mut stop = self.stop.clone();
        let mut deadline: Option<std::pin::Pin<Box<tokio::time::Sleep>>> = None;
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
                _ = shutdown_asked(&mut stop), if deadline.is_none() => {
                    deadline = Some(Box::pin(tokio::time::sleep(self.opts.shutdown_grace)));
                }
                _ = async { if let Some(d) = deadline.as_mut() { d.await } }, if deadline.is_some() => {
                    tracing::warn!(id, "job still running at the end of the shutdown grace; cut off");
                    task.abort();
                    let _ = (&mut task).await;
                    return Err(JobError::Interrupted);
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

    /// The worker loop: scheduler tick, drain the queue, then wait for a job to be queued (here or,
    /// on PostgreSQL, by any instance) or for the poll interval; until `shutdown`.
    pub async fn run_forever(self, shutdown: watch::Receiver<bool>) {
        let runner = self.with_shutdown(shutdown);
        runner.app.listen_for_queued_jobs();
        let mut wake = runner.app.queue_wake.subscribe();
        let mut stop = runner.stop.clone();
        loop {
            if runner.stopping() {
                return;
            }
            // Rings from here on wake the wait below, even those during the drain.
            wake.borrow_and_update();
            if runner.opts.scheduler
                && let Err(e) = runner.tick_scheduler().await
            {
                tracing::error!(error = %e, "scheduler tick failed");
            }
            match runner.run_pending().await {
                // The queue is drained: what the jobs freed goes back to the system.
                Ok(n) if n > 0 => crate::release_freed_memory(),
                Ok(_) => {}
                Err(e) => {
                    tracing::error!(error = %e, "job worker failed; retrying after the poll interval")
                }
            }
            runner
                .app
                .metrics
                .inc("boxoffice_job_worker_idle_total", String::new());
            let by = tokio::select! {
                _ = tokio::time::sleep(runner.opts.poll_interval) => "poll",
                _ = shutdown_asked(&mut stop) => "shutdown",
                _ = wake.changed() => "queued",
            };
            runner
                .app
                .metrics
                .inc("boxoffice_job_worker_wakes_total", labels(&[("by", by)]));
        }
    }
}

/// Resolves once shutdown is asked; never when the sender is gone without asking.
async fn shutdown_asked(stop: &mut watch::Receiver<bool>) {
    if stop.wait_for(|s| *s).await.is_err() {
        std::future::pending::<()>().await;
    }
}
