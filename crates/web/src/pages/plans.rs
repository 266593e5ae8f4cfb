//! The Plans page (product §10): the list, and one form for adding and editing a plan with every
//! field. A refused save shows the form again with what was typed and every rule it breaks.

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
use boxoffice_app::plans::{PlanInput, parse_cost};
use boxoffice_domain::Permission;
use boxoffice_store::plans::PlanRecord;

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/admin/plans", get(plans_page).post(add_plan))
        .route("/admin/plans/new", get(new_plan_page))
        .route("/admin/plans/{id}", get(plan_page).post(save_plan))
        .route("/admin/plans/{id}/delete", post(delete_plan))
}

pub struct PlanLine {
    pub id: i64,
    pub name: String,
    pub cost: String,
    pub duration: String,
    pub groups: String,
    pub is_default: bool,
    pub is_trial: bool,
    pub active: bool,
}

/// A minor-unit amount as the decimal an admin types.
fn decimal(minor: i64) -> String {
    format!("{}.{:02}", minor / 100, (minor % 100).abs())
}

#[derive(Template)]
#[template(path = "admin/plans.html")]
struct PlansPage {
    layout: Layout,
    plans: Vec<PlanLine>,
    can_write: bool,
    message: Option<&'static str>,
    error: Option<String>,
}

