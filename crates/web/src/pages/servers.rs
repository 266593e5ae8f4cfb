//! Admin pages for media servers, server locations and libraries. Adding a server tests it
//! first; a library sync is queued as a job, never run inside the request.

use super::form::{self, Fields, failure_status, opt_time, with_status};
use super::{app_error_page, render};
use crate::WebState;
use crate::csrf::CsrfToken;
use crate::layout::Layout;
use crate::session::{ClientIp, Staff};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use boxoffice_app::AppError;
use boxoffice_app::auth::Principal;
use boxoffice_app::servers::server_admin::{MediaBrowserForm, platform_label};
use boxoffice_domain::Permission;
use boxoffice_store::libraries::LibraryRow;
use boxoffice_store::server_locations::LocationRow;
use boxoffice_store::servers::{ServerRow, ServerSettings};
use serde::Deserialize;

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/admin/servers", get(servers_page).post(add_server))
        .route("/admin/servers/{id}", get(server_page).post(save_server))
        .route("/admin/servers/{id}/test", post(test_server))
        .route("/admin/servers/{id}/sync", post(sync_server))
        .route("/admin/servers/{id}/delete", post(delete_server))
        .route(
            "/admin/server-locations",
            get(locations_page).post(add_location),
        )
        .route("/admin/server-locations/{id}", post(save_location))
        .route("/admin/server-locations/{id}/delete", post(delete_location))
        .route("/admin/libraries", get(libraries_page))
}

#[derive(Deserialize, Default)]
pub struct Done {
    pub done: Option<String>,
    /// The Users page's Migrate action: prefills the migration form with this user.
    #[serde(default)]
    pub migrate_customer: Option<i64>,
}

/// The confirmation shown after a redirect, by code, so no free text travels in the URL.
pub fn done_message(d: &Done) -> Option<&'static str> {
    Some(match d.done.as_deref()? {
        "added" => "Added. Its libraries are being synced in the background; edit it to enable it.",
        "saved" => "Saved.",
        "tested" => "Connection tested: it works.",
        "sync" => "Library sync queued: refresh in a moment.",
        "deleted" => "Deleted.",
        "selftest" => "Self-test queued: refresh in a moment.",
        "migration" => "Migration queued: its progress is listed below; refresh in a moment.",
        "grants_applied" => {
            "Queued: each share's job writes its server, reads it back and compares; the share's state shows on its customer."
        }
        "reinvite" => {
            "Re-invite queued: each user's invite is sent by its own job, paced per Plex account."
        }
        _ => return None,
    })
}

pub struct ServerView {
    pub id: i64,
    pub name: String,
    pub platform: &'static str,
    pub url: String,
    pub enabled: bool,
    pub location: String,
    pub max_users: i64,
    pub libraries: usize,
    pub last_synced: String,
    pub last_error: String,
}

fn view(s: &ServerRow, locations: &[LocationRow], libraries: &[LibraryRow]) -> ServerView {
    ServerView {
        id: s.id,
        name: s.name.clone(),
        platform: platform_label(s.platform),
        url: s.url.clone(),
        enabled: s.enabled,
        location: s
            .location_id
            .and_then(|l| locations.iter().find(|x| x.id == l))
            .map(|l| l.name.clone())
            .unwrap_or_default(),
        max_users: s.max_users,
        libraries: libraries.iter().filter(|l| l.server_id == s.id).count(),
        last_synced: opt_time(s.last_synced_at),
        last_error: s.last_error.clone().unwrap_or_default(),
    }
}

#[derive(Template)]
#[template(path = "admin/servers.html")]
struct ServersPage {
    layout: Layout,
    servers: Vec<ServerView>,
    can_write: bool,
    message: Option<&'static str>,
    error: Option<String>,
    platform: String,
    url: String,
}

