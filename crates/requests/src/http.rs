//! The HTTP layer the three clients share: one attempt per call with a timeout (the job queue
//! retries with backoff, so a failing app never holds a worker), a tracing span per call, and
//! the generic mapping of failures to [`RequestAppError`].

use std::time::Duration;

use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;
use tracing::Instrument;

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

#[derive(Debug)]
pub(crate) struct HttpCore {
    client: reqwest::Client,
    base: String,
    pub app: AppKind,
    timeout: Duration,
}

impl HttpCore {
    pub fn new(
        app: AppKind,
        base: &str,
        headers: &[(&'static str, &str)],
        opts: &ClientOptions,
    ) -> Result<Self> {
        // reqwest is built with `rustls-no-provider`; installing twice is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let base = base.trim().trim_end_matches('/');
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(RequestAppError::InvalidInput {
                field: "url",
                detail: format!("the {app} URL must start with http:// or https://"),
            });
        }
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            let value = HeaderValue::from_str(v).map_err(|_| RequestAppError::InvalidInput {
                field: "api_key",
                detail: format!("the {app} {k} has characters a header cannot carry"),
            })?;
            map.insert(HeaderName::from_static(k), value);
        }
        let client = reqwest::Client::builder()
            .default_headers(map)
            .user_agent(concat!("boxoffice/", env!("CARGO_PKG_VERSION")))
            .no_proxy()
            .build()
            .map_err(|e| RequestAppError::InvalidInput {
                field: "url",
                detail: e.to_string(),
            })?;
        Ok(HttpCore {
            client,
            base: base.to_string(),
            app,
            timeout: opts.timeout,
        })
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
        let span = tracing::info_span!("request_app_call", app = %self.app, op, %method, path, status = tracing::field::Empty);
        async {
            let mut b = self
                .client
                .request(method.clone(), format!("{}{}", self.base, path))
                .timeout(self.timeout);
            if let Some(t) = bearer {
                b = b.bearer_auth(t);
            }
            if let Some(j) = json {
                b = b.json(j);
            }
            let resp = match b.send().await {
                Ok(r) => r,
                Err(e) => return Err(self.transport(op, &e)),
            };
            let status = resp.status().as_u16();
            tracing::Span::current().record("status", status);
            let retry_after = resp
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            let body = resp.text().await.map_err(|e| self.transport(op, &e))?;
            if status >= 400 {
                tracing::info!(status, body = %truncate(&body, 300), "request-app call failed");
            }
            Ok(Resp {
                status,
                retry_after,
                body,
            })
        }
        .instrument(span)
        .await
    }

    fn transport(&self, op: &str, e: &reqwest::Error) -> RequestAppError {
        if e.is_timeout() {
            RequestAppError::Timeout {
                app: self.app,
                op: op.to_string(),
                after: self.timeout,
            }
        } else {
            RequestAppError::Unreachable {
                app: self.app,
                op: op.to_string(),
                detail: error_chain(e),
            }
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

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}
