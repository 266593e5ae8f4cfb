//! What the three clients share on top of the outbound core (`boxoffice-http`): the API key as
//! a redacted header, one attempt per call, and the generic mapping of failures to
//! [`RequestAppError`].

use std::time::Duration;

use boxoffice_http::{HttpClient, HttpConfig, HttpError, Method, Request, RetryPolicy, Secret};
use serde_json::Value;

use crate::AppKind;
use crate::error::{RequestAppError, Result};

/// Knobs shared by all clients.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Whole-call timeout.
    pub timeout: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            timeout: Duration::from_secs(20),
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Resp {
    pub status: u16,
    pub retry_after: Option<Duration>,
    pub body: String,
}

impl Resp {
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// The request-app side of the shared outbound core: one attempt per call (the job queue
/// retries with backoff, so a failing app never holds a worker), and the app's own error
/// mapping on top of the core's answer.
#[derive(Debug)]
pub(crate) struct HttpCore {
    http: HttpClient,
    pub app: AppKind,
}

impl HttpCore {
    pub fn new(
        app: AppKind,
        base: &str,
        headers: &[(&'static str, &str)],
        opts: &ClientOptions,
    ) -> Result<Self> {
        let base = base.trim().trim_end_matches('/');
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(RequestAppError::InvalidInput {
                field: "url",
                detail: format!("the {app} URL must start with http:// or https://"),
            });
        }
        let mut cfg = HttpConfig::new(app.to_string(), base)
            .timeout(opts.timeout)
            .retry(RetryPolicy::none());
        // Every header a request app takes is its API key.
        for (k, v) in headers {
            cfg = cfg.secret_header(k, &Secret::new(*v));
        }
        let http = HttpClient::new(cfg).map_err(|e| match e {
            HttpError::Config { detail, .. } if detail.contains("header") => {
                RequestAppError::InvalidInput {
                    field: "api_key",
                    detail: format!("the {app} API key has characters a header cannot carry"),
                }
            }
            other => RequestAppError::InvalidInput {
                field: "url",
                detail: other.to_string(),
            },
        })?;
        Ok(HttpCore { http, app })
    }

    /// Sends once; returns the answer whatever its status.
    pub async fn send(
        &self,
        op: &str,
        method: Method,
        path: &str,
        json: Option<&Value>,
        bearer: Option<&str>,
    ) -> Result<Resp> {
        let mut req = Request::new(method, path).op(op);
        if let Some(t) = bearer {
            req = req.bearer(&Secret::new(t));
        }
        if let Some(j) = json {
            req = req.json(j);
        }
        let resp = self
            .http
            .send(req)
            .await
            .map_err(|e| self.transport(op, e))?;
        Ok(Resp {
            status: resp.status,
            retry_after: resp.retry_after,
            body: resp.text().into_owned(),
        })
    }

    fn transport(&self, op: &str, e: HttpError) -> RequestAppError {
        match e {
            HttpError::Timeout { after, .. } => RequestAppError::Timeout {
                app: self.app,
                op: op.to_string(),
                after,
            },
            HttpError::Connect { detail, .. } => RequestAppError::Unreachable {
                app: self.app,
                op: op.to_string(),
                detail,
            },
            other => RequestAppError::Unreachable {
                app: self.app,
                op: op.to_string(),
                detail: other.to_string(),
            },
        }
    }

    /// Generic mapping of a non-2xx answer; clients handle their special cases first.
    pub fn error(&self, op: &str, resp: &Resp, what: &str) -> RequestAppError {
        let app = self.app;
        let op = op.to_string();
        let detail = message_of(&resp.body);
        match resp.status {
            401 => RequestAppError::Unauthorized {
                app,
                op,
                credential: self.credential(),
                advice: self.advice(),
            },
            403 => RequestAppError::Forbidden { app, op, detail },
            404 => RequestAppError::NotFound {
                app,
                op,
                what: what.to_string(),
            },
            409 => RequestAppError::AlreadyExists { app, op, detail },
            429 => RequestAppError::RateLimited {
                app,
                op,
                retry_after: resp.retry_after,
            },
            s if s >= 500 => RequestAppError::ServerError {
                app,
                op,
                status: s,
                detail,
            },
            s => RequestAppError::Rejected {
                app,
                op,
                status: s,
                detail,
            },
        }
    }

    pub fn credential(&self) -> &'static str {
        match self.app {
            AppKind::Petio => "administrator login",
            _ => "API key",
        }
    }

    pub fn advice(&self) -> &'static str {
        match self.app {
            AppKind::Overseerr => {
                "copy the API key from Overseerr/Jellyseerr (Settings → General → API Key) into Settings → Request apps"
            }
            AppKind::Ombi => {
                "copy the API key from Ombi (Settings → Configuration → General → Api Key) into Settings → Request apps"
            }
            AppKind::Petio => {
                "check the Petio administrator e-mail and password in Settings → Request apps; the account must have the admin role"
            }
        }
    }

    pub fn bad_response(&self, op: &str, detail: impl Into<String>) -> RequestAppError {
        RequestAppError::BadResponse {
            app: self.app,
            op: op.to_string(),
            detail: detail.into(),
        }
    }

    pub fn parse_json(&self, op: &str, resp: &Resp) -> Result<Value> {
        if resp.body.trim().is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&resp.body)
            .map_err(|e| self.bad_response(op, format!("invalid JSON: {e}")))
    }
}

/// The human part of an error body: `message`, `error`, or the text itself.
pub(crate) fn message_of(body: &str) -> String {
    let trimmed = body.trim();
    if let Ok(v) = serde_json::from_str::<Value>(trimmed) {
        for key in ["message", "error"] {
            if let Some(s) = v.get(key).and_then(Value::as_str) {
                return truncate(s, 300);
            }
        }
    }
    truncate(trimmed, 300)
}

pub(crate) fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        s.chars().take(n).collect::<String>() + "…"
    }
}
