//! What each plan grants in each request app (none of the reference products does this per
//! plan): Overseerr permissions or Ombi roles, movie and TV request quotas, a Petio profile.

use crate::audit::Actor;
use crate::{App, AppError};
use boxoffice_requests::{Access, AppKind, Quota};
use boxoffice_store::request_apps::{self, PlanMappingRow};
use serde::{Deserialize, Serialize};

/// One app's mapping for a plan; `enabled` false = the plan gives no account in that app.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct PlanMapping {
    pub app: &'static str,
    pub label: String,
    pub enabled: bool,
    pub roles: Vec<String>,
    pub movie_quota_limit: Option<i64>,
    pub movie_quota_days: Option<i64>,
    pub tv_quota_limit: Option<i64>,
    pub tv_quota_days: Option<i64>,
    pub profile: String,
}

/// The form or API body: numbers as text so a blank field means "no limit".
#[derive(Clone, Debug, Default, Deserialize)]
pub struct PlanMappingInput {
    pub app: String,
    /// "on"/"true" (checkbox) gives the plan an account in the app; absent removes it.
    #[serde(default)]
    pub enabled: Option<String>,
    /// Comma-separated permission (Overseerr) or role (Ombi) names.
    #[serde(default)]
    pub roles: String,
    #[serde(default)]
    pub movie_quota_limit: String,
    #[serde(default)]
    pub movie_quota_days: String,
    #[serde(default)]
    pub tv_quota_limit: String,
    #[serde(default)]
    pub tv_quota_days: String,
    #[serde(default)]
    pub profile: String,
}

fn number(field: &'static str, raw: &str, max: i64) -> Result<Option<i64>, AppError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    match raw.parse::<i64>() {
        Ok(n) if (0..=max).contains(&n) => Ok(Some(n)),
        _ => Err(AppError::invalid(
            field,
            format!("{field} is a whole number from 0 to {max}, or blank for no limit"),
        )),
    }
}

pub(super) fn access_of(row: &PlanMappingRow, default_profile: &str) -> Access {
    let quota = |limit: Option<i64>, days: Option<i64>| {
        limit.map(|l| Quota {
            limit: u32::try_from(l).unwrap_or(0),
            days: days.and_then(|d| u32::try_from(d).ok()).unwrap_or(0),
        })
    };
    let profile = if row.profile.is_empty() {
        default_profile
    } else {
        &row.profile
    };
    Access {
        roles: split_roles(&row.roles),
        movie_quota: quota(row.movie_quota_limit, row.movie_quota_days),
        tv_quota: quota(row.tv_quota_limit, row.tv_quota_days),
        profile: Some(profile.to_string()).filter(|p| !p.is_empty()),
    }
    .normalized()
}

fn split_roles(raw: &str) -> Vec<String> {
    raw.split(',')
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_string)
        .collect()
}

impl App {
    /// The plan's mapping for every request app, disabled ones included.
    pub async fn plan_request_apps(&self, plan_id: i64) -> Result<Vec<PlanMapping>, AppError> {
        let rows = request_apps::mappings_for_plan(self.db.ex(), plan_id).await?;
        Ok(AppKind::ALL
            .into_iter()
            .map(|kind| {
                let row = rows.iter().find(|r| r.app == kind.as_str());
                PlanMapping {
                    app: kind.as_str(),
                    label: kind.to_string(),
                    enabled: row.is_some(),
                    roles: row.map(|r| split_roles(&r.roles)).unwrap_or_default(),
                    movie_quota_limit: row.and_then(|r| r.movie_quota_limit),
                    movie_quota_days: row.and_then(|r| r.movie_quota_days),
                    tv_quota_limit: row.and_then(|r| r.tv_quota_limit),
                    tv_quota_days: row.and_then(|r| r.tv_quota_days),
                    profile: row.map(|r| r.profile.clone()).unwrap_or_default(),
                }
            })
            .collect())
    }

    /// Validates and stores one app's mapping for a plan. Customers already on the plan pick
    /// it up at their next sync (the daily pass, a renewal, or "Sync now").
    pub async fn set_plan_request_app(
        &self,
        actor: &Actor,
        plan_id: i64,
        input: &PlanMappingInput,
    ) -> Result<(), AppError> {
        let kind = AppKind::parse(input.app.trim())
            .ok_or_else(|| AppError::invalid("app", "app is one of overseerr, ombi, petio"))?;
        let enabled = matches!(input.enabled.as_deref(), Some("on" | "true" | "1"));
        let roles = split_roles(&input.roles);
        kind.validate_roles(&roles)
            .map_err(|m| AppError::invalid("roles", m))?;
        let row = PlanMappingRow {
            plan_id,
            app: kind.as_str().to_string(),
            roles: roles.join(","),
            movie_quota_limit: number("movie_quota_limit", &input.movie_quota_limit, 10_000)?,
            movie_quota_days: number("movie_quota_days", &input.movie_quota_days, 365)?,
            tv_quota_limit: number("tv_quota_limit", &input.tv_quota_limit, 10_000)?,
            tv_quota_days: number("tv_quota_days", &input.tv_quota_days, 365)?,
            profile: input.profile.trim().to_string(),
            updated_at: self.now(),
        };
        if row.profile.chars().count() > 80 {
            return Err(AppError::invalid(
                "profile",
                "profile is at most 80 characters",
            ));
        }
        let mut tx = self.db.begin().await?;
        boxoffice_store::plans::find(tx.ex(), plan_id)
            .await
            .map_err(AppError::not_found_as("plan"))?;
        if enabled {
            request_apps::put_mapping(tx.ex(), &row).await?;
        } else {
            request_apps::delete_mapping(tx.ex(), plan_id, kind.as_str()).await?;
        }
        self.audit(
            tx.ex(),
            actor,
            "plan.request_app",
            &format!("plan:{plan_id}"),
            &if enabled {
                format!("{kind}: {}", row.roles)
            } else {
                format!("{kind}: off")
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
