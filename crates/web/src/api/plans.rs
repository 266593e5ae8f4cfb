//! Plans and library groups over the JSON API. A plan save is checked against the whole set of
//! plans; a refusal is 422 with field `plan` and a message naming every broken rule.

use super::auth::{ApiCaller, Authorized, need};
use crate::{ApiError, WebState};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use boxoffice_app::plans::PlanInput;
use boxoffice_domain::Permission;
use boxoffice_store::library_groups::LibraryGroupRow;
use boxoffice_store::plans::PlanRecord;
use serde::{Deserialize, Serialize};

#[derive(Serialize, utoipa::ToSchema)]
pub struct PlanOut {
    pub id: i64,
    pub name: String,
    pub description: String,
    /// Price of one period in minor units (cents) of `currency`.
    pub cost_minor: i64,
    pub currency: String,
    /// `days` or `months`.
    pub duration_unit: String,
    pub duration_count: i64,
    pub library_group_ids: Vec<i64>,
    pub grace_library_group_ids: Vec<i64>,
    pub target_server_ids: Vec<i64>,
    /// null = no limit.
    pub stream_limit: Option<i64>,
    pub downloads: bool,
    pub video_transcoding: bool,
    /// null = no limit.
    pub emby_device_limit: Option<i64>,
    pub is_trial: bool,
    pub is_default: bool,
    pub active: bool,
    pub stripe_price_id: String,
    pub paypal_plan_id: String,
    pub max_linked_accounts: i64,
    pub sort_order: i64,
}

impl From<PlanRecord> for PlanOut {
    fn from(r: PlanRecord) -> Self {
        let p = r.plan;
        PlanOut {
            id: p.id,
            name: p.name,
            description: p.description,
            cost_minor: p.cost_minor,
            currency: p.currency,
            duration_unit: p.duration_unit,
            duration_count: p.duration_count,
            library_group_ids: r.library_group_ids,
            grace_library_group_ids: r.grace_library_group_ids,
            target_server_ids: r.target_server_ids,
            stream_limit: p.stream_limit,
            downloads: p.downloads,
            video_transcoding: p.video_transcoding,
            emby_device_limit: p.emby_device_limit,
            is_trial: p.is_trial,
            is_default: p.is_default,
            active: p.active,
            stripe_price_id: p.stripe_price_id,
            paypal_plan_id: p.paypal_plan_id,
            max_linked_accounts: p.max_linked_accounts,
            sort_order: p.sort_order,
        }
    }
}

fn yes() -> bool {
    true
}

/// A whole plan; the currency is the site's (`payments.currency`).
#[derive(Deserialize, utoipa::ToSchema)]
pub struct PlanIn {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub cost_minor: i64,
    /// `days` or `months`.
    pub duration_unit: String,
    pub duration_count: i64,
    pub library_group_ids: Vec<i64>,
    #[serde(default)]
    pub grace_library_group_ids: Vec<i64>,
    #[serde(default)]
    pub target_server_ids: Vec<i64>,
    #[serde(default)]
    pub stream_limit: Option<i64>,
    #[serde(default)]
    pub downloads: bool,
    #[serde(default = "yes")]
    pub video_transcoding: bool,
    #[serde(default)]
    pub emby_device_limit: Option<i64>,
    #[serde(default)]
    pub is_trial: bool,
    #[serde(default)]
    pub is_default: bool,
    #[serde(default = "yes")]
    pub active: bool,
    #[serde(default)]
    pub stripe_price_id: String,
    #[serde(default)]
    pub paypal_plan_id: String,
    #[serde(default)]
    pub max_linked_accounts: i64,
    #[serde(default)]
    pub sort_order: i64,
}

impl From<PlanIn> for PlanInput {
    fn from(b: PlanIn) -> Self {
        PlanInput {
            name: b.name,
            description: b.description,
            cost_minor: b.cost_minor,
            duration_count: b.duration_count,
            duration_unit: b.duration_unit,
            library_group_ids: b.library_group_ids,
            grace_library_group_ids: b.grace_library_group_ids,
            target_server_ids: b.target_server_ids,
            stream_limit: b.stream_limit,
            downloads: b.downloads,
            video_transcoding: b.video_transcoding,
            emby_device_limit: b.emby_device_limit,
            is_trial: b.is_trial,
            is_default: b.is_default,
            active: b.active,
            stripe_price_id: b.stripe_price_id,
            paypal_plan_id: b.paypal_plan_id,
            max_linked_accounts: b.max_linked_accounts,
            sort_order: b.sort_order,
        }
    }
}

