//! Servers, Plex accounts, locations, libraries and the self-test over the JSON API. Secrets are
//! accepted, never returned. Adding or testing calls the media server at once (the explicit
//! "test" exception); syncs and self-tests are queued and answer 202 with the job id.

use super::auth::{ApiCaller, Authorized, need};
use crate::{ApiError, WebState};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use boxoffice_app::servers::plex_accounts::PlexAccountForm;
use boxoffice_app::servers::server_admin::{MediaBrowserForm, PlexServerForm};
use boxoffice_domain::Permission;
use boxoffice_store::servers::{ServerRow, ServerSettings};
use serde::{Deserialize, Serialize};

#[derive(Serialize, utoipa::ToSchema)]
pub struct ServerOut {
    pub id: i64,
    /// plex, jellyfin or emby.
    pub platform: String,
    pub name: String,
    /// Plex machine identifier; Jellyfin/Emby server id.
    pub remote_id: String,
    pub url: String,
    pub plex_account_id: Option<i64>,
    pub location_id: Option<i64>,
    pub enabled: bool,
    pub allow_new_subscriptions: bool,
    pub allow_trial_subscriptions: bool,
    pub max_users: i64,
    pub allow_4k_transcoding: bool,
    pub log_activity: bool,
    pub has_premiere: bool,
    pub version: String,
    pub last_synced_at: Option<i64>,
    pub last_error: Option<String>,
}

impl From<ServerRow> for ServerOut {
    fn from(s: ServerRow) -> Self {
        ServerOut {
            id: s.id,
            platform: s.platform.as_str().to_string(),
            name: s.name,
            remote_id: s.remote_id,
            url: s.url,
            plex_account_id: s.plex_account_id,
            location_id: s.location_id,
            enabled: s.enabled,
            allow_new_subscriptions: s.allow_new_subscriptions,
            allow_trial_subscriptions: s.allow_trial_subscriptions,
            max_users: s.max_users,
            allow_4k_transcoding: s.allow_4k_transcoding,
            log_activity: s.log_activity,
            has_premiere: s.has_premiere,
            version: s.version,
            last_synced_at: s.last_synced_at,
            last_error: s.last_error,
        }
    }
}

/// Jellyfin/Emby: `platform`, `url`, `api_key`. Plex: `plex_account_id`, `machine_id`, `url`.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewServerIn {
    pub platform: String,
    pub url: String,
    #[serde(default)]
    pub api_key: String,
    #[serde(default)]
    pub plex_account_id: Option<i64>,
    #[serde(default)]
    pub machine_id: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct ServerSettingsIn {
    pub url: Option<String>,
    /// 0 or null removes the location.
    pub location_id: Option<i64>,
    pub enabled: Option<bool>,
    pub allow_new_subscriptions: Option<bool>,
    pub allow_trial_subscriptions: Option<bool>,
    pub max_users: Option<i64>,
    pub allow_4k_transcoding: Option<bool>,
    pub log_activity: Option<bool>,
    pub has_premiere: Option<bool>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Queued {
    pub job_id: i64,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct IdentityOut {
    pub name: String,
    pub id: String,
    pub version: String,
}

/// Every server.
#[utoipa::path(get, path = "/api/v1/servers", responses((status = 200, body = [ServerOut]), (status = 403, body = crate::error::ErrorBody)))]
pub async fn list(
    State(st): State<WebState>,
    caller: ApiCaller,
) -> Result<Json<Vec<ServerOut>>, ApiError> {
    caller.require(Permission::ServersRead)?;
    Ok(Json(
        st.app
            .list_servers()
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
    ))
}

/// One server.
#[utoipa::path(get, path = "/api/v1/servers/{id}", params(("id" = i64, Path, description = "Server id")), responses((status = 200, body = ServerOut), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get_one(
    State(st): State<WebState>,
    caller: ApiCaller,
    Path(id): Path<i64>,
) -> Result<Json<ServerOut>, ApiError> {
    caller.require(Permission::ServersRead)?;
    Ok(Json(st.app.server(id).await?.into()))
}

/// Tests the connection, adds the server (disabled) and queues its library sync. A refused key
/// or token answers 502 with the media server's actionable message.
#[utoipa::path(post, path = "/api/v1/servers", request_body = NewServerIn, responses((status = 201, body = ServerOut), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody), (status = 502, body = crate::error::ErrorBody)))]
pub async fn create(
    State(st): State<WebState>,
    caller: Authorized<need::ServersWrite>,
    Json(body): Json<NewServerIn>,
) -> Result<(StatusCode, Json<ServerOut>), ApiError> {
    let row = if body.platform == "plex" {
        let Some(account) = body.plex_account_id else {
            return Err(ApiError {
                field: Some("plex_account_id"),
                ..ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid",
                    "a Plex server needs the plex_account_id it belongs to",
                )
            });
        };
        st.app
            .add_plex_server(
                &caller.actor(),
                &PlexServerForm {
                    plex_account_id: account,
                    machine_id: body.machine_id,
                    url: body.url,
                },
            )
            .await?
    } else {
        st.app
            .add_mediabrowser_server(
                &caller.actor(),
                &MediaBrowserForm {
                    platform: body.platform,
                    url: body.url,
                    api_key: body.api_key,
                },
            )
            .await?
    };
    Ok((StatusCode::CREATED, Json(row.into())))
}

