//! The outbound HTTP core of boxoffice. Every client of an outside service (media servers and
//! plex.tv, payment gateways, request apps, Discord) builds on it:
//!
//! * [`HttpClient`]: one reqwest client per service, built with the rustls ring provider
//!   installed once per process, a per-attempt timeout, default headers (secrets marked
//!   sensitive), an optional proxy and a base URL;
//! * [`Request`] / [`Response`]: what to send (query, JSON, form or raw body, secret query
//!   parameters, idempotency keys) and what came back (status, headers, body bytes, typed JSON
//!   decoding);
//! * [`HttpError`]: one class per thing a caller acts on — timeout, connect, 4xx, 5xx,
//!   rate-limited with its `Retry-After`, decode — each with a body excerpt where one exists;
//! * [`RetryPolicy`]: retries with backoff that honour `Retry-After`, and only for requests
//!   that are safe to repeat (GET/PUT/DELETE, or a POST carrying an idempotency key);
//! * [`TokenBucket`] and [`Sleeper`]: pacing on the injectable [`Clock`], so tests drive time
//!   instead of waiting;
//! * [`CallObserver`]: a latency hook the caller supplies (the crate knows no metrics registry);
//! * [`Secret`]: a string that never shows in `Debug`, logs or error messages.
//!
//! [`Clock`]: boxoffice_domain::Clock

mod client;
mod error;
mod rate_limit;
mod request;
mod response;
mod retry_after;
mod secret;
mod sleep;

pub use client::{
    CallObserver, CallRecord, HttpClient, HttpConfig, NoopObserver, ProxyConfig, RetryPolicy,
};
pub use error::{HttpError, Result, excerpt};
pub use rate_limit::{RateLimit, TokenBucket};
pub use request::{Body, Request};
pub use response::Response;
pub use retry_after::parse_retry_after;
pub use secret::{Secret, redact};
pub use sleep::{ClockSleeper, SleepFuture, Sleeper, TokioSleeper};

pub use reqwest::Method;
pub use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

/// reqwest is built with `rustls-no-provider`: building a client before a process-wide crypto
/// provider exists panics. Installing twice is harmless (the second attempt is refused), so
/// every constructor calls this.
pub fn install_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}
