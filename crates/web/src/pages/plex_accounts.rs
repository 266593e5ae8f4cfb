//! Admin pages for Plex accounts: add by token (tested first), edit proxy settings, test the
//! token, list the account's servers and add one.

use super::form::{self, Fields, failure_status, opt_time, with_status};
use super::servers::{Done, done_message};
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
use boxoffice_app::servers::plex_accounts::{
    DiscoveredServer, PlexAccountForm, PlexAccountSettings,
};
use boxoffice_app::servers::server_admin::PlexServerForm;
use boxoffice_domain::Permission;
use boxoffice_domain::platform::Platform;
use boxoffice_store::plex_accounts::PlexAccountRow;

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/admin/plex-accounts", get(accounts_page).post(add_account))
        .route(
            "/admin/plex-accounts/{id}",
            get(account_page).post(save_account),
        )
        .route("/admin/plex-accounts/{id}/test", post(test_account))
        .route("/admin/plex-accounts/{id}/delete", post(delete_account))
        .route("/admin/plex-accounts/{id}/discover", post(discover))
        .route("/admin/plex-accounts/{id}/servers", post(add_server))
}

pub struct AccountView {
    pub id: i64,
    pub name: String,
    pub username: String,
    pub email: String,
    pub has_plex_pass: bool,
    pub proxy: bool,
    pub last_checked: String,
    pub last_error: String,
}

fn view(a: &PlexAccountRow) -> AccountView {
    AccountView {
        id: a.id,
        name: a.name.clone(),
        username: a.username.clone(),
        email: a.email.clone(),
        has_plex_pass: a.has_plex_pass,
        proxy: !a.proxy_url.is_empty(),
        last_checked: opt_time(a.last_checked_at),
        last_error: a.last_error.clone().unwrap_or_default(),
    }
}

#[derive(Template)]
#[template(path = "admin/plex_accounts.html")]
struct AccountsPage {
    layout: Layout,
    accounts: Vec<AccountView>,
    can_write: bool,
    message: Option<&'static str>,
    error: Option<String>,
    name: String,
    proxy_url: String,
    proxy_username: String,
}

async fn accounts_view(
    st: &WebState,
    staff: &Staff,
    csrf: &str,
    message: Option<&'static str>,
    error: Option<(String, &PlexAccountForm)>,
) -> Result<Response, AppError> {
    let s = &staff.0;
    let accounts = st.app.list_plex_accounts().await?;
    let layout = Layout::build(st, "Plex accounts", Some(s), csrf, "plex-accounts").await;
    let (error, name, proxy_url, proxy_username) = match error {
        Some((e, f)) => (
            Some(e),
            f.name.clone(),
            f.proxy_url.clone(),
            f.proxy_username.clone(),
        ),
        None => (None, String::new(), String::new(), String::new()),
    };
    Ok(render(&AccountsPage {
        layout,
        accounts: accounts.iter().map(view).collect(),
        can_write: s.can(Permission::PlexAccountsWrite),
        message,
        error,
        name,
        proxy_url,
        proxy_username,
    }))
}

async fn accounts_page(
    State(st): State<WebState>,
    staff: Staff,
    CsrfToken(csrf): CsrfToken,
    Query(d): Query<Done>,
) -> Response {
    if let Err(r) = staff.require(Permission::PlexAccountsRead) {
        return r;
    }
    accounts_view(&st, &staff, &csrf, done_message(&d), None)
        .await
        .unwrap_or_else(|e| app_error_page(&st, e))
}

async fn add_account(
    State(st): State<WebState>,
    staff: Staff,
    ClientIp(ip): ClientIp,
    CsrfToken(csrf): CsrfToken,
    Form(f): Form<Fields>,
) -> Response {
    let s = match staff.require(Permission::PlexAccountsWrite) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let input = PlexAccountForm {
        name: form::text(&f, "name"),
        token: form::text(&f, "token"),
        proxy_url: form::text(&f, "proxy_url"),
        proxy_username: form::text(&f, "proxy_username"),
        proxy_password: form::secret(&f, "proxy_password"),
        extra_query: form::text(&f, "extra_query"),
    };
    match st.app.add_plex_account(&s.actor(&ip), &input).await {
        Ok(row) => {
            Redirect::to(&format!("/admin/plex-accounts/{}?done=saved", row.id)).into_response()
        }
        Err(e) if !matches!(e, AppError::Store(_)) => {
            let status = failure_status(&e);
            accounts_view(&st, &staff, &csrf, None, Some((e.to_string(), &input)))
                .await
                .map(|r| with_status(r, status))
                .unwrap_or_else(|e| app_error_page(&st, e))
        }
        Err(e) => app_error_page(&st, e),
    }
}

pub struct Discovered {
    pub name: String,
    pub machine_id: String,
    pub version: String,
    pub uris: Vec<String>,
    pub added: bool,
}

#[derive(Template)]
#[template(path = "admin/plex_account.html")]
struct AccountPage {
    layout: Layout,
    account: PlexAccountRow,
    last_checked: String,
    can_write: bool,
    can_add_servers: bool,
    message: Option<&'static str>,
    error: Option<String>,
    discovered: Option<Vec<Discovered>>,
}

