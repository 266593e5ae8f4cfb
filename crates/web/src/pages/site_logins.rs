//! Site logins: the accounts that log in here, customers and staff, with their open sessions,
//! and ending another login's sessions.

use super::{app_error_page, render};
use crate::WebState;
use crate::csrf::CsrfToken;
use crate::layout::Layout;
use crate::session::{ClientIp, Staff};
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use boxoffice_app::auth::{Principal, SITE_LOGINS_LIMIT};
use boxoffice_domain::Permission;
use serde::Deserialize;

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/admin/site-logins", get(list))
        .route("/admin/site-logins/{id}/end-sessions", post(end_sessions))
}

pub struct LoginLine {
    pub id: i64,
    pub email: String,
    pub role: String,
    pub disabled: bool,
    pub last_login: String,
    pub sessions: i64,
    pub is_me: bool,
}

#[derive(Template)]
#[template(path = "admin/site_logins.html")]
struct ListPage {
    layout: Layout,
    q: String,
    logins: Vec<LoginLine>,
    limit: i64,
    can_write: bool,
    message: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    q: Option<String>,
    ended: Option<u64>,
    login: Option<i64>,
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
    let search = q.q.unwrap_or_default();
    let rows = match st.app.site_logins(&search).await {
        Ok(r) => r,
        Err(e) => return app_error_page(&st, e),
    };
    let logins = rows
        .into_iter()
        .map(|l| LoginLine {
            is_me: l.id == s.login_id,
            id: l.id,
            email: l.email,
            role: l.role_name,
            disabled: l.disabled,
            last_login: super::form::opt_time(l.last_login_at),
            sessions: l.sessions,
        })
        .collect();
    let message = match (q.ended, q.login) {
        (Some(n), Some(id)) => {
            let who = match st.app.site_login(id).await {
                Ok(l) => l.email,
                Err(_) => format!("login #{id}"),
            };
            Some(format!(
                "{n} session{} of {who} ended.",
                if n == 1 { "" } else { "s" }
            ))
        }
        _ => None,
    };
    let layout = Layout::build(&st, "Site logins", Some(s), &csrf, "site-logins").await;
    render(&ListPage {
        layout,
        q: search,
        logins,
        limit: SITE_LOGINS_LIMIT,
        can_write: s.can(Permission::SiteLoginsWrite),
        message,
    })
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
