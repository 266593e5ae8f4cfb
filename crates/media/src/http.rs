//! The HTTP layer every client shares: per-call timeout, retries with backoff that
//! honour `Retry-After`, optional serialisation + token bucket (plex.tv), a tracing
//! span per call and a latency observation per attempt.

use std::fmt::Debug;
use std::sync::Arc;
use std::time::{Duration, Instant};

use boxoffice_domain::{Clock, SystemClock};
use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;
use tracing::Instrument;

use crate::error::{MediaError, Result};
use crate::rate_limit::{RateLimit, Sleeper, TokenBucket, TokioSleeper};
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
    /// Safe to repeat after a timeout or 5xx: GET/PUT/DELETE. A POST may already have
    /// taken effect (an invite sent twice), so only 429s — refused before any work —
    /// are retried for it.
    fn idempotent(&self) -> bool {
        matches!(
            self.method,
            Method::GET | Method::PUT | Method::DELETE | Method::HEAD
        )
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

#[derive(Debug)]
pub(crate) struct HttpCore {
    client: reqwest::Client,
    base: String,
    pub platform: Platform,
    /// Human label for messages and metrics: server name or URL.
    pub label: String,
    opts: ClientOptions,
    bucket: Option<TokenBucket>,
    /// Held for a whole call (all attempts) so calls to one account go one at a time.
    gate: Option<tokio::sync::Mutex<()>>,
}

impl HttpCore {
    pub fn new(
        platform: Platform,
        base: &str,
        label: &str,
        default_headers: &[(&'static str, String)],
        opts: ClientOptions,
    ) -> Result<Self> {
        // reqwest is built with `rustls-no-provider`: without a process-wide provider
        // building a client panics. Installing twice is harmless (Err ignored).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut headers = HeaderMap::new();
        for (k, v) in default_headers {
            let name = HeaderName::from_static(k);
            let value = HeaderValue::from_str(v).map_err(|_| MediaError::InvalidInput {
                op: "configure client",
                detail: format!("bad {k} header"),
            })?;
            headers.insert(name, value);
        }
        let mut b = reqwest::Client::builder()
            .default_headers(headers)
            .user_agent(concat!("boxoffice/", env!("CARGO_PKG_VERSION")));
        if let Some(p) = &opts.proxy {
            let mut proxy = reqwest::Proxy::all(&p.url).map_err(|e| MediaError::InvalidInput {
                op: "configure proxy",
                detail: format!("proxy URL {:?}: {e}", p.url),
            })?;
            if let Some(u) = &p.username {
                proxy = proxy.basic_auth(u, p.password.as_deref().unwrap_or(""));
            }
            b = b.proxy(proxy);
        } else {
            b = b.no_proxy();
        }
        let client = b.build().map_err(|e| MediaError::InvalidInput {
            op: "configure client",
            detail: e.to_string(),
        })?;
        let bucket = opts
            .rate_limit
            .map(|l| TokenBucket::new(l, opts.clock.clone(), opts.sleeper.clone()));
        let gate = opts.rate_limit.map(|_| tokio::sync::Mutex::new(()));
        Ok(HttpCore {
            client,
            base: base.trim_end_matches('/').to_string(),
            platform,
            label: label.to_string(),
            opts,
            bucket,
            gate,
        })
    }

    /// Send with retries; returns the final response whatever its status.
    pub async fn send(&self, op: &str, req: Req) -> Result<Resp> {
        let span = tracing::info_span!(
            "media_call",
            platform = %self.platform,
            server = %self.label,
            op,
            method = %req.method,
            path = %req.path,
            status = tracing::field::Empty,
            attempts = tracing::field::Empty,
        );
        self.send_inner(op, req).instrument(span).await
    }

    async fn send_inner(&self, op: &str, req: Req) -> Result<Resp> {
        let _turn = match &self.gate {
            Some(g) => Some(g.lock().await),
            None => None,
        };
        let mut attempt: u32 = 0;
        loop {
            if let Some(b) = &self.bucket {
                b.acquire().await;
            }
            let started = Instant::now();
            let outcome = tokio::time::timeout(self.opts.timeout, self.once(&req)).await;
            let secs = started.elapsed().as_secs_f64();
            let span = tracing::Span::current();
            span.record("attempts", attempt + 1);
            let can_retry = attempt < self.opts.max_retries;
            match outcome {
                Ok(Ok(resp)) => {
                    self.opts
                        .observer
                        .observe(&self.label, op, resp.status, secs);
                    span.record("status", resp.status);
                    if resp.status == 429 {
                        // Honour Retry-After (ref §1.3); never retry sooner than asked.
                        let wait = resp.retry_after.unwrap_or_else(|| self.backoff(attempt));
                        if can_retry && wait <= self.opts.max_retry_wait {
                            tracing::warn!(
                                wait_secs = wait.as_secs_f64(),
                                "rate limited; waiting before retry"
                            );
                            self.opts.sleeper.sleep(wait).await;
                            attempt += 1;
                            continue;
                        }
                        return Ok(resp);
                    }
                    if resp.status >= 500 && req.idempotent() && can_retry {
                        tracing::warn!(status = resp.status, "server error; retrying");
                        self.opts.sleeper.sleep(self.backoff(attempt)).await;
                        attempt += 1;
                        continue;
                    }
                    if resp.status >= 400 {
                        tracing::info!(status = resp.status, body = %truncate(&resp.body, 300), "call failed");
                    }
                    return Ok(resp);
                }
                Ok(Err(e)) => {
                    self.opts.observer.observe(&self.label, op, 0, secs);
                    // Connection refused etc.: nothing reached the server, any method may retry.
                    if can_retry && (e.is_connect() || req.idempotent()) {
                        tracing::warn!(error = %e, "request failed; retrying");
                        self.opts.sleeper.sleep(self.backoff(attempt)).await;
                        attempt += 1;
                        continue;
                    }
                    if e.is_timeout() {
                        return Err(self.timeout_err(op));
                    }
                    return Err(MediaError::Unreachable {
                        platform: self.platform,
                        server: self.label.clone(),
                        op: op.to_string(),
                        detail: error_chain(&e),
                    });
                }
                Err(_elapsed) => {
                    self.opts.observer.observe(&self.label, op, 0, secs);
                    if can_retry && req.idempotent() {
                        tracing::warn!("timed out; retrying");
                        self.opts.sleeper.sleep(self.backoff(attempt)).await;
                        attempt += 1;
                        continue;
                    }
                    return Err(self.timeout_err(op));
                }
            }
        }
    }

    fn timeout_err(&self, op: &str) -> MediaError {
        MediaError::Timeout {
            platform: self.platform,
            server: self.label.clone(),
            op: op.to_string(),
            after: self.opts.timeout,
        }
    }

    /// Exponential with jitter, via the domain's job backoff so timing is uniform.
    fn backoff(&self, attempt: u32) -> Duration {
        let base = self.opts.backoff_base.as_secs().max(1) as i64;
        let jitter = f64::from(self.opts.clock.now().nanosecond() % 1000) / 1000.0;
        let secs = boxoffice_domain::backoff::retry_delay_secs(attempt, base, 60, jitter);
        Duration::from_secs(secs.max(1) as u64)
    }

    async fn once(&self, req: &Req) -> std::result::Result<Resp, reqwest::Error> {
        let url = format!("{}{}", self.base, req.path);
        let mut b = self.client.request(req.method.clone(), url);
        if !req.query.is_empty() {
            b = b.query(&req.query);
        }
        if !self.opts.extra_query.is_empty() {
            b = b.query(&self.opts.extra_query);
        }
        if let Some(j) = &req.json {
            b = b.json(j);
        } else if matches!(req.method, Method::POST | Method::PUT) {
            // Some servers insist on a length for bodiless POSTs.
            b = b.header(reqwest::header::CONTENT_LENGTH, "0");
        }
        let resp = b.send().await?;
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, self.opts.clock.as_ref()));
        let body = resp.text().await?;
        Ok(Resp {
            status,
            retry_after,
            body,
        })
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

/// Seconds, or an HTTP-date (RFC 9110 §10.2.3) measured against `clock`.
pub(crate) fn parse_retry_after(v: &str, clock: &dyn Clock) -> Option<Duration> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when =
        time::OffsetDateTime::parse(v, &time::format_description::well_known::Rfc2822).ok()?;
    let secs = (when - clock.now()).whole_seconds().max(0);
    Some(Duration::from_secs(secs as u64))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_seconds_and_dates() {
        let clock = boxoffice_domain::TestClock::at(time::macros::datetime!(2026-01-01 0:00 UTC));
        assert_eq!(parse_retry_after("7", &clock), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Thu, 01 Jan 2026 00:00:30 GMT", &clock),
            Some(Duration::from_secs(30))
        );
        assert_eq!(parse_retry_after("soon", &clock), None);
    }

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
