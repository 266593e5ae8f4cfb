//! The Discord integration (product §8.9): active customers with a Discord ID hold the
//! subscriber role (trial role on a trial plan), expired ones lose both and, when kicks are on,
//! leave the server `discord.kick_after_days` after their coverage ended — once. Permanent
//! customers are never touched. Roles are looked up by name in the server.

use super::{DISCORD_SYNC_MEMBER_JOB, DiscordFailure};
use crate::audit::Actor;
use crate::queue::JobSpec;
use crate::{App, AppError};
use boxoffice_discord::{DiscordClient, DiscordError, Role};
use boxoffice_store::discord_members::{self, SyncCandidate};
use boxoffice_store::{StoreError, Tx};
use serde_json::json;
use std::sync::Arc;

const DAY: i64 = 86_400;

/// What one member's sync did.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub enum MemberSync {
    /// Nothing to do: the reason (sync off, no Discord ID, permanent customer).
    Skipped(&'static str),
    /// The user is not in the Discord server; recorded on the customer.
    NotMember,
    Synced {
        added: Vec<String>,
        removed: Vec<String>,
    },
    Kicked,
    /// Kicked earlier; a kicked member is not looked at again until they renew.
    AlreadyKicked,
}

/// What one recurring pass did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DiscordSyncReport {
    pub checked: usize,
    pub changed: usize,
    pub kicked: usize,
    pub failed: usize,
}

/// A customer's Discord side as the customer page shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DiscordState {
    pub discord_id: String,
    pub roles: Vec<String>,
    pub kicked_at: Option<i64>,
    pub last_error: String,
    pub synced_at: Option<i64>,
}

/// The settings of a pass, read once, with the roles resolved to ids.
struct SyncPlan {
    client: Arc<DiscordClient>,
    guild: String,
    subscriber: Option<Role>,
    trial: Option<Role>,
    /// Seconds after the end of coverage at which an expired member is kicked.
    kick_after: Option<i64>,
}

impl App {
    /// Enqueues the member sync for a customer with a Discord ID while the integration is on;
    /// called in the transaction that changed their coverage. `key` names the change, so a
    /// retried use case enqueues it once.
    pub(crate) async fn enqueue_discord_sync(
        &self,
        tx: &mut Tx,
        customer_id: i64,
        key: &str,
    ) -> Result<(), AppError> {
        let on = boxoffice_store::settings::all(tx.ex())
            .await?
            .iter()
            .any(|(k, v)| k == "discord.sync_enabled" && v == "true");
        if !on
            || discord_members::discord_id(tx.ex(), customer_id)
                .await?
                .is_empty()
        {
            return Ok(());
        }
        self.enqueue(
            tx.ex(),
            JobSpec::new(
                DISCORD_SYNC_MEMBER_JOB,
                json!({ "customer_id": customer_id }),
            )
            .key(format!("discord:{customer_id}:{key}")),
        )
        .await?;
        Ok(())
    }

