//! Plan use cases: list, add, edit, delete. Marking a plan default takes the mark from the plan
//! that had it, so switching the default is one edit; unmarking the only default is refused by
//! the one-default rule.

use crate::audit::Actor;
use crate::{App, AppError};
use boxoffice_domain::Money;
use boxoffice_domain::money::Currency;
use boxoffice_store::StoreError;
use boxoffice_store::plans::{self as store, PlanRecord, PlanValues};

/// A plan as typed into the form or sent to the API, before the site currency is applied.
#[derive(Debug, Clone, Default)]
pub struct PlanInput {
    pub name: String,
    pub description: String,
    pub cost_minor: i64,
    pub duration_count: i64,
    /// `days` or `months`.
    pub duration_unit: String,
    pub library_group_ids: Vec<i64>,
    pub grace_library_group_ids: Vec<i64>,
    pub target_server_ids: Vec<i64>,
    pub stream_limit: Option<i64>,
    pub downloads: bool,
    pub video_transcoding: bool,
    pub emby_device_limit: Option<i64>,
    pub is_trial: bool,
    pub is_default: bool,
    pub active: bool,
    pub stripe_price_id: String,
    pub paypal_plan_id: String,
    pub max_linked_accounts: i64,
    pub sort_order: i64,
}

/// A decimal amount as typed ("15", "15.5", "15.50") in minor units.
pub fn parse_cost(raw: &str) -> Result<i64, AppError> {
    // The currency does not change how an amount parses; only the minor units are kept.
    let any = Currency::parse("XXX").map_err(|e| AppError::Internal(e.to_string()))?;
    let m = Money::parse_decimal(raw, any).map_err(|e| AppError::invalid("cost", e.to_string()))?;
    if m.minor < 0 {
        return Err(AppError::invalid(
            "cost",
            "a plan cannot cost less than nothing",
        ));
    }
    Ok(m.minor)
}

fn dedup(mut v: Vec<i64>) -> Vec<i64> {
    v.sort_unstable();
    v.dedup();
    v
}

/// Checks what the set rules do not: sizes and ranges of single fields.
fn values(input: &PlanInput, currency: &str) -> Result<PlanValues, AppError> {
    let name = input.name.trim();
    if name.is_empty() || name.chars().count() > 80 {
        return Err(AppError::invalid(
            "name",
            "a plan needs a name of 1 to 80 characters",
        ));
    }
    if input.description.chars().count() > 2000 {
        return Err(AppError::invalid("description", "at most 2000 characters"));
    }
    if input.cost_minor < 0 {
        return Err(AppError::invalid(
            "cost",
            "a plan cannot cost less than nothing",
        ));
    }
    if !matches!(input.duration_unit.as_str(), "days" | "months") {
        return Err(AppError::invalid(
            "duration_unit",
            "the duration is in days or months",
        ));
    }
    if !(1..=36_500).contains(&input.duration_count) {
        return Err(AppError::invalid(
            "duration_count",
            "the duration is a whole number of at least 1",
        ));
    }
    if input.stream_limit.is_some_and(|n| !(1..=1000).contains(&n)) {
        return Err(AppError::invalid(
            "stream_limit",
            "the stream limit is 1 to 1000, or empty for no limit",
        ));
    }
    if input
        .emby_device_limit
        .is_some_and(|n| !(1..=1000).contains(&n))
    {
        return Err(AppError::invalid(
            "emby_device_limit",
            "the Emby device limit is 1 to 1000, or empty for no limit",
        ));
    }
    if !(0..=100).contains(&input.max_linked_accounts) {
        return Err(AppError::invalid(
            "max_linked_accounts",
            "0 to 100 sub accounts",
        ));
    }
    Ok(PlanValues {
        name: name.to_string(),
        description: input.description.trim().to_string(),
        cost_minor: input.cost_minor,
        currency: currency.to_string(),
        duration_unit: input.duration_unit.clone(),
        duration_count: input.duration_count,
        stream_limit: input.stream_limit,
        downloads: input.downloads,
        video_transcoding: input.video_transcoding,
        emby_device_limit: input.emby_device_limit,
        is_trial: input.is_trial,
        is_default: input.is_default,
        active: input.active,
        stripe_price_id: input.stripe_price_id.trim().to_string(),
        paypal_plan_id: input.paypal_plan_id.trim().to_string(),
        max_linked_accounts: input.max_linked_accounts,
        sort_order: input.sort_order,
        library_group_ids: dedup(input.library_group_ids.clone()),
        grace_library_group_ids: dedup(input.grace_library_group_ids.clone()),
        target_server_ids: dedup(input.target_server_ids.clone()),
    })
}

