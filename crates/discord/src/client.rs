//! The HTTP core: auth and user agent, rate-limit waits, one retry after a 429 or a 5xx on a
//! call that is safe to repeat, and the mapping of Discord's errors.

use std::sync::Arc;
use std::time::Duration;

use boxoffice_domain::{Clock, SystemClock};
use boxoffice_http::{
    HeaderMap, HttpClient, HttpConfig, HttpError, Method, Request, Response, RetryPolicy, Secret,
    Sleeper, TokioSleeper,
};
use serde_json::Value;

use crate::error::{DiscordError, Result};
use crate::limits::{Limits, Observed};

pub const DEFAULT_API_URL: &str = "https://discord.com/api/v10";
/// Discord blocks requests without a `DiscordBot (url, version)` agent (ref §10.1).
pub const USER_AGENT: &str = concat!(
    "DiscordBot (https://github.com/boxoffice-media/boxoffice, ",
    env!("CARGO_PKG_VERSION"),
    ")"
);

#[derive(Debug, Clone)]
pub struct DiscordOptions {
    /// Whole-call timeout per attempt.
    pub timeout: Duration,
    /// Extra attempts after a 429 or (for GET/PUT/DELETE) a 5xx.
    pub max_retries: u32,
    /// A wait longer than this is not spent inline: the call fails with `RateLimited` and the
    /// job layer reschedules.
    pub max_retry_wait: Duration,
    pub clock: Arc<dyn Clock>,
    pub sleeper: Arc<dyn Sleeper>,
}

impl Default for DiscordOptions {
    fn default() -> Self {
        DiscordOptions {
            timeout: Duration::from_secs(15),
            max_retries: 1,
            max_retry_wait: Duration::from_secs(30),
            clock: Arc::new(SystemClock),
            sleeper: Arc::new(TokioSleeper),
        }
    }
}

/// One call: the route names its rate-limit bucket, `major` the top-level resource.
pub(crate) struct Call<'a> {
    pub op: &'static str,
    pub method: Method,
    pub route: &'static str,
    pub major: &'a str,
    pub path: String,
    pub json: Option<Value>,
    pub reason: Option<&'a str>,
}

/// A final answer whatever its status.
pub(crate) struct Answer {
    pub status: u16,
    pub body: String,
}

/// Discord's own rate-limit buckets sit on top of the shared outbound core, which sends each
/// attempt once: the bucket state decides when to wait and whether to try again.
#[derive(Debug)]
pub struct DiscordClient {
    http: HttpClient,
    opts: DiscordOptions,
    limits: Limits,
}

impl DiscordClient {
    pub fn new(base: &str, bot_token: &str, opts: DiscordOptions) -> Result<Self> {
        let token = bot_token.trim();
        if token.is_empty() {
            return Err(DiscordError::InvalidInput {
                field: "discord.bot_token",
                detail: "no bot token is set".into(),
            });
        }
        let cfg = HttpConfig::new("Discord", base)
            .user_agent(USER_AGENT)
            .secret_header("Authorization", &Secret::new(format!("Bot {token}")))
            .timeout(opts.timeout)
            .retry(RetryPolicy::none())
            .clock(opts.clock.clone(), opts.sleeper.clone());
        let http = HttpClient::new(cfg).map_err(|e| match e {
            HttpError::Config { detail, .. } if detail.contains("header") => {
                DiscordError::InvalidInput {
                    field: "discord.bot_token",
                    detail: "the bot token contains characters a token never has".into(),
                }
            }
            other => DiscordError::InvalidInput {
                field: "discord",
                detail: other.to_string(),
            },
        })?;
        Ok(DiscordClient {
            http,
            limits: Limits::new(opts.clock.clone()),
            opts,
        })
    }