/// Changes a server's settings; fields left out keep their value.
#[utoipa::path(patch, path = "/api/v1/servers/{id}", params(("id" = i64, Path, description = "Server id")), request_body = ServerSettingsIn, responses((status = 200, body = ServerOut), (status = 422, body = crate::error::ErrorBody)))]
pub async fn update(
    State(st): State<WebState>,
    caller: Authorized<need::ServersWrite>,
    Path(id): Path<i64>,
    Json(b): Json<ServerSettingsIn>,
) -> Result<Json<ServerOut>, ApiError> {
    let cur = st.app.server(id).await?;
    let settings = ServerSettings {
        url: b.url.unwrap_or(cur.url),
        location_id: match b.location_id {
            Some(0) => None,
            Some(l) => Some(l),
            None => cur.location_id,
        },
        enabled: b.enabled.unwrap_or(cur.enabled),
        allow_new_subscriptions: b
            .allow_new_subscriptions
            .unwrap_or(cur.allow_new_subscriptions),
        allow_trial_subscriptions: b
            .allow_trial_subscriptions
            .unwrap_or(cur.allow_trial_subscriptions),
        max_users: b.max_users.unwrap_or(cur.max_users),
        allow_4k_transcoding: b.allow_4k_transcoding.unwrap_or(cur.allow_4k_transcoding),
        log_activity: b.log_activity.unwrap_or(cur.log_activity),
        has_premiere: b.has_premiere.unwrap_or(cur.has_premiere),
    };
    st.app
        .update_server_settings(&caller.actor(), id, &settings)
        .await?;
    Ok(Json(st.app.server(id).await?.into()))
}

