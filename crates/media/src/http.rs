//! The media clients' HTTP layer: requests and answers in the shape the Plex, Jellyfin and
//! Emby clients use, sent through the shared outbound core (`boxoffice-http`), which does the
//! timeouts, retries with backoff that honour `Retry-After`, plex.tv pacing, the tracing span
//! and the latency observation per attempt.

use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;

use boxoffice_domain::{Clock, SystemClock};
use boxoffice_http::{
    HttpClient, HttpConfig, HttpError, Method, RateLimit, Request as HttpRequest, RetryPolicy,
    Secret, Sleeper, TokioSleeper,
};
use serde_json::Value;

use crate::error::{MediaError, Result};
use crate::types::Platform;

/// Receives one observation per HTTP attempt; the app wires it to Prometheus.
/// `status` is 0 when no response arrived (timeout, connection refused).
pub trait CallObserver: Send + Sync + Debug {
    fn observe(&self, server: &str, op: &str, status: u16, secs: f64);
}

#[derive(Debug, Default, Clone, Copy)]
pub struct NoopObserver;

impl CallObserver for NoopObserver {
    fn observe(&self, _: &str, _: &str, _: u16, _: f64) {}
}

/// HTTP proxy for plex.tv calls (product §7.1 "Proxy Url").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyConfig {
    pub url: String,
    pub username: Option<String>,
    pub password: Option<String>,
}

/// Knobs shared by all clients. `Default` is production: real clock, tokio sleeps.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Whole-call timeout per attempt.
    pub timeout: Duration,
    /// Extra attempts after the first for retryable failures.
    pub max_retries: u32,
    /// Base of the exponential backoff between retries.
    pub backoff_base: Duration,
    /// A `Retry-After` longer than this is not waited out inline: the call fails with
    /// [`MediaError::RateLimited`] and the job layer reschedules.
    pub max_retry_wait: Duration,
    /// plex.tv pacing; [`crate::PlexTvClient`] uses [`RateLimit::default`] when `None`.
    /// Ignored by the PMS, Jellyfin and Emby clients (the operator's own servers).
    pub rate_limit: Option<RateLimit>,
    pub proxy: Option<ProxyConfig>,
    /// Query parameters added to every call this client makes, after the call's own (a Plex
    /// account's "extra query parameters"; the app sets them on plex.tv clients only).
    pub extra_query: Vec<(String, String)>,
    pub observer: Arc<dyn CallObserver>,
    pub clock: Arc<dyn Clock>,
    pub sleeper: Arc<dyn Sleeper>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            timeout: Duration::from_secs(20),
            max_retries: 2,
            backoff_base: Duration::from_secs(1),
            max_retry_wait: Duration::from_secs(60),
            rate_limit: None,
            proxy: None,
            extra_query: Vec::new(),
            observer: Arc::new(NoopObserver),
            clock: Arc::new(SystemClock),
            sleeper: Arc::new(TokioSleeper),
        }
    }
}

/// Parses stored extra query parameters (`a=1&b=2`, a leading `?` allowed) into decoded
/// pairs. Empty segments are skipped; a segment without `=` is a parameter with an empty value.
pub fn parse_extra_query(raw: &str) -> Vec<(String, String)> {
    let raw = raw.trim().trim_start_matches('?');
    if raw.is_empty() {
        return Vec::new();
    }
    let Ok(mut url) = reqwest::Url::parse("http://extra.invalid/") else {
        return Vec::new();
    };
    url.set_query(Some(raw));
    url.query_pairs()
        .filter(|(k, _)| !k.is_empty())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// One request to send.
#[derive(Debug, Clone)]
pub(crate) struct Req {
    pub method: Method,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub json: Option<Value>,
}

impl Req {
    pub fn new(method: Method, path: impl Into<String>) -> Self {
        Req {
            method,
            path: path.into(),
            query: Vec::new(),
            json: None,
        }
    }
    pub fn get(path: impl Into<String>) -> Self {
        Self::new(Method::GET, path)
    }
    pub fn post(path: impl Into<String>) -> Self {
        Self::new(Method::POST, path)
    }
    pub fn delete(path: impl Into<String>) -> Self {
        Self::new(Method::DELETE, path)
    }
    pub fn q(mut self, k: &str, v: impl Into<String>) -> Self {
        self.query.push((k.to_string(), v.into()));
        self
    }
    pub fn json(mut self, v: Value) -> Self {
        self.json = Some(v);
        self
    }
}

/// A final answer (any status).
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

/// Hands the shared core's per-attempt record to the media observer, keeping its
/// (server, op, status, seconds) shape; no answer is status 0.
#[derive(Debug)]
struct ObserverBridge(Arc<dyn CallObserver>);

impl boxoffice_http::CallObserver for ObserverBridge {
    fn observe(&self, call: &boxoffice_http::CallRecord<'_>) {
        self.0.observe(
            call.service,
            call.op,
            call.status.unwrap_or(0),
            call.elapsed.as_secs_f64(),
        );
    }
}

/// Headers that carry a credential: sent marked sensitive and redacted from every log line.
fn is_credential_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.contains("token") || n == "authorization"
}

