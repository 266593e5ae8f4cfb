//! "New customer" on the Users page: invite one customer from a form (e-mail, plan, server or
//! automatic, payment or permanent access, the media identities). Mistakes come back on their
//! fields with everything typed kept; success opens the customer's page.

use super::form::{self, Fields};
use super::{app_error_page, render};
use crate::WebState;
use crate::csrf::CsrfToken;
use crate::layout::Layout;
use crate::session::{ClientIp, Staff};
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use boxoffice_app::AppError;
use boxoffice_app::subscriptions::{FieldError, NewCustomerError, NewCustomerForm};
use boxoffice_domain::Permission;
use boxoffice_domain::money::{Currency, Money};
use std::collections::BTreeMap;

pub fn routes() -> Router<WebState> {
    Router::new().route("/admin/users/new", get(form_page).post(submit))
}

pub struct PlanChoice {
    pub id: i64,
    pub label: String,
    /// The price of one period as the amount field takes it (8.00) and its currency.
    pub price: String,
    pub currency: String,
}

pub struct ServerChoice {
    pub id: i64,
    pub label: String,
    pub platform: String,
}

#[derive(Template)]
#[template(path = "admin/user_new.html")]
struct NewCustomerPage {
    layout: Layout,
    plans: Vec<PlanChoice>,
    servers: Vec<ServerChoice>,
    f: NewCustomerForm,
    errors: BTreeMap<&'static str, String>,
    error: Option<String>,
}

impl NewCustomerPage {
    fn err(&self, field: &str) -> Option<&str> {
        self.errors.get(field).map(String::as_str)
    }
    fn is_plan(&self, id: &i64) -> bool {
        self.f.plan_id == id.to_string()
    }
    fn is_server(&self, id: &i64) -> bool {
        self.f.server_id == id.to_string()
    }
}

fn may(staff: &Staff) -> Result<(), Response> {
    staff.require(Permission::UsersWrite)?;
    staff.require(Permission::PaymentsWrite)?;
    Ok(())
}

async fn page(
    st: &WebState,
    staff: &Staff,
    csrf: &str,
    f: NewCustomerForm,
    errors: Vec<FieldError>,
    error: Option<String>,
) -> Result<Response, AppError> {
    let plans = st
        .app
        .list_plans()
        .await?
        .into_iter()
        .filter(|p| p.plan.active)
        .map(|p| {
            let p = p.plan;
            let shown = match Currency::parse(&p.currency) {
                Ok(c) => Money::new(p.cost_minor, c).to_string(),
                Err(_) => format!("{} {}", decimal(p.cost_minor), p.currency),
            };
            PlanChoice {
                id: p.id,
                label: format!(
                    "{} — {shown} / {} {}",
                    p.name, p.duration_count, p.duration_unit
                ),
                price: decimal(p.cost_minor),
                currency: p.currency,
            }
        })
        .collect();
    let servers = st
        .app
        .list_servers()
        .await?
        .into_iter()
        .map(|s| ServerChoice {
            id: s.id,
            label: format!(
                "{} ({}{})",
                s.name,
                boxoffice_app::servers::server_admin::platform_label(s.platform),
                if s.enabled { "" } else { ", disabled" }
            ),
            platform: s.platform.as_str().to_string(),
        })
        .collect();
    let default_plan = st
        .app
        .list_plans()
        .await?
        .into_iter()
        .find(|p| p.plan.is_default && p.plan.active)
        .map(|p| p.plan.id.to_string());
    let f = NewCustomerForm {
        plan_id: if f.plan_id.is_empty() {
            default_plan.unwrap_or_default()
        } else {
            f.plan_id
        },
        form_key: if f.form_key.is_empty() {
            boxoffice_app::crypto::random_token()?
        } else {
            f.form_key
        },
        ..f
    };
    let mut layout = Layout::build(st, "New customer", Some(&staff.0), csrf, "users").await;
    layout.page = "new-customer".into();
    Ok(render(&NewCustomerPage {
        layout,
        plans,
        servers,
        f,
        errors: errors.into_iter().map(|e| (e.field, e.message)).collect(),
        error,
    }))
}

/// An amount as the amount field takes it: 8.00 (two decimals, no symbol).
fn decimal(minor: i64) -> String {
    format!("{}.{:02}", minor / 100, (minor % 100).abs())
}

async fn form_page(
    State(st): State<WebState>,
    staff: Staff,
    CsrfToken(csrf): CsrfToken,
) -> Response {
    if let Err(r) = may(&staff) {
        return r;
    }
    page(
        &st,
        &staff,
        &csrf,
        NewCustomerForm::default(),
        Vec::new(),
        None,
    )
    .await
    .unwrap_or_else(|e| app_error_page(&st, e))
}

fn form_of(f: &Fields) -> NewCustomerForm {
    NewCustomerForm {
        email: form::text(f, "email"),
        plan_id: form::text(f, "plan_id"),
        server_id: form::text(f, "server_id"),
        permanent: form::text(f, "payment") == "none",
        amount: form::text(f, "amount"),
        quantity: form::text(f, "quantity"),
        method: form::text(f, "method"),
        notes: form::text(f, "notes"),
        plex_identity: form::text(f, "plex_identity"),
        username: form::text(f, "username"),
        form_key: form::text(f, "form_key"),
    }
}

async fn submit(
    State(st): State<WebState>,
    staff: Staff,
    ClientIp(ip): ClientIp,
    CsrfToken(csrf): CsrfToken,
    Form(fields): Form<Fields>,
) -> Response {
    if let Err(r) = may(&staff) {
        return r;
    }
    let f = form_of(&fields);
    let again = |f: NewCustomerForm, errors: Vec<FieldError>, error: Option<String>, status| {
        let (st, staff, csrf) = (st.clone(), &staff, csrf.clone());
        async move {
            page(&st, staff, &csrf, f, errors, error)
                .await
                .map(|r| form::with_status(r, status))
                .unwrap_or_else(|e| app_error_page(&st, e))
        }
    };
    match st.app.invite_new_customer(&staff.0.actor(&ip), &f).await {
        Ok(out) => {
            // No server with room is a refusal (shown on the form), never a half-made customer.
            let done = if out.awaiting_plex_change.is_some() {
                "renewed_awaiting_plex_change"
            } else {
                "created"
            };
            Redirect::to(&format!("/admin/users/{}?done={done}", out.customer_id)).into_response()
        }
        Err(NewCustomerError::Fields(errors)) => {
            again(f, errors, None, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(NewCustomerError::Failed(e @ AppError::Conflict(_))) => {
            let status = form::failure_status(&e);
            again(f, Vec::new(), Some(e.to_string()), status).await
        }
        Err(NewCustomerError::Failed(e)) => app_error_page(&st, e),
    }
}