async fn account_view(
    st: &WebState,
    staff: &Staff,
    csrf: &str,
    id: i64,
    message: Option<&'static str>,
    error: Option<String>,
    discovered: Option<Vec<DiscoveredServer>>,
) -> Result<Response, AppError> {
    let s = &staff.0;
    let account = st.app.plex_account(id).await?;
    let servers = st.app.list_servers().await?;
    let discovered = discovered.map(|list| {
        list.into_iter()
            .map(|r| Discovered {
                added: servers
                    .iter()
                    .any(|s| s.platform == Platform::Plex && s.remote_id == r.machine_id),
                name: r.name,
                machine_id: r.machine_id,
                version: r.version,
                uris: r.uris,
            })
            .collect()
    });
    let layout = Layout::build(st, &account.name, Some(s), csrf, "plex-accounts").await;
    Ok(render(&AccountPage {
        layout,
        last_checked: opt_time(account.last_checked_at),
        account,
        can_write: s.can(Permission::PlexAccountsWrite),
        can_add_servers: s.can(Permission::ServersWrite),
        message,
        error,
        discovered,
    }))
}

async fn account_page(
    State(st): State<WebState>,
    staff: Staff,
    CsrfToken(csrf): CsrfToken,
    Path(id): Path<i64>,
    Query(d): Query<Done>,
) -> Response {
    if let Err(r) = staff.require(Permission::PlexAccountsRead) {
        return r;
    }
    account_view(&st, &staff, &csrf, id, done_message(&d), None, None)
        .await
        .unwrap_or_else(|e| app_error_page(&st, e))
}

/// Shows the account page again with a failure, keeping a failing media call's message.
async fn account_failed(
    st: &WebState,
    staff: &Staff,
    csrf: &str,
    id: i64,
    e: AppError,
) -> Response {
    if matches!(e, AppError::Store(_)) {
        return app_error_page(st, e);
    }
    let status = failure_status(&e);
    account_view(st, staff, csrf, id, None, Some(e.to_string()), None)
        .await
        .map(|r| with_status(r, status))
        .unwrap_or_else(|e| app_error_page(st, e))
}

async fn save_account(
    State(st): State<WebState>,
    staff: Staff,
    ClientIp(ip): ClientIp,
    CsrfToken(csrf): CsrfToken,
    Path(id): Path<i64>,
    Form(f): Form<Fields>,
) -> Response {
    let s = match staff.require(Permission::PlexAccountsWrite) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let settings = PlexAccountSettings {
        name: form::text(&f, "name"),
        proxy_url: form::text(&f, "proxy_url"),
        proxy_username: form::text(&f, "proxy_username"),
        proxy_password: form::secret(&f, "proxy_password"),
        clear_proxy_password: form::flag(&f, "clear_proxy_password"),
        extra_query: form::text(&f, "extra_query"),
        has_plex_pass: form::flag(&f, "has_plex_pass"),
    };
    match st
        .app
        .update_plex_account(&s.actor(&ip), id, &settings)
        .await
    {
        Ok(()) => Redirect::to(&format!("/admin/plex-accounts/{id}?done=saved")).into_response(),
        Err(e) => account_failed(&st, &staff, &csrf, id, e).await,
    }
}

async fn test_account(
    State(st): State<WebState>,
    staff: Staff,
    ClientIp(ip): ClientIp,
    CsrfToken(csrf): CsrfToken,
    Path(id): Path<i64>,
) -> Response {
    let s = match staff.require(Permission::PlexAccountsWrite) {
        Ok(s) => s,
        Err(r) => return r,
    };
    match st.app.test_plex_account(&s.actor(&ip), id).await {
        Ok(_) => Redirect::to(&format!("/admin/plex-accounts/{id}?done=tested")).into_response(),
        Err(e) => account_failed(&st, &staff, &csrf, id, e).await,
    }
}

/// Deletes the account; while servers use it, the page names them instead.
async fn delete_account(
    State(st): State<WebState>,
    staff: Staff,
    ClientIp(ip): ClientIp,
    CsrfToken(csrf): CsrfToken,
    Path(id): Path<i64>,
) -> Response {
    let s = match staff.require(Permission::PlexAccountsWrite) {
        Ok(s) => s,
        Err(r) => return r,
    };
    match st.app.delete_plex_account(&s.actor(&ip), id).await {
        Ok(()) => Redirect::to("/admin/plex-accounts?done=deleted").into_response(),
        Err(e @ AppError::NotFound(_)) => app_error_page(&st, e),
        Err(e) => account_failed(&st, &staff, &csrf, id, e).await,
    }
}

async fn discover(
    State(st): State<WebState>,
    staff: Staff,
    CsrfToken(csrf): CsrfToken,
    Path(id): Path<i64>,
) -> Response {
    if let Err(r) = staff.require(Permission::ServersWrite) {
        return r;
    }
    match st.app.discover_plex_servers(id).await {
        Ok(list) => account_view(&st, &staff, &csrf, id, None, None, Some(list))
            .await
            .unwrap_or_else(|e| app_error_page(&st, e)),
        Err(e) => account_failed(&st, &staff, &csrf, id, e).await,
    }
}

async fn add_server(
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
    // A typed address wins over the listed one: the admin may know the Internet-reachable one.
    let typed = form::text(&f, "custom_url");
    let input = PlexServerForm {
        plex_account_id: id,
        machine_id: form::text(&f, "machine_id"),
        url: if typed.is_empty() {
            form::text(&f, "url")
        } else {
            typed
        },
    };
    match st.app.add_plex_server(&s.actor(&ip), &input).await {
        Ok(row) => Redirect::to(&format!("/admin/servers/{}?done=added", row.id)).into_response(),
        Err(e) => account_failed(&st, &staff, &csrf, id, e).await,
    }
}
