//! The calls boxoffice makes (ref §10.2) and the parts of Discord's objects it reads.

use boxoffice_http::Method;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::client::{Call, DiscordClient, Ids};
use crate::error::{DiscordError, Result};
use crate::snowflake;

/// Discord's hard limit on a message's `content`.
pub const MAX_CONTENT: usize = 2000;

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
pub struct CurrentUser {
    pub id: String,
    pub username: String,
    #[serde(default)]
    pub bot: bool,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
pub struct Channel {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: u8,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
pub struct Message {
    pub id: String,
    pub channel_id: String,
    #[serde(default)]
    pub content: String,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
pub struct Role {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub position: i64,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
pub struct MemberUser {
    pub id: String,
    #[serde(default)]
    pub username: String,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
pub struct Member {
    #[serde(default)]
    pub user: Option<MemberUser>,
    #[serde(default)]
    pub roles: Vec<String>,
}

fn content(text: &str) -> Result<&str> {
    if text.trim().is_empty() {
        return Err(DiscordError::InvalidInput {
            field: "content",
            detail: "a Discord message cannot be empty".into(),
        });
    }
    if text.chars().count() > MAX_CONTENT {
        return Err(DiscordError::InvalidInput {
            field: "content",
            detail: format!("a Discord message is at most {MAX_CONTENT} characters"),
        });
    }
    Ok(text)
}

impl DiscordClient {
    /// The bot's own user: the cheapest check that the token works.
    pub async fn current_user(&self) -> Result<CurrentUser> {
        self.call_json(
            Call {
                op: "check the bot token",
                method: Method::GET,
                route: "GET /users/@me",
                major: "",
                path: "/users/@me".into(),
                json: None,
                reason: None,
            },
            &Ids::default(),
        )
        .await
    }

    /// Opens (or finds) the DM channel with a user.
    pub async fn open_dm(&self, user_id: &str) -> Result<Channel> {
        let user = snowflake("discord_id", user_id)?;
        self.call_json(
            Call {
                op: "open a DM",
                method: Method::POST,
                route: "POST /users/@me/channels",
                major: "",
                path: "/users/@me/channels".into(),
                json: Some(json!({ "recipient_id": user })),
                reason: None,
            },
            &Ids {
                user,
                ..Ids::default()
            },
        )
        .await
    }

    /// Posts a message that pings nobody (`allowed_mentions.parse = []`).
    pub async fn create_message(&self, channel_id: &str, text: &str) -> Result<Message> {
        self.create_message_for(channel_id, text, "").await
    }

    async fn create_message_for(
        &self,
        channel_id: &str,
        text: &str,
        user: &str,
    ) -> Result<Message> {
        let channel = snowflake("channel_id", channel_id)?;
        let text = content(text)?;
        self.call_json(
            Call {
                op: "send a message",
                method: Method::POST,
                route: "POST /channels/{id}/messages",
                major: channel,
                path: format!("/channels/{channel}/messages"),
                json: Some(json!({ "content": text, "allowed_mentions": { "parse": [] } })),
                reason: None,
            },
            &Ids {
                channel,
                user,
                ..Ids::default()
            },
        )
        .await
    }

    /// Opens the DM channel and sends `text` there. A user with DMs closed gives
    /// [`DiscordError::CannotDm`].
    pub async fn send_dm(&self, user_id: &str, text: &str) -> Result<Message> {
        content(text)?;
        let channel = self.open_dm(user_id).await?;
        self.create_message_for(&channel.id, text, user_id.trim())
            .await
    }

    pub async fn guild_roles(&self, guild_id: &str) -> Result<Vec<Role>> {
        let guild = snowflake("discord.guild_id", guild_id)?;
        self.call_json(
            Call {
                op: "list the server's roles",
                method: Method::GET,
                route: "GET /guilds/{id}/roles",
                major: guild,
                path: format!("/guilds/{guild}/roles"),
                json: None,
                reason: None,
            },
            &Ids {
                guild,
                ..Ids::default()
            },
        )
        .await
    }

    /// The member, or [`DiscordError::UnknownMember`] when the user is not in the server.
    pub async fn guild_member(&self, guild_id: &str, user_id: &str) -> Result<Member> {
        let guild = snowflake("discord.guild_id", guild_id)?;
        let user = snowflake("discord_id", user_id)?;
        self.call_json(
            Call {
                op: "read a member",
                method: Method::GET,
                route: "GET /guilds/{id}/members/{id}",
                major: guild,
                path: format!("/guilds/{guild}/members/{user}"),
                json: None,
                reason: None,
            },
            &Ids {
                guild,
                user,
                ..Ids::default()
            },
        )
        .await
    }

    /// Adds a role; adding one the member holds is a no-op on Discord's side.
    pub async fn add_member_role(
        &self,
        guild_id: &str,
        user_id: &str,
        role_id: &str,
        reason: &str,
    ) -> Result<()> {
        self.member_role(
            Method::PUT,
            "add a role",
            guild_id,
            user_id,
            role_id,
            reason,
        )
        .await
    }

    pub async fn remove_member_role(
        &self,
        guild_id: &str,
        user_id: &str,
        role_id: &str,
        reason: &str,
    ) -> Result<()> {
        self.member_role(
            Method::DELETE,
            "remove a role",
            guild_id,
            user_id,
            role_id,
            reason,
        )
        .await
    }

    async fn member_role(
        &self,
        method: Method,
        op: &'static str,
        guild_id: &str,
        user_id: &str,
        role_id: &str,
        reason: &str,
    ) -> Result<()> {
        let guild = snowflake("discord.guild_id", guild_id)?;
        let user = snowflake("discord_id", user_id)?;
        let role = snowflake("role_id", role_id)?;
        self.call(
            Call {
                op,
                method,
                route: "/guilds/{id}/members/{id}/roles/{id}",
                major: guild,
                path: format!("/guilds/{guild}/members/{user}/roles/{role}"),
                json: None,
                reason: (!reason.is_empty()).then_some(reason),
            },
            &Ids {
                guild,
                user,
                role,
                ..Ids::default()
            },
        )
        .await
        .map(|_| ())
    }

    /// Removes the member from the server (a kick; they may join again with an invite).
    pub async fn kick_member(&self, guild_id: &str, user_id: &str, reason: &str) -> Result<()> {
        let guild = snowflake("discord.guild_id", guild_id)?;
        let user = snowflake("discord_id", user_id)?;
        self.call(
            Call {
                op: "kick a member",
                method: Method::DELETE,
                route: "DELETE /guilds/{id}/members/{id}",
                major: guild,
                path: format!("/guilds/{guild}/members/{user}"),
                json: None,
                reason: (!reason.is_empty()).then_some(reason),
            },
            &Ids {
                guild,
                user,
                ..Ids::default()
            },
        )
        .await
        .map(|_| ())
    }
}
