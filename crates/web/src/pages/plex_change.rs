//! Plex bans in the pages (operations §4.3, §4.4): the admin's flag on a user and the server
//! re-invite with its confirm step; on My Account, the flagged customer's "Change your Plex
//! account" form and the Re-Invite Yourself button.

use super::form::{self, Fields, failure_status, with_status};
use super::{app_error_page, render};
use crate::WebState;
use crate::csrf::CsrfToken;
use crate::layout::Layout;
use crate::session::{ClientIp, LoggedIn, Staff};
use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use boxoffice_app::AppError;
use boxoffice_app::auth::SessionCtx;
use boxoffice_app::subscriptions::{
    PLEX_CHANGE_SETTING, SELF_REINVITE_EVERY_MINUTES, SelfReinvite, ServerReinvitePreview,
};
use boxoffice_domain::Permission;

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/admin/users/{id}/plex-account-change", post(flag_user))
        .route(
            "/admin/servers/{id}/reinvite",
            get(reinvite_confirm).post(reinvite_start),
        )
        .route("/account/plex-account", post(change_account))
        .route("/account/reinvite", post(reinvite_self))
}

/// What My Account shows about Plex: the change banner and form, the re-invite button.
#[derive(Default)]
pub struct PortalView {
    pub is_customer: bool,
    /// Flagged and the feature is on: banner and form.
    pub must_change_plex: bool,
    /// Flagged while the feature is off: a banner telling them to contact the admin.
    pub flagged_feature_off: bool,
    pub current_plex: String,
    pub reinvite_available: bool,
    /// When the button may be pressed again, if it was pressed recently.
    pub reinvite_wait_until: Option<String>,
    pub reinvite_minutes: i64,
}

pub async fn portal_view(st: &WebState, s: &SessionCtx) -> Result<PortalView, AppError> {
    let mut v = PortalView {
        reinvite_minutes: SELF_REINVITE_EVERY_MINUTES,
        ..PortalView::default()
    };
    let Some(c) = st.app.customer_of_login(s.login_id, &s.email).await? else {
        return Ok(v);
    };
    v.is_customer = true;
    v.current_plex = c.plex_email.clone();
    if st.app.requires_plex_account_change(c.id).await? {
        if st.app.settings().await?.bool(PLEX_CHANGE_SETTING) {
            v.must_change_plex = true;
        } else {
            v.flagged_feature_off = true;
        }
    }
    match st.app.self_reinvite_state(&c).await? {
        SelfReinvite::Hidden => {}
        SelfReinvite::Available => v.reinvite_available = true,
        SelfReinvite::Wait { until } => {
            v.reinvite_wait_until = Some(super::admin::fmt_time(until));
        }
    }
    Ok(v)
}

async fn flag_user(
    State(st): State<WebState>,
    staff: Staff,
    ClientIp(ip): ClientIp,
    Path(id): Path<i64>,
    Form(f): Form<Fields>,
) -> Response {
    let s = match staff.require(Permission::UsersWrite) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let required = form::flag(&f, "required");
    match st
        .app
        .require_plex_account_change(&s.actor(&ip), &[id], required)
        .await
    {
        Ok(_) => {
            let done = if required {
                "plex_flagged"
            } else {
                "plex_unflagged"
            };
            Redirect::to(&format!("/admin/users/{id}?done={done}")).into_response()
        }
        Err(e) => app_error_page(&st, e),
    }
}

#[derive(Template)]
#[template(path = "admin/server_reinvite.html")]
struct ReinvitePage {
    layout: Layout,
    server_id: i64,
    server_name: String,
    platform: String,
    users: usize,
    flagged: usize,
    in_flight: i64,
    enabled: bool,
    warning: Option<&'static str>,
    error: Option<String>,
}

fn may_reinvite(staff: &Staff) -> Result<(), Response> {
    staff.require(Permission::UsersWrite)?;
    staff.require(Permission::ServersWrite)?;
    Ok(())
}

