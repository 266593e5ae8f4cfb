//! Plex bans over the API: flag customers for a Plex account change, re-invite a server's users,
//! and the customer's own calls (give a new Plex e-mail, re-invite yourself). Documented in its
//! own OpenAPI fragment, merged into the served document.

use super::auth::{ApiCaller, Authorized, need};
use crate::{ApiError, WebState};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use boxoffice_app::AppError;
use boxoffice_app::subscriptions::PlexAccountChanged;
use boxoffice_domain::Permission;
use serde::{Deserialize, Serialize};
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    paths(require_change, server_reinvite, my_plex_account, my_reinvite),
    components(schemas(RequireChangeIn, ChangedOut, QueuedOut, PlexAccountIn, PlexAccountOut))
)]
pub struct PlexChangeDoc;

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/customers/{id}/plex-account-change", post(require_change))
        .route("/servers/{id}/reinvite", post(server_reinvite))
        .route("/me/plex-account", post(my_plex_account))
        .route("/me/reinvite", post(my_reinvite))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct RequireChangeIn {
    /// true flags the customer; false clears the flag.
    pub required: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ChangedOut {
    /// Customers whose flag changed (0 when it already was so).
    pub changed: usize,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct QueuedOut {
    /// Share jobs queued.
    pub queued: usize,
    /// Set when no server can take the customer's plan.
    pub no_capacity: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct PlexAccountIn {
    /// The e-mail of the customer's new Plex account.
    pub plex_email: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct PlexAccountOut {
    pub old: String,
    pub new: String,
    pub reinvited_share_ids: Vec<i64>,
    pub provisioned_share_id: Option<i64>,
    pub no_capacity: Option<String>,
}

impl From<PlexAccountChanged> for PlexAccountOut {
    fn from(c: PlexAccountChanged) -> Self {
        Self {
            old: c.old,
            new: c.new,
            reinvited_share_ids: c.reinvited_share_ids,
            provisioned_share_id: c.provisioned_share_id,
            no_capacity: c.no_capacity,
        }
    }
}

/// Flags (or clears) "requires a Plex account change" on one customer.
#[utoipa::path(post, path = "/api/v1/customers/{id}/plex-account-change", params(("id" = i64, Path, description = "Customer id")), request_body = RequireChangeIn, responses((status = 200, body = ChangedOut), (status = 404, body = crate::error::ErrorBody)))]
pub async fn require_change(
    State(st): State<WebState>,
    caller: Authorized<need::UsersWrite>,
    Path(id): Path<i64>,
    Json(b): Json<RequireChangeIn>,
) -> Result<Json<ChangedOut>, ApiError> {
    let changed = st
        .app
        .require_plex_account_change(&caller.actor(), &[id], b.required)
        .await?;
    Ok(Json(ChangedOut { changed }))
}

/// Re-invites every paid-up user of the server, one share job each (paced per Plex account).
/// 409 while an earlier run still has invites to send.
#[utoipa::path(post, path = "/api/v1/servers/{id}/reinvite", params(("id" = i64, Path, description = "Server id")), responses((status = 202, body = QueuedOut), (status = 409, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn server_reinvite(
    State(st): State<WebState>,
    caller: ApiCaller,
    Path(id): Path<i64>,
) -> Result<(StatusCode, Json<QueuedOut>), ApiError> {
    caller.require(Permission::UsersWrite)?;
    caller.require(Permission::ServersWrite)?;
    let queued = st.app.start_server_reinvite(&caller.actor(), id).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(QueuedOut {
            queued,
            no_capacity: None,
        }),
    ))
}

async fn my_customer(st: &WebState, caller: &ApiCaller) -> Result<i64, ApiError> {
    let c = st
        .app
        .customer_of_login(caller.0.login_id, &caller.0.email)
        .await?
        .ok_or(AppError::NotFound("subscriber account"))?;
    Ok(c.id)
}

/// The caller (a flagged customer) switches to a new Plex account: verified on plex.tv, then the
/// old user is removed and the new one invited by the share job.
#[utoipa::path(post, path = "/api/v1/me/plex-account", request_body = PlexAccountIn, responses((status = 200, body = PlexAccountOut), (status = 422, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn my_plex_account(
    State(st): State<WebState>,
    caller: ApiCaller,
    Json(b): Json<PlexAccountIn>,
) -> Result<Json<PlexAccountOut>, ApiError> {
    let id = my_customer(&st, &caller).await?;
    let out = st
        .app
        .change_plex_account(&caller.actor(), id, &b.plex_email)
        .await?;
    Ok(Json(out.into()))
}

/// The caller (a paid-up customer who lost access) re-sends their invite; 429 within 15 minutes
/// of the last time.
#[utoipa::path(post, path = "/api/v1/me/reinvite", responses((status = 202, body = QueuedOut), (status = 409, body = crate::error::ErrorBody), (status = 429, body = crate::error::ErrorBody)))]
pub async fn my_reinvite(
    State(st): State<WebState>,
    caller: ApiCaller,
) -> Result<(StatusCode, Json<QueuedOut>), ApiError> {
    let id = my_customer(&st, &caller).await?;
    let out = st.app.self_reinvite(&caller.actor(), id).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(QueuedOut {
            queued: out.share_ids.len(),
            no_capacity: out.no_capacity,
        }),
    ))
}