async fn servers_view(
    st: &WebState,
    staff: &Staff,
    csrf: &str,
    message: Option<&'static str>,
    error: Option<(String, &MediaBrowserForm)>,
) -> Result<Response, AppError> {
    let s = &staff.0;
    let servers = st.app.list_servers().await?;
    let locations = st.app.list_server_locations().await?;
    let libraries = st.app.list_libraries(None).await?;
    let layout = Layout::build(st, "Servers", Some(s), csrf, "servers").await;
    let (error, platform, url) = match error {
        Some((e, f)) => (Some(e), f.platform.clone(), f.url.clone()),
        None => (None, "jellyfin".into(), String::new()),
    };
    Ok(render(&ServersPage {
        layout,
        servers: servers
            .iter()
            .map(|x| view(x, &locations, &libraries))
            .collect(),
        can_write: s.can(Permission::ServersWrite),
        message,
        error,
        platform,
        url,
    }))
}

async fn servers_page(
    State(st): State<WebState>,
    staff: Staff,
    CsrfToken(csrf): CsrfToken,
    Query(d): Query<Done>,
) -> Response {
    if let Err(r) = staff.require(Permission::ServersRead) {
        return r;
    }
    servers_view(&st, &staff, &csrf, done_message(&d), None)
        .await
        .unwrap_or_else(|e| app_error_page(&st, e))
}

async fn add_server(
    State(st): State<WebState>,
    staff: Staff,
    ClientIp(ip): ClientIp,
    CsrfToken(csrf): CsrfToken,
    Form(f): Form<Fields>,
) -> Response {
    let s = match staff.require(Permission::ServersWrite) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let input = MediaBrowserForm {
        platform: form::text(&f, "platform"),
        url: form::text(&f, "url"),
        api_key: form::secret(&f, "api_key"),
    };
    match st.app.add_mediabrowser_server(&s.actor(&ip), &input).await {
        Ok(row) => Redirect::to(&format!("/admin/servers/{}?done=added", row.id)).into_response(),
        Err(e) if !matches!(e, AppError::Store(_)) => {
            let status = failure_status(&e);
            servers_view(&st, &staff, &csrf, None, Some((e.to_string(), &input)))
                .await
                .map(|r| with_status(r, status))
                .unwrap_or_else(|e| app_error_page(&st, e))
        }
        Err(e) => app_error_page(&st, e),
    }
}

#[derive(Template)]
#[template(path = "admin/server.html")]
struct ServerPage {
    layout: Layout,
    server: ServerRow,
    platform: &'static str,
    locations: Vec<LocationRow>,
    libraries: Vec<LibraryRow>,
    last_synced: String,
    can_write: bool,
    /// users.write and servers.write: may start and retry migrations.
    can_migrate: bool,
    /// The other servers, as migration targets.
    targets: Vec<(i64, String)>,
    migrations: Vec<MigrationLine>,
    /// A user id the migration form starts with (the Users page's Migrate action).
    prefill_customer: String,
    message: Option<&'static str>,
    error: Option<String>,
}

/// One migration from or to this server, for the progress list.
struct MigrationLine {
    id: i64,
    direction: String,
    state: String,
    /// Why a stopped migration stopped; empty otherwise.
    stop_reason: String,
    moved: usize,
    failed: usize,
    skipped: usize,
    pending: usize,
    failures: Vec<String>,
}

impl MigrationLine {
    /// A stopped migration resumes; a finished one runs its failures again.
    fn retry_label(&self) -> Option<&'static str> {
        match self.state.as_str() {
            "stopped" => Some("Retry"),
            "done" if self.failed > 0 => Some("Retry failed"),
            _ => None,
        }
    }
}

