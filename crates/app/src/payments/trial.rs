//! Free trials (product §8.7, §28.2 step 1-2; operations §6.15): a customer takes a trial plan
//! for nothing, once per person, while *Trial enabled* is on and the *Maximum number of trial
//! users* is not reached. With *Force trial prior to subscription* on, a customer who never had a
//! payment takes the trial before buying. A trial is placed like a purchase, on a server that
//! allows trial subscriptions; a dedicated trial server is one whose libraries only the trial
//! plan's group holds, so a later purchase moves the customer off it.
//!
//! "One per person" means per identity: the login's e-mail, the Plex e-mail, and the Jellyfin and
//! Emby user names each carry the trial (`trial_claims`), so a new login with the same Plex
//! account is refused, and so is a re-created customer.

use super::checkout::{CheckoutRefused, duration_text};
use crate::audit::Actor;
use crate::notify::{Notice, date};
use crate::settings::Settings;
use crate::subscriptions::plan;
use crate::subscriptions::provision::{Provisioned, covered_until};
use crate::{App, AppError};
use boxoffice_domain::Email;
use boxoffice_domain::coverage;
use boxoffice_store::customers::{self, CustomerRow};
use boxoffice_store::payments::{self, NewPayment};
use boxoffice_store::{Ex, StoreError, servers, trial_claims};

/// What the customer reads when they had a trial already.
pub const TRIAL_ALREADY_HAD: &str =
    "You have had your free trial already: one trial per person. Choose a plan to subscribe.";
/// What the customer reads when the trial places are all taken.
pub const TRIAL_FULL: &str =
    "All free trial places are taken right now. Please try again later, or subscribe to a plan.";
/// What the customer reads when a paid plan needs a trial first.
pub const TRIAL_FIRST: &str =
    "Start with the free trial: this site asks new customers to try it before buying a plan.";

/// A trial plan as the checkout page offers it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TrialOffer {
    pub plan_id: i64,
    pub name: String,
    pub description: String,
    pub duration: String,
    /// A Plex server can serve it (the remote playback notice applies).
    pub plex: bool,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct TrialStarted {
    pub payment_id: i64,
    /// End of the trial, Unix seconds.
    pub until: i64,
    /// The server the customer is placed on.
    pub server_id: i64,
}

/// The identities a trial is claimed under, normalised.
pub(crate) fn trial_identities(c: &CustomerRow) -> Vec<String> {
    let norm = |s: &str| {
        Email::parse(s)
            .map(|e| e.normalized())
            .unwrap_or_else(|_| s.trim().to_lowercase())
    };
    let mut out = vec![format!("email:{}", norm(&c.email))];
    for (kind, v) in [
        ("plex", &c.plex_email),
        ("jellyfin", &c.jellyfin_username),
        ("emby", &c.emby_username),
    ] {
        if !v.trim().is_empty() {
            out.push(format!("{kind}:{}", norm(v)));
        }
    }
    out.sort();
    out.dedup();
    out
}

impl App {
    /// The active trial plans, when trials are on.
    pub async fn trial_offers(&self) -> Result<Vec<TrialOffer>, AppError> {
        let s = self.settings().await?;
        if !s.bool("subscriptions.trial_enabled") {
            return Ok(Vec::new());
        }
        let plex = self.plex_plan_ids().await?;
        Ok(self
            .list_plans()
            .await?
            .into_iter()
            .filter(|p| p.plan.active && p.plan.is_trial)
            .map(|p| TrialOffer {
                plan_id: p.plan.id,
                name: p.plan.name.clone(),
                description: p.plan.description.clone(),
                duration: duration_text(&p.plan.duration_unit, p.plan.duration_count),
                plex: plex.contains(&p.plan.id),
            })
            .collect())
    }