/// Deletes the server and its libraries. 409 while any share on it is not `removed`: move its
/// users to another server first.
#[utoipa::path(delete, path = "/api/v1/servers/{id}", params(("id" = i64, Path, description = "Server id")), responses((status = 204), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn delete(
    State(st): State<WebState>,
    caller: ApiCaller,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    caller.require(Permission::ServersWrite)?;
    st.app.delete_server(&caller.actor(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Queues a library sync of the server.
#[utoipa::path(post, path = "/api/v1/servers/{id}/sync", params(("id" = i64, Path, description = "Server id")), responses((status = 202, body = Queued), (status = 404, body = crate::error::ErrorBody)))]
pub async fn sync(
    State(st): State<WebState>,
    caller: ApiCaller,
    Path(id): Path<i64>,
) -> Result<(StatusCode, Json<Queued>), ApiError> {
    caller.require(Permission::ServersWrite)?;
    let job_id = st.app.request_library_sync(&caller.actor(), id).await?;
    Ok((StatusCode::ACCEPTED, Json(Queued { job_id })))
}

/// Tests the connection to a stored server now.
#[utoipa::path(post, path = "/api/v1/servers/{id}/test", params(("id" = i64, Path, description = "Server id")), responses((status = 200, body = IdentityOut), (status = 502, body = crate::error::ErrorBody)))]
pub async fn test(
    State(st): State<WebState>,
    caller: ApiCaller,
    Path(id): Path<i64>,
) -> Result<Json<IdentityOut>, ApiError> {
    caller.require(Permission::ServersWrite)?;
    let i = st.app.test_server(&caller.actor(), id).await?;
    Ok(Json(IdentityOut {
        name: i.name,
        id: i.id,
        version: i.version,
    }))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct LibraryOut {
    pub id: i64,
    pub server_id: i64,
    /// Server-local id (Plex section key, Jellyfin/Emby item id).
    pub remote_key: String,
    /// The id access is granted by (Plex global section id, Jellyfin folder id, Emby Guid).
    pub global_id: String,
    pub name: String,
    pub kind: String,
    pub item_count: i64,
    pub child_count: Option<i64>,
    pub library_group_id: Option<i64>,
    pub synced_at: i64,
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct LibrariesQuery {
    /// Only this server's libraries.
    server_id: Option<i64>,
}

/// Libraries as last synced.
#[utoipa::path(get, path = "/api/v1/libraries", params(LibrariesQuery), responses((status = 200, body = [LibraryOut])))]
pub async fn libraries(
    State(st): State<WebState>,
    caller: ApiCaller,
    Query(q): Query<LibrariesQuery>,
) -> Result<Json<Vec<LibraryOut>>, ApiError> {
    caller.require(Permission::LibrariesRead)?;
    Ok(Json(
        st.app
            .list_libraries(q.server_id)
            .await?
            .into_iter()
            .map(|l| LibraryOut {
                id: l.id,
                server_id: l.server_id,
                remote_key: l.remote_key,
                global_id: l.global_id,
                name: l.name,
                kind: l.kind,
                item_count: l.item_count,
                child_count: l.child_count,
                library_group_id: l.library_group_id,
                synced_at: l.synced_at,
            })
            .collect(),
    ))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct PlexAccountOut {
    pub id: i64,
    pub name: String,
    pub username: String,
    pub email: String,
    pub has_plex_pass: bool,
    pub proxy_url: String,
    pub proxy_username: String,
    pub last_checked_at: Option<i64>,
    pub last_error: Option<String>,
}

impl From<boxoffice_store::plex_accounts::PlexAccountRow> for PlexAccountOut {
    fn from(a: boxoffice_store::plex_accounts::PlexAccountRow) -> Self {
        PlexAccountOut {
            id: a.id,
            name: a.name,
            username: a.username,
            email: a.email,
            has_plex_pass: a.has_plex_pass,
            proxy_url: a.proxy_url,
            proxy_username: a.proxy_username,
            last_checked_at: a.last_checked_at,
            last_error: a.last_error,
        }
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewPlexAccountIn {
    #[serde(default)]
    pub name: String,
    pub token: String,
    #[serde(default)]
    pub proxy_url: String,
    #[serde(default)]
    pub proxy_username: String,
    #[serde(default)]
    pub proxy_password: String,
    #[serde(default)]
    pub extra_query: String,
}

/// Every Plex account. Tokens are never returned.
#[utoipa::path(get, path = "/api/v1/plex-accounts", responses((status = 200, body = [PlexAccountOut])))]
pub async fn plex_accounts(
    State(st): State<WebState>,
    caller: ApiCaller,
) -> Result<Json<Vec<PlexAccountOut>>, ApiError> {
    caller.require(Permission::PlexAccountsRead)?;
    Ok(Json(
        st.app
            .list_plex_accounts()
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
    ))
}

/// Tests the token against plex.tv and stores the account, token encrypted.
#[utoipa::path(post, path = "/api/v1/plex-accounts", request_body = NewPlexAccountIn, responses((status = 201, body = PlexAccountOut), (status = 502, body = crate::error::ErrorBody)))]
pub async fn add_plex_account(
    State(st): State<WebState>,
    caller: Authorized<need::PlexAccountsWrite>,
    Json(b): Json<NewPlexAccountIn>,
) -> Result<(StatusCode, Json<PlexAccountOut>), ApiError> {
    let row = st
        .app
        .add_plex_account(
            &caller.actor(),
            &PlexAccountForm {
                name: b.name,
                token: b.token,
                proxy_url: b.proxy_url,
                proxy_username: b.proxy_username,
                proxy_password: b.proxy_password,
                extra_query: b.extra_query,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(row.into())))
}

/// Deletes a Plex account. 409, naming them, while servers use it.
#[utoipa::path(delete, path = "/api/v1/plex-accounts/{id}", params(("id" = i64, Path, description = "Plex account id")), responses((status = 204), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn delete_plex_account(
    State(st): State<WebState>,
    caller: ApiCaller,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    caller.require(Permission::PlexAccountsWrite)?;
    st.app.delete_plex_account(&caller.actor(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Tests a stored account's token now.
#[utoipa::path(post, path = "/api/v1/plex-accounts/{id}/test", params(("id" = i64, Path, description = "Plex account id")), responses((status = 200, body = PlexAccountOut), (status = 502, body = crate::error::ErrorBody)))]
pub async fn test_plex_account(
    State(st): State<WebState>,
    caller: ApiCaller,
    Path(id): Path<i64>,
) -> Result<Json<PlexAccountOut>, ApiError> {
    caller.require(Permission::PlexAccountsWrite)?;
    st.app.test_plex_account(&caller.actor(), id).await?;
    Ok(Json(st.app.plex_account(id).await?.into()))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct DiscoveredOut {
    pub name: String,
    pub machine_id: String,
    pub version: String,
    pub uris: Vec<String>,
}

/// The servers this account owns, as plex.tv lists them; add one with POST /api/v1/servers.
#[utoipa::path(get, path = "/api/v1/plex-accounts/{id}/servers", params(("id" = i64, Path, description = "Plex account id")), responses((status = 200, body = [DiscoveredOut]), (status = 502, body = crate::error::ErrorBody)))]
pub async fn discover(
    State(st): State<WebState>,
    caller: ApiCaller,
    Path(id): Path<i64>,
) -> Result<Json<Vec<DiscoveredOut>>, ApiError> {
    caller.require(Permission::ServersWrite)?;
    Ok(Json(
        st.app
            .discover_plex_servers(id)
            .await?
            .into_iter()
            .map(|d| DiscoveredOut {
                name: d.name,
                machine_id: d.machine_id,
                version: d.version,
                uris: d.uris,
            })
            .collect(),
    ))
}

#[derive(Serialize, Deserialize, utoipa::ToSchema)]
pub struct LocationOut {
    #[serde(default)]
    pub id: i64,
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub sort_order: i64,
}

/// Server locations.
#[utoipa::path(get, path = "/api/v1/server-locations", responses((status = 200, body = [LocationOut])))]
pub async fn locations(
    State(st): State<WebState>,
    caller: ApiCaller,
) -> Result<Json<Vec<LocationOut>>, ApiError> {
    caller.require(Permission::ServerLocationsRead)?;
    Ok(Json(
        st.app
            .list_server_locations()
            .await?
            .into_iter()
            .map(|l| LocationOut {
                id: l.id,
                name: l.name,
                description: l.description,
                sort_order: l.sort_order,
            })
            .collect(),
    ))
}

/// Adds a server location (the id in the body is ignored).
#[utoipa::path(post, path = "/api/v1/server-locations", request_body = LocationOut, responses((status = 201, body = LocationOut), (status = 409, body = crate::error::ErrorBody)))]
pub async fn add_location(
    State(st): State<WebState>,
    caller: Authorized<need::ServerLocationsWrite>,
    Json(b): Json<LocationOut>,
) -> Result<(StatusCode, Json<LocationOut>), ApiError> {
    let l = st
        .app
        .add_server_location(&caller.actor(), &b.name, &b.description, b.sort_order)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(LocationOut {
            id: l.id,
            name: l.name,
            description: l.description,
            sort_order: l.sort_order,
        }),
    ))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SelfTestRowOut {
    pub target: String,
    pub call: String,
    pub ok: bool,
    pub skipped: bool,
    /// HTTP status of the call, when one was received.
    pub status: Option<i64>,
    pub message: String,
    /// What to do about a failure.
    pub advice: String,
    pub latency_ms: i64,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SelfTestOut {
    pub run_id: i64,
    /// schedule or manual.
    pub cause: String,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    pub passed: i64,
    pub failed: i64,
    pub results: Vec<SelfTestRowOut>,
}

/// The latest finished self-test run with one row per call; 404 before the first run.
#[utoipa::path(get, path = "/api/v1/self-test", responses((status = 200, body = SelfTestOut), (status = 404, body = crate::error::ErrorBody)))]
pub async fn self_test(
    State(st): State<WebState>,
    caller: ApiCaller,
) -> Result<Json<SelfTestOut>, ApiError> {
    caller.require(Permission::ServersRead)?;
    let Some(r) = st.app.latest_self_test().await? else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "No self-test has run yet: POST /api/v1/self-test to queue one.",
        ));
    };
    Ok(Json(SelfTestOut {
        run_id: r.run.id,
        cause: r.run.cause,
        started_at: r.run.started_at,
        finished_at: r.run.finished_at,
        passed: r.run.passed,
        failed: r.run.failed,
        results: r
            .results
            .into_iter()
            .map(|x| SelfTestRowOut {
                target: x.target,
                call: x.call,
                ok: x.ok,
                skipped: x.skipped,
                status: x.status,
                message: x.message,
                advice: x.advice,
                latency_ms: x.latency_ms,
            })
            .collect(),
    }))
}

/// Queues a self-test run now.
#[utoipa::path(post, path = "/api/v1/self-test", responses((status = 202, body = Queued)))]
pub async fn run_self_test(
    State(st): State<WebState>,
    caller: ApiCaller,
) -> Result<(StatusCode, Json<Queued>), ApiError> {
    caller.require(Permission::ServersWrite)?;
    let job_id = st.app.request_self_test(&caller.actor()).await?;
    Ok((StatusCode::ACCEPTED, Json(Queued { job_id })))
}
