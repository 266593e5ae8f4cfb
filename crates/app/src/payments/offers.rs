//! What the checkout page adds to the plans: which plans a Plex server serves (for the remote
//! playback notice), and the server locations a customer may choose, asked only when servers
//! with room for a plan stand in more than one location (product §28.2 step 4).

use super::checkout::CheckoutOptions;
use super::trial::TrialOffer;
use crate::subscriptions::plan::{self, LoadedPlan};
use crate::{App, AppError};
use boxoffice_domain::platform::Platform;
use boxoffice_domain::selection::{CandidateServer, Subscriber};
use boxoffice_store::customers::CustomerRow;
use boxoffice_store::{Ex, server_locations};

/// A location the customer may choose.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LocationChoice {
    pub id: i64,
    pub name: String,
    pub description: String,
}

/// The checkout page for one customer.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CustomerCheckout {
    pub options: CheckoutOptions,
    pub trials: Vec<TrialOffer>,
    /// Why this customer cannot start a trial, when trials are offered.
    pub trial_refused: Option<String>,
    /// *Force trial prior to subscription* holds this customer to the trial.
    pub trial_first: bool,
    /// Asked only when it holds two or more.
    pub locations: Vec<LocationChoice>,
    /// The plan of the running payment, preselected to renew.
    pub current_plan_id: Option<i64>,
}

fn subscriber(c: &CustomerRow) -> Subscriber {
    Subscriber {
        has_plex_identity: !c.plex_email.is_empty(),
        has_emby_identity: !c.jellyfin_username.is_empty() || !c.emby_username.is_empty(),
        ..Subscriber::default()
    }
}

/// Locations of the servers that could take a new subscriber on `plan` now.
fn locations_with_room(
    candidates: &[CandidateServer],
    plan: &LoadedPlan,
    who: &Subscriber,
) -> Vec<i64> {
    let mut ids: Vec<i64> = candidates
        .iter()
        .filter(|s| s.is_eligible(&plan.plan, who))
        .filter_map(|s| s.location)
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

impl App {
    /// Active plans an open Plex server holds every library group of.
    pub(crate) async fn plex_plan_ids(&self) -> Result<Vec<i64>, AppError> {
        let candidates = self.candidate_servers(self.db.ex()).await?;
        let mut out = Vec::new();
        for p in self
            .list_plans()
            .await?
            .into_iter()
            .filter(|p| p.plan.active)
        {
            let plan = plan::load(self.db.ex(), p.plan.id).await?;
            if candidates.iter().any(|s| {
                s.platform == Platform::Plex && s.open_to(&plan.plan) && s.accommodates(&plan.plan)
            }) {
                out.push(p.plan.id);
            }
        }
        Ok(out)
    }

    /// The checkout page of the customer of `login_id`.
    pub async fn customer_checkout_options(
        &self,
        login_id: i64,
        email: &str,
    ) -> Result<CustomerCheckout, AppError> {
        let options = self.checkout_options().await?;
        let trials = self.trial_offers().await?;
        let settings = self.settings().await?;
        let customer = self
            .checkout_customer(self.db.ex(), login_id, email)
            .await?;
        let trial_refused = match trials.is_empty() {
            true => None,
            false => self
                .trial_refusal(self.db.ex(), &settings, &customer)
                .await?
                .map(str::to_string),
        };
        let trial_first = self
            .must_trial_first(self.db.ex(), &settings, &customer)
            .await?;
        let candidates = self.candidate_servers(self.db.ex()).await?;
        let who = subscriber(&customer);
        let mut ids = Vec::new();
        let mut asked = false;
        let plan_ids = options
            .plans
            .iter()
            .map(|p| p.plan_id)
            .chain(trials.iter().map(|t| t.plan_id));
        for id in plan_ids {
            let plan = plan::load(self.db.ex(), id).await?;
            let here = locations_with_room(&candidates, &plan, &who);
            asked |= here.len() > 1;
            ids.extend(here);
        }
        let locations = if asked {
            server_locations::list(self.db.ex())
                .await?
                .into_iter()
                .filter(|l| ids.contains(&l.id))
                .map(|l| LocationChoice {
                    id: l.id,
                    name: l.name,
                    description: l.description,
                })
                .collect()
        } else {
            Vec::new()
        };
        let now = self.now();
        let current_plan_id = match customer.id {
            0 => None,
            id => boxoffice_store::payments::list_for_customer(self.db.ex(), id)
                .await?
                .iter()
                .rev()
                .find(|p| p.period_from <= now && now < p.period_to)
                .map(|p| p.plan_id)
                .filter(|id| options.plans.iter().any(|p| p.plan_id == *id)),
        };
        Ok(CustomerCheckout {
            options,
            trials,
            trial_refused,
            trial_first,
            locations,
            current_plan_id,
        })
    }

    /// Checks a chosen location: `None` stays no preference; a location must be one where a
    /// server has room for the plan now.
    pub(crate) async fn check_location(
        &self,
        ex: Ex<'_>,
        customer: &CustomerRow,
        plan: &LoadedPlan,
        location_id: Option<i64>,
    ) -> Result<Option<i64>, AppError> {
        let Some(id) = location_id else {
            return Ok(None);
        };
        let candidates = self.candidate_servers(ex).await?;
        if locations_with_room(&candidates, plan, &subscriber(customer)).contains(&id) {
            Ok(Some(id))
        } else {
            Err(AppError::invalid(
                "location_id",
                format!(
                    "no server in that location has room for {} now: choose another location or no preference",
                    plan.plan.name
                ),
            ))
        }
    }
}
