//! Requiring a customer to change their Plex account (operations §4.3, product §28.9). After a
//! Plex ban the old accounts are known to Plex, so the admin flags customers; a flagged customer
//! gives a new Plex e-mail on My Account, boxoffice checks on plex.tv that the account exists,
//! switches the customer's Plex identity, clears the flag and, in the same transaction, queues
//! the usual share job with the old identity to replace (the path `edit_customer` uses), so the
//! old user is removed and the new one invited by a durable job.

use super::CustomerStatus;
use super::apply::identity;
use super::plan;
use super::provision::Provisioned;
use crate::audit::Actor;
use crate::{App, AppError};
use boxoffice_domain::Email;
use boxoffice_domain::platform::Platform;
use boxoffice_store::customers::{self, CustomerRow};
use boxoffice_store::shares::{self, Desired};
use boxoffice_store::{
    StoreError, admin_events, plex_account_change, plex_accounts, servers, throttle,
};

/// The setting that turns the customer side of the flow on (Settings → Miscellaneous).
pub const PLEX_CHANGE_SETTING: &str = "misc.plex_account_change_processing";
/// Admin events of the flow.
pub const PLEX_CHANGE_REQUIRED_EVENT: &str = "plex_account_change_required";
pub const PLEX_CHANGED_EVENT: &str = "plex_account_changed";

/// After this many e-mails plex.tv does not know, the customer waits before trying again.
const LOOKUPS_BEFORE_PAUSE: i64 = 5;
const LOOKUP_PAUSE_SECS: i64 = 15 * 60;
const LOOKUP_MEMORY_SECS: i64 = 60 * 60;

/// What a Plex account change did.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct PlexAccountChanged {
    pub old: String,
    pub new: String,
    /// Shares whose old user is removed and the new identity invited, by their jobs.
    pub reinvited_share_ids: Vec<i64>,
    /// Set when the customer had no live Plex share and a server was chosen for them.
    pub provisioned_share_id: Option<i64>,
    /// Set when no server can take the customer's plan (also an admin event).
    pub no_capacity: Option<String>,
}

impl App {
    /// Sets or clears "requires a Plex account change" on the customers listed (Edit or Bulk
    /// Edit). Answers how many changed.
    pub async fn require_plex_account_change(
        &self,
        actor: &Actor,
        customer_ids: &[i64],
        required: bool,
    ) -> Result<usize, AppError> {
        if customer_ids.is_empty() {
            return Err(AppError::invalid(
                "customer_ids",
                "select at least one user",
            ));
        }
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let mut changed = 0;
        for id in customer_ids {
            let was = plex_account_change::is_required(tx.ex(), *id)
                .await
                .map_err(AppError::not_found_as("customer"))?;
            if was == required {
                continue;
            }
            plex_account_change::set_required(tx.ex(), *id, required, now).await?;
            if required {
                let settings = App::settings_in(tx.ex()).await?;
                let account = settings.account_url();
                self.notify(
                    tx.ex(),
                    crate::notify::Notice::to_customer(PLEX_CHANGE_REQUIRED_EVENT, *id)
                        .with("account_url", account)
                        .once(format!("plex_change_required:{id}:{now}")),
                )
                .await?;
            }
            let message = if required {
                "Plex account change required: the customer is asked to give a new Plex account"
            } else {
                "Plex account change no longer required"
            };
            admin_events::record(
                tx.ex(),
                now,
                PLEX_CHANGE_REQUIRED_EVENT,
                Some(*id),
                None,
                message,
            )
            .await?;
            self.audit(
                tx.ex(),
                actor,
                if required {
                    "customer.plex_change.require"
                } else {
                    "customer.plex_change.clear"
                },
                &format!("customer:{id}"),
                message,
            )
            .await?;
            changed += 1;
        }
        tx.commit().await?;
        Ok(changed)
    }

    pub async fn requires_plex_account_change(&self, customer_id: i64) -> Result<bool, AppError> {
        plex_account_change::is_required(self.db.ex(), customer_id)
            .await
            .map_err(AppError::not_found_as("customer"))
    }

