//! [`HttpClient`]: the one place outbound calls are sent, timed, retried and observed.

use std::fmt::Debug;
use std::sync::Arc;
use std::time::{Duration, Instant};

use boxoffice_domain::{Clock, SystemClock};
use reqwest::Method;
use reqwest::header::{
    CONTENT_LENGTH, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, RETRY_AFTER,
};
use tracing::Instrument;

use crate::error::{HttpError, Result, error_chain};
use crate::rate_limit::{RateLimit, TokenBucket};
use crate::request::{Body, Request};
use crate::response::Response;
use crate::retry_after::parse_retry_after;
use crate::secret::{Secret, redact};
use crate::sleep::{Sleeper, TokioSleeper};

/// One HTTP attempt, for the latency hook.
#[derive(Debug, Clone)]
pub struct CallRecord<'a> {
    pub service: &'a str,
    pub op: &'a str,
    pub method: &'a Method,
    /// `None` when no answer arrived (timeout, refused connection).
    pub status: Option<u16>,
    pub elapsed: Duration,
    /// 0 for the first attempt.
    pub attempt: u32,
}

/// Receives one observation per attempt; the application wires it to its metrics.
pub trait CallObserver: Send + Sync + Debug {
    fn observe(&self, call: &CallRecord<'_>);
}

#[derive(Debug, Default, Clone, Copy)]
pub struct NoopObserver;

impl CallObserver for NoopObserver {
    fn observe(&self, _: &CallRecord<'_>) {}
}

/// When to try a call again.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Extra attempts after the first.
    pub max_retries: u32,
    /// Base of the exponential backoff (with jitter) between attempts.
    pub backoff_base: Duration,
    /// Ceiling of one backoff.
    pub backoff_cap: Duration,
    /// A `Retry-After` longer than this is not waited out inline: the 429 is returned and the
    /// caller (a job) reschedules.
    pub max_retry_wait: Duration,
}

impl RetryPolicy {
    /// One attempt; the job queue does the retrying.
    pub fn none() -> Self {
        RetryPolicy {
            max_retries: 0,
            ..Self::default()
        }
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 2,
            backoff_base: Duration::from_secs(1),
            backoff_cap: Duration::from_secs(30),
            max_retry_wait: Duration::from_secs(60),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyConfig {
    pub url: String,
    pub username: Option<String>,
    pub password: Option<Secret>,
}

/// How to build an [`HttpClient`]. `HttpConfig::new` gives production defaults: the system
/// clock, tokio sleeps, no proxy, no rate limit.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// The service's name in messages, logs and metrics ("Stripe", "Plex Alpha").
    pub service: String,
    /// Prepended to every relative request path; a trailing slash is ignored.
    pub base_url: String,
    /// Whole-attempt timeout (connect, send, read the body).
    pub timeout: Duration,
    pub connect_timeout: Duration,
    pub user_agent: String,
    /// Sent on every request: (name, value, sensitive).
    pub headers: Vec<(String, String, bool)>,
    /// Values redacted from every logged line and quoted body besides the requests' own.
    pub secrets: Vec<Secret>,
    /// Query parameters appended to every call.
    pub extra_query: Vec<(String, String)>,
    pub proxy: Option<ProxyConfig>,
    pub retry: RetryPolicy,
    /// Pacing of calls, waited for before every attempt.
    pub rate_limit: Option<RateLimit>,
    /// Send one call at a time (all its attempts included), e.g. to one plex.tv account.
    pub serialize: bool,
    pub observer: Arc<dyn CallObserver>,
    pub clock: Arc<dyn Clock>,
    pub sleeper: Arc<dyn Sleeper>,
}

impl HttpConfig {
    pub fn new(service: impl Into<String>, base_url: impl Into<String>) -> Self {
        HttpConfig {
            service: service.into(),
            base_url: base_url.into(),
            timeout: Duration::from_secs(20),
            connect_timeout: Duration::from_secs(10),
            user_agent: concat!("boxoffice/", env!("CARGO_PKG_VERSION")).to_string(),
            headers: Vec::new(),
            secrets: Vec::new(),
            extra_query: Vec::new(),
            proxy: None,
            retry: RetryPolicy::default(),
            rate_limit: None,
            serialize: false,
            observer: Arc::new(NoopObserver),
            clock: Arc::new(SystemClock),
            sleeper: Arc::new(TokioSleeper),
        }
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into(), false));
        self
    }

