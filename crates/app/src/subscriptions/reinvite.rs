//! Re-inviting (operations §4.4, product §28.10): a paid-up customer who lost access re-sends
//! their own invite from My Account, and an admin re-invites every current customer of one
//! server (after a ban, or a server re-claimed by a new Plex account). Both only queue the usual
//! share job, with `resend` so an invite never accepted is cancelled and sent afresh; the job
//! finds a user still on the server and updates it, so nobody is invited twice.

use super::plan;
use super::provision::Provisioned;
use super::{SHARE_APPLY_JOB, drift_kind};
use crate::audit::Actor;
use crate::queue::JobSpec;
use crate::{App, AppError};
use boxoffice_domain::coverage;
use boxoffice_domain::platform::Platform;
use boxoffice_store::customers::{self, CustomerRow};
use boxoffice_store::servers::{self, ServerRow};
use boxoffice_store::shares::{self, ShareRow};
use boxoffice_store::{
    Ex, StoreError, admin_events, drift, linked_users, payments, plex_account_change,
};
use serde_json::json;

/// The setting that shows the Re-Invite Yourself button (Settings → Miscellaneous).
pub const REINVITE_BUTTON_SETTING: &str = "misc.show_reinvite_button";
/// A customer may re-invite themselves at most once per this many minutes.
pub const SELF_REINVITE_EVERY_MINUTES: i64 = 15;
/// Admin events of the flows.
pub const SELF_REINVITE_EVENT: &str = "self_reinvite";
pub const SERVER_REINVITE_EVENT: &str = "server_reinvite";
/// Shown before any mass invite to a Plex server.
pub const PLEX_BAN_WARNING: &str = "Inviting many users at once can get a Plex account banned. boxoffice paces invites per Plex account (one at a time, spaced out), so a large set takes a while; do not re-add users who were on a banned server with the same Plex accounts.";

/// Whether the Re-Invite Yourself button shows, and if it may be pressed now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SelfReinvite {
    /// Not offered: setting off, not paid up, flagged for a Plex account change, or not lost.
    Hidden,
    Available,
    /// Pressed recently: offered again at this time.
    Wait {
        until: i64,
    },
}

/// What pressing the button did.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct SelfReinvited {
    pub share_ids: Vec<i64>,
    pub no_capacity: Option<String>,
}

/// The confirm step of a server re-invite.
#[derive(Clone, Debug)]
pub struct ServerReinvitePreview {
    pub server: ServerRow,
    /// Live shares of paid-up customers not flagged for a Plex account change.
    pub share_ids: Vec<i64>,
    /// Customers left out because they must change their Plex account first.
    pub flagged: usize,
    /// Invites of an earlier run not sent yet; a new run is refused until they are.
    pub in_flight: i64,
    pub warning: Option<&'static str>,
}

/// Paid up now: permanent, or a payment covers this moment (the master's, for a sub-account).
pub(crate) async fn is_current(
    mut ex: Ex<'_>,
    c: &CustomerRow,
    now: i64,
) -> Result<bool, AppError> {
    if c.permanent {
        return Ok(true);
    }
    let payer = linked_users::master_of(ex.reborrow(), c.id)
        .await?
        .unwrap_or(c.id);
    let paid = payments::list_for_customer(ex, payer).await?;
    Ok(coverage::is_active(
        false,
        &super::provision::periods(&paid),
        now,
    ))
}

fn server_key(server_id: i64) -> String {
    format!("reinvite:server:{server_id}:")
}

