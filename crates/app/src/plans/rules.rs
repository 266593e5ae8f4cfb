//! Bridges stored plans to the domain's plan rules: builds the rule context from settings,
//! servers and Plex accounts, and turns violations into one message naming every one.

use crate::{App, AppError};
use boxoffice_domain::Money;
use boxoffice_domain::money::Currency;
use boxoffice_domain::plans::{
    Plan, PlanDuration, PlanRulesContext, ServerLicence, validate_plans,
};
use boxoffice_store::plans::PlanValues;
use boxoffice_store::{Ex, library_groups, plex_accounts, servers};

pub(crate) fn duration(unit: &str, count: i64) -> PlanDuration {
    let n = u32::try_from(count).unwrap_or(0);
    if unit == "months" {
        PlanDuration::Months(n)
    } else {
        PlanDuration::Days(n)
    }
}

fn count(v: Option<i64>) -> Option<u32> {
    v.and_then(|n| u32::try_from(n).ok())
}

fn id(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// The domain's view of a plan as it would be saved.
pub(crate) fn to_domain(v: &PlanValues) -> Result<Plan, AppError> {
    let currency =
        Currency::parse(&v.currency).map_err(|e| AppError::invalid("currency", e.to_string()))?;
    Ok(Plan {
        name: v.name.clone(),
        cost: Money::new(v.cost_minor, currency),
        duration: duration(&v.duration_unit, v.duration_count),
        library_group_ids: v.library_group_ids.clone(),
        target_server_ids: v.target_server_ids.clone(),
        max_streams: count(v.stream_limit),
        downloads_allowed: v.downloads,
        video_transcoding_allowed: v.video_transcoding,
        max_emby_devices: count(v.emby_device_limit),
        is_trial: v.is_trial,
        is_default: v.is_default,
        active: v.active,
        stripe_price_id: id(&v.stripe_price_id),
        paypal_plan_id: id(&v.paypal_plan_id),
        // 0 sub accounts: the plan is not for masters of linked users.
        max_linked_accounts: count(Some(v.max_linked_accounts)).filter(|n| *n > 0),
        grace_library_group_ids: v.grace_library_group_ids.clone(),
    })
}

impl App {
    /// Checks the whole set of plans as it would be saved; `Invalid` names every violation.
    pub(crate) async fn check_plan_set(
        &self,
        mut ex: Ex<'_>,
        set: &[PlanValues],
    ) -> Result<(), AppError> {
        let settings = self.settings().await?;
        let groups = library_groups::list(ex.reborrow()).await?;
        let private: Vec<i64> = groups
            .iter()
            .filter(|g| g.is_private)
            .map(|g| g.id)
            .collect();
        let accounts = plex_accounts::list(ex.reborrow()).await?;
        let licences: Vec<ServerLicence> = servers::list(ex)
            .await?
            .into_iter()
            .map(|s| ServerLicence {
                id: s.id,
                owner_has_plex_pass: s
                    .plex_account_id
                    .and_then(|a| accounts.iter().find(|x| x.id == a))
                    .is_some_and(|a| a.has_plex_pass),
                has_emby_premiere: s.has_premiere,
                platform: s.platform,
                name: s.name,
            })
            .collect();
        let plans = set.iter().map(to_domain).collect::<Result<Vec<_>, _>>()?;
        let ctx = PlanRulesContext {
            trials_enabled: settings.bool("subscriptions.trial_enabled"),
            subscriptions_enabled: settings.bool("subscriptions.enabled"),
            recurring_enabled: settings.bool("payments.stripe.recurring_enabled")
                || settings.bool("payments.paypal.recurring_enabled"),
            private_group_ids: &private,
            servers: &licences,
        };
        validate_plans(&plans, &ctx).map_err(|v| {
            let all: Vec<String> = v.into_iter().map(|v| v.message).collect();
            AppError::invalid("plan", all.join("; "))
        })
    }
}