/// The media clients' view of the shared outbound core (`boxoffice-http`): the same
/// timeouts, retries, `Retry-After`, pacing and latency hook as every other client, with
/// answers and failures turned into [`MediaError`]s that name the platform and server.
#[derive(Debug)]
pub(crate) struct HttpCore {
    client: HttpClient,
    pub platform: Platform,
    /// Human label for messages and metrics: server name or URL.
    pub label: String,
}

impl HttpCore {
    pub fn new(
        platform: Platform,
        base: &str,
        label: &str,
        default_headers: &[(&'static str, String)],
        opts: ClientOptions,
    ) -> Result<Self> {
        let mut cfg = HttpConfig::new(label, base);
        cfg.timeout = opts.timeout;
        cfg.retry = RetryPolicy {
            max_retries: opts.max_retries,
            backoff_base: opts.backoff_base,
            backoff_cap: Duration::from_secs(60),
            max_retry_wait: opts.max_retry_wait,
        };
        for (k, v) in default_headers {
            if is_credential_header(k) {
                cfg = cfg.secret_header(k, &Secret::new(v.clone()));
            } else {
                cfg = cfg.header(k, v.clone());
            }
        }
        cfg.extra_query = opts.extra_query.clone();
        cfg.proxy = opts.proxy.as_ref().map(|p| boxoffice_http::ProxyConfig {
            url: p.url.clone(),
            username: p.username.clone(),
            password: p.password.clone().map(Secret::new),
        });
        // One plex.tv account is paced and called one request at a time.
        cfg.rate_limit = opts.rate_limit;
        cfg.serialize = opts.rate_limit.is_some();
        cfg.observer = Arc::new(ObserverBridge(opts.observer.clone()));
        cfg = cfg.clock(opts.clock.clone(), opts.sleeper.clone());
        let client = HttpClient::new(cfg).map_err(|e| MediaError::InvalidInput {
            op: "configure client",
            detail: match e {
                HttpError::Config { detail, .. } => detail,
                other => other.to_string(),
            },
        })?;
        Ok(HttpCore {
            client,
            platform,
            label: label.to_string(),
        })
    }

    /// Send with retries; returns the final response whatever its status.
    pub async fn send(&self, op: &str, req: Req) -> Result<Resp> {
        let mut r = HttpRequest::new(req.method, req.path).op(op);
        for (k, v) in req.query {
            r = r.query(k, v);
        }
        if let Some(j) = &req.json {
            r = r.json(j);
        }
        match self.client.send(r).await {
            Ok(resp) => {
                if resp.status >= 400 {
                    tracing::info!(
                        platform = %self.platform,
                        server = %self.label,
                        op,
                        status = resp.status,
                        body = %resp.excerpt(),
                        "media call failed"
                    );
                }
                Ok(Resp {
                    status: resp.status,
                    retry_after: resp.retry_after,
                    body: String::from_utf8_lossy(&resp.body).into_owned(),
                })
            }
            Err(HttpError::Timeout { after, .. }) => Err(MediaError::Timeout {
                platform: self.platform,
                server: self.label.clone(),
                op: op.to_string(),
                after,
            }),
            Err(e) => Err(MediaError::Unreachable {
                platform: self.platform,
                server: self.label.clone(),
                op: op.to_string(),
                detail: match e {
                    HttpError::Connect { detail, .. } | HttpError::Config { detail, .. } => detail,
                    other => other.to_string(),
                },
            }),
        }
    }

    /// Generic mapping of a non-2xx answer; clients handle their special cases first.
    pub fn error(&self, op: &str, resp: &Resp, what: &str) -> MediaError {
        let platform = self.platform;
        let server = self.label.clone();
        let op_s = op.to_string();
        let detail = truncate(resp.body.trim(), 300);
        match resp.status {
            401 => MediaError::Unauthorized {
                platform,
                server,
                op: op_s,
                credential: match platform {
                    Platform::PlexTv | Platform::Plex => "Plex token",
                    _ => "API key",
                },
                advice: match platform {
                    Platform::PlexTv | Platform::Plex => {
                        "Refresh the token (Plex Accounts → enter the password or paste a new token → Test Token); if the server was reinstalled, its machine ID changed: remove and re-add the server"
                    }
                    _ => {
                        "Create a new API key in the server's dashboard (Advanced → API Keys) and save it on the server in boxoffice"
                    }
                },
            },
            403 => MediaError::Forbidden {
                platform,
                server,
                op: op_s,
                detail: if detail.is_empty() || detail.starts_with('<') {
                    "the credentials lack administrator rights".to_string()
                } else {
                    detail
                },
            },
            404 => MediaError::NotFound {
                platform,
                server,
                op: op_s,
                what: what.to_string(),
            },
            410 => MediaError::Gone {
                platform,
                server,
                op: op_s,
            },
            429 => MediaError::RateLimited {
                platform,
                server,
                op: op_s,
                retry_after: resp.retry_after,
            },
            s if s >= 500 => MediaError::ServerError {
                platform,
                server,
                op: op_s,
                status: s,
                detail,
            },
            s => MediaError::Rejected {
                platform,
                server,
                op: op_s,
                status: s,
                detail,
            },
        }
    }

    pub fn bad_response(&self, op: &str, detail: impl Into<String>) -> MediaError {
        MediaError::BadResponse {
            platform: self.platform,
            server: self.label.clone(),
            op: op.to_string(),
            detail: detail.into(),
        }
    }

    /// Send and require 2xx.
    pub async fn call(&self, op: &str, req: Req, what: &str) -> Result<Resp> {
        let resp = self.send(op, req).await?;
        if resp.ok() {
            Ok(resp)
        } else {
            Err(self.error(op, &resp, what))
        }
    }

    /// Send, require 2xx, parse JSON.
    pub async fn call_json(&self, op: &str, req: Req, what: &str) -> Result<Value> {
        let resp = self.call(op, req, what).await?;
        self.parse_json(op, &resp)
    }

    /// Reads the body straight into `T` (an empty body is `T::default()`), without a JSON tree.
    pub fn parse_typed<T: serde::de::DeserializeOwned + Default>(
        &self,
        op: &str,
        resp: &Resp,
    ) -> Result<T> {
        if resp.body.trim().is_empty() {
            return Ok(T::default());
        }
        serde_json::from_str(&resp.body)
            .map_err(|e| self.bad_response(op, format!("invalid JSON: {e}")))
    }

    pub fn parse_json(&self, op: &str, resp: &Resp) -> Result<Value> {
        if resp.body.trim().is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&resp.body)
            .map_err(|e| self.bad_response(op, format!("invalid JSON: {e}")))
    }
}

pub(crate) fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        s.chars().take(n).collect::<String>() + "…"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extra_query_pairs_are_decoded_and_empty_segments_skipped() {
        let pairs = |v: &[(&str, &str)]| {
            v.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            parse_extra_query("a=1&b=2"),
            pairs(&[("a", "1"), ("b", "2")])
        );
        assert_eq!(
            parse_extra_query(" ?x=a%20b&&flag&=v "),
            pairs(&[("x", "a b"), ("flag", "")])
        );
        assert!(parse_extra_query("").is_empty());
    }
}
