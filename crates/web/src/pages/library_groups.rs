//! The Library groups page (product §9) and the group selector of each library. Built-in groups
//! are shown without rename or delete controls; the use cases refuse those changes anyway.

use super::form::{self, Fields, failure_status, with_status};
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
use boxoffice_domain::Permission;
use boxoffice_store::library_groups::LibraryGroupRow;

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/admin/library-groups", get(groups_page).post(add_group))
        .route("/admin/library-groups/{id}", post(rename_group))
        .route("/admin/library-groups/{id}/delete", post(delete_group))
        .route("/admin/libraries/{id}/group", post(assign_group))
        .route(
            "/admin/libraries/apply-plan-grants",
            post(apply_plan_grants),
        )
}

#[derive(Template)]
#[template(path = "admin/library_groups.html")]
struct GroupsPage {
    layout: Layout,
    groups: Vec<LibraryGroupRow>,
    can_write: bool,
    message: Option<&'static str>,
    error: Option<String>,
}

async fn groups_view(
    st: &WebState,
    staff: &Staff,
    csrf: &str,
    message: Option<&'static str>,
    error: Option<String>,
) -> Result<Response, AppError> {
    let s = &staff.0;
    let groups = st.app.list_library_groups().await?;
    let layout = Layout::build(st, "Library groups", Some(s), csrf, "library-groups").await;
    Ok(render(&GroupsPage {
        layout,
        groups,
        can_write: s.can(Permission::LibraryGroupsWrite),
        message,
        error,
    }))
}

async fn groups_page(
    State(st): State<WebState>,
    staff: Staff,
    CsrfToken(csrf): CsrfToken,
    Query(d): Query<Done>,
) -> Response {
    if let Err(r) = staff.require(Permission::LibraryGroupsRead) {
        return r;
    }
    groups_view(&st, &staff, &csrf, done_message(&d), None)
        .await
        .unwrap_or_else(|e| app_error_page(&st, e))
}

/// After a change: back to the list, or the list with the reason it was refused.
async fn outcome(
    st: &WebState,
    staff: &Staff,
    csrf: &str,
    r: Result<&'static str, AppError>,
) -> Response {
    match r {
        Ok(done) => Redirect::to(&format!("/admin/library-groups?done={done}")).into_response(),
        Err(e @ (AppError::Invalid { .. } | AppError::Conflict(_) | AppError::NotFound(_))) => {
            let status = failure_status(&e);
            groups_view(st, staff, csrf, None, Some(e.to_string()))
                .await
                .map(|r| with_status(r, status))
                .unwrap_or_else(|e| app_error_page(st, e))
        }
        Err(e) => app_error_page(st, e),
    }
}

async fn add_group(
    State(st): State<WebState>,
    staff: Staff,
    ClientIp(ip): ClientIp,
    CsrfToken(csrf): CsrfToken,
    Form(f): Form<Fields>,
) -> Response {
    let s = match staff.require(Permission::LibraryGroupsWrite) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let r = st
        .app
        .add_library_group(
            &s.actor(&ip),
            &form::text(&f, "name"),
            &form::text(&f, "description"),
        )
        .await
        .map(|_| "saved");
    outcome(&st, &staff, &csrf, r).await
}

async fn rename_group(
    State(st): State<WebState>,
    staff: Staff,
    ClientIp(ip): ClientIp,
    CsrfToken(csrf): CsrfToken,
    Path(id): Path<i64>,
    Form(f): Form<Fields>,
) -> Response {
    let s = match staff.require(Permission::LibraryGroupsWrite) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let r = st
        .app
        .rename_library_group(
            &s.actor(&ip),
            id,
            &form::text(&f, "name"),
            &form::text(&f, "description"),
        )
        .await
        .map(|_| "saved");
    outcome(&st, &staff, &csrf, r).await
}

async fn delete_group(
    State(st): State<WebState>,
    staff: Staff,
    ClientIp(ip): ClientIp,
    CsrfToken(csrf): CsrfToken,
    Path(id): Path<i64>,
) -> Response {
    let s = match staff.require(Permission::LibraryGroupsWrite) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let r = st
        .app
        .delete_library_group(&s.actor(&ip), id)
        .await
        .map(|_| "deleted");
    outcome(&st, &staff, &csrf, r).await
}

async fn assign_group(
    State(st): State<WebState>,
    staff: Staff,
    ClientIp(ip): ClientIp,
    Path(id): Path<i64>,
    Form(f): Form<Fields>,
) -> Response {
    let s = match staff.require(Permission::LibrariesWrite) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let group = form::int(&f, "library_group_id").unwrap_or(0);
    match st.app.assign_library_group(&s.actor(&ip), id, group).await {
        Ok(()) => Redirect::to("/admin/libraries?done=saved").into_response(),
        Err(e) => app_error_page(&st, e),
    }
}

/// "Apply to N existing shares": every live share gets what its plan grants now, with its job.
async fn apply_plan_grants(
    State(st): State<WebState>,
    staff: Staff,
    ClientIp(ip): ClientIp,
) -> Response {
    let s = match staff.require(Permission::LibrariesWrite) {
        Ok(s) => s,
        Err(r) => return r,
    };
    match st.app.apply_plan_grants(&s.actor(&ip), None).await {
        Ok(_) => Redirect::to("/admin/libraries?done=grants_applied").into_response(),
        Err(e) => app_error_page(&st, e),
    }
}
