//! Site logins over the API: who can log in, with their open sessions, and ending a login's
//! sessions.

use super::auth::{ApiCaller, Authorized, need};
use crate::{ApiError, WebState};
use axum::Json;
use axum::extract::{Path, Query, State};
use boxoffice_domain::Permission;
use serde::{Deserialize, Serialize};

#[derive(Serialize, utoipa::ToSchema)]
pub struct LoginOut {
    pub id: i64,
    pub email: String,
    pub role: String,
    /// administrator, user or custom.
    pub role_kind: String,
    pub disabled: bool,
    pub last_login_at: Option<i64>,
    pub sessions: i64,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct EndedOut {
    pub ended: u64,
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct LoginsQuery {
    /// Part of the e-mail; all logins (staff first, at most 200) when absent.
    pub q: Option<String>,
}

/// Logins, staff first, each with its number of open sessions.
#[utoipa::path(get, path = "/api/v1/logins", params(LoginsQuery), responses((status = 200, body = [LoginOut]), (status = 403, body = crate::error::ErrorBody)))]
pub async fn list(
    State(st): State<WebState>,
    caller: ApiCaller,
    Query(q): Query<LoginsQuery>,
) -> Result<Json<Vec<LoginOut>>, ApiError> {
    caller.require(Permission::SiteLoginsRead)?;
    let rows = st.app.site_logins(q.q.as_deref().unwrap_or("")).await?;
    Ok(Json(
        rows.into_iter()
            .map(|l| LoginOut {
                id: l.id,
                email: l.email,
                role: l.role_name,
                role_kind: l.role_kind,
                disabled: l.disabled,
                last_login_at: l.last_login_at,
                sessions: l.sessions,
            })
            .collect(),
    ))
}

/// Ends every session of a login (it must log in again); its API tokens stay.
#[utoipa::path(delete, path = "/api/v1/logins/{id}/sessions", params(("id" = i64, Path, description = "Login id")), responses((status = 200, body = EndedOut), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn end_sessions(
    State(st): State<WebState>,
    caller: Authorized<need::SiteLoginsWrite>,
    Path(id): Path<i64>,
) -> Result<Json<EndedOut>, ApiError> {
    let ended = st.app.end_sessions_of(&caller.actor(), id).await?;
    Ok(Json(EndedOut { ended }))
}