async fn plans_view(
    st: &WebState,
    staff: &Staff,
    csrf: &str,
    message: Option<&'static str>,
    error: Option<String>,
) -> Result<Response, AppError> {
    let s = &staff.0;
    let plans = st.app.list_plans().await?;
    let groups = st.app.list_library_groups().await?;
    let lines = plans
        .into_iter()
        .map(|r| PlanLine {
            groups: groups
                .iter()
                .filter(|g| r.library_group_ids.contains(&g.id))
                .map(|g| g.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            cost: format!("{} {}", decimal(r.plan.cost_minor), r.plan.currency),
            duration: format!("{} {}", r.plan.duration_count, r.plan.duration_unit),
            id: r.plan.id,
            name: r.plan.name,
            is_default: r.plan.is_default,
            is_trial: r.plan.is_trial,
            active: r.plan.active,
        })
        .collect();
    let layout = Layout::build(st, "Plans", Some(s), csrf, "plans").await;
    Ok(render(&PlansPage {
        layout,
        plans: lines,
        can_write: s.can(Permission::PlansWrite),
        message,
        error,
    }))
}

async fn plans_page(
    State(st): State<WebState>,
    staff: Staff,
    CsrfToken(csrf): CsrfToken,
    Query(d): Query<Done>,
) -> Response {
    if let Err(r) = staff.require(Permission::PlansRead) {
        return r;
    }
    plans_view(&st, &staff, &csrf, done_message(&d), None)
        .await
        .unwrap_or_else(|e| app_error_page(&st, e))
}

pub struct Choice {
    pub id: i64,
    pub name: String,
    pub selected: bool,
}

/// The form's values as text, so a refused save shows exactly what was typed.
#[derive(Default)]
pub struct PlanFormValues {
    pub name: String,
    pub description: String,
    pub cost: String,
    pub duration_count: String,
    pub duration_unit: String,
    pub stream_limit: String,
    pub downloads: bool,
    pub video_transcoding: bool,
    pub emby_device_limit: String,
    pub is_trial: bool,
    pub is_default: bool,
    pub active: bool,
    pub stripe_price_id: String,
    pub paypal_plan_id: String,
    pub max_linked_accounts: String,
    pub sort_order: String,
    pub groups: Vec<i64>,
    pub grace: Vec<i64>,
    pub servers: Vec<i64>,
}

fn opt(v: Option<i64>) -> String {
    v.map(|n| n.to_string()).unwrap_or_default()
}

impl PlanFormValues {
    fn from_record(r: &PlanRecord) -> Self {
        let p = &r.plan;
        Self {
            name: p.name.clone(),
            description: p.description.clone(),
            cost: decimal(p.cost_minor),
            duration_count: p.duration_count.to_string(),
            duration_unit: p.duration_unit.clone(),
            stream_limit: opt(p.stream_limit),
            downloads: p.downloads,
            video_transcoding: p.video_transcoding,
            emby_device_limit: opt(p.emby_device_limit),
            is_trial: p.is_trial,
            is_default: p.is_default,
            active: p.active,
            stripe_price_id: p.stripe_price_id.clone(),
            paypal_plan_id: p.paypal_plan_id.clone(),
            max_linked_accounts: p.max_linked_accounts.to_string(),
            sort_order: p.sort_order.to_string(),
            groups: r.library_group_ids.clone(),
            grace: r.grace_library_group_ids.clone(),
            servers: r.target_server_ids.clone(),
        }
    }

    fn blank() -> Self {
        Self {
            duration_count: "1".into(),
            duration_unit: "months".into(),
            video_transcoding: true,
            active: true,
            max_linked_accounts: "0".into(),
            sort_order: "0".into(),
            ..Self::default()
        }
    }

    fn from_fields(f: &Fields) -> Self {
        Self {
            name: form::text(f, "name"),
            description: form::text(f, "description"),
            cost: form::text(f, "cost"),
            duration_count: form::text(f, "duration_count"),
            duration_unit: form::text(f, "duration_unit"),
            stream_limit: form::text(f, "stream_limit"),
            downloads: form::flag(f, "downloads"),
            video_transcoding: form::flag(f, "video_transcoding"),
            emby_device_limit: form::text(f, "emby_device_limit"),
            is_trial: form::flag(f, "is_trial"),
            is_default: form::flag(f, "is_default"),
            active: form::flag(f, "active"),
            stripe_price_id: form::text(f, "stripe_price_id"),
            paypal_plan_id: form::text(f, "paypal_plan_id"),
            max_linked_accounts: form::text(f, "max_linked_accounts"),
            sort_order: form::text(f, "sort_order"),
            groups: ids(f, "library_group_ids"),
            grace: ids(f, "grace_library_group_ids"),
            servers: ids(f, "target_server_ids"),
        }
    }

    /// The typed values as a use-case input; a number that is not one is refused by name.
    fn input(&self) -> Result<PlanInput, AppError> {
        let number = |field: &'static str, raw: &str| -> Result<Option<i64>, AppError> {
            if raw.trim().is_empty() {
                return Ok(None);
            }
            raw.trim()
                .parse()
                .map(Some)
                .map_err(|_| AppError::invalid(field, format!("\"{raw}\" is not a whole number")))
        };
        Ok(PlanInput {
            name: self.name.clone(),
            description: self.description.clone(),
            cost_minor: parse_cost(&self.cost)?,
            duration_count: number("duration_count", &self.duration_count)?.unwrap_or(0),
            duration_unit: self.duration_unit.clone(),
            library_group_ids: self.groups.clone(),
            grace_library_group_ids: self.grace.clone(),
            target_server_ids: self.servers.clone(),
            stream_limit: number("stream_limit", &self.stream_limit)?,
            downloads: self.downloads,
            video_transcoding: self.video_transcoding,
            emby_device_limit: number("emby_device_limit", &self.emby_device_limit)?,
            is_trial: self.is_trial,
            is_default: self.is_default,
            active: self.active,
            stripe_price_id: self.stripe_price_id.clone(),
            paypal_plan_id: self.paypal_plan_id.clone(),
            max_linked_accounts: number("max_linked_accounts", &self.max_linked_accounts)?
                .unwrap_or(0),
            sort_order: number("sort_order", &self.sort_order)?.unwrap_or(0),
        })
    }
}

/// Every value of a multi-select (a key repeated once per ticked option).
fn ids(f: &Fields, key: &str) -> Vec<i64> {
    f.iter()
        .filter(|(k, _)| k == key)
        .filter_map(|(_, v)| v.trim().parse().ok())
        .collect()
}

#[derive(Template)]
#[template(path = "admin/plan.html")]
struct PlanPage {
    layout: Layout,
    /// `None` while adding.
    id: Option<i64>,
    v: PlanFormValues,
    currency: String,
    groups: Vec<Choice>,
    grace: Vec<Choice>,
    servers: Vec<Choice>,
    can_write: bool,
    message: Option<&'static str>,
    error: Option<String>,
}

