use boxoffice_app::App;
use boxoffice_app::job_lease::Lease;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// What a handler sees of its job.
#[derive(Clone, Debug)]
pub struct JobCtx {
    pub id: i64,
    pub kind: String,
    pub payload: serde_json::Value,
    /// 1 on the first run.
    pub attempt: i64,
    pub max_attempts: i64,
    /// For long handlers: stop between units of work when asked, and record progress.
    pub lease: Lease,
}

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Worth trying again later (a timeout, a 5xx, a 429).
    #[error("{0}")]
    Retry(String),
    /// Will never succeed as it stands (bad payload, a refusal); parked at once.
    #[error("{0}")]
    Fail(String),
    /// Like `Retry`, but not before this many seconds (a provider's Retry-After).
    #[error("{message} (retry after {after_secs}s)")]
    RetryAfter { message: String, after_secs: i64 },
    /// The handler stopped between units of work because the worker is shutting down: the job
    /// is handed back without counting the attempt.
    #[error("stopped for shutdown")]
    Interrupted,
}

impl From<boxoffice_app::AppError> for JobError {
    fn from(e: boxoffice_app::AppError) -> Self {
        use boxoffice_app::AppError as E;
        match e {
            E::Interrupted => JobError::Interrupted,
            E::Invalid { .. }
            | E::NotFound(_)
            | E::Conflict(_)
            | E::Forbidden(_)
            | E::Unauthorized(_) => JobError::Fail(e.to_string()),
            // A media failure carries the catalogue's message; only transient ones are retried.
            E::Media(m) => match m.retry_after() {
                Some(d) => JobError::RetryAfter {
                    message: m.to_string(),
                    after_secs: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
                },
                None if m.retryable() => JobError::Retry(m.to_string()),
                None => JobError::Fail(m.to_string()),
            },
            E::Delivery {
                message,
                retryable,
                retry_after_secs,
            } => match (retryable, retry_after_secs) {
                (true, Some(after_secs)) => JobError::RetryAfter {
                    message,
                    after_secs,
                },
                (true, None) => JobError::Retry(message),
                (false, _) => JobError::Fail(message),
            },
            other => JobError::Retry(other.to_string()),
        }
    }
}

pub type BoxFut = Pin<Box<dyn Future<Output = Result<(), JobError>> + Send>>;
pub type Handler = Arc<dyn Fn(App, JobCtx) -> BoxFut + Send + Sync>;

/// A job that runs on a schedule. Its switch and schedule are the runtime settings
/// `jobs.<name>.enabled` and `jobs.<name>.schedule`.
#[derive(Clone, Debug)]
pub struct Recurring {
    pub name: &'static str,
    pub kind: &'static str,
}

impl Recurring {
    pub fn enabled_key(&self) -> String {
        format!("jobs.{}.enabled", self.name)
    }
    pub fn schedule_key(&self) -> String {
        format!("jobs.{}.schedule", self.name)
    }
}

#[derive(Clone, Default)]
pub struct Registry {
    pub(crate) handlers: HashMap<&'static str, Handler>,
    pub(crate) recurring: Vec<Recurring>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut kinds: Vec<_> = self.handlers.keys().collect();
        kinds.sort();
        f.debug_struct("Registry")
            .field("kinds", &kinds)
            .field("recurring", &self.recurring)
            .finish()
    }
}

impl Registry {
    pub fn handle<F, Fut>(&mut self, kind: &'static str, f: F) -> &mut Self
    where
        F: Fn(App, JobCtx) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), JobError>> + Send + 'static,
    {
        self.handlers
            .insert(kind, Arc::new(move |app, ctx| Box::pin(f(app, ctx))));
        self
    }

    pub fn every(&mut self, r: Recurring) -> &mut Self {
        self.recurring.push(r);
        self
    }

    pub fn recurring(&self) -> &[Recurring] {
        &self.recurring
    }

    pub fn kinds(&self) -> Vec<&'static str> {
        let mut k: Vec<_> = self.handlers.keys().copied().collect();
        k.sort();
        k
    }
}
