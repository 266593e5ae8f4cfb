//! The classes of failure a caller acts on differently. Each message names the service and
//! the operation; bodies are quoted as a short excerpt with secrets redacted.

use std::time::Duration;

pub type Result<T, E = HttpError> = std::result::Result<T, E>;

#[derive(Debug, Clone, thiserror::Error)]
pub enum HttpError {
    /// No answer within the per-attempt timeout (after any retries the request allowed).
    #[error(
        "{service} did not answer {op} within {}s: check that it is up and reachable at its configured URL",
        after.as_secs_f64()
    )]
    Timeout {
        service: String,
        op: String,
        after: Duration,
    },

    /// Nothing reached the service: refused connection, DNS, TLS.
    #[error("{service} could not be reached for {op}: {detail}")]
    Connect {
        service: String,
        op: String,
        detail: String,
    },

    /// 429: the caller waits `retry_after` (when the service said) before trying again.
    #[error(
        "{service} is rate limiting {op} (HTTP 429){}",
        retry_after.map(|d| format!(": retry after {}s", d.as_secs_f64())).unwrap_or_default()
    )]
    RateLimited {
        service: String,
        op: String,
        retry_after: Option<Duration>,
        body: String,
    },

    /// Any other 4xx: the request itself was refused; repeating it unchanged will not help.
    #[error("{service} refused {op} with HTTP {status}: {body}")]
    Client {
        service: String,
        op: String,
        status: u16,
        body: String,
    },

    /// 5xx: the service failed; the same request may succeed later.
    #[error("{service} failed {op} with HTTP {status}: {body}")]
    Server {
        service: String,
        op: String,
        status: u16,
        body: String,
    },

    /// The answer was not what the caller could read (bad JSON, missing field).
    #[error("{service} answered {op} with something unexpected: {detail}")]
    Decode {
        service: String,
        op: String,
        detail: String,
    },

    /// The client could not be built or the request not formed (a header value with
    /// characters a header cannot carry, a bad URL or proxy).
    #[error("the {service} client is misconfigured: {detail}")]
    Config { service: String, detail: String },
}

impl HttpError {
    /// Whether the same call may succeed later without any change by the owner.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            HttpError::Timeout { .. }
                | HttpError::Connect { .. }
                | HttpError::RateLimited { .. }
                | HttpError::Server { .. }
        )
    }

    /// The status of the answer, for the classes that had one.
    pub fn status(&self) -> Option<u16> {
        match self {
            HttpError::RateLimited { .. } => Some(429),
            HttpError::Client { status, .. } | HttpError::Server { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// How long the service asked the caller to wait.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            HttpError::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The (excerpted, redacted) body of a refused or failed answer.
    pub fn body(&self) -> Option<&str> {
        match self {
            HttpError::RateLimited { body, .. }
            | HttpError::Client { body, .. }
            | HttpError::Server { body, .. } => Some(body),
            _ => None,
        }
    }
}

/// At most `n` characters of `s`, trimmed, with an ellipsis when cut.
pub fn excerpt(s: &str, n: usize) -> String {
    let s = s.trim();
    if s.chars().count() <= n {
        s.to_string()
    } else {
        s.chars().take(n).collect::<String>() + "…"
    }
}

pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let next = c.to_string();
        if !s.ends_with(&next) {
            s.push_str(": ");
            s.push_str(&next);
        }
        cur = c.source();
    }
    s
}