impl App {
    /// The customer's shares that lost access: a live share on a Plex server whose invite is
    /// not accepted, whose last apply failed, that reconciliation found missing on the server,
    /// or whose server is disabled or gone. `None` when the customer has no live share at all.
    async fn lost_shares(&self, c: &CustomerRow) -> Result<Option<Vec<ShareRow>>, AppError> {
        let live: Vec<ShareRow> = shares::list_for_customer(self.db.ex(), c.id)
            .await?
            .into_iter()
            .filter(|s| s.state != "removed")
            .collect();
        if live.is_empty() {
            return Ok(None);
        }
        let missing: Vec<i64> = drift::list(self.db.ex())
            .await?
            .into_iter()
            .filter(|d| d.customer_id == Some(c.id) && d.kind == drift_kind::USER_MISSING)
            .filter_map(|d| d.share_id)
            .collect();
        let mut lost = Vec::new();
        for s in live {
            let server = match servers::find(self.db.ex(), s.server_id).await {
                Ok(server) => server,
                Err(StoreError::NotFound) => {
                    lost.push(s);
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            if server.platform != Platform::Plex {
                continue;
            }
            if !server.enabled
                || s.state == "pending"
                || s.state == "invited"
                || s.last_error.is_some()
                || missing.contains(&s.id)
            {
                lost.push(s);
            }
        }
        Ok(Some(lost))
    }

    /// Whether `customer` sees the Re-Invite Yourself button (product §28.10).
    pub async fn self_reinvite_state(&self, c: &CustomerRow) -> Result<SelfReinvite, AppError> {
        if !self.settings().await?.bool(REINVITE_BUTTON_SETTING)
            || c.deleting_at.is_some()
            || plex_account_change::is_required(self.db.ex(), c.id).await?
            || !is_current(self.db.ex(), c, self.now()).await?
        {
            return Ok(SelfReinvite::Hidden);
        }
        let lost = match self.lost_shares(c).await? {
            None => c.plan_id.is_some(),
            Some(l) => !l.is_empty(),
        };
        if !lost {
            return Ok(SelfReinvite::Hidden);
        }
        let last = plex_account_change::self_reinvite_at(self.db.ex(), c.id).await?;
        let until = last.map(|t| t + SELF_REINVITE_EVERY_MINUTES * 60);
        Ok(match until {
            Some(until) if until > self.now() => SelfReinvite::Wait { until },
            _ => SelfReinvite::Available,
        })
    }

    /// The customer presses Re-Invite Yourself: the lost shares' jobs are queued again (or,
    /// with no live share, a server is chosen), at most once per 15 minutes.
    pub async fn self_reinvite(
        &self,
        actor: &Actor,
        customer_id: i64,
    ) -> Result<SelfReinvited, AppError> {
        let c = customers::find(self.db.ex(), customer_id)
            .await
            .map_err(AppError::not_found_as("customer"))?;
        match self.self_reinvite_state(&c).await? {
            SelfReinvite::Available => {}
            SelfReinvite::Wait { until } => {
                return Err(AppError::Throttled {
                    retry_after: (until - self.now()).max(1),
                });
            }
            SelfReinvite::Hidden => {
                return Err(AppError::Conflict(
                    "a re-invite is not available for your account: it is for paid-up accounts that lost access to their server".into(),
                ));
            }
        }
        let lost = self.lost_shares(&c).await?;
        let now = self.now();
        let not_before = now - SELF_REINVITE_EVERY_MINUTES * 60;
        let mut tx = self.db.begin().await?;
        if !plex_account_change::stamp_self_reinvite(tx.ex(), c.id, now, not_before).await? {
            return Err(AppError::Throttled {
                retry_after: SELF_REINVITE_EVERY_MINUTES * 60,
            });
        }
        let mut out = SelfReinvited::default();
        let on_enabled: Vec<&ShareRow> = match &lost {
            Some(l) => {
                let mut v = Vec::new();
                for s in l {
                    if servers::find(tx.ex(), s.server_id)
                        .await
                        .is_ok_and(|srv| srv.enabled)
                    {
                        v.push(s);
                    }
                }
                v
            }
            None => Vec::new(),
        };
        for s in &on_enabled {
            self.enqueue(
                tx.ex(),
                JobSpec::new(SHARE_APPLY_JOB, json!({ "share_id": s.id, "resend": true }))
                    .key(format!("reinvite:self:{}:{now}", s.id)),
            )
            .await?;
            out.share_ids.push(s.id);
        }
        if on_enabled.is_empty()
            && let Some(plan_id) = c.plan_id
        {
            let plan = plan::load(tx.ex(), plan_id).await?;
            match self.provision(&mut tx, &c, &plan, None).await? {
                Provisioned::Share(row) => out.share_ids.push(row.id),
                Provisioned::NoCapacity(text) | Provisioned::AwaitingPlexChange(text) => {
                    out.no_capacity = Some(text)
                }
            }
        }
        let message = format!("re-invited themselves ({} share(s))", out.share_ids.len());
        admin_events::record(
            tx.ex(),
            now,
            SELF_REINVITE_EVENT,
            Some(c.id),
            None,
            &message,
        )
        .await?;
        self.audit(
            tx.ex(),
            actor,
            "customer.self_reinvite",
            &format!("customer:{}", c.id),
            &message,
        )
        .await?;
        tx.commit().await?;
        Ok(out)
    }

    /// Who a server re-invite would invite, for the confirm step.
    pub async fn preview_server_reinvite(
        &self,
        server_id: i64,
    ) -> Result<ServerReinvitePreview, AppError> {
        let server = servers::find(self.db.ex(), server_id)
            .await
            .map_err(AppError::not_found_as("server"))?;
        let now = self.now();
        let mut share_ids = Vec::new();
        let mut flagged = 0;
        for s in shares::list_for_server(self.db.ex(), server_id).await? {
            if s.state == "removed" {
                continue;
            }
            let c = customers::find(self.db.ex(), s.customer_id).await?;
            if c.deleting_at.is_some() || !is_current(self.db.ex(), &c, now).await? {
                continue;
            }
            if plex_account_change::is_required(self.db.ex(), c.id).await? {
                flagged += 1;
                continue;
            }
            share_ids.push(s.id);
        }
        let in_flight =
            plex_account_change::unfinished_jobs(self.db.ex(), &server_key(server_id)).await?;
        let warning = (server.platform == Platform::Plex).then_some(PLEX_BAN_WARNING);
        Ok(ServerReinvitePreview {
            server,
            share_ids,
            flagged,
            in_flight,
            warning,
        })
    }

    /// Queues one re-invite job per current customer of the server. Refused while an earlier
    /// run still has invites to send, so a second click invites nobody twice.
    pub async fn start_server_reinvite(
        &self,
        actor: &Actor,
        server_id: i64,
    ) -> Result<usize, AppError> {
        let p = self.preview_server_reinvite(server_id).await?;
        if !p.server.enabled {
            return Err(AppError::Conflict(format!(
                "\"{}\" is disabled: enable it before re-inviting its users",
                p.server.name
            )));
        }
        if p.share_ids.is_empty() {
            return Err(AppError::Conflict(format!(
                "\"{}\" has no paid-up users to re-invite",
                p.server.name
            )));
        }
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let key = server_key(server_id);
        let in_flight = plex_account_change::unfinished_jobs(tx.ex(), &key).await?;
        if in_flight > 0 {
            return Err(AppError::Conflict(format!(
                "a re-invite of \"{}\" is still running: {in_flight} invite(s) left to send",
                p.server.name
            )));
        }
        for id in &p.share_ids {
            self.enqueue(
                tx.ex(),
                JobSpec::new(SHARE_APPLY_JOB, json!({ "share_id": id, "resend": true }))
                    .key(format!("{key}{now}:{id}")),
            )
            .await?;
        }
        let message = format!(
            "re-inviting {} user(s) of \"{}\"{}",
            p.share_ids.len(),
            p.server.name,
            if p.flagged > 0 {
                format!(
                    "; {} waiting for a Plex account change are left out",
                    p.flagged
                )
            } else {
                String::new()
            }
        );
        admin_events::record(
            tx.ex(),
            now,
            SERVER_REINVITE_EVENT,
            None,
            Some(server_id),
            &message,
        )
        .await?;
        self.audit(
            tx.ex(),
            actor,
            "server.reinvite",
            &format!("server:{server_id}"),
            &message,
        )
        .await?;
        tx.commit().await?;
        Ok(p.share_ids.len())
    }
}
