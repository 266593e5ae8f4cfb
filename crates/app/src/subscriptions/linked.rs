//! Linked users (product §17): a master customer pays for sub-accounts, up to their plan's
//! "maximum number of sub accounts". A sub-account follows its master: the same plan and
//! coverage end (the store mirrors them whenever the master's change), and a share on the same
//! server with the plan's libraries. So expiring the master takes the subs' access away in the
//! same expiry pass, and a renewal of the master restores theirs.

use super::InviteWay;
use super::plan;
use super::provision::{Provisioned, covered_until};
use crate::audit::Actor;
use crate::{App, AppError};
use boxoffice_domain::Email;
use boxoffice_store::customers::{self, CustomerRow, NewCustomer};
use boxoffice_store::linked_users::{self, LinkRow};
use boxoffice_store::{StoreError, Tx, payments, shares};

/// The most links the Linked users page lists; a search narrows it.
pub const LINKED_LIST_LIMIT: i64 = 500;

/// A master's sub-accounts as My account shows them.
#[derive(Clone, Debug)]
pub struct MyLinkedUsers {
    pub plan_name: String,
    /// How many sub-accounts the master's plan allows.
    pub allowed: i64,
    pub subs: Vec<LinkRow>,
}

impl MyLinkedUsers {
    pub fn room(&self) -> i64 {
        (self.allowed - self.subs.len() as i64).max(0)
    }
}

/// The ways a sub-account is found: by id (admin) or created from an e-mail (the master).
pub struct NewSubAccount<'a> {
    pub email: &'a str,
    /// Jellyfin or Emby user name; empty uses the e-mail.
    pub username: &'a str,
}

impl App {
    /// Every link, for the admin's Linked users page.
    pub async fn linked_users(&self, search: &str) -> Result<Vec<LinkRow>, AppError> {
        Ok(linked_users::list(self.db.ex(), search, LINKED_LIST_LIMIT).await?)
    }

    /// The customer whose e-mail is `email`, for the admin's link form.
    pub async fn customer_by_email(&self, email: &str) -> Result<CustomerRow, AppError> {
        let key = Email::parse(email)
            .map_err(|e| AppError::invalid("email", e.to_string()))?
            .normalized();
        customers::find_by_email_key(self.db.ex(), &key)
            .await
            .map_err(AppError::not_found_as("customer"))
    }