    /// Why `customer` cannot start a trial now, or `None` when they can. `customer.id == 0` is
    /// a login with no customer yet.
    pub(crate) async fn trial_refusal(
        &self,
        mut ex: Ex<'_>,
        settings: &Settings,
        customer: &CustomerRow,
    ) -> Result<Option<&'static str>, AppError> {
        let now = self.now();
        if customer.id > 0 {
            if customer.permanent || customer.covered_until.is_some_and(|u| u > now) {
                return Ok(Some(
                    "Your subscription is running: a free trial is for new customers.",
                ));
            }
            let had = payments::list_for_customer(ex.reborrow(), customer.id).await?;
            let trial_plans = self.trial_plan_ids().await?;
            if had.iter().any(|p| trial_plans.contains(&p.plan_id)) {
                return Ok(Some(TRIAL_ALREADY_HAD));
            }
        }
        if trial_claims::first_claimed(ex.reborrow(), &trial_identities(customer))
            .await?
            .is_some()
        {
            return Ok(Some(TRIAL_ALREADY_HAD));
        }
        let cap = settings.int("subscriptions.max_trial_users");
        if cap > 0 && trial_claims::active_trial_users(ex, now).await? >= cap {
            return Ok(Some(TRIAL_FULL));
        }
        Ok(None)
    }

    async fn trial_plan_ids(&self) -> Result<Vec<i64>, AppError> {
        Ok(self
            .list_plans()
            .await?
            .into_iter()
            .filter(|p| p.plan.is_trial)
            .map(|p| p.plan.id)
            .collect())
    }

    /// Whether *Force trial prior to subscription* holds this customer to the trial: it is on,
    /// a trial can be had (trials on, an active trial plan) and the customer never had a payment.
    pub(crate) async fn must_trial_first(
        &self,
        ex: Ex<'_>,
        settings: &Settings,
        customer: &CustomerRow,
    ) -> Result<bool, AppError> {
        if !settings.bool("subscriptions.force_trial_first")
            || !settings.bool("subscriptions.trial_enabled")
            || self.trial_offers().await?.is_empty()
        {
            return Ok(false);
        }
        if customer.permanent {
            return Ok(false);
        }
        Ok(customer.id == 0 || !trial_claims::has_any_payment(ex, customer.id).await?)
    }

    /// Refuses a paid checkout that must wait for the trial.
    pub(crate) async fn check_trial_first(
        &self,
        ex: Ex<'_>,
        settings: &Settings,
        customer: &CustomerRow,
    ) -> Result<(), AppError> {
        if self.must_trial_first(ex, settings, customer).await? {
            return Err(AppError::invalid("plan_id", TRIAL_FIRST));
        }
        Ok(())
    }

    /// Starts a free trial of `plan_id` for the customer of `login_id` (see the module doc):
    /// the payment of nothing for one trial period, the share on a server that allows trials,
    /// the *Trial Started* notice. Refused, with nothing written, when trials are off, the plan
    /// is not a trial plan, the person had one, the places are taken or no server has room.
    pub async fn start_trial(
        &self,
        login_id: i64,
        login_email: &str,
        plan_id: i64,
        location_id: Option<i64>,
    ) -> Result<TrialStarted, CheckoutRefused> {
        let now = self.now();
        let settings = self.settings().await?;
        if !settings.bool("subscriptions.trial_enabled") {
            return Err(
                AppError::Conflict("free trials are not offered on this site".into()).into(),
            );
        }
        let offered = self.trial_offers().await?;
        if !offered.iter().any(|t| t.plan_id == plan_id) {
            return Err(AppError::invalid("plan_id", "choose one of the trials offered").into());
        }
        let mut tx = self.db.begin().await?;
        let customer = self
            .checkout_customer(tx.ex(), login_id, login_email)
            .await?;
        if customer.deleting_at.is_some() {
            return Err(AppError::Conflict("this account is being deleted".into()).into());
        }
        if let Some(why) = self.trial_refusal(tx.ex(), &settings, &customer).await? {
            return Err(AppError::Conflict(why.into()).into());
        }
        let plan = plan::load(tx.ex(), plan_id).await?;
        let (mut tx, customer) = self
            .place_checkout_customer(tx, customer, &plan, location_id)
            .await?;
        match trial_claims::claim(
            tx.ex(),
            &trial_identities(&customer),
            customer.id,
            plan_id,
            now,
        )
        .await
        {
            Ok(()) => {}
            // The same person started another trial at this very moment.
            Err(StoreError::Conflict { .. }) => {
                return Err(AppError::Conflict(TRIAL_ALREADY_HAD.into()).into());
            }
            Err(e) => return Err(AppError::from(e).into()),
        }
        let period = coverage::extend(now, plan.plan.duration, 1)
            .map_err(|e| AppError::Internal(format!("plan {plan_id}: {e}")))?;
        let tid = format!("trial-{}-{now}", customer.id);
        let payment = payments::insert(
            tx.ex(),
            NewPayment {
                customer_id: customer.id,
                plan_id,
                amount_minor: 0,
                currency: plan.currency().as_str(),
                period_from: period.from,
                period_to: period.to,
                method: "trial",
                transaction_id: &tid,
                sequence: 1,
                subscription_id: "",
                notes: "Free trial",
                source: "trial",
                now,
            },
        )
        .await?;
        let history = payments::list_for_customer(tx.ex(), customer.id).await?;
        customers::set_coverage(
            tx.ex(),
            customer.id,
            Some(plan_id),
            covered_until(&history, now),
            now,
        )
        .await?;
        let share = match self.provision(&mut tx, &customer, &plan, None).await? {
            Provisioned::Share(s) => s,
            // Checked above in this transaction; a refusal now writes nothing.
            Provisioned::NoCapacity(text) | Provisioned::AwaitingPlexChange(text) => {
                return Err(AppError::Conflict(text).into());
            }
        };
        let server = servers::find(tx.ex(), share.server_id)
            .await
            .map_err(AppError::not_found_as("server"))?;
        self.notify(
            tx.ex(),
            Notice::to_customer("trial_started", customer.id)
                .with("plan_name", plan.plan.name.clone())
                .with("expiration_date", date(payment.period_to))
                .with("server_name", server.name.clone())
                .once(format!("trial:{}", payment.id)),
        )
        .await?;
        self.enqueue_discord_sync(&mut tx, customer.id, &format!("trial:{}", payment.id))
            .await?;
        self.enqueue_request_app_sync(&mut tx, customer.id, &format!("payment:{}", payment.id))
            .await?;
        self.audit(
            tx.ex(),
            &Actor::system(),
            "trial.started",
            &format!("customer:{}", customer.id),
            &format!(
                "{} trial until {} on {}",
                plan.plan.name,
                date(payment.period_to),
                server.name
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(TrialStarted {
            payment_id: payment.id,
            until: payment.period_to,
            server_id: share.server_id,
        })
    }
}
