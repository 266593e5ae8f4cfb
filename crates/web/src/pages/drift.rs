//! The Drift page (Servers & Libraries → Shared servers): who differs from their plan on which
//! server, since when, with a Repair button per row and Repair all. Repairs re-run the share job;
//! the next scan clears the rows it fixed.

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
use boxoffice_app::auth::Principal;
use boxoffice_domain::Permission;
use serde::Deserialize;

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/admin/shared-servers", get(page))
        .route("/admin/shared-servers/scan", post(scan))
        .route("/admin/shared-servers/repair-all", post(repair_all))
        .route("/admin/shared-servers/{id}/repair", post(repair_one))
}

pub struct DriftRowView {
    pub id: i64,
    pub who: String,
    pub server: String,
    pub kind: String,
    pub detail: String,
    pub found: String,
    pub repairable: bool,
}

#[derive(Template)]
#[template(path = "admin/drift.html")]
struct DriftPage {
    layout: Layout,
    rows: Vec<DriftRowView>,
    can_write: bool,
    message: Option<&'static str>,
}

#[derive(Deserialize)]
struct PageQuery {
    done: Option<String>,
}

fn message(done: Option<&str>) -> Option<&'static str> {
    Some(match done? {
        "scan" => "Scan queued: refresh in a moment.",
        "repair" => "Repair queued: the share is applied again, and the next scan clears the row.",
        "repair-all" => "Repairs queued: the next scan clears the rows they fixed.",
        "nothing" => "Nothing to repair there: that user has no share (import is off).",
        _ => return None,
    })
}

/// Words for the stored kinds.
fn kind_label(kind: &str) -> &str {
    match kind {
        "extra_libraries" => "Extra libraries",
        "missing_libraries" => "Missing libraries",
        "downloads" => "Downloads",
        "transcoding" => "Transcoding",
        "disabled" => "Disabled",
        "user_missing" => "User missing",
        "expired_share" => "Shared after expiry",
        "unknown_user" => "Unknown user",
        other => other,
    }
}

async fn page(
    State(st): State<WebState>,
    staff: Staff,
    CsrfToken(csrf): CsrfToken,
    Query(q): Query<PageQuery>,
) -> Response {
    let s = match staff.require(Permission::SharedServersRead) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let rows = match st.app.list_drift().await {
        Ok(v) => v
            .into_iter()
            .map(|d| DriftRowView {
                id: d.row.id,
                who: d
                    .customer_email
                    .filter(|e| !e.is_empty())
                    .unwrap_or_else(|| d.row.remote_user.clone()),
                server: d.server_name,
                kind: kind_label(&d.row.kind).to_string(),
                detail: d.row.detail,
                found: super::admin::fmt_time(d.row.found_at),
                repairable: d.row.share_id.is_some(),
            })
            .collect(),
        Err(e) => return app_error_page(&st, e),
    };
    let layout = Layout::build(&st, "Shared servers", Some(s), &csrf, "shared-servers").await;
    render(&DriftPage {
        layout,
        rows,
        can_write: s.can(Permission::UsersWrite),
        message: message(q.done.as_deref()),
    })
}

async fn scan(State(st): State<WebState>, staff: Staff, ClientIp(ip): ClientIp) -> Response {
    let s = match staff.require(Permission::UsersWrite) {
        Ok(s) => s,
        Err(r) => return r,
    };
    match st.app.request_reconcile(&s.actor(&ip)).await {
        Ok(_) => Redirect::to("/admin/shared-servers?done=scan").into_response(),
        Err(e) => app_error_page(&st, e),
    }
}

async fn repair_one(
    State(st): State<WebState>,
    staff: Staff,
    ClientIp(ip): ClientIp,
    Path(id): Path<i64>,
) -> Response {
    let s = match staff.require(Permission::UsersWrite) {
        Ok(s) => s,
        Err(r) => return r,
    };
    match st.app.repair_drift(&s.actor(&ip), id).await {
        Ok(true) => Redirect::to("/admin/shared-servers?done=repair").into_response(),
        Ok(false) => Redirect::to("/admin/shared-servers?done=nothing").into_response(),
        Err(e) => app_error_page(&st, e),
    }
}

async fn repair_all(State(st): State<WebState>, staff: Staff, ClientIp(ip): ClientIp) -> Response {
    let s = match staff.require(Permission::UsersWrite) {
        Ok(s) => s,
        Err(r) => return r,
    };
    match st.app.repair_all_drift(&s.actor(&ip)).await {
        Ok(_) => Redirect::to("/admin/shared-servers?done=repair-all").into_response(),
        Err(e) => app_error_page(&st, e),
    }
}