    /// A header carrying a secret (`Authorization`): marked sensitive and redacted.
    pub fn secret_header(mut self, name: &str, value: &Secret) -> Self {
        self.headers
            .push((name.to_string(), value.expose().to_string(), true));
        self.secrets.push(value.clone());
        self
    }

    pub fn secret(mut self, s: &Secret) -> Self {
        self.secrets.push(s.clone());
        self
    }

    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = d;
        self
    }

    pub fn retry(mut self, r: RetryPolicy) -> Self {
        self.retry = r;
        self
    }

    pub fn user_agent(mut self, ua: impl Into<String>) -> Self {
        self.user_agent = ua.into();
        self
    }

    pub fn clock(mut self, clock: Arc<dyn Clock>, sleeper: Arc<dyn Sleeper>) -> Self {
        self.clock = clock;
        self.sleeper = sleeper;
        self
    }

    pub fn observer(mut self, o: Arc<dyn CallObserver>) -> Self {
        self.observer = o;
        self
    }
}

#[derive(Debug)]
pub struct HttpClient {
    client: reqwest::Client,
    base: String,
    cfg: HttpConfig,
    bucket: Option<TokenBucket>,
    gate: Option<tokio::sync::Mutex<()>>,
}

impl HttpClient {
    pub fn new(cfg: HttpConfig) -> Result<Self> {
        crate::install_crypto_provider();
        let config_err = |detail: String| HttpError::Config {
            service: cfg.service.clone(),
            detail,
        };
        let base = cfg.base_url.trim().trim_end_matches('/').to_string();
        let has_scheme = base.starts_with("http://") || base.starts_with("https://");
        if !base.is_empty() && !has_scheme {
            return Err(config_err(format!(
                "the URL {base:?} must start with http:// or https://"
            )));
        }
        let mut headers = HeaderMap::new();
        for (k, v, sensitive) in &cfg.headers {
            let name = HeaderName::from_bytes(k.as_bytes())
                .map_err(|_| config_err(format!("{k:?} is not a header name")))?;
            let mut value = HeaderValue::from_str(v).map_err(|_| {
                config_err(format!(
                    "the {k} header has characters a header cannot carry"
                ))
            })?;
            value.set_sensitive(*sensitive);
            headers.insert(name, value);
        }
        let mut b = reqwest::Client::builder()
            .default_headers(headers)
            .user_agent(cfg.user_agent.clone())
            .connect_timeout(cfg.connect_timeout);
        if let Some(p) = &cfg.proxy {
            let mut proxy = reqwest::Proxy::all(&p.url)
                .map_err(|e| config_err(format!("proxy URL {:?}: {e}", p.url)))?;
            if let Some(u) = &p.username {
                let pw = p.password.as_ref().map(Secret::expose).unwrap_or("");
                proxy = proxy.basic_auth(u, pw);
            }
            b = b.proxy(proxy);
        } else {
            b = b.no_proxy();
        }
        let client = b.build().map_err(|e| config_err(error_chain(&e)))?;
        let bucket = cfg
            .rate_limit
            .map(|l| TokenBucket::new(l, cfg.clock.clone(), cfg.sleeper.clone()));
        let gate = cfg.serialize.then(|| tokio::sync::Mutex::new(()));
        Ok(HttpClient {
            client,
            base,
            cfg,
            bucket,
            gate,
        })
    }

    pub fn service(&self) -> &str {
        &self.cfg.service
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.cfg.clock
    }

