//! A stored plan turned into the domain's `Plan`, so selection and credits use the shared rules.

use crate::AppError;
use boxoffice_domain::Money;
use boxoffice_domain::money::Currency;
use boxoffice_domain::plans::{Plan, PlanDuration};
use boxoffice_store::Ex;
use boxoffice_store::provisioning::{self, PlanTerms};

pub(crate) struct LoadedPlan {
    pub terms: PlanTerms,
    pub plan: Plan,
}

impl LoadedPlan {
    pub fn currency(&self) -> Currency {
        self.plan.cost.currency
    }
}

pub(crate) async fn load(mut ex: Ex<'_>, id: i64) -> Result<LoadedPlan, AppError> {
    let terms = provisioning::plan(ex.reborrow(), id)
        .await
        .map_err(AppError::not_found_as("plan"))?;
    let groups = provisioning::plan_groups(ex.reborrow(), id, false).await?;
    let grace_group_ids = provisioning::plan_groups(ex.reborrow(), id, true).await?;
    let targets = provisioning::plan_targets(ex.reborrow(), id).await?;
    let count = u32::try_from(terms.duration_count)
        .map_err(|_| AppError::Internal(format!("plan {id} has a duration out of range")))?;
    let duration = match terms.duration_unit.as_str() {
        "months" => PlanDuration::Months(count),
        _ => PlanDuration::Days(count),
    };
    let currency = Currency::parse(&terms.currency)
        .map_err(|e| AppError::Internal(format!("plan {id} has a bad currency: {e}")))?;
    let limit = |v: Option<i64>| v.and_then(|n| u32::try_from(n).ok());
    let plan = Plan {
        name: terms.name.clone(),
        cost: Money::new(terms.cost_minor, currency),
        duration,
        library_group_ids: groups,
        target_server_ids: targets,
        max_streams: limit(terms.stream_limit),
        downloads_allowed: terms.downloads,
        video_transcoding_allowed: terms.video_transcoding,
        max_emby_devices: limit(terms.emby_device_limit),
        is_trial: terms.is_trial,
        is_default: terms.is_default,
        active: terms.active,
        stripe_price_id: None,
        paypal_plan_id: None,
        max_linked_accounts: None,
        grace_library_group_ids: grace_group_ids,
    };
    Ok(LoadedPlan { terms, plan })
}