async fn plan_view(
    st: &WebState,
    staff: &Staff,
    csrf: &str,
    id: Option<i64>,
    v: PlanFormValues,
    message: Option<&'static str>,
    error: Option<String>,
) -> Result<Response, AppError> {
    let s = &staff.0;
    let all_groups = st.app.list_library_groups().await?;
    let all_servers = st.app.list_servers().await?;
    let currency = st
        .app
        .settings()
        .await?
        .get("payments.currency")
        .to_string();
    let choices = |chosen: &[i64]| -> Vec<Choice> {
        all_groups
            .iter()
            .map(|g| Choice {
                id: g.id,
                name: g.name.clone(),
                selected: chosen.contains(&g.id),
            })
            .collect()
    };
    let title = if id.is_some() {
        v.name.clone()
    } else {
        "Add a plan".into()
    };
    let layout = Layout::build(st, &title, Some(s), csrf, "plans").await;
    Ok(render(&PlanPage {
        layout,
        id,
        groups: choices(&v.groups),
        grace: choices(&v.grace),
        servers: all_servers
            .iter()
            .map(|x| Choice {
                id: x.id,
                name: x.name.clone(),
                selected: v.servers.contains(&x.id),
            })
            .collect(),
        v,
        currency,
        can_write: s.can(Permission::PlansWrite),
        message,
        error,
    }))
}

async fn new_plan_page(
    State(st): State<WebState>,
    staff: Staff,
    CsrfToken(csrf): CsrfToken,
) -> Response {
    if let Err(r) = staff.require(Permission::PlansWrite) {
        return r;
    }
    plan_view(
        &st,
        &staff,
        &csrf,
        None,
        PlanFormValues::blank(),
        None,
        None,
    )
    .await
    .unwrap_or_else(|e| app_error_page(&st, e))
}

async fn plan_page(
    State(st): State<WebState>,
    staff: Staff,
    CsrfToken(csrf): CsrfToken,
    Path(id): Path<i64>,
    Query(d): Query<Done>,
) -> Response {
    if let Err(r) = staff.require(Permission::PlansRead) {
        return r;
    }
    let r = match st.app.plan(id).await {
        Ok(r) => r,
        Err(e) => return app_error_page(&st, e),
    };
    let v = PlanFormValues::from_record(&r);
    plan_view(&st, &staff, &csrf, Some(id), v, done_message(&d), None)
        .await
        .unwrap_or_else(|e| app_error_page(&st, e))
}

async fn submit(
    st: &WebState,
    staff: &Staff,
    ip: &str,
    csrf: &str,
    id: Option<i64>,
    f: &Fields,
) -> Response {
    let s = match staff.require(Permission::PlansWrite) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let v = PlanFormValues::from_fields(f);
    let saved = match v.input() {
        Ok(input) => st.app.save_plan(&s.actor(ip), id, &input).await,
        Err(e) => Err(e),
    };
    match saved {
        Ok(id) => Redirect::to(&format!("/admin/plans/{id}?done=saved")).into_response(),
        Err(e @ (AppError::Invalid { .. } | AppError::Conflict(_))) => {
            let status = failure_status(&e);
            plan_view(st, staff, csrf, id, v, None, Some(e.to_string()))
                .await
                .map(|r| with_status(r, status))
                .unwrap_or_else(|e| app_error_page(st, e))
        }
        Err(e) => app_error_page(st, e),
    }
}

async fn add_plan(
    State(st): State<WebState>,
    staff: Staff,
    ClientIp(ip): ClientIp,
    CsrfToken(csrf): CsrfToken,
    Form(f): Form<Fields>,
) -> Response {
    submit(&st, &staff, &ip, &csrf, None, &f).await
}

async fn save_plan(
    State(st): State<WebState>,
    staff: Staff,
    ClientIp(ip): ClientIp,
    CsrfToken(csrf): CsrfToken,
    Path(id): Path<i64>,
    Form(f): Form<Fields>,
) -> Response {
    submit(&st, &staff, &ip, &csrf, Some(id), &f).await
}

async fn delete_plan(
    State(st): State<WebState>,
    staff: Staff,
    ClientIp(ip): ClientIp,
    CsrfToken(csrf): CsrfToken,
    Path(id): Path<i64>,
) -> Response {
    let s = match staff.require(Permission::PlansWrite) {
        Ok(s) => s,
        Err(r) => return r,
    };
    match st.app.delete_plan(&s.actor(&ip), id).await {
        Ok(()) => Redirect::to("/admin/plans?done=deleted").into_response(),
        Err(e @ (AppError::Invalid { .. } | AppError::Conflict(_) | AppError::NotFound(_))) => {
            let status = failure_status(&e);
            plans_view(&st, &staff, &csrf, None, Some(e.to_string()))
                .await
                .map(|r| with_status(r, status))
                .unwrap_or_else(|e| app_error_page(&st, e))
        }
        Err(e) => app_error_page(&st, e),
    }
}