async fn server_view(
    st: &WebState,
    staff: &Staff,
    csrf: &str,
    id: i64,
    message: Option<&'static str>,
    error: Option<String>,
    prefill_customer: Option<i64>,
) -> Result<Response, AppError> {
    let s = &staff.0;
    let server = st.app.server(id).await?;
    let locations = st.app.list_server_locations().await?;
    let libraries = st.app.list_libraries(Some(id)).await?;
    let targets = st
        .app
        .list_servers()
        .await?
        .into_iter()
        .filter(|t| t.id != id)
        .map(|t| (t.id, t.name))
        .collect();
    let migrations = st
        .app
        .list_migrations(Some(id))
        .await?
        .into_iter()
        .map(|m| {
            let count = |o: &str| m.items.iter().filter(|i| i.outcome == o).count();
            MigrationLine {
                id: m.row.id,
                direction: format!("{} → {}", m.source_name, m.target_name),
                state: m.row.state.clone(),
                stop_reason: m.row.stop_reason.clone(),
                moved: count("moved"),
                failed: count("failed"),
                skipped: count("skipped"),
                pending: count("pending"),
                failures: m
                    .items
                    .iter()
                    .filter(|i| i.outcome == "failed")
                    .map(|i| format!("user #{}: {}", i.customer, i.message))
                    .collect(),
            }
        })
        .collect();
    let layout = Layout::build(st, &server.name, Some(s), csrf, "servers").await;
    Ok(render(&ServerPage {
        layout,
        platform: platform_label(server.platform),
        last_synced: opt_time(server.last_synced_at),
        server,
        locations,
        libraries,
        can_write: s.can(Permission::ServersWrite),
        can_migrate: s.can(Permission::ServersWrite) && s.can(Permission::UsersWrite),
        targets,
        migrations,
        prefill_customer: prefill_customer.map(|c| c.to_string()).unwrap_or_default(),
        message,
        error,
    }))
}

fn page_or_404(st: &WebState, e: AppError) -> Response {
    app_error_page(st, e)
}

async fn server_page(
    State(st): State<WebState>,
    staff: Staff,
    CsrfToken(csrf): CsrfToken,
    Path(id): Path<i64>,
    Query(d): Query<Done>,
) -> Response {
    if let Err(r) = staff.require(Permission::ServersRead) {
        return r;
    }
    server_view(
        &st,
        &staff,
        &csrf,
        id,
        done_message(&d),
        None,
        d.migrate_customer,
    )
    .await
    .unwrap_or_else(|e| page_or_404(&st, e))
}

async fn save_server(
    State(st): State<WebState>,
    staff: Staff,
    ClientIp(ip): ClientIp,
    CsrfToken(csrf): CsrfToken,
    Path(id): Path<i64>,
    Form(f): Form<Fields>,
) -> Response {
    let s = match staff.require(Permission::ServersWrite) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let settings = ServerSettings {
        url: form::text(&f, "url"),
        location_id: form::int(&f, "location_id").filter(|l| *l > 0),
        enabled: form::flag(&f, "enabled"),
        allow_new_subscriptions: form::flag(&f, "allow_new_subscriptions"),
        allow_trial_subscriptions: form::flag(&f, "allow_trial_subscriptions"),
        max_users: form::int(&f, "max_users").unwrap_or(0),
        allow_4k_transcoding: form::flag(&f, "allow_4k_transcoding"),
        log_activity: form::flag(&f, "log_activity"),
        has_premiere: form::flag(&f, "has_premiere"),
    };
    match st
        .app
        .update_server_settings(&s.actor(&ip), id, &settings)
        .await
    {
        Ok(()) => Redirect::to(&format!("/admin/servers/{id}?done=saved")).into_response(),
        Err(e @ AppError::Invalid { .. }) => {
            server_view(&st, &staff, &csrf, id, None, Some(e.to_string()), None)
                .await
                .map(|r| with_status(r, axum::http::StatusCode::UNPROCESSABLE_ENTITY))
                .unwrap_or_else(|e| app_error_page(&st, e))
        }
        Err(e) => app_error_page(&st, e),
    }
}