    /// Sends with the retry policy; returns the final answer whatever its status. Errors are
    /// only the cases with no answer: timeout, connect, misconfiguration.
    pub async fn send(&self, req: Request) -> Result<Response> {
        let span = tracing::info_span!(
            "outbound_call",
            service = %self.cfg.service,
            op = %req.op,
            method = %req.method,
            path = %redact(req.target.split('?').next().unwrap_or(""), &self.secrets_of(&req)),
            status = tracing::field::Empty,
            attempts = tracing::field::Empty,
        );
        self.send_inner(req).instrument(span).await
    }

    /// Sends and requires 2xx; any other status is the generic [`HttpError`] for it.
    pub async fn call(&self, req: Request) -> Result<Response> {
        self.send(req).await?.error_for_status()
    }

    /// Sends, requires 2xx and decodes the JSON body.
    pub async fn call_json<T: serde::de::DeserializeOwned>(&self, req: Request) -> Result<T> {
        self.call(req).await?.json()
    }

    fn secrets_of<'a>(&'a self, req: &'a Request) -> Vec<&'a Secret> {
        let mut v: Vec<&Secret> = self.cfg.secrets.iter().collect();
        v.extend(req.secrets());
        v
    }

    async fn send_inner(&self, req: Request) -> Result<Response> {
        let _turn = match &self.gate {
            Some(g) => Some(g.lock().await),
            None => None,
        };
        let headers = req.header_pairs().map_err(|detail| HttpError::Config {
            service: self.cfg.service.clone(),
            detail,
        })?;
        let retry = &self.cfg.retry;
        let timeout = req.timeout.unwrap_or(self.cfg.timeout);
        let mut attempt: u32 = 0;
        loop {
            if let Some(b) = &self.bucket {
                b.acquire().await;
            }
            let started = Instant::now();
            let outcome = tokio::time::timeout(timeout, self.once(&req, &headers)).await;
            let elapsed = started.elapsed();
            let span = tracing::Span::current();
            span.record("attempts", attempt + 1);
            let can_retry = attempt < retry.max_retries;
            let status = match &outcome {
                Ok(Ok(r)) => Some(r.status),
                _ => None,
            };
            self.cfg.observer.observe(&CallRecord {
                service: &self.cfg.service,
                op: &req.op,
                method: &req.method,
                status,
                elapsed,
                attempt,
            });
            match outcome {
                Ok(Ok(resp)) => {
                    span.record("status", resp.status);
                    if resp.status == 429 {
                        // Refused before any work was done: safe to repeat for any method,
                        // but never sooner than the service asked.
                        let wait = resp.retry_after.unwrap_or_else(|| self.backoff(attempt));
                        if can_retry && wait <= retry.max_retry_wait {
                            tracing::warn!(
                                wait_secs = wait.as_secs_f64(),
                                "rate limited; waiting before retry"
                            );
                            self.cfg.sleeper.sleep(wait).await;
                            attempt += 1;
                            continue;
                        }
                        return Ok(resp);
                    }
                    if resp.status >= 500 && req.is_retry_safe() && can_retry {
                        tracing::warn!(status = resp.status, "server error; retrying");
                        self.cfg.sleeper.sleep(self.backoff(attempt)).await;
                        attempt += 1;
                        continue;
                    }
                    if resp.status >= 400 {
                        tracing::info!(status = resp.status, body = %resp.excerpt(), "call refused");
                    }
                    return Ok(resp);
                }
                Ok(Err(e)) => {
                    // A refused connection reached nothing: any method may go again.
                    let connect = e.is_connect();
                    if can_retry && (connect || req.is_retry_safe()) {
                        tracing::warn!(error = %self.redacted(&req, &error_chain(&e)), "request failed; retrying");
                        self.cfg.sleeper.sleep(self.backoff(attempt)).await;
                        attempt += 1;
                        continue;
                    }
                    if e.is_timeout() {
                        return Err(self.timeout_err(&req, timeout));
                    }
                    if e.is_builder() {
                        return Err(HttpError::Config {
                            service: self.cfg.service.clone(),
                            detail: self.redacted(&req, &error_chain(&e)),
                        });
                    }
                    return Err(HttpError::Connect {
                        service: self.cfg.service.clone(),
                        op: req.op.clone(),
                        detail: self.redacted(&req, &error_chain(&e)),
                    });
                }
                Err(_elapsed) => {
                    if can_retry && req.is_retry_safe() {
                        tracing::warn!("timed out; retrying");
                        self.cfg.sleeper.sleep(self.backoff(attempt)).await;
                        attempt += 1;
                        continue;
                    }
                    return Err(self.timeout_err(&req, timeout));
                }
            }
        }
    }

