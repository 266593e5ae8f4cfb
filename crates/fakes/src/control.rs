//! Control API, served by every fake under `/__control` (JSON in and out, no auth,
//! not logged, never faulted).
//!
//! Every fake:
//! * `GET|POST|DELETE /faults`, `DELETE /faults/{id}` — [`crate::FaultRule`] JSON, e.g.
//!   `{"path": "/api/v2/shared_servers", "method": "POST", "remaining": 1,
//!     "action": {"type": "rate_limit", "retry_after": 30}}`; action types `status`,
//!   `rate_limit`, `delay`, `hang`, `already_shared`, `empty_sections`. A rule that could
//!   never fire is answered 422 with the reason.
//! * `GET|DELETE /requests` — request log (method, path, query, headers, body, status, fault).
//! * `GET /state` — full state plus an `access` summary (who reaches which libraries).
//!
//! plex.tv: `PUT /account` (`plex_pass`, `share_limit`, `ignore_pending_library_updates`,
//! `token`), `POST /accounts`, `POST /friends`, `POST /invites/{share_id}/accept`.
//! PMS: `POST /libraries`, `GET|POST /sessions`, `DELETE /sessions/{id}`.
//! Jellyfin/Emby: `PUT /settings` (`legacy_authorization`, `void_status`), `POST /users`,
//! `POST /libraries`, `POST /devices`, `GET|POST /sessions`, `DELETE /sessions/{id}`.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde_json::json;

use crate::faults::{Core, FaultRule};

pub(crate) const PREFIX: &str = "/__control";

pub(crate) fn common(core: Arc<Core>) -> Router {
    Router::new()
        .route(
            "/faults",
            get(list_faults).post(add_fault).delete(clear_faults),
        )
        .route("/faults/{id}", delete(remove_fault))
        .route("/requests", get(list_requests).delete(clear_requests))
        .with_state(core)
}

async fn list_faults(State(core): State<Arc<Core>>) -> Json<Vec<FaultRule>> {
    Json(core.faults())
}

/// A rule that could never fire is refused with 422 and the reason (see [`crate::faults`]).
async fn add_fault(State(core): State<Arc<Core>>, Json(rule): Json<FaultRule>) -> Response {
    match core.try_add_fault(rule) {
        Ok(id) => (StatusCode::CREATED, Json(json!({ "id": id }))).into_response(),
        Err(e) => bad(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()),
    }
}

async fn clear_faults(State(core): State<Arc<Core>>) -> StatusCode {
    core.clear_faults();
    StatusCode::NO_CONTENT
}

async fn remove_fault(State(core): State<Arc<Core>>, Path(id): Path<u64>) -> StatusCode {
    if core.remove_fault(id) {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::NOT_FOUND
    }
}

async fn list_requests(State(core): State<Arc<Core>>) -> Response {
    Json(core.requests()).into_response()
}

async fn clear_requests(State(core): State<Arc<Core>>) -> StatusCode {
    core.clear_requests();
    StatusCode::NO_CONTENT
}

/// Error answer of the control API itself (JSON, not provider-shaped).
pub(crate) fn bad(status: StatusCode, msg: impl Into<String>) -> Response {
    (status, Json(json!({ "error": msg.into() }))).into_response()
}

/// Assemble a fake's app: provider routes behind the fault/log layer, control routes
/// under [`PREFIX`] without it. The layer wraps the provider router from outside, so it
/// sees every request before routing and the router sees the normalised path.
pub(crate) fn assemble(provider: Router, control: Router, core: Arc<Core>) -> Router {
    let provider =
        Router::new()
            .fallback_service(provider)
            .layer(axum::middleware::from_fn_with_state(
                core.clone(),
                crate::faults::layer,
            ));
    Router::new()
        .nest(PREFIX, control.merge(common(core)))
        .merge(provider)
}
