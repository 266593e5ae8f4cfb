//! Reconciliation findings and their repair.

use super::auth::{ApiCaller, Authorized, need};
use crate::{ApiError, WebState};
use axum::Json;
use axum::extract::State;
use boxoffice_domain::Permission;
use serde::{Deserialize, Serialize};

#[derive(Serialize, utoipa::ToSchema)]
pub struct DriftOut {
    pub id: i64,
    pub server_id: i64,
    pub server_name: String,
    pub customer_id: Option<i64>,
    pub customer_email: Option<String>,
    pub share_id: Option<i64>,
    /// The name or e-mail the server knows the user by.
    pub remote_user: String,
    /// extra_libraries, missing_libraries, downloads, transcoding, disabled, user_missing,
    /// expired_share or unknown_user.
    pub kind: String,
    pub detail: String,
    /// Unix seconds (UTC) the difference was first found.
    pub found_at: i64,
    /// Unix seconds (UTC) of the last scan that still found it.
    pub seen_at: i64,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct RepairIn {
    /// One finding to repair; omitted repairs every finding.
    pub id: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct RepairOut {
    /// Share jobs queued. The next scan clears the findings they fixed.
    pub queued: usize,
}

/// Where servers differ from what the plans grant, oldest first.
#[utoipa::path(get, path = "/api/v1/drift", responses((status = 200, body = [DriftOut]), (status = 403, body = crate::error::ErrorBody)))]
pub async fn list(
    State(st): State<WebState>,
    caller: ApiCaller,
) -> Result<Json<Vec<DriftOut>>, ApiError> {
    caller.require(Permission::SharedServersRead)?;
    let rows = st.app.list_drift().await?;
    Ok(Json(
        rows.into_iter()
            .map(|d| DriftOut {
                id: d.row.id,
                server_id: d.row.server_id,
                server_name: d.server_name,
                customer_id: d.row.customer_id,
                customer_email: d.customer_email,
                share_id: d.row.share_id,
                remote_user: d.row.remote_user,
                kind: d.row.kind,
                detail: d.row.detail,
                found_at: d.row.found_at,
                seen_at: d.row.seen_at,
            })
            .collect(),
    ))
}

/// Re-applies the shares behind one finding (`id`) or every finding.
#[utoipa::path(post, path = "/api/v1/drift/repair", request_body = RepairIn, responses((status = 200, body = RepairOut), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn repair(
    State(st): State<WebState>,
    caller: Authorized<need::UsersWrite>,
    Json(body): Json<RepairIn>,
) -> Result<Json<RepairOut>, ApiError> {
    let queued = match body.id {
        Some(id) => usize::from(st.app.repair_drift(&caller.actor(), id).await?),
        None => st.app.repair_all_drift(&caller.actor()).await?,
    };
    Ok(Json(RepairOut { queued }))
}