    /// Links `sub` to `master` (admin). Refused with the reason when the master's plan has no
    /// room, either end is in another link the wrong way round, or the sub is permanent.
    pub async fn link_user(
        &self,
        actor: &Actor,
        master_id: i64,
        sub_id: i64,
    ) -> Result<(), AppError> {
        let mut tx = self.db.begin().await?;
        let master = customers::find(tx.ex(), master_id)
            .await
            .map_err(AppError::not_found_as("master user"))?;
        let sub = customers::find(tx.ex(), sub_id)
            .await
            .map_err(AppError::not_found_as("sub-account"))?;
        self.link_in(&mut tx, &master, &sub).await?;
        self.audit(
            tx.ex(),
            actor,
            "linked_users.link",
            &format!("customer:{}", master.id),
            &format!("{} is now a sub-account of {}", sub.email, master.email),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Ends a link (admin). The former sub keeps only what its own payments cover: with none,
    /// the next expiry pass takes its access away.
    pub async fn unlink_user(&self, actor: &Actor, sub_id: i64) -> Result<(), AppError> {
        let mut tx = self.db.begin().await?;
        let master = self.unlink_in(&mut tx, sub_id).await?;
        let sub = customers::find(tx.ex(), sub_id).await?;
        self.audit(
            tx.ex(),
            actor,
            "linked_users.unlink",
            &format!("customer:{master}"),
            &format!("{} is no longer a sub-account", sub.email),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// What My account shows a master: `None` when their plan allows no sub-account and they
    /// have none.
    pub async fn my_linked_users(
        &self,
        customer_id: i64,
    ) -> Result<Option<MyLinkedUsers>, AppError> {
        let c = customers::find(self.db.ex(), customer_id)
            .await
            .map_err(AppError::not_found_as("customer"))?;
        let subs = linked_users::of_master(self.db.ex(), c.id).await?;
        let (plan_name, allowed) = match c.plan_id {
            Some(p) => {
                let a = linked_users::plan_allowance(self.db.ex(), p).await?;
                (a.name, if a.is_trial { 0 } else { a.max_linked_accounts })
            }
            None => (String::new(), 0),
        };
        if allowed <= 0 && subs.is_empty() {
            return Ok(None);
        }
        Ok(Some(MyLinkedUsers {
            plan_name,
            allowed,
            subs,
        }))
    }

    /// A master adds a sub-account from My account: a new customer with that e-mail (an
    /// existing customer is never taken over from the portal), on the master's plan and server.
    pub async fn add_sub_account(
        &self,
        actor: &Actor,
        master_id: i64,
        new: NewSubAccount<'_>,
    ) -> Result<i64, AppError> {
        let email =
            Email::parse(new.email).map_err(|e| AppError::invalid("email", e.to_string()))?;
        let username = new.username.trim();
        if username.chars().count() > 64 || username.chars().any(char::is_control) {
            return Err(AppError::invalid(
                "username",
                "a user name has at most 64 characters and no control characters",
            ));
        }
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let master = customers::find(tx.ex(), master_id)
            .await
            .map_err(AppError::not_found_as("customer"))?;
        // Checked before anything is written, so a refused add leaves no stray customer.
        self.check_room(&mut tx, &master).await?;
        let name = if username.is_empty() {
            email.as_str()
        } else {
            username
        };
        let sub = customers::insert(
            tx.ex(),
            NewCustomer {
                email: email.as_str(),
                email_key: &email.normalized(),
                plex_email: email.as_str(),
                jellyfin_username: name,
                emby_username: name,
                paypal_email: "",
                permanent: false,
                plan_id: master.plan_id,
                now,
            },
        )
        .await
        .map_err(|e| match e {
            StoreError::Conflict { .. } => AppError::invalid(
                "email",
                format!(
                    "{email} already has an account here: ask the site's administrator to link it"
                ),
            ),
            other => other.into(),
        })?;
        self.link_in(&mut tx, &master, &sub).await?;
        self.audit(
            tx.ex(),
            actor,
            "linked_users.add_sub_account",
            &format!("customer:{}", master.id),
            &format!("{} added sub-account {}", master.email, sub.email),
        )
        .await?;
        tx.commit().await?;
        Ok(sub.id)
    }

    /// A master removes one of their own sub-accounts from My account.
    pub async fn remove_sub_account(
        &self,
        actor: &Actor,
        master_id: i64,
        sub_id: i64,
    ) -> Result<(), AppError> {
        let mut tx = self.db.begin().await?;
        if linked_users::master_of(tx.ex(), sub_id).await? != Some(master_id) {
            return Err(AppError::NotFound("sub-account"));
        }
        self.unlink_in(&mut tx, sub_id).await?;
        let sub = customers::find(tx.ex(), sub_id).await?;
        self.audit(
            tx.ex(),
            actor,
            "linked_users.remove_sub_account",
            &format!("customer:{master_id}"),
            &format!("removed sub-account {}", sub.email),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Refuses when `master` cannot take one more sub-account.
    async fn check_room(&self, tx: &mut Tx, master: &CustomerRow) -> Result<(), AppError> {
        if let Some(m) = linked_users::master_of(tx.ex(), master.id).await? {
            let m = customers::find(tx.ex(), m).await?;
            return Err(AppError::Conflict(format!(
                "{} is a sub-account of {}: a sub-account cannot have sub-accounts of its own",
                master.email, m.email
            )));
        }
        let Some(plan_id) = master.plan_id else {
            return Err(AppError::Conflict(format!(
                "{} has no plan: sub-accounts come with a plan that allows them",
                master.email
            )));
        };
        let plan = linked_users::plan_allowance(tx.ex(), plan_id).await?;
        if plan.is_trial || plan.max_linked_accounts <= 0 {
            return Err(AppError::Conflict(format!(
                "the plan \"{}\" of {} allows no sub-accounts{}",
                plan.name,
                master.email,
                if plan.is_trial {
                    " (it is a trial)"
                } else {
                    ""
                }
            )));
        }
        let used = linked_users::sub_ids(tx.ex(), master.id).await?.len() as i64;
        if used >= plan.max_linked_accounts {
            return Err(AppError::Conflict(format!(
                "the plan \"{}\" of {} allows {} sub-account{}, and all are in use",
                plan.name,
                master.email,
                plan.max_linked_accounts,
                if plan.max_linked_accounts == 1 {
                    ""
                } else {
                    "s"
                }
            )));
        }
        Ok(())
    }

    /// Writes the link, gives the sub the master's plan and coverage, and a share on the
    /// master's server while the master is covered.
    async fn link_in(
        &self,
        tx: &mut Tx,
        master: &CustomerRow,
        sub: &CustomerRow,
    ) -> Result<(), AppError> {
        if master.id == sub.id {
            return Err(AppError::invalid(
                "sub",
                "a user cannot be their own sub-account",
            ));
        }
        if let Some(m) = linked_users::master_of(tx.ex(), sub.id).await? {
            let m = customers::find(tx.ex(), m).await?;
            return Err(AppError::Conflict(format!(
                "{} is already a sub-account of {}",
                sub.email, m.email
            )));
        }
        if !linked_users::sub_ids(tx.ex(), sub.id).await?.is_empty() {
            return Err(AppError::Conflict(format!(
                "{} has sub-accounts of their own: a master cannot be a sub-account",
                sub.email
            )));
        }
        if sub.permanent {
            return Err(AppError::Conflict(format!(
                "{} is permanent: a permanent user needs no master",
                sub.email
            )));
        }
        self.check_room(tx, master).await?;
        let now = self.now();
        linked_users::insert(tx.ex(), master.id, sub.id, now).await?;
        customers::set_coverage(tx.ex(), sub.id, master.plan_id, master.covered_until, now).await?;
        self.follow_master_share(tx, master, sub.id).await
    }

    /// Gives one sub-account a share like its master's: on the master's server, with the plan's
    /// libraries, while the master is covered.
    async fn follow_master_share(
        &self,
        tx: &mut Tx,
        master: &CustomerRow,
        sub_id: i64,
    ) -> Result<(), AppError> {
        let now = self.now();
        let (Some(plan_id), true) = (
            master.plan_id,
            master.covered_until.is_some_and(|u| u > now),
        ) else {
            return Ok(());
        };
        let server = shares::list_for_customer(tx.ex(), master.id)
            .await?
            .into_iter()
            .find(|s| s.state != "removed" && s.state != "grace")
            .map(|s| s.server_id);
        let Some(server) = server else {
            return Ok(());
        };
        let sub = customers::find(tx.ex(), sub_id).await?;
        if sub.deleting_at.is_some() {
            return Ok(());
        }
        let plan = plan::load(tx.ex(), plan_id).await?;
        // No capacity or a Plex account change to make first: recorded as for any customer.
        let _: Provisioned = self
            .provision_alone(tx, &sub, &plan, Some(server), InviteWay::default())
            .await?;
        Ok(())
    }

    /// After `master` was given a share on `server_id`, their sub-accounts follow there.
    pub(crate) async fn provision_sub_accounts(
        &self,
        tx: &mut Tx,
        master_id: i64,
    ) -> Result<(), AppError> {
        let subs = linked_users::sub_ids(tx.ex(), master_id).await?;
        if subs.is_empty() {
            return Ok(());
        }
        let master = customers::find(tx.ex(), master_id).await?;
        for sub in subs {
            self.follow_master_share(tx, &master, sub).await?;
        }
        Ok(())
    }

    /// Removes the link of `sub_id` and puts back the coverage of its own payments; answers
    /// the former master's id.
    async fn unlink_in(&self, tx: &mut Tx, sub_id: i64) -> Result<i64, AppError> {
        let Some(master) = linked_users::master_of(tx.ex(), sub_id).await? else {
            return Err(AppError::NotFound("sub-account"));
        };
        linked_users::delete(tx.ex(), sub_id).await?;
        let now = self.now();
        let sub = customers::find(tx.ex(), sub_id).await?;
        let own = payments::list_for_customer(tx.ex(), sub_id).await?;
        customers::set_coverage(tx.ex(), sub.id, sub.plan_id, covered_until(&own, now), now)
            .await?;
        Ok(master)
    }
}
