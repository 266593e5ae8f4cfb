//! Site logins: the accounts that log in here, customers and staff, with their open sessions.
//! An administrator adds a login, sets its password, changes its role, disables or enables it,
//! and ends its sessions.

use super::form::{self, Fields, failure_status, with_status};
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
use boxoffice_app::auth::{Principal, SITE_LOGINS_LIMIT, SessionCtx};
use boxoffice_domain::Permission;
use serde::Deserialize;

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/admin/site-logins", get(list))
        .route("/admin/site-logins/new", post(add))
        .route("/admin/site-logins/{id}/password", post(set_password))
        .route("/admin/site-logins/{id}/role", post(set_role))
        .route("/admin/site-logins/{id}/disable", post(disable))
        .route("/admin/site-logins/{id}/enable", post(enable))
        .route("/admin/site-logins/{id}/end-sessions", post(end_sessions))
}

pub struct LoginLine {
    pub id: i64,
    pub email: String,
    pub role: String,
    pub role_id: i64,
    pub disabled: bool,
    pub last_login: String,
    pub sessions: i64,
    pub is_me: bool,
}

pub struct RoleChoice {
    pub id: i64,
    pub name: String,
}

#[derive(Template)]
#[template(path = "admin/site_logins.html")]
struct ListPage {
    layout: Layout,
    q: String,
    logins: Vec<LoginLine>,
    roles: Vec<RoleChoice>,
    limit: i64,
    can_write: bool,
    message: Option<String>,
    error: Option<String>,
    /// What the Add form held when it was refused, so nothing typed is lost (never the password).
    new_email: String,
    new_role: i64,
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    q: Option<String>,
    ended: Option<u64>,
    done: Option<String>,
    login: Option<i64>,
}

/// Everything the page shows besides the query: a result line, a refusal, the Add form's input.
#[derive(Default)]
struct Outcome {
    message: Option<String>,
    error: Option<String>,
    new_email: String,
    new_role: Option<i64>,
}

async fn page(
    st: &WebState,
    s: &SessionCtx,
    csrf: &str,
    search: String,
    out: Outcome,
) -> Result<Response, AppError> {
    let rows = st.app.site_logins(&search).await?;
    let all_roles = st.app.login_roles().await?;
    // The Add form starts on the built-in customer role.
    let default_role = all_roles
        .iter()
        .find(|r| r.kind == boxoffice_domain::RoleKind::User)
        .map_or(0, |r| r.id);
    let roles: Vec<RoleChoice> = all_roles
        .into_iter()
        .map(|r| RoleChoice {
            id: r.id,
            name: r.name,
        })
        .collect();
    let by_name = |name: &str| roles.iter().find(|r| r.name == name).map_or(0, |r| r.id);
    let logins = rows
        .into_iter()
        .map(|l| LoginLine {
            is_me: l.id == s.login_id,
            id: l.id,
            role_id: by_name(&l.role_name),
            email: l.email,
            role: l.role_name,
            disabled: l.disabled,
            last_login: super::form::opt_time(l.last_login_at),
            sessions: l.sessions,
        })
        .collect();
    let layout = Layout::build(st, "Site logins", Some(s), csrf, "site-logins").await;
    Ok(render(&ListPage {
        layout,
        q: search,
        logins,
        roles,
        limit: SITE_LOGINS_LIMIT,
        can_write: s.can(Permission::SiteLoginsWrite),
        message: out.message,
        error: out.error,
        new_email: out.new_email,
        new_role: out.new_role.unwrap_or(default_role),
    }))
}

async fn list(
    State(st): State<WebState>,
    staff: Staff,
    CsrfToken(csrf): CsrfToken,
    Query(q): Query<ListQuery>,
) -> Response {
    let s = match staff.require(Permission::SiteLoginsRead) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let who = match q.login {
        Some(id) => Some(match st.app.site_login(id).await {
            Ok(l) => l.email,
            Err(_) => format!("login #{id}"),
        }),
        None => None,
    };
    let message = match (q.ended, q.done.as_deref(), who) {
        (Some(n), _, Some(who)) => Some(format!(
            "{n} session{} of {who} ended.",
            if n == 1 { "" } else { "s" }
        )),
        (None, Some(done), Some(who)) => done_message(done, &who),
        _ => None,
    };
    let out = Outcome {
        message,
        ..Outcome::default()
    };
    page(&st, s, &csrf, q.q.unwrap_or_default(), out)
        .await
        .unwrap_or_else(|e| app_error_page(&st, e))
}

fn done_message(done: &str, who: &str) -> Option<String> {
    Some(match done {
        "added" => format!("{who} can now log in."),
        "password" => format!("The password of {who} is set; its sessions ended."),
        "role" => format!("The role of {who} is changed; it applies from its next request."),
        "disabled" => format!("{who} is disabled: it cannot log in and its sessions ended."),
        "enabled" => format!("{who} can log in again."),
        _ => return None,
    })
}

