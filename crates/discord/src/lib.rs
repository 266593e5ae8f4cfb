//! Client of the Discord REST API (v10) for boxoffice: the bot's DMs and admin-channel posts,
//! and the role sync and kicks of the Discord integration. Knows no database.
//!
//! Every call sends `Authorization: Bot <token>` and the `DiscordBot (url, version)` user agent
//! Discord requires, keeps per-route rate-limit state from the `X-RateLimit-*` headers so normal
//! operation never meets a 429, and on a 429 waits the answer's `retry_after` once before giving
//! up with [`DiscordError::RateLimited`]. "ref §10.N" cites section 10.N of `docs/providers.md`,
//! which records the Discord facts this crate relies on.

mod api;
mod client;
mod error;
mod limits;

pub use api::{Channel, CurrentUser, Member, Message, Role};
pub use boxoffice_http::{ClockSleeper, SleepFuture, Sleeper, TokioSleeper};
pub use client::{DEFAULT_API_URL, DiscordClient, DiscordOptions, USER_AGENT};
pub use error::{DiscordError, Result};

/// Checks that `v` looks like a snowflake (a decimal id) so it can go into a path unescaped.
pub fn snowflake<'a>(field: &'static str, v: &'a str) -> Result<&'a str> {
    let v = v.trim();
    if v.is_empty() || v.len() > 20 || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(DiscordError::InvalidInput {
            field,
            detail: format!("{v:?} is not a Discord ID (a number of up to 20 digits)"),
        });
    }
    Ok(v)
}