async fn reinvite_view(
    st: &WebState,
    staff: &Staff,
    csrf: &str,
    id: i64,
    error: Option<String>,
) -> Result<Response, AppError> {
    let p: ServerReinvitePreview = st.app.preview_server_reinvite(id).await?;
    let layout = Layout::build(st, "Re-invite users", Some(&staff.0), csrf, "servers").await;
    Ok(render(&ReinvitePage {
        layout,
        server_id: p.server.id,
        server_name: p.server.name.clone(),
        platform: p.server.platform.as_str().to_string(),
        users: p.share_ids.len(),
        flagged: p.flagged,
        in_flight: p.in_flight,
        enabled: p.server.enabled,
        warning: p.warning,
        error,
    }))
}

async fn reinvite_confirm(
    State(st): State<WebState>,
    staff: Staff,
    CsrfToken(csrf): CsrfToken,
    Path(id): Path<i64>,
) -> Response {
    if let Err(r) = may_reinvite(&staff) {
        return r;
    }
    reinvite_view(&st, &staff, &csrf, id, None)
        .await
        .unwrap_or_else(|e| app_error_page(&st, e))
}

async fn reinvite_start(
    State(st): State<WebState>,
    staff: Staff,
    ClientIp(ip): ClientIp,
    CsrfToken(csrf): CsrfToken,
    Path(id): Path<i64>,
) -> Response {
    if let Err(r) = may_reinvite(&staff) {
        return r;
    }
    match st.app.start_server_reinvite(&staff.0.actor(&ip), id).await {
        Ok(_) => Redirect::to(&format!("/admin/servers/{id}?done=reinvite")).into_response(),
        Err(e @ (AppError::Invalid { .. } | AppError::Conflict(_))) => {
            let status = failure_status(&e);
            reinvite_view(&st, &staff, &csrf, id, Some(e.to_string()))
                .await
                .map(|r| with_status(r, status))
                .unwrap_or_else(|e| app_error_page(&st, e))
        }
        Err(e) => app_error_page(&st, e),
    }
}

/// After a customer's form: back to My Account with a notice, or the page again with why.
async fn back_to_account(
    st: &WebState,
    s: &SessionCtx,
    csrf: &str,
    result: Result<&'static str, AppError>,
) -> Response {
    match result {
        Ok(done) => Redirect::to(&format!("/account?done={done}")).into_response(),
        Err(
            e @ (AppError::Invalid { .. }
            | AppError::Conflict(_)
            | AppError::Throttled { .. }
            | AppError::NotFound(_)),
        ) => {
            let status = failure_status(&e);
            super::account::account_page(st, s, csrf, None, Some(e.to_string()))
                .await
                .map(|r| with_status(r, status))
                .unwrap_or_else(|e| app_error_page(st, e))
        }
        Err(e) => app_error_page(st, e),
    }
}

async fn change_account(
    State(st): State<WebState>,
    LoggedIn(s): LoggedIn,
    ClientIp(ip): ClientIp,
    CsrfToken(csrf): CsrfToken,
    Form(f): Form<Fields>,
) -> Response {
    let result = async {
        let c = st
            .app
            .customer_of_login(s.login_id, &s.email)
            .await?
            .ok_or(AppError::NotFound("subscriber account"))?;
        st.app
            .change_plex_account(&s.actor(&ip), c.id, &form::text(&f, "plex_email"))
            .await?;
        Ok("plex_changed")
    }
    .await;
    back_to_account(&st, &s, &csrf, result).await
}

async fn reinvite_self(
    State(st): State<WebState>,
    LoggedIn(s): LoggedIn,
    ClientIp(ip): ClientIp,
    CsrfToken(csrf): CsrfToken,
) -> Response {
    let result = async {
        let c = st
            .app
            .customer_of_login(s.login_id, &s.email)
            .await?
            .ok_or(AppError::NotFound("subscriber account"))?;
        let out = st.app.self_reinvite(&s.actor(&ip), c.id).await?;
        Ok(if out.no_capacity.is_some() {
            "reinvite_no_capacity"
        } else {
            "reinvited"
        })
    }
    .await;
    back_to_account(&st, &s, &csrf, result).await
}
