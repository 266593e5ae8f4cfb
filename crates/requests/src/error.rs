//! One error type for every request-app call. Each Display names the app, the operation, what
//! went wrong and what the administrator can do; `retryable()` tells the job layer whether the
//! same call may succeed later.

use std::time::Duration;

use crate::AppKind;

#[derive(Debug, thiserror::Error)]
pub enum RequestAppError {
    /// The API key or admin login was refused. Overseerr answers 403 (not 401) for a wrong key
    /// (ref §4.1); Ombi 401; Petio a login answer with `loggedIn: false`.
    #[error("{app} refused the {credential} ({op}): {advice}")]
    Unauthorized {
        app: AppKind,
        op: String,
        credential: &'static str,
        advice: &'static str,
    },

    /// Valid credentials without the right (e.g. granting ADMIN as a non-owner).
    #[error("{app} refused {op} (403 Forbidden): {detail}")]
    Forbidden {
        app: AppKind,
        op: String,
        detail: String,
    },

    #[error(
        "{app} has no {what} ({op}, 404): it was deleted in {app}; the next sync creates it again"
    )]
    NotFound {
        app: AppKind,
        op: String,
        what: String,
    },

    /// The account already exists (Overseerr 409 `USER_EXISTS`, Ombi "already been taken",
    /// Petio "User exists").
    #[error(
        "{app} already has a user with this e-mail or name ({op}): {detail}. Link the existing user or change the customer's e-mail"
    )]
    AlreadyExists {
        app: AppKind,
        op: String,
        detail: String,
    },

    /// A logical refusal answered with HTTP 200 (Ombi `successful: false`, Petio `error`).
    #[error("{app} refused {op}: {detail}")]
    Refused {
        app: AppKind,
        op: String,
        detail: String,
    },

    #[error(
        "{app} is rate limiting requests ({op}, HTTP 429){}: the job will retry later",
        retry_after.map(|d| format!(", retry after {}s", d.as_secs())).unwrap_or_default()
    )]
    RateLimited {
        app: AppKind,
        op: String,
        retry_after: Option<Duration>,
    },

    #[error(
        "{app} failed {op} with HTTP {status}: {detail}. Usually transient; the job will retry"
    )]
    ServerError {
        app: AppKind,
        op: String,
        status: u16,
        detail: String,
    },

    #[error(
        "{app} did not answer {op} within {}s: check that it is up and reachable at its configured URL",
        after.as_secs_f64()
    )]
    Timeout {
        app: AppKind,
        op: String,
        after: Duration,
    },

    #[error("cannot reach {app} for {op}: {detail}. Check the URL in Settings → Request apps")]
    Unreachable {
        app: AppKind,
        op: String,
        detail: String,
    },

    #[error("{app} rejected {op} with HTTP {status}: {detail}")]
    Rejected {
        app: AppKind,
        op: String,
        status: u16,
        detail: String,
    },

    #[error("{app} sent an unexpected answer to {op}: {detail}")]
    BadResponse {
        app: AppKind,
        op: String,
        detail: String,
    },

    #[error("{app} does not support {op}")]
    Unsupported { app: AppKind, op: &'static str },

    /// Caller input refused before anything was sent.
    #[error("{field}: {detail}")]
    InvalidInput { field: &'static str, detail: String },
}

impl RequestAppError {
    /// Worth retrying later with the same input: 429, 5xx, timeouts, unreachable.
    pub fn retryable(&self) -> bool {
        matches!(
            self,
            RequestAppError::RateLimited { .. }
                | RequestAppError::ServerError { .. }
                | RequestAppError::Timeout { .. }
                | RequestAppError::Unreachable { .. }
        )
    }

    /// The wait a 429 asked for.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            RequestAppError::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// Removal callers treat "already gone" as done.
    pub fn is_not_found(&self) -> bool {
        matches!(self, RequestAppError::NotFound { .. })
    }
}

pub type Result<T, E = RequestAppError> = std::result::Result<T, E>;
