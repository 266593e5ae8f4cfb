//! Discord: the bot client built from the sealed `discord.bot_token`, the DMs and admin-channel
//! posts the notification sender calls, and the role sync of the Discord integration
//! (product §8.9) in [`sync`].

mod connector;
mod sync;

pub use connector::{DEFAULT_API_URL, DiscordConnector};
pub use sync::{DiscordState, DiscordSyncReport, MemberSync};

use crate::{App, AppError};
use boxoffice_discord::{CurrentUser, DiscordClient, DiscordError};
use std::sync::Arc;
use std::time::Duration;

/// Adds or removes a customer's Discord roles (payload `{"customer_id"}`); enqueued with every
/// activation, renewal, plan change and expiry.
pub const DISCORD_SYNC_MEMBER_JOB: &str = "discord.sync_member";
/// The recurring repair pass: every customer's roles, and kicks after `discord.kick_after_days`.
pub const DISCORD_SYNC_JOB: &str = "discord.sync";

/// Why a Discord action did not happen.
#[derive(Debug, thiserror::Error)]
pub enum DiscordFailure {
    /// Switched off or not set up; nothing to retry until an owner changes the settings.
    #[error("Discord is not set up: {0}")]
    NotConfigured(String),
    #[error(transparent)]
    Api(#[from] DiscordError),
    #[error(transparent)]
    App(#[from] AppError),
}

impl DiscordFailure {
    /// Transient: Discord's 5xx, 429, timeouts, or our database being unavailable.
    pub fn retryable(&self) -> bool {
        match self {
            DiscordFailure::NotConfigured(_) => false,
            DiscordFailure::Api(e) => e.retryable(),
            DiscordFailure::App(e) => !matches!(
                e,
                AppError::Invalid { .. } | AppError::NotFound(_) | AppError::Conflict(_)
            ),
        }
    }

    /// Discord's `retry_after` when it rate-limited us.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            DiscordFailure::Api(e) => e.retry_after(),
            _ => None,
        }
    }

    /// The user does not take DMs from the bot; the sender falls back to e-mail.
    pub fn is_dm_refused(&self) -> bool {
        matches!(self, DiscordFailure::Api(e) if e.is_dm_refused())
    }
}

impl App {
    /// A client for the stored bot token (one per token, so rate-limit state is shared).
    pub async fn discord_client(&self) -> Result<Arc<DiscordClient>, DiscordFailure> {
        let settings = self.settings().await?;
        let Some(token) = settings.secret(self, "discord.bot_token")? else {
            return Err(DiscordFailure::NotConfigured(
                "no bot token is set (Settings → Discord → Bot token)".into(),
            ));
        };
        Ok(self.discord.client(&token)?)
    }

    /// Sends a DM to a Discord user; for the notification sender. Needs `discord.enabled`.
    pub async fn discord_dm(&self, user_id: &str, text: &str) -> Result<(), DiscordFailure> {
        if !self.settings().await?.bool("discord.enabled") {
            return Err(DiscordFailure::NotConfigured(
                "Discord notifications are switched off (Settings → Discord)".into(),
            ));
        }
        let client = self.discord_client().await?;
        client.send_dm(user_id, text).await?;
        Ok(())
    }

    /// Posts an administrator message to `discord.admin_channel_id`, or, when no channel is
    /// set, as a DM to `general.admin_discord_id`. Needs `discord.enabled`.
    pub async fn discord_post_channel(&self, text: &str) -> Result<(), DiscordFailure> {
        let settings = self.settings().await?;
        if !settings.bool("discord.enabled") {
            return Err(DiscordFailure::NotConfigured(
                "Discord notifications are switched off (Settings → Discord)".into(),
            ));
        }
        let channel = settings.get("discord.admin_channel_id").trim().to_string();
        let admin = settings.get("general.admin_discord_id").trim().to_string();
        let client = self.discord_client().await?;
        if !channel.is_empty() {
            client.create_message(&channel, text).await?;
        } else if !admin.is_empty() {
            client.send_dm(&admin, text).await?;
        } else {
            return Err(DiscordFailure::NotConfigured(
                "set an admin channel ID (Settings → Discord) or the administrator's Discord ID (Settings → General)".into(),
            ));
        }
        Ok(())
    }

    /// "Test bot": checks the token and, when set, that the bot sees the server's roles.
    pub async fn discord_test_bot(&self) -> Result<String, DiscordFailure> {
        let client = self.discord_client().await?;
        let me: CurrentUser = client.current_user().await?;
        let guild = self
            .settings()
            .await?
            .get("discord.guild_id")
            .trim()
            .to_string();
        if guild.is_empty() {
            return Ok(format!("The token works: the bot is {}.", me.username));
        }
        let roles = client.guild_roles(&guild).await?;
        Ok(format!(
            "The token works: the bot is {} and sees {} roles in the server.",
            me.username,
            roles.len()
        ))
    }
}
