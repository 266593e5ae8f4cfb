//! Linked users (admin): every master with their sub-accounts, linking a sub-account to a
//! master by e-mail and unlinking it. The master's plan caps how many a master may have.

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
use boxoffice_app::auth::{Principal, SessionCtx};
use boxoffice_app::subscriptions::LINKED_LIST_LIMIT;
use boxoffice_domain::Permission;
use serde::Deserialize;

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/admin/linked-users", get(list).post(link))
        .route("/admin/linked-users/{sub_id}/unlink", post(unlink))
}

pub struct SubLine {
    pub id: i64,
    pub email: String,
    /// The media accounts that differ from the e-mail, as "kind: value".
    pub identities: Vec<String>,
    pub since: String,
}

pub struct MasterGroup {
    pub id: i64,
    pub email: String,
    pub subs: Vec<SubLine>,
}

#[derive(Template)]
#[template(path = "admin/linked_users.html")]
struct ListPage {
    layout: Layout,
    q: String,
    masters: Vec<MasterGroup>,
    limit: i64,
    can_write: bool,
    message: Option<String>,
    error: Option<String>,
    master_email: String,
    sub_email: String,
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    q: Option<String>,
    done: Option<String>,
}

struct Outcome {
    message: Option<String>,
    error: Option<String>,
    master_email: String,
    sub_email: String,
}

async fn page(
    st: &WebState,
    s: &SessionCtx,
    csrf: &str,
    search: String,
    out: Outcome,
) -> Result<Response, AppError> {
    let mut masters: Vec<MasterGroup> = Vec::new();
    for l in st.app.linked_users(&search).await? {
        let mut identities = Vec::new();
        for (kind, v) in [
            ("Plex", &l.sub_plex_email),
            ("Jellyfin", &l.sub_jellyfin_username),
            ("Emby", &l.sub_emby_username),
        ] {
            if !v.is_empty() && !v.eq_ignore_ascii_case(&l.sub_email) {
                identities.push(format!("{kind}: {v}"));
            }
        }
        let line = SubLine {
            id: l.sub_id,
            email: l.sub_email,
            identities,
            since: super::admin::fmt_time(l.created_at),
        };
        match masters.last_mut() {
            Some(m) if m.id == l.master_id => m.subs.push(line),
            _ => masters.push(MasterGroup {
                id: l.master_id,
                email: l.master_email,
                subs: vec![line],
            }),
        }
    }
    let layout = Layout::build(st, "Linked users", Some(s), csrf, "linked-users").await;
    Ok(render(&ListPage {
        layout,
        q: search,
        masters,
        limit: LINKED_LIST_LIMIT,
        can_write: s.can(Permission::LinkedUsersWrite),
        message: out.message,
        error: out.error,
        master_email: out.master_email,
        sub_email: out.sub_email,
    }))
}

async fn list(
    State(st): State<WebState>,
    staff: Staff,
    CsrfToken(csrf): CsrfToken,
    Query(q): Query<ListQuery>,
) -> Response {
    let s = match staff.require(Permission::LinkedUsersRead) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let message = match q.done.as_deref() {
        Some("linked") => {
            Some("Linked: the sub-account now follows its master's plan and expiry.".to_string())
        }
        Some("unlinked") => Some(
            "Unlinked: the former sub-account keeps only what its own payments cover.".to_string(),
        ),
        _ => None,
    };
    let out = Outcome {
        message,
        error: None,
        master_email: String::new(),
        sub_email: String::new(),
    };
    page(&st, s, &csrf, q.q.unwrap_or_default(), out)
        .await
        .unwrap_or_else(|e| app_error_page(&st, e))
}

async fn link(
    State(st): State<WebState>,
    staff: Staff,
    ClientIp(ip): ClientIp,
    CsrfToken(csrf): CsrfToken,
    Form(f): Form<Fields>,
) -> Response {
    let s = match staff.require(Permission::LinkedUsersWrite) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let master_email = form::text(&f, "master_email");
    let sub_email = form::text(&f, "sub_email");
    let r = async {
        let master = st
            .app
            .customer_by_email(&master_email)
            .await
            .map_err(|e| named("master_email", "master", e))?;
        let sub = st
            .app
            .customer_by_email(&sub_email)
            .await
            .map_err(|e| named("sub_email", "sub-account", e))?;
        st.app.link_user(&s.actor(&ip), master.id, sub.id).await
    }
    .await;
    match r {
        Ok(()) => Redirect::to("/admin/linked-users?done=linked").into_response(),
        Err(e @ (AppError::Invalid { .. } | AppError::Conflict(_) | AppError::NotFound(_))) => {
            let status = failure_status(&e);
            let out = Outcome {
                message: None,
                error: Some(e.to_string()),
                master_email,
                sub_email,
            };
            match page(&st, s, &csrf, String::new(), out).await {
                Ok(r) => with_status(r, status),
                Err(e) => app_error_page(&st, e),
            }
        }
        Err(e) => app_error_page(&st, e),
    }
}

/// Says which of the two e-mails was wrong.
fn named(field: &'static str, what: &str, e: AppError) -> AppError {
    match e {
        AppError::Invalid { message, .. } => AppError::invalid(field, format!("{what}: {message}")),
        AppError::NotFound(_) => {
            AppError::invalid(field, format!("{what}: no user has this e-mail"))
        }
        other => other,
    }
}

async fn unlink(
    State(st): State<WebState>,
    staff: Staff,
    ClientIp(ip): ClientIp,
    Path(sub_id): Path<i64>,
) -> Response {
    let s = match staff.require(Permission::LinkedUsersWrite) {
        Ok(s) => s,
        Err(r) => return r,
    };
    match st.app.unlink_user(&s.actor(&ip), sub_id).await {
        Ok(()) => Redirect::to("/admin/linked-users?done=unlinked").into_response(),
        Err(e) => app_error_page(&st, e),
    }
}