fn stored_values(r: &PlanRecord) -> PlanValues {
    let p = &r.plan;
    PlanValues {
        name: p.name.clone(),
        description: p.description.clone(),
        cost_minor: p.cost_minor,
        currency: p.currency.clone(),
        duration_unit: p.duration_unit.clone(),
        duration_count: p.duration_count,
        stream_limit: p.stream_limit,
        downloads: p.downloads,
        video_transcoding: p.video_transcoding,
        emby_device_limit: p.emby_device_limit,
        is_trial: p.is_trial,
        is_default: p.is_default,
        active: p.active,
        stripe_price_id: p.stripe_price_id.clone(),
        paypal_plan_id: p.paypal_plan_id.clone(),
        max_linked_accounts: p.max_linked_accounts,
        sort_order: p.sort_order,
        library_group_ids: r.library_group_ids.clone(),
        grace_library_group_ids: r.grace_library_group_ids.clone(),
        target_server_ids: r.target_server_ids.clone(),
    }
}

fn saved(e: StoreError) -> AppError {
    if e.is_conflict() {
        AppError::Conflict("a plan with this name already exists".into())
    } else if e.is_not_found() {
        AppError::NotFound("plan")
    } else {
        AppError::Store(e)
    }
}

impl App {
    pub async fn list_plans(&self) -> Result<Vec<PlanRecord>, AppError> {
        Ok(store::list(self.db.ex()).await?)
    }

    pub async fn plan(&self, id: i64) -> Result<PlanRecord, AppError> {
        store::find(self.db.ex(), id)
            .await
            .map_err(AppError::not_found_as("plan"))
    }

    /// Adds (`id = None`) or replaces a plan after checking the whole set of plans with it.
    pub async fn save_plan(
        &self,
        actor: &Actor,
        id: Option<i64>,
        input: &PlanInput,
    ) -> Result<i64, AppError> {
        let currency = self.settings().await?.get("payments.currency").to_string();
        let v = values(input, &currency)?;
        let mut tx = self.db.begin().await?;
        let current = store::list(tx.ex()).await?;
        if let Some(id) = id
            && !current.iter().any(|p| p.plan.id == id)
        {
            return Err(AppError::NotFound("plan"));
        }
        let mut set: Vec<PlanValues> = current
            .iter()
            .filter(|p| Some(p.plan.id) != id)
            .map(stored_values)
            .collect();
        if v.is_default {
            set.iter_mut().for_each(|p| p.is_default = false);
        }
        set.push(v.clone());
        self.check_plan_set(tx.ex(), &set).await?;
        if v.is_default {
            store::clear_default_except(tx.ex(), id).await?;
        }
        let (id, action) = match id {
            Some(id) => {
                store::update(tx.ex(), id, &v, self.now())
                    .await
                    .map_err(saved)?;
                (id, "plans.update")
            }
            None => (
                store::insert(tx.ex(), &v, self.now())
                    .await
                    .map_err(saved)?,
                "plans.add",
            ),
        };
        self.audit(tx.ex(), actor, action, &id.to_string(), &v.name)
            .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Deletes a plan nobody paid for, if the plans left still obey the rules. A plan with
    /// payments is refused: deactivate it instead, so its payments keep their plan.
    pub async fn delete_plan(&self, actor: &Actor, id: i64) -> Result<(), AppError> {
        let mut tx = self.db.begin().await?;
        let current = store::list(tx.ex()).await?;
        let Some(plan) = current.iter().find(|p| p.plan.id == id) else {
            return Err(AppError::NotFound("plan"));
        };
        if store::has_payments(tx.ex(), id).await? {
            return Err(AppError::Conflict(format!(
                "plan \"{}\" has payments and cannot be deleted: deactivate it instead",
                plan.plan.name
            )));
        }
        let rest: Vec<PlanValues> = current
            .iter()
            .filter(|p| p.plan.id != id)
            .map(stored_values)
            .collect();
        // With no plans left there is no set to break; the rules apply again with the first plan.
        if !rest.is_empty() {
            self.check_plan_set(tx.ex(), &rest).await?;
        }
        store::delete(tx.ex(), id).await.map_err(saved)?;
        self.audit(
            tx.ex(),
            actor,
            "plans.delete",
            &id.to_string(),
            &plan.plan.name,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