fn done(id: i64, what: &str) -> Response {
    Redirect::to(&format!("/admin/site-logins?done={what}&login={id}")).into_response()
}

/// A refused action: the page again with the reason, answering 422 (bad input) or 409.
async fn refused(st: &WebState, s: &SessionCtx, csrf: &str, e: AppError, out: Outcome) -> Response {
    let status = failure_status(&e);
    let out = Outcome {
        error: Some(e.to_string()),
        ..out
    };
    match page(st, s, csrf, String::new(), out).await {
        Ok(r) => with_status(r, status),
        Err(e) => app_error_page(st, e),
    }
}

fn is_refusal(e: &AppError) -> bool {
    matches!(
        e,
        AppError::Invalid { .. } | AppError::Conflict(_) | AppError::NotFound(_)
    )
}

async fn add(
    State(st): State<WebState>,
    staff: Staff,
    ClientIp(ip): ClientIp,
    CsrfToken(csrf): CsrfToken,
    Form(f): Form<Fields>,
) -> Response {
    let s = match staff.require(Permission::SiteLoginsWrite) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let email = form::text(&f, "email");
    let role = form::int(&f, "role_id").unwrap_or(0);
    match st
        .app
        .add_site_login(&s.actor(&ip), &email, &form::secret(&f, "password"), role)
        .await
    {
        Ok(l) => done(l.id, "added"),
        Err(e) if is_refusal(&e) => {
            let out = Outcome {
                new_email: email,
                new_role: Some(role),
                ..Outcome::default()
            };
            refused(&st, s, &csrf, e, out).await
        }
        Err(e) => app_error_page(&st, e),
    }
}

async fn set_password(
    State(st): State<WebState>,
    staff: Staff,
    ClientIp(ip): ClientIp,
    CsrfToken(csrf): CsrfToken,
    Path(id): Path<i64>,
    Form(f): Form<Fields>,
) -> Response {
    let s = match staff.require(Permission::SiteLoginsWrite) {
        Ok(s) => s,
        Err(r) => return r,
    };
    match st
        .app
        .set_site_login_password(&s.actor(&ip), id, &form::secret(&f, "password"))
        .await
    {
        Ok(_) => done(id, "password"),
        Err(e) if is_refusal(&e) => refused(&st, s, &csrf, e, Outcome::default()).await,
        Err(e) => app_error_page(&st, e),
    }
}

async fn set_role(
    State(st): State<WebState>,
    staff: Staff,
    ClientIp(ip): ClientIp,
    CsrfToken(csrf): CsrfToken,
    Path(id): Path<i64>,
    Form(f): Form<Fields>,
) -> Response {
    let s = match staff.require(Permission::SiteLoginsWrite) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let role = form::int(&f, "role_id").unwrap_or(0);
    match st.app.set_site_login_role(&s.actor(&ip), id, role).await {
        Ok(_) => done(id, "role"),
        Err(e) if is_refusal(&e) => refused(&st, s, &csrf, e, Outcome::default()).await,
        Err(e) => app_error_page(&st, e),
    }
}

async fn switch(
    st: WebState,
    staff: Staff,
    ip: String,
    csrf: String,
    id: i64,
    off: bool,
) -> Response {
    let s = match staff.require(Permission::SiteLoginsWrite) {
        Ok(s) => s,
        Err(r) => return r,
    };
    match st
        .app
        .set_site_login_disabled(&s.actor(&ip), s.login_id, id, off)
        .await
    {
        Ok(_) => done(id, if off { "disabled" } else { "enabled" }),
        Err(e) if is_refusal(&e) => refused(&st, s, &csrf, e, Outcome::default()).await,
        Err(e) => app_error_page(&st, e),
    }
}

async fn disable(
    State(st): State<WebState>,
    staff: Staff,
    ClientIp(ip): ClientIp,
    CsrfToken(csrf): CsrfToken,
    Path(id): Path<i64>,
) -> Response {
    switch(st, staff, ip, csrf, id, true).await
}

async fn enable(
    State(st): State<WebState>,
    staff: Staff,
    ClientIp(ip): ClientIp,
    CsrfToken(csrf): CsrfToken,
    Path(id): Path<i64>,
) -> Response {
    switch(st, staff, ip, csrf, id, false).await
}

async fn end_sessions(
    State(st): State<WebState>,
    staff: Staff,
    ClientIp(ip): ClientIp,
    Path(id): Path<i64>,
) -> Response {
    let s = match staff.require(Permission::SiteLoginsWrite) {
        Ok(s) => s,
        Err(r) => return r,
    };
    match st.app.end_sessions_of(&s.actor(&ip), id).await {
        Ok(n) => Redirect::to(&format!("/admin/site-logins?ended={n}&login={id}")).into_response(),
        Err(e) => app_error_page(&st, e),
    }
}