    /// The customer a site login belongs to, if any.
    pub async fn customer_of_login(
        &self,
        login_id: i64,
        email: &str,
    ) -> Result<Option<CustomerRow>, AppError> {
        let key = Email::parse(email)
            .map(|e| e.normalized())
            .unwrap_or_else(|_| email.trim().to_lowercase());
        match plex_account_change::customer_of_login(self.db.ex(), login_id, &key).await {
            Ok(id) => Ok(Some(customers::find(self.db.ex(), id).await?)),
            Err(StoreError::NotFound) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// The flagged customer gives their new Plex e-mail. Refused with a message naming the field
    /// when the feature is off, the customer is not flagged, the e-mail is not one, is the one
    /// they have, is another subscriber's, or has no Plex account; nothing changes then.
    pub async fn change_plex_account(
        &self,
        actor: &Actor,
        customer_id: i64,
        new_plex_email: &str,
    ) -> Result<PlexAccountChanged, AppError> {
        if !self.settings().await?.bool(PLEX_CHANGE_SETTING) {
            return Err(AppError::Conflict(
                "Plex account changes are not enabled on this site".into(),
            ));
        }
        let customer = customers::find(self.db.ex(), customer_id)
            .await
            .map_err(AppError::not_found_as("customer"))?;
        if customer.deleting_at.is_some() {
            return Err(AppError::Conflict("this account is being deleted".into()));
        }
        if !plex_account_change::is_required(self.db.ex(), customer_id).await? {
            return Err(AppError::Conflict(
                "your account does not need a Plex account change".into(),
            ));
        }
        let raw = new_plex_email.trim();
        if raw.is_empty() {
            return Err(AppError::invalid(
                "plex_email",
                "enter the e-mail of your new Plex account",
            ));
        }
        let new = Email::parse(raw).map_err(|_| {
            AppError::invalid(
                "plex_email",
                format!(
                    "\"{raw}\" is not an e-mail address: enter the e-mail of your new Plex account"
                ),
            )
        })?;
        let new = new.as_str().to_string();
        let old_username = customers::plex_username(self.db.ex(), customer_id).await?;
        let old = identity(&customer, Platform::Plex);
        if new.eq_ignore_ascii_case(&old)
            || new.eq_ignore_ascii_case(&customer.plex_email)
            || (!old_username.is_empty() && new.eq_ignore_ascii_case(&old_username))
        {
            return Err(AppError::invalid(
                "plex_email",
                "this is the Plex account you already use: create a new Plex account and enter its e-mail",
            ));
        }
        if plex_account_change::other_holder(self.db.ex(), &new, customer_id)
            .await?
            .is_some()
        {
            return Err(AppError::invalid(
                "plex_email",
                "this Plex account is already used by another subscriber",
            ));
        }
        // Each try asks plex.tv: a customer guessing e-mails is slowed down like a bad login.
        let key = format!("plexlookup:{customer_id}");
        let now = self.now();
        if let Some(c) = throttle::get(self.db.ex(), &key).await?
            && c.locked_until > now
        {
            return Err(AppError::Throttled {
                retry_after: c.locked_until - now,
            });
        }
        if !self.plex_user_exists(&customer, &new).await? {
            throttle::record_failure(self.db.ex(), &key, now, LOOKUP_MEMORY_SECS, |n| {
                if n >= LOOKUPS_BEFORE_PAUSE {
                    LOOKUP_PAUSE_SECS
                } else {
                    0
                }
            })
            .await?;
            return Err(AppError::invalid(
                "plex_email",
                format!(
                    "no Plex account exists for {new}: create it on plex.tv first, then enter its e-mail here"
                ),
            ));
        }
        throttle::clear(self.db.ex(), &key).await?;
        self.switch_plex_identity(actor, customer, &old, &new).await
    }

    /// Asks plex.tv through a stored Plex account: the one owning a server the customer is on,
    /// else any. None stored means no Plex server either, so nothing could be invited.
    async fn plex_user_exists(&self, customer: &CustomerRow, who: &str) -> Result<bool, AppError> {
        let mut account_id = None;
        for s in shares::list_for_customer(self.db.ex(), customer.id).await? {
            if let Ok(server) = servers::find(self.db.ex(), s.server_id).await
                && server.platform == Platform::Plex
                && server.plex_account_id.is_some()
            {
                account_id = server.plex_account_id;
                if s.state != "removed" {
                    break;
                }
            }
        }
        let accounts = plex_accounts::list(self.db.ex()).await?;
        let row = accounts
            .iter()
            .find(|a| Some(a.id) == account_id)
            .or_else(|| accounts.first())
            .ok_or_else(|| {
                AppError::Conflict(
                    "this site has no Plex account to verify the new Plex account with".into(),
                )
            })?;
        let client = self.media.plex_account(self, row)?;
        Ok(client.user_exists(who).await?)
    }

    async fn switch_plex_identity(
        &self,
        actor: &Actor,
        customer: CustomerRow,
        old: &str,
        new: &str,
    ) -> Result<PlexAccountChanged, AppError> {
        let now = self.now();
        let status = self.customer_detail(customer.id).await?.status;
        let mut tx = self.db.begin().await?;
        // The old username belongs to the old account: the new one is known by its e-mail.
        plex_account_change::switch_identity(tx.ex(), customer.id, new, "", now).await?;
        let mut out = PlexAccountChanged {
            old: old.to_string(),
            new: new.to_string(),
            ..PlexAccountChanged::default()
        };
        let mut any_live = false;
        for s in shares::list_for_customer(tx.ex(), customer.id).await? {
            if s.state == "removed" {
                continue;
            }
            any_live = true;
            let server = match servers::find(tx.ex(), s.server_id).await {
                Ok(server) => server,
                Err(StoreError::NotFound) => continue,
                Err(e) => return Err(e.into()),
            };
            if server.platform != Platform::Plex {
                continue;
            }
            // Same access, new revision: its job removes `old` (best effort on a banned server:
            // a user already gone is fine) and invites `new`.
            let row = shares::upsert_desired(
                tx.ex(),
                customer.id,
                s.server_id,
                &Desired {
                    state: if s.state == "grace" {
                        "grace"
                    } else {
                        "pending"
                    },
                    library_ids: &s.library_ids(),
                    downloads: s.downloads,
                    video_transcoding: s.video_transcoding,
                    stream_limit: s.stream_limit,
                    delete_after: s.delete_after,
                },
                now,
            )
            .await?;
            self.enqueue_share_replacing(tx.ex(), &row, old).await?;
            out.reinvited_share_ids.push(row.id);
        }
        // No live share at all (the banned server was deleted): a paying customer is invited to
        // one of the servers, as at subscription.
        let current = matches!(status, CustomerStatus::Active | CustomerStatus::Permanent);
        if !any_live
            && current
            && let Some(plan_id) = customer.plan_id
        {
            let plan = plan::load(tx.ex(), plan_id).await?;
            let updated = customers::find(tx.ex(), customer.id).await?;
            match self.provision(&mut tx, &updated, &plan, None).await? {
                Provisioned::Share(row) => out.provisioned_share_id = Some(row.id),
                Provisioned::NoCapacity(text) | Provisioned::AwaitingPlexChange(text) => {
                    out.no_capacity = Some(text)
                }
            }
        }
        let message = format!("Plex account changed from {old} to {new}");
        admin_events::record(
            tx.ex(),
            now,
            PLEX_CHANGED_EVENT,
            Some(customer.id),
            None,
            &message,
        )
        .await?;
        self.audit(
            tx.ex(),
            actor,
            "customer.plex_change",
            &format!("customer:{}", customer.id),
            &message,
        )
        .await?;
        tx.commit().await?;
        // The new identity's invite (with how to accept it) is told by the share job when it
        // writes the new share.
        Ok(out)
    }
}