    /// Sets (or, with an empty value, clears) a customer's Discord user ID and syncs their roles.
    pub async fn set_customer_discord_id(
        &self,
        actor: &Actor,
        customer_id: i64,
        raw: &str,
    ) -> Result<(), AppError> {
        let id = raw.trim();
        if !id.is_empty() {
            boxoffice_discord::snowflake("discord_id", id).map_err(|_| {
                AppError::invalid(
                    "discord_id",
                    "a Discord ID is the user's number (Developer Mode → right-click the user → Copy User ID), not their name",
                )
            })?;
        }
        let now = self.now();
        let mut tx = self.db.begin().await?;
        discord_members::set_discord_id(tx.ex(), customer_id, id, now)
            .await
            .map_err(AppError::not_found_as("customer"))?;
        self.audit(
            tx.ex(),
            actor,
            "customer.discord_id",
            &format!("customer:{customer_id}"),
            id,
        )
        .await?;
        self.enqueue_discord_sync(&mut tx, customer_id, &format!("id:{id}:{now}"))
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn customer_discord_state(&self, customer_id: i64) -> Result<DiscordState, AppError> {
        let discord_id = discord_members::discord_id(self.db.ex(), customer_id)
            .await
            .map_err(AppError::not_found_as("customer"))?;
        match discord_members::find(self.db.ex(), customer_id).await {
            Ok(row) if row.discord_id == discord_id => Ok(DiscordState {
                roles: row.role_names(),
                discord_id,
                kicked_at: row.kicked_at,
                last_error: row.last_error,
                synced_at: Some(row.updated_at),
            }),
            Ok(_) | Err(StoreError::NotFound) => Ok(DiscordState {
                discord_id,
                ..DiscordState::default()
            }),
            Err(e) => Err(e.into()),
        }
    }

    async fn discord_sync_plan(&self) -> Result<Option<SyncPlan>, DiscordFailure> {
        let s = self.settings().await?;
        if !s.bool("discord.sync_enabled") {
            return Ok(None);
        }
        let guild = s.get("discord.guild_id").trim().to_string();
        if guild.is_empty() {
            return Err(DiscordFailure::NotConfigured(
                "no Discord server ID is set (Settings → Discord integration)".into(),
            ));
        }
        let client = self.discord_client().await?;
        let roles = client.guild_roles(&guild).await?;
        let find = |key: &str, label: &str| -> Result<Option<Role>, DiscordFailure> {
            let name = s.get(key).trim();
            if name.is_empty() {
                return Ok(None);
            }
            roles
                .iter()
                .find(|r| r.name.eq_ignore_ascii_case(name))
                .cloned()
                .map(Some)
                .ok_or_else(|| {
                    DiscordFailure::NotConfigured(format!(
                        "the Discord server has no role named \"{name}\" ({label}); create it or correct the name"
                    ))
                })
        };
        Ok(Some(SyncPlan {
            subscriber: find("discord.subscriber_role", "Subscriber role name")?,
            trial: find("discord.trial_role", "Trial role name")?,
            kick_after: s
                .bool("discord.kick_enabled")
                .then(|| s.int("discord.kick_after_days").max(0).saturating_mul(DAY)),
            client,
            guild,
        }))
    }

    /// The `discord.sync_member` job: brings one customer's roles in line with their coverage.
    pub async fn sync_discord_member(
        &self,
        customer_id: i64,
    ) -> Result<MemberSync, DiscordFailure> {
        let cand = match discord_members::candidate(self.db.ex(), customer_id).await {
            Ok(c) => c,
            Err(StoreError::NotFound) => return Ok(MemberSync::Skipped("no Discord ID")),
            Err(e) => return Err(AppError::from(e).into()),
        };
        if cand.permanent {
            return Ok(MemberSync::Skipped("permanent customer"));
        }
        let Some(plan) = self.discord_sync_plan().await? else {
            return Ok(MemberSync::Skipped("Discord sync is off"));
        };
        self.sync_candidate(&plan, &cand).await
    }

    /// The recurring `discord.sync` pass. A rate limit stops the pass (the job is retried after
    /// Discord's wait); any other failure is recorded on its customer and the pass goes on.
    pub async fn run_discord_sync(&self) -> Result<DiscordSyncReport, DiscordFailure> {
        let mut report = DiscordSyncReport::default();
        let Some(plan) = self.discord_sync_plan().await? else {
            return Ok(report);
        };
        for cand in discord_members::candidates(self.db.ex())
            .await
            .map_err(AppError::from)?
        {
            if cand.permanent {
                continue;
            }
            report.checked += 1;
            match self.sync_candidate(&plan, &cand).await {
                Ok(MemberSync::Kicked) => report.kicked += 1,
                Ok(MemberSync::Synced { added, removed })
                    if !added.is_empty() || !removed.is_empty() =>
                {
                    report.changed += 1
                }
                Ok(_) => {}
                Err(e) if e.retry_after().is_some() => return Err(e),
                Err(e) => {
                    report.failed += 1;
                    tracing::warn!(customer = cand.customer_id, error = %e, "Discord sync failed for a customer");
                }
            }
        }
        Ok(report)
    }

    async fn sync_candidate(
        &self,
        plan: &SyncPlan,
        cand: &SyncCandidate,
    ) -> Result<MemberSync, DiscordFailure> {
        let now = self.now();
        let held_before: Vec<String> = cand
            .roles
            .as_deref()
            .and_then(|r| serde_json::from_str(r).ok())
            .unwrap_or_default();
        match self.apply_member(plan, cand, now).await {
            Ok(out) => Ok(out),
            Err(DiscordFailure::Api(DiscordError::UnknownMember { .. })) => {
                discord_members::record(
                    self.db.ex(),
                    cand.customer_id,
                    &cand.discord_id,
                    &[],
                    "not a member of the Discord server",
                    now,
                )
                .await
                .map_err(AppError::from)?;
                Ok(MemberSync::NotMember)
            }
            Err(e) => {
                // Best effort: the failure is what matters, the note is for the customer page.
                let _ = discord_members::record(
                    self.db.ex(),
                    cand.customer_id,
                    &cand.discord_id,
                    &held_before,
                    &e.to_string(),
                    now,
                )
                .await;
                Err(e)
            }
        }
    }

    async fn apply_member(
        &self,
        plan: &SyncPlan,
        cand: &SyncCandidate,
        now: i64,
    ) -> Result<MemberSync, DiscordFailure> {
        let active = cand.covered_until.is_some_and(|t| t > now);
        if !active && cand.kicked_at.is_some() {
            return Ok(MemberSync::AlreadyKicked);
        }
        let want = match (active, cand.is_trial.unwrap_or(false)) {
            (false, _) => None,
            (true, true) => plan.trial.as_ref(),
            (true, false) => plan.subscriber.as_ref(),
        };
        let (client, guild, user) = (&plan.client, plan.guild.as_str(), cand.discord_id.as_str());
        let member = client.guild_member(guild, user).await?;
        let mut managed: Vec<&Role> = Vec::new();
        for r in [plan.subscriber.as_ref(), plan.trial.as_ref()]
            .into_iter()
            .flatten()
        {
            if !managed.iter().any(|m| m.id == r.id) {
                managed.push(r);
            }
        }
        let (mut added, mut removed, mut held) = (Vec::new(), Vec::new(), Vec::new());
        for role in managed {
            let has = member.roles.contains(&role.id);
            let wanted = want.is_some_and(|w| w.id == role.id);
            if wanted && !has {
                client
                    .add_member_role(guild, user, &role.id, "boxoffice: subscription active")
                    .await?;
                added.push(role.name.clone());
            } else if !wanted && has {
                let why = if active {
                    "boxoffice: plan changed"
                } else {
                    "boxoffice: subscription ended"
                };
                client
                    .remove_member_role(guild, user, &role.id, why)
                    .await?;
                removed.push(role.name.clone());
            }
            if wanted {
                held.push(role.name.clone());
            }
        }
        if let (false, Some(after), Some(ended)) = (active, plan.kick_after, cand.covered_until)
            && now >= ended.saturating_add(after)
        {
            let days = (now - ended) / DAY;
            client
                .kick_member(guild, user, &format!("boxoffice: expired {days} days ago"))
                .await?;
            discord_members::record(self.db.ex(), cand.customer_id, user, &[], "", now)
                .await
                .map_err(AppError::from)?;
            discord_members::set_kicked(self.db.ex(), cand.customer_id, Some(now), now)
                .await
                .map_err(AppError::from)?;
            return Ok(MemberSync::Kicked);
        }
        discord_members::record(self.db.ex(), cand.customer_id, user, &held, "", now)
            .await
            .map_err(AppError::from)?;
        if active && cand.kicked_at.is_some() {
            discord_members::set_kicked(self.db.ex(), cand.customer_id, None, now)
                .await
                .map_err(AppError::from)?;
        }
        Ok(MemberSync::Synced { added, removed })
    }
}
