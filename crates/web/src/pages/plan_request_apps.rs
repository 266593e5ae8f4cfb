//! What a plan grants in each request app: Overseerr permissions, Ombi roles, request quotas,
//! Petio profile. One form per app.

use super::form::{Fields, failure_status, text, with_status};
use super::{app_error_page, render};
use crate::WebState;
use crate::csrf::CsrfToken;
use crate::layout::Layout;
use crate::session::{ClientIp, Staff};
use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use boxoffice_app::AppError;
use boxoffice_app::auth::Principal;
use boxoffice_app::request_apps::{
    OMBI_ROLES, OVERSEERR_PERMISSIONS, PlanMapping, PlanMappingInput,
};
use boxoffice_domain::Permission;

pub fn routes() -> Router<WebState> {
    Router::new().route("/admin/plans/{id}/request-apps", get(page).post(save))
}

#[derive(Template)]
#[template(path = "admin/plan_request_apps.html")]
struct MappingPage {
    layout: Layout,
    id: i64,
    apps: Vec<PlanMapping>,
    overseerr_names: String,
    ombi_names: String,
    can_write: bool,
    message: Option<String>,
    error: Option<String>,
}

fn opt(n: &Option<i64>) -> String {
    n.map(|v| v.to_string()).unwrap_or_default()
}

impl MappingPage {
    fn num(&self, n: &Option<i64>) -> String {
        opt(n)
    }
}

async fn view(
    st: &WebState,
    staff: &Staff,
    csrf: &str,
    id: i64,
    message: Option<String>,
    error: Option<String>,
) -> Result<Response, AppError> {
    let apps = st.app.plan_request_apps(id).await?;
    let layout = Layout::build(st, "Request apps", Some(&staff.0), csrf, "plans").await;
    Ok(render(&MappingPage {
        layout,
        id,
        apps,
        overseerr_names: OVERSEERR_PERMISSIONS
            .iter()
            .map(|(n, _)| *n)
            .collect::<Vec<_>>()
            .join(", "),
        ombi_names: OMBI_ROLES.join(", "),
        can_write: staff.0.can(Permission::PlansWrite),
        message,
        error,
    }))
}

async fn page(
    State(st): State<WebState>,
    staff: Staff,
    CsrfToken(csrf): CsrfToken,
    Path(id): Path<i64>,
) -> Response {
    if let Err(r) = staff.require(Permission::PlansRead) {
        return r;
    }
    view(&st, &staff, &csrf, id, None, None)
        .await
        .unwrap_or_else(|e| app_error_page(&st, e))
}

async fn save(
    State(st): State<WebState>,
    staff: Staff,
    ClientIp(ip): ClientIp,
    CsrfToken(csrf): CsrfToken,
    Path(id): Path<i64>,
    Form(f): Form<Fields>,
) -> Response {
    let s = match staff.require(Permission::PlansWrite) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let input = PlanMappingInput {
        app: text(&f, "app"),
        enabled: f
            .iter()
            .find(|(k, _)| k == "enabled")
            .map(|(_, v)| v.clone()),
        roles: f
            .iter()
            .filter(|(k, _)| k == "roles")
            .map(|(_, v)| v.as_str())
            .collect::<Vec<_>>()
            .join(","),
        movie_quota_limit: text(&f, "movie_quota_limit"),
        movie_quota_days: text(&f, "movie_quota_days"),
        tv_quota_limit: text(&f, "tv_quota_limit"),
        tv_quota_days: text(&f, "tv_quota_days"),
        profile: text(&f, "profile"),
    };
    match st.app.set_plan_request_app(&s.actor(&ip), id, &input).await {
        Ok(()) => Redirect::to(&format!("/admin/plans/{id}/request-apps")).into_response(),
        Err(e @ (AppError::Invalid { .. } | AppError::Conflict(_))) => {
            let status = failure_status(&e);
            view(&st, &staff, &csrf, id, None, Some(e.to_string()))
                .await
                .map(|r| with_status(r, status))
                .unwrap_or_else(|e| app_error_page(&st, e))
        }
        Err(e) => app_error_page(&st, e),
    }
}
