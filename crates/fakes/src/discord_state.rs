//! In-memory Discord: one bot, guilds with roles (positions) and members, users (with a
//! "DMs closed" flag), DM and text channels, and the logs tests read: messages sent and role
//! changes/kicks made (ref §10.4).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// A snowflake-shaped id (a 19-digit decimal), unique in the process.
pub(crate) fn snowflake() -> String {
    let n = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    (1_180_000_000_000_000_000u64 + n * 4096 + u64::from(std::process::id() % 4096)).to_string()
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DiscordRole {
    pub id: String,
    pub name: String,
    pub position: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DiscordMember {
    pub user_id: String,
    pub username: String,
    pub roles: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DiscordGuild {
    pub id: String,
    pub name: String,
    pub roles: Vec<DiscordRole>,
    pub members: BTreeMap<String, DiscordMember>,
    /// Position of the bot's highest role: it can manage only roles below it.
    pub bot_position: i64,
    pub manage_roles: bool,
    pub kick_members: bool,
}

/// Roles and permissions a guild is seeded with.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DiscordGuildSeed {
    pub name: String,
    /// Role names, lowest first; positions 1, 2, … follow this order.
    #[serde(default)]
    pub roles: Vec<String>,
    /// Default: above every seeded role.
    #[serde(default)]
    pub bot_position: Option<i64>,
    #[serde(default = "yes")]
    pub manage_roles: bool,
    #[serde(default = "yes")]
    pub kick_members: bool,
}

fn yes() -> bool {
    true
}

impl DiscordGuildSeed {
    pub fn new(name: &str, roles: &[&str]) -> Self {
        DiscordGuildSeed {
            name: name.into(),
            roles: roles.iter().map(|r| r.to_string()).collect(),
            bot_position: None,
            manage_roles: true,
            kick_members: true,
        }
    }
}

/// A message the bot sent: to a DM (`recipient_id` set) or to a guild text channel.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DiscordMessage {
    pub id: String,
    pub channel_id: String,
    pub recipient_id: Option<String>,
    pub content: String,
}

/// A role added or removed, or a kick.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DiscordRoleChange {
    /// `add`, `remove` or `kick`.
    pub action: String,
    pub guild_id: String,
    pub user_id: String,
    pub role_id: Option<String>,
    pub role_name: Option<String>,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Channel {
    pub id: String,
    /// 0 = guild text, 1 = DM (ref §10.2).
    pub kind: u8,
    pub guild_id: Option<String>,
    pub recipient_id: Option<String>,
    pub name: String,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct User {
    pub id: String,
    pub username: String,
    pub dm_closed: bool,
}

/// Per-bucket request limit the fake enforces, with the headers it emits (ref §10.3).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct DiscordRateLimit {
    pub limit: u32,
    pub reset_after: f64,
}

impl Default for DiscordRateLimit {
    fn default() -> Self {
        DiscordRateLimit {
            limit: 50,
            reset_after: 1.0,
        }
    }
}

#[derive(Debug, Serialize)]
pub(crate) struct DiscordWorld {
    pub token: String,
    pub bot_id: String,
    pub guilds: BTreeMap<String, DiscordGuild>,
    pub users: BTreeMap<String, User>,
    pub channels: BTreeMap<String, Channel>,
    pub messages: Vec<DiscordMessage>,
    pub role_log: Vec<DiscordRoleChange>,
    pub rate_limit: DiscordRateLimit,
}

impl DiscordWorld {
    pub fn new() -> Self {
        DiscordWorld {
            token: format!("MTE4.{}.{}", crate::ids::hex(6), crate::ids::plex_token()),
            bot_id: snowflake(),
            guilds: BTreeMap::new(),
            users: BTreeMap::new(),
            channels: BTreeMap::new(),
            messages: Vec::new(),
            role_log: Vec::new(),
            rate_limit: DiscordRateLimit::default(),
        }
    }

    pub fn seed_guild(&mut self, seed: &DiscordGuildSeed) -> DiscordGuild {
        let id = snowflake();
        // @everyone has the guild's id and position 0.
        let mut roles = vec![DiscordRole {
            id: id.clone(),
            name: "@everyone".into(),
            position: 0,
        }];
        for (i, name) in seed.roles.iter().enumerate() {
            roles.push(DiscordRole {
                id: snowflake(),
                name: name.clone(),
                position: i as i64 + 1,
            });
        }
        let g = DiscordGuild {
            id: id.clone(),
            name: seed.name.clone(),
            bot_position: seed.bot_position.unwrap_or(roles.len() as i64),
            roles,
            members: BTreeMap::new(),
            manage_roles: seed.manage_roles,
            kick_members: seed.kick_members,
        };
        self.guilds.insert(id, g.clone());
        g
    }

    /// A user who joined the guild; a new user unless `user_id` names a known one.
    pub fn add_member(
        &mut self,
        guild_id: &str,
        username: &str,
        user_id: Option<&str>,
        roles: &[String],
    ) -> Result<DiscordMember, String> {
        let g = self
            .guilds
            .get_mut(guild_id)
            .ok_or_else(|| format!("no guild {guild_id}"))?;
        let mut role_ids = Vec::new();
        for r in roles {
            let role = g
                .roles
                .iter()
                .find(|x| &x.name == r || &x.id == r)
                .ok_or_else(|| format!("no role {r} in guild {guild_id}"))?;
            role_ids.push(role.id.clone());
        }
        let id = user_id.map_or_else(snowflake, str::to_string);
        let member = DiscordMember {
            user_id: id.clone(),
            username: username.to_string(),
            roles: role_ids,
        };
        g.members.insert(id.clone(), member.clone());
        self.users.entry(id.clone()).or_insert(User {
            id,
            username: username.to_string(),
            dm_closed: false,
        });
        Ok(member)
    }

    pub fn add_text_channel(&mut self, guild_id: &str, name: &str) -> Result<String, String> {
        if !self.guilds.contains_key(guild_id) {
            return Err(format!("no guild {guild_id}"));
        }
        let id = snowflake();
        self.channels.insert(
            id.clone(),
            Channel {
                id: id.clone(),
                kind: 0,
                guild_id: Some(guild_id.to_string()),
                recipient_id: None,
                name: name.to_string(),
            },
        );
        Ok(id)
    }

    pub fn dm_channel(&mut self, user_id: &str) -> Channel {
        if let Some(c) = self
            .channels
            .values()
            .find(|c| c.kind == 1 && c.recipient_id.as_deref() == Some(user_id))
        {
            return c.clone();
        }
        let c = Channel {
            id: snowflake(),
            kind: 1,
            guild_id: None,
            recipient_id: Some(user_id.to_string()),
            name: String::new(),
        };
        self.channels.insert(c.id.clone(), c.clone());
        c
    }

    pub fn shares_a_guild(&self, user_id: &str) -> bool {
        self.guilds
            .values()
            .any(|g| g.members.contains_key(user_id))
    }
}
