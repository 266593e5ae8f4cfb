//! The Users listing over the JSON API: the same search, filters, sorting and pages as the page.

use super::auth::ApiCaller;
use crate::{ApiError, WebState};
use axum::Json;
use axum::extract::{Query, State};
use boxoffice_app::users_page::{UsersParams, status_of};
use boxoffice_domain::Permission;
use serde::Serialize;

#[derive(Serialize, utoipa::ToSchema)]
pub struct UserServerOut {
    pub server_id: i64,
    pub name: String,
    /// pending, invited, active or grace (removed shares are not listed).
    pub state: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct UserOut {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub plex_email: String,
    pub plex_username: String,
    pub jellyfin_username: String,
    pub emby_username: String,
    pub plan_id: Option<i64>,
    pub plan_name: Option<String>,
    /// permanent, active or expired (derived from coverage, never stored).
    pub status: String,
    pub permanent: bool,
    /// End of paid coverage (Unix seconds); null when never paid.
    pub covered_until: Option<i64>,
    pub notes: String,
    pub created_at: i64,
    pub servers: Vec<UserServerOut>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct UsersOut {
    /// How many users match the filters (all pages).
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
    /// Pass as `after` for the next page; null on the last page.
    pub next_cursor: Option<String>,
    /// Pass as `before` for the previous page; null on the first page.
    pub prev_cursor: Option<String>,
    pub users: Vec<UserOut>,
}

/// Users, searched, filtered, sorted and paged as on the Users page.
#[utoipa::path(get, path = "/api/v1/users",
    params(
        ("q" = Option<String>, Query, description = "Case-insensitive prefix of the e-mail, Plex e-mail or username, Jellyfin or Emby username, or notes"),
        ("status" = Option<String>, Query, description = "active, expired or permanent"),
        ("plan" = Option<i64>, Query, description = "Plan id"),
        ("server" = Option<i64>, Query, description = "Server id: users with a share there that is not removed"),
        ("class" = Option<String>, Query, description = "permanent or standard"),
        ("sort" = Option<String>, Query, description = "email (default), created, expiry or plan"),
        ("dir" = Option<String>, Query, description = "asc (default) or desc"),
        ("page" = Option<i64>, Query, description = "1-based page number (OFFSET fallback; prefer the cursors)"),
        ("after" = Option<String>, Query, description = "Opaque cursor (next_cursor): the page after it"),
        ("before" = Option<String>, Query, description = "Opaque cursor (prev_cursor): the page before it"),
        ("per_page" = Option<i64>, Query, description = "25 (default), 50 or 100"),
    ),
    responses((status = 200, body = UsersOut), (status = 403, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn list(
    State(st): State<WebState>,
    caller: ApiCaller,
    Query(p): Query<UsersParams>,
) -> Result<Json<UsersOut>, ApiError> {
    caller.require(Permission::UsersRead)?;
    let now = st.app.now();
    let q = p.page_query(now)?;
    let page = st.app.users_page(&q).await?;
    Ok(Json(UsersOut {
        total: page.total,
        page: page.page,
        per_page: page.per_page,
        next_cursor: page.next_cursor,
        prev_cursor: page.prev_cursor,
        users: page
            .rows
            .into_iter()
            .map(|l| {
                let status = status_of(&l.row, now).to_string();
                let r = l.row;
                UserOut {
                    id: r.id,
                    email: r.email,
                    display_name: r.display_name,
                    plex_email: r.plex_email,
                    plex_username: r.plex_username,
                    jellyfin_username: r.jellyfin_username,
                    emby_username: r.emby_username,
                    plan_id: r.plan_id,
                    plan_name: r.plan_name,
                    status,
                    permanent: r.permanent,
                    covered_until: r.covered_until,
                    notes: r.notes,
                    created_at: r.created_at,
                    servers: l
                        .servers
                        .into_iter()
                        .map(|s| UserServerOut {
                            server_id: s.server_id,
                            name: s.server_name,
                            state: s.state,
                        })
                        .collect(),
                }
            })
            .collect(),
    }))
}