async fn test_server(
    State(st): State<WebState>,
    staff: Staff,
    ClientIp(ip): ClientIp,
    CsrfToken(csrf): CsrfToken,
    Path(id): Path<i64>,
) -> Response {
    let s = match staff.require(Permission::ServersWrite) {
        Ok(s) => s,
        Err(r) => return r,
    };
    match st.app.test_server(&s.actor(&ip), id).await {
        Ok(_) => Redirect::to(&format!("/admin/servers/{id}?done=tested")).into_response(),
        Err(e @ AppError::Media(_)) => {
            server_view(&st, &staff, &csrf, id, None, Some(e.to_string()), None)
                .await
                .map(|r| with_status(r, axum::http::StatusCode::BAD_GATEWAY))
                .unwrap_or_else(|e| app_error_page(&st, e))
        }
        Err(e) => app_error_page(&st, e),
    }
}

async fn sync_server(
    State(st): State<WebState>,
    staff: Staff,
    ClientIp(ip): ClientIp,
    Path(id): Path<i64>,
) -> Response {
    let s = match staff.require(Permission::ServersWrite) {
        Ok(s) => s,
        Err(r) => return r,
    };
    match st.app.request_library_sync(&s.actor(&ip), id).await {
        Ok(_) => Redirect::to(&format!("/admin/servers/{id}?done=sync")).into_response(),
        Err(e) => app_error_page(&st, e),
    }
}

/// Deletes the server; while users still have access there, the page says to move them first.
async fn delete_server(
    State(st): State<WebState>,
    staff: Staff,
    ClientIp(ip): ClientIp,
    CsrfToken(csrf): CsrfToken,
    Path(id): Path<i64>,
) -> Response {
    let s = match staff.require(Permission::ServersWrite) {
        Ok(s) => s,
        Err(r) => return r,
    };
    match st.app.delete_server(&s.actor(&ip), id).await {
        Ok(()) => Redirect::to("/admin/servers?done=deleted").into_response(),
        Err(e @ AppError::Conflict(_)) => {
            server_view(&st, &staff, &csrf, id, None, Some(e.to_string()), None)
                .await
                .map(|r| with_status(r, axum::http::StatusCode::CONFLICT))
                .unwrap_or_else(|e| app_error_page(&st, e))
        }
        Err(e) => app_error_page(&st, e),
    }
}

#[derive(Template)]
#[template(path = "admin/server_locations.html")]
struct LocationsPage {
    layout: Layout,
    locations: Vec<LocationRow>,
    can_write: bool,
    message: Option<&'static str>,
    error: Option<String>,
}

async fn locations_view(
    st: &WebState,
    staff: &Staff,
    csrf: &str,
    message: Option<&'static str>,
    error: Option<String>,
) -> Result<Response, AppError> {
    let s = &staff.0;
    let locations = st.app.list_server_locations().await?;
    let layout = Layout::build(st, "Server locations", Some(s), csrf, "server-locations").await;
    Ok(render(&LocationsPage {
        layout,
        locations,
        can_write: s.can(Permission::ServerLocationsWrite),
        message,
        error,
    }))
}

async fn locations_page(
    State(st): State<WebState>,
    staff: Staff,
    CsrfToken(csrf): CsrfToken,
    Query(d): Query<Done>,
) -> Response {
    if let Err(r) = staff.require(Permission::ServerLocationsRead) {
        return r;
    }
    locations_view(&st, &staff, &csrf, done_message(&d), None)
        .await
        .unwrap_or_else(|e| app_error_page(&st, e))
}

/// After a location change: back to the list, or the list with the reason it was refused.
async fn location_outcome(
    st: &WebState,
    staff: &Staff,
    csrf: &str,
    r: Result<&'static str, AppError>,
) -> Response {
    match r {
        Ok(done) => Redirect::to(&format!("/admin/server-locations?done={done}")).into_response(),
        Err(e @ (AppError::Invalid { .. } | AppError::Conflict(_) | AppError::NotFound(_))) => {
            let status = failure_status(&e);
            locations_view(st, staff, csrf, None, Some(e.to_string()))
                .await
                .map(|r| with_status(r, status))
                .unwrap_or_else(|e| app_error_page(st, e))
        }
        Err(e) => app_error_page(st, e),
    }
}

