//! Server migrations (operations §4.1): start one, follow its progress, retry its failures.

use super::auth::{ApiCaller, Authorized, need};
use crate::{ApiError, WebState};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use boxoffice_app::subscriptions::{MigrationInput, MigrationView};
use boxoffice_domain::Permission;
use serde::{Deserialize, Serialize};

#[derive(Deserialize, utoipa::ToSchema)]
pub struct MigrationIn {
    pub source_server_id: i64,
    pub target_server_id: i64,
    /// Only these customers; omitted or empty moves every customer on the source.
    pub customer_ids: Option<Vec<i64>>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct MigrationItemOut {
    pub customer_id: i64,
    /// pending, moved, failed, or skipped (an expired customer is not moved).
    pub outcome: String,
    pub message: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct MigrationOut {
    pub id: i64,
    pub source_server_id: i64,
    pub source_name: String,
    pub target_server_id: i64,
    pub target_name: String,
    pub requested_by: String,
    /// queued, running, stopped (its job was given up: see `stop_reason`, retry with
    /// `retry_url`) or done.
    pub state: String,
    /// Why a stopped migration stopped; empty otherwise.
    pub stop_reason: String,
    /// Where to POST to run it again: a stopped migration, or a finished one with failures.
    pub retry_url: Option<String>,
    pub moved: usize,
    pub failed: usize,
    /// Expired customers, not moved.
    pub skipped: usize,
    pub pending: usize,
    /// Unix seconds (UTC).
    pub created_at: i64,
    pub finished_at: Option<i64>,
    pub items: Vec<MigrationItemOut>,
}

impl From<MigrationView> for MigrationOut {
    fn from(v: MigrationView) -> Self {
        let count = |o: &str| v.items.iter().filter(|i| i.outcome == o).count();
        let retry = v.row.state == "stopped" || (v.row.state == "done" && count("failed") > 0);
        Self {
            retry_url: retry.then(|| format!("/api/v1/migrations/{}/retry", v.row.id)),
            stop_reason: v.row.stop_reason,
            moved: count("moved"),
            failed: count("failed"),
            skipped: count("skipped"),
            pending: count("pending"),
            id: v.row.id,
            source_server_id: v.row.source,
            source_name: v.source_name,
            target_server_id: v.row.target,
            target_name: v.target_name,
            requested_by: v.row.requested_by,
            state: v.row.state,
            created_at: v.row.created_at,
            finished_at: v.row.finished_at,
            items: v
                .items
                .into_iter()
                .map(|i| MigrationItemOut {
                    customer_id: i.customer,
                    outcome: i.outcome,
                    message: i.message,
                })
                .collect(),
        }
    }
}

/// Starts moving customers to another server; 422 lists every blocking precondition.
#[utoipa::path(post, path = "/api/v1/migrations", request_body = MigrationIn, responses((status = 202, body = MigrationOut), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn create(
    State(st): State<WebState>,
    caller: Authorized<need::UsersAndServersWrite>,
    Json(body): Json<MigrationIn>,
) -> Result<(StatusCode, Json<MigrationOut>), ApiError> {
    let row = st
        .app
        .start_migration(
            &caller.actor(),
            &MigrationInput {
                source_server_id: body.source_server_id,
                target_server_id: body.target_server_id,
                customer_ids: body.customer_ids,
            },
        )
        .await?;
    let view = st.app.migration(row.id).await?;
    Ok((StatusCode::ACCEPTED, Json(view.into())))
}

/// A migration and the outcome per customer.
#[utoipa::path(get, path = "/api/v1/migrations/{id}", params(("id" = i64, Path, description = "Migration id")), responses((status = 200, body = MigrationOut), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get_one(
    State(st): State<WebState>,
    caller: ApiCaller,
    Path(id): Path<i64>,
) -> Result<Json<MigrationOut>, ApiError> {
    caller.require(Permission::UsersRead)?;
    Ok(Json(st.app.migration(id).await?.into()))
}

/// Runs the failed customers of a finished migration again, or resumes a stopped one.
#[utoipa::path(post, path = "/api/v1/migrations/{id}/retry", params(("id" = i64, Path, description = "Migration id")), responses((status = 202, body = MigrationOut), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn retry(
    State(st): State<WebState>,
    caller: ApiCaller,
    Path(id): Path<i64>,
) -> Result<(StatusCode, Json<MigrationOut>), ApiError> {
    caller.require(Permission::UsersWrite)?;
    caller.require(Permission::ServersWrite)?;
    st.app.retry_migration(&caller.actor(), id).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(st.app.migration(id).await?.into()),
    ))
}