/// Every plan.
#[utoipa::path(get, path = "/api/v1/plans", responses((status = 200, body = [PlanOut]), (status = 403, body = crate::error::ErrorBody)))]
pub async fn list(
    State(st): State<WebState>,
    caller: ApiCaller,
) -> Result<Json<Vec<PlanOut>>, ApiError> {
    caller.require(Permission::PlansRead)?;
    let plans = st.app.list_plans().await?;
    Ok(Json(plans.into_iter().map(Into::into).collect()))
}

/// One plan.
#[utoipa::path(get, path = "/api/v1/plans/{id}", params(("id" = i64, Path, description = "Plan id")), responses((status = 200, body = PlanOut), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get_one(
    State(st): State<WebState>,
    caller: ApiCaller,
    Path(id): Path<i64>,
) -> Result<Json<PlanOut>, ApiError> {
    caller.require(Permission::PlansRead)?;
    Ok(Json(st.app.plan(id).await?.into()))
}

/// Adds a plan. Marking it default takes the mark from the current default.
#[utoipa::path(post, path = "/api/v1/plans", request_body = PlanIn, responses((status = 201, body = PlanOut), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn create(
    State(st): State<WebState>,
    caller: Authorized<need::PlansWrite>,
    Json(body): Json<PlanIn>,
) -> Result<(StatusCode, Json<PlanOut>), ApiError> {
    let id = st
        .app
        .save_plan(&caller.actor(), None, &body.into())
        .await?;
    Ok((StatusCode::CREATED, Json(st.app.plan(id).await?.into())))
}

/// Replaces a plan with the values sent.
#[utoipa::path(put, path = "/api/v1/plans/{id}", params(("id" = i64, Path, description = "Plan id")), request_body = PlanIn, responses((status = 200, body = PlanOut), (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn update(
    State(st): State<WebState>,
    caller: Authorized<need::PlansWrite>,
    Path(id): Path<i64>,
    Json(body): Json<PlanIn>,
) -> Result<Json<PlanOut>, ApiError> {
    st.app
        .save_plan(&caller.actor(), Some(id), &body.into())
        .await?;
    Ok(Json(st.app.plan(id).await?.into()))
}

