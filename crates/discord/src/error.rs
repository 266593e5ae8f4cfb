//! What a Discord call answers when it does not succeed: one case per thing the owner can act
//! on, each message saying what to do. Discord's JSON error codes (ref §10.1) pick the case.

use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum DiscordError {
    #[error(
        "Discord refused the bot token ({op}): copy the token again from the Developer Portal (Bot → Reset Token) into Settings → Discord"
    )]
    Unauthorized { op: &'static str },
    #[error(
        "the Discord bot lacks a permission for {op}: {detail}. Give its role Manage Roles (and Kick Members for kicks) and drag it above the roles it assigns"
    )]
    MissingPermissions { op: &'static str, detail: String },
    #[error(
        "the Discord bot cannot see what {op} needs: {detail}. Is the bot still in the server?"
    )]
    MissingAccess { op: &'static str, detail: String },
    #[error(
        "Discord user {user_id} does not accept DMs from the bot (DMs closed, bot blocked or no shared server)"
    )]
    CannotDm { user_id: String },
    #[error("Discord user {user_id} is not a member of the server")]
    UnknownMember { user_id: String },
    #[error("the Discord role {role_id} does not exist (was it deleted?)")]
    UnknownRole { role_id: String },
    #[error(
        "the Discord server {guild_id} is unknown: check the server ID and that the bot was invited"
    )]
    UnknownGuild { guild_id: String },
    #[error("the Discord channel {channel_id} is unknown: check the channel ID")]
    UnknownChannel { channel_id: String },
    #[error("the Discord user {user_id} does not exist: check the Discord ID")]
    UnknownUser { user_id: String },
    #[error("Discord rate-limited {op}{}; retry in {:.2}s", if *global { " (global limit)" } else { "" }, retry_after.as_secs_f64())]
    RateLimited {
        op: &'static str,
        retry_after: Duration,
        global: bool,
    },
    #[error("Discord failed {op} with HTTP {status}: {detail}")]
    Server {
        op: &'static str,
        status: u16,
        detail: String,
    },
    #[error("Discord rejected {op} (HTTP {status}, code {code}): {message}")]
    Rejected {
        op: &'static str,
        status: u16,
        code: i64,
        message: String,
    },
    #[error("Discord could not be reached for {op}: {detail}")]
    Unreachable { op: &'static str, detail: String },
    #[error("Discord did not answer {op} within {}s", after.as_secs())]
    Timeout { op: &'static str, after: Duration },
    #[error("Discord answered {op} with something unexpected: {detail}")]
    BadResponse { op: &'static str, detail: String },
    #[error("{field}: {detail}")]
    InvalidInput { field: &'static str, detail: String },
}

impl DiscordError {
    /// Worth trying again later without any change by the owner.
    pub fn retryable(&self) -> bool {
        matches!(
            self,
            DiscordError::RateLimited { .. }
                | DiscordError::Server { .. }
                | DiscordError::Unreachable { .. }
                | DiscordError::Timeout { .. }
        )
    }

    /// How long Discord asked us to wait (429 `retry_after`).
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            DiscordError::RateLimited { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }

    /// The user will never get a DM as things stand; senders fall back to e-mail.
    pub fn is_dm_refused(&self) -> bool {
        matches!(
            self,
            DiscordError::CannotDm { .. } | DiscordError::UnknownUser { .. }
        )
    }
}

pub type Result<T, E = DiscordError> = std::result::Result<T, E>;