    pub(crate) async fn send(&self, c: &Call<'_>) -> Result<Answer> {
        let mut attempt = 0u32;
        loop {
            if let Some(wait) = self.limits.wait_before(c.route, c.major) {
                if wait > self.opts.max_retry_wait {
                    return Err(DiscordError::RateLimited {
                        op: c.op,
                        retry_after: wait,
                        global: false,
                    });
                }
                tracing::debug!(
                    op = c.op,
                    wait_secs = wait.as_secs_f64(),
                    "waiting for the rate limit"
                );
                self.opts.sleeper.sleep(wait).await;
            }
            self.limits.spend(c.route, c.major);
            let can_retry = attempt < self.opts.max_retries;
            let resp = self.once(c).await.map_err(|e| match e {
                HttpError::Timeout { after, .. } => DiscordError::Timeout { op: c.op, after },
                other => DiscordError::Unreachable {
                    op: c.op,
                    detail: match other {
                        HttpError::Connect { detail, .. } => detail,
                        e => e.to_string(),
                    },
                },
            })?;
            let status = resp.status;
            let observed = observe(&resp.headers);
            self.limits.observe(c.route, c.major, &observed);
            let header_retry = header_f64(&resp.headers, "retry-after");
            let header_global = resp
                .headers
                .get("x-ratelimit-global")
                .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"true"));
            let body = resp.text().into_owned();
            if status == 429 {
                let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
                let secs = v["retry_after"]
                    .as_f64()
                    .or(header_retry)
                    .or(observed.reset_after)
                    .unwrap_or(1.0)
                    .max(0.0);
                let global = v["global"].as_bool().unwrap_or(false) || header_global;
                let wait = Duration::from_secs_f64(secs);
                self.limits.limited(c.route, c.major, wait, global);
                tracing::warn!(
                    op = c.op,
                    retry_after = secs,
                    global,
                    "Discord rate limit hit"
                );
                if can_retry && wait <= self.opts.max_retry_wait {
                    attempt += 1;
                    continue;
                }
                return Err(DiscordError::RateLimited {
                    op: c.op,
                    retry_after: wait,
                    global,
                });
            }
            let repeatable = matches!(c.method, Method::GET | Method::PUT | Method::DELETE);
            if status >= 500 && repeatable && can_retry {
                tracing::warn!(op = c.op, status, "Discord server error; retrying once");
                self.opts.sleeper.sleep(Duration::from_secs(1)).await;
                attempt += 1;
                continue;
            }
            return Ok(Answer { status, body });
        }
    }

    async fn once(&self, c: &Call<'_>) -> std::result::Result<Response, HttpError> {
        // A bodiless POST/PUT goes with an explicit zero length (ref §10.2); the core does that.
        let mut req = Request::new(c.method.clone(), c.path.as_str()).op(c.op);
        if let Some(j) = &c.json {
            req = req.json(j);
        }
        if let Some(r) = c.reason {
            req = req.header("X-Audit-Log-Reason", encode_reason(r));
        }
        self.http.send(req).await
    }

    /// Sends and requires 2xx; `ids` names the resources for the not-found messages.
    pub(crate) async fn call(&self, c: Call<'_>, ids: &Ids<'_>) -> Result<Answer> {
        let a = self.send(&c).await?;
        if (200..300).contains(&a.status) {
            Ok(a)
        } else {
            Err(map_error(c.op, &a, ids))
        }
    }

    pub(crate) async fn call_json<T: serde::de::DeserializeOwned>(
        &self,
        c: Call<'_>,
        ids: &Ids<'_>,
    ) -> Result<T> {
        let op = c.op;
        let a = self.call(c, ids).await?;
        serde_json::from_str(&a.body).map_err(|e| DiscordError::BadResponse {
            op,
            detail: format!("invalid JSON: {e}"),
        })
    }
}

/// The ids a call is about, for the error it may turn into.
#[derive(Default)]
pub(crate) struct Ids<'a> {
    pub guild: &'a str,
    pub user: &'a str,
    pub role: &'a str,
    pub channel: &'a str,
}

fn map_error(op: &'static str, a: &Answer, ids: &Ids<'_>) -> DiscordError {
    let v: Value = serde_json::from_str(&a.body).unwrap_or(Value::Null);
    let code = v["code"].as_i64().unwrap_or(0);
    let message = v["message"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| truncate(a.body.trim(), 200));
    let s = |x: &str| x.to_string();
    match (a.status, code) {
        (401, _) | (_, 40001) => DiscordError::Unauthorized { op },
        (_, 50007) | (_, 50278) => DiscordError::CannotDm {
            user_id: s(ids.user),
        },
        (_, 50013) => DiscordError::MissingPermissions {
            op,
            detail: message,
        },
        (_, 50001) => DiscordError::MissingAccess {
            op,
            detail: message,
        },
        (_, 10007) => DiscordError::UnknownMember {
            user_id: s(ids.user),
        },
        (_, 10011) => DiscordError::UnknownRole {
            role_id: s(ids.role),
        },
        (_, 10004) => DiscordError::UnknownGuild {
            guild_id: s(ids.guild),
        },
        (_, 10003) => DiscordError::UnknownChannel {
            channel_id: s(ids.channel),
        },
        (_, 10013) => DiscordError::UnknownUser {
            user_id: s(ids.user),
        },
        (403, _) => DiscordError::MissingPermissions {
            op,
            detail: message,
        },
        (s, _) if s >= 500 => DiscordError::Server {
            op,
            status: s,
            detail: message,
        },
        (status, code) => DiscordError::Rejected {
            op,
            status,
            code,
            message,
        },
    }
}

fn observe(h: &HeaderMap) -> Observed {
    Observed {
        bucket: h
            .get("x-ratelimit-bucket")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        remaining: h
            .get("x-ratelimit-remaining")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok()),
        reset_after: header_f64(h, "x-ratelimit-reset-after"),
    }
}

fn header_f64(h: &HeaderMap, name: &str) -> Option<f64> {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|v| v.is_finite())
}

/// `X-Audit-Log-Reason` is URL-encoded text (ref §10.2).
fn encode_reason(r: &str) -> String {
    let mut out = String::new();
    for b in r.bytes().take(512) {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        s.chars().take(n).collect::<String>() + "…"
    }
}