async fn add_location(
    State(st): State<WebState>,
    staff: Staff,
    ClientIp(ip): ClientIp,
    CsrfToken(csrf): CsrfToken,
    Form(f): Form<Fields>,
) -> Response {
    let s = match staff.require(Permission::ServerLocationsWrite) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let r = st
        .app
        .add_server_location(
            &s.actor(&ip),
            &form::text(&f, "name"),
            &form::text(&f, "description"),
            form::int(&f, "sort_order").unwrap_or(0),
        )
        .await
        .map(|_| "saved");
    location_outcome(&st, &staff, &csrf, r).await
}

async fn save_location(
    State(st): State<WebState>,
    staff: Staff,
    ClientIp(ip): ClientIp,
    CsrfToken(csrf): CsrfToken,
    Path(id): Path<i64>,
    Form(f): Form<Fields>,
) -> Response {
    let s = match staff.require(Permission::ServerLocationsWrite) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let r = st
        .app
        .update_server_location(
            &s.actor(&ip),
            id,
            &form::text(&f, "name"),
            &form::text(&f, "description"),
            form::int(&f, "sort_order").unwrap_or(0),
        )
        .await
        .map(|_| "saved");
    location_outcome(&st, &staff, &csrf, r).await
}

async fn delete_location(
    State(st): State<WebState>,
    staff: Staff,
    ClientIp(ip): ClientIp,
    CsrfToken(csrf): CsrfToken,
    Path(id): Path<i64>,
) -> Response {
    let s = match staff.require(Permission::ServerLocationsWrite) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let r = st
        .app
        .delete_server_location(&s.actor(&ip), id)
        .await
        .map(|_| "deleted");
    location_outcome(&st, &staff, &csrf, r).await
}

pub struct LibraryView {
    pub id: i64,
    pub group_id: i64,
    pub server: String,
    pub name: String,
    pub kind: String,
    pub item_count: i64,
    pub child_count: String,
    pub synced: String,
}

#[derive(Template)]
#[template(path = "admin/libraries.html")]
struct LibrariesPage {
    layout: Layout,
    libraries: Vec<LibraryView>,
    groups: Vec<boxoffice_store::library_groups::LibraryGroupRow>,
    can_write: bool,
    message: Option<&'static str>,
    /// Live shares whose desired state is not what their plan grants now (after a library moved
    /// to another group, say): offered as "Apply to N existing shares".
    out_of_step: usize,
}

async fn libraries_page(
    State(st): State<WebState>,
    staff: Staff,
    CsrfToken(csrf): CsrfToken,
    Query(d): Query<Done>,
) -> Response {
    let s = match staff.require(Permission::LibrariesRead) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let (servers, libs, groups, out_of_step) = match (
        st.app.list_servers().await,
        st.app.list_libraries(None).await,
        st.app.list_library_groups().await,
        st.app.shares_out_of_step(None).await,
    ) {
        (Ok(a), Ok(b), Ok(c), Ok(n)) => (a, b, c, n),
        (Err(e), _, _, _) | (_, Err(e), _, _) | (_, _, Err(e), _) | (_, _, _, Err(e)) => {
            return app_error_page(&st, e);
        }
    };
    let libraries = libs
        .into_iter()
        .map(|l| LibraryView {
            id: l.id,
            group_id: l.library_group_id.unwrap_or(0),
            server: servers
                .iter()
                .find(|s| s.id == l.server_id)
                .map(|s| s.name.clone())
                .unwrap_or_default(),
            name: l.name,
            kind: l.kind,
            item_count: l.item_count,
            child_count: l.child_count.map(|c| c.to_string()).unwrap_or_default(),
            synced: super::admin::fmt_time(l.synced_at),
        })
        .collect();
    let layout = Layout::build(&st, "Libraries", Some(s), &csrf, "libraries").await;
    render(&LibrariesPage {
        layout,
        libraries,
        groups,
        can_write: s.can(Permission::LibrariesWrite),
        message: done_message(&d),
        out_of_step,
    })
}