/// Deletes a plan nobody paid for; a plan with payments answers 409 (deactivate it instead).
#[utoipa::path(delete, path = "/api/v1/plans/{id}", params(("id" = i64, Path, description = "Plan id")), responses((status = 204), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn delete(
    State(st): State<WebState>,
    caller: ApiCaller,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    caller.require(Permission::PlansWrite)?;
    st.app.delete_plan(&caller.actor(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct LibraryGroupOut {
    pub id: i64,
    pub name: String,
    pub description: String,
    /// `private`, `standard` or `premium_4k` for a built-in group (never renamed or deleted).
    pub builtin: Option<String>,
    /// Libraries in a private group are never shared.
    pub is_private: bool,
    pub library_count: i64,
}

impl From<LibraryGroupRow> for LibraryGroupOut {
    fn from(g: LibraryGroupRow) -> Self {
        LibraryGroupOut {
            id: g.id,
            name: g.name,
            description: g.description,
            builtin: g.builtin,
            is_private: g.is_private,
            library_count: g.library_count,
        }
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct LibraryGroupIn {
    pub name: String,
    #[serde(default)]
    pub description: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct LibraryGroupAssignIn {
    pub library_group_id: i64,
}

/// Every library group with its library count.
#[utoipa::path(get, path = "/api/v1/library-groups", responses((status = 200, body = [LibraryGroupOut])))]
pub async fn groups(
    State(st): State<WebState>,
    caller: ApiCaller,
) -> Result<Json<Vec<LibraryGroupOut>>, ApiError> {
    caller.require(Permission::LibraryGroupsRead)?;
    let groups = st.app.list_library_groups().await?;
    Ok(Json(groups.into_iter().map(Into::into).collect()))
}

/// Adds a library group.
#[utoipa::path(post, path = "/api/v1/library-groups", request_body = LibraryGroupIn, responses((status = 201, body = LibraryGroupOut), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn add_group(
    State(st): State<WebState>,
    caller: Authorized<need::LibraryGroupsWrite>,
    Json(b): Json<LibraryGroupIn>,
) -> Result<(StatusCode, Json<LibraryGroupOut>), ApiError> {
    let g = st
        .app
        .add_library_group(&caller.actor(), &b.name, &b.description)
        .await?;
    Ok((StatusCode::CREATED, Json(g.into())))
}

/// Renames an owner's group; a built-in group answers 409.
#[utoipa::path(put, path = "/api/v1/library-groups/{id}", params(("id" = i64, Path, description = "Library group id")), request_body = LibraryGroupIn, responses((status = 200, body = LibraryGroupOut), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn rename_group(
    State(st): State<WebState>,
    caller: Authorized<need::LibraryGroupsWrite>,
    Path(id): Path<i64>,
    Json(b): Json<LibraryGroupIn>,
) -> Result<Json<LibraryGroupOut>, ApiError> {
    st.app
        .rename_library_group(&caller.actor(), id, &b.name, &b.description)
        .await?;
    Ok(Json(st.app.library_group(id).await?.into()))
}

/// Deletes an owner's group no plan uses; its libraries go back to Standard. A built-in group or
/// one a plan uses answers 409.
#[utoipa::path(delete, path = "/api/v1/library-groups/{id}", params(("id" = i64, Path, description = "Library group id")), responses((status = 204), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn delete_group(
    State(st): State<WebState>,
    caller: ApiCaller,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    caller.require(Permission::LibraryGroupsWrite)?;
    st.app.delete_library_group(&caller.actor(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Puts a library in a group.
#[utoipa::path(put, path = "/api/v1/libraries/{id}/group", params(("id" = i64, Path, description = "Library id")), request_body = LibraryGroupAssignIn, responses((status = 204), (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn assign_group(
    State(st): State<WebState>,
    caller: Authorized<need::LibrariesWrite>,
    Path(id): Path<i64>,
    Json(b): Json<LibraryGroupAssignIn>,
) -> Result<StatusCode, ApiError> {
    st.app
        .assign_library_group(&caller.actor(), id, b.library_group_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct PlanGrantsOut {
    /// Live shares whose desired state is not what their customer's plan grants now (after a
    /// library moved to another group or a plan changed). Moving a library changes no share.
    pub out_of_step: usize,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct PlanGrantsApplied {
    /// Shares given their plan's grant, each with its share job queued.
    pub queued: usize,
}

/// How many existing shares differ from what their plans grant now.
#[utoipa::path(get, path = "/api/v1/shares/plan-grants", responses((status = 200, body = PlanGrantsOut), (status = 403, body = crate::error::ErrorBody)))]
pub async fn plan_grants(
    State(st): State<WebState>,
    caller: ApiCaller,
) -> Result<Json<PlanGrantsOut>, ApiError> {
    caller.require(Permission::LibrariesRead)?;
    Ok(Json(PlanGrantsOut {
        out_of_step: st.app.shares_out_of_step(None).await?,
    }))
}

/// "Apply to N existing shares": each share out of step gets what its plan grants now and its
/// share job, in one transaction; the jobs write the servers, read them back and compare.
#[utoipa::path(post, path = "/api/v1/shares/plan-grants", responses((status = 200, body = PlanGrantsApplied), (status = 403, body = crate::error::ErrorBody)))]
pub async fn apply_plan_grants(
    State(st): State<WebState>,
    caller: Authorized<need::LibrariesWrite>,
) -> Result<Json<PlanGrantsApplied>, ApiError> {
    Ok(Json(PlanGrantsApplied {
        queued: st.app.apply_plan_grants(&caller.actor(), None).await?,
    }))
}