    fn redacted(&self, req: &Request, text: &str) -> String {
        redact(text, &self.secrets_of(req))
    }

    fn timeout_err(&self, req: &Request, after: Duration) -> HttpError {
        HttpError::Timeout {
            service: self.cfg.service.clone(),
            op: req.op.clone(),
            after,
        }
    }

    /// Exponential with jitter (the domain's job backoff, in milliseconds here).
    fn backoff(&self, attempt: u32) -> Duration {
        let r = &self.cfg.retry;
        let base = r.backoff_base.as_millis().max(1) as i64;
        let cap = r.backoff_cap.as_millis().max(1) as i64;
        let jitter = f64::from(self.cfg.clock.now().nanosecond() % 1000) / 1000.0;
        let ms = boxoffice_domain::backoff::retry_delay_secs(attempt, base, cap, jitter);
        Duration::from_millis(ms.max(1) as u64)
    }

    fn url_of(&self, req: &Request) -> String {
        if req.target.starts_with("http://") || req.target.starts_with("https://") {
            req.target.clone()
        } else {
            format!("{}{}", self.base, req.target)
        }
    }

    async fn once(
        &self,
        req: &Request,
        headers: &[(HeaderName, HeaderValue)],
    ) -> std::result::Result<Response, reqwest::Error> {
        let mut b = self.client.request(req.method.clone(), self.url_of(req));
        let mut query = req.query.clone();
        query.extend(
            req.secret_query
                .iter()
                .map(|(k, v)| (k.clone(), v.expose().to_string())),
        );
        query.extend(self.cfg.extra_query.iter().cloned());
        if !query.is_empty() {
            b = b.query(&query);
        }
        for (k, v) in headers {
            b = b.header(k.clone(), v.clone());
        }
        if let Some(t) = &req.bearer {
            let mut v = HeaderValue::from_str(&format!("Bearer {}", t.expose()))
                .unwrap_or_else(|_| HeaderValue::from_static("Bearer"));
            v.set_sensitive(true);
            b = b.header(reqwest::header::AUTHORIZATION, v);
        }
        if let Some((u, p)) = &req.basic {
            b = b.basic_auth(u, Some(p.expose()));
        }
        b = match &req.body {
            Body::Empty if matches!(req.method, Method::POST | Method::PUT | Method::PATCH) => {
                // Some servers insist on a length for bodiless POSTs.
                b.header(CONTENT_LENGTH, "0")
            }
            Body::Empty => b,
            Body::Json(bytes) => b
                .header(CONTENT_TYPE, "application/json")
                .body(bytes.clone()),
            Body::Form(pairs) => b.form(pairs),
            Body::Raw {
                content_type,
                bytes,
            } => b
                .header(CONTENT_TYPE, content_type.as_str())
                .body(bytes.clone()),
        };
        let resp = b.send().await?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let retry_after = headers
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, self.cfg.clock.as_ref()));
        let body = resp.bytes().await?.to_vec();
        let mut redact_list: Vec<Secret> = self.cfg.secrets.clone();
        redact_list.extend(req.secrets().into_iter().cloned());
        Ok(Response {
            status,
            headers,
            body,
            retry_after,
            service: self.cfg.service.clone(),
            op: req.op.clone(),
            redact: redact_list,
        })
    }
}
