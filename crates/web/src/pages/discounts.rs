//! The Discount codes page (product §16): the list with uses, limit, expiry and state; one form
//! for adding and editing a code, which marks every field that needs a change; deactivate and
//! reactivate. Times are typed and shown in UTC.

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
use boxoffice_app::auth::Principal;
use boxoffice_app::discounts::{DiscountCodeInput, DiscountCodeView, FieldIssue};
use boxoffice_domain::Money;
use boxoffice_domain::Permission;
use boxoffice_domain::money::Currency;
use serde::Deserialize;

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/admin/discount-codes", get(list_page).post(add_code))
        .route("/admin/discount-codes/new", get(new_page))
        .route("/admin/discount-codes/{id}", get(edit_page).post(save_code))
        .route("/admin/discount-codes/{id}/deactivate", post(deactivate))
        .route("/admin/discount-codes/{id}/activate", post(activate))
}

#[derive(Deserialize)]
struct Done {
    done: Option<String>,
}

fn done_message(d: &Done) -> Option<&'static str> {
    Some(match d.done.as_deref()? {
        "saved" => "Saved.",
        "deactivated" => "Deactivated: the code is refused from now on. Its uses stay on record.",
        "activated" => "Activated: the code can be used again.",
        _ => return None,
    })
}

/// A minor-unit amount as the decimal an admin types.
fn decimal(minor: i64) -> String {
    format!("{}.{:02}", minor / 100, (minor % 100).abs())
}

/// `2026-12-01T18:30` (what a datetime-local field sends) in UTC, or with seconds.
fn parse_when(raw: &str) -> Option<i64> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]");
    let with_secs =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    let t = raw.trim().replace(' ', "T");
    time::PrimitiveDateTime::parse(&t, &fmt)
        .or_else(|_| time::PrimitiveDateTime::parse(&t, &with_secs))
        .ok()
        .map(|d| d.assume_utc().unix_timestamp())
}

fn format_when(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| {
            d.format(time::macros::format_description!(
                "[year]-[month]-[day]T[hour]:[minute]"
            ))
            .ok()
        })
        .unwrap_or_default()
}

pub struct CodeLine {
    pub id: i64,
    pub code: String,
    pub description: String,
    pub discount: String,
    pub plans: String,
    pub customer: String,
    pub uses: String,
    pub expires: String,
    pub state: &'static str,
    pub active: bool,
}

fn state_label(v: &DiscountCodeView) -> &'static str {
    match v.state.as_str() {
        "usable" => "usable",
        "inactive" => "inactive",
        "expired" => "expired",
        _ => "used up",
    }
}

#[derive(Template)]
#[template(path = "admin/discount_codes.html")]
struct ListPage {
    layout: Layout,
    codes: Vec<CodeLine>,
    can_write: bool,
    message: Option<&'static str>,
    error: Option<String>,
}

async fn list_view(
    st: &WebState,
    staff: &Staff,
    csrf: &str,
    message: Option<&'static str>,
    error: Option<String>,
) -> Result<Response, AppError> {
    let s = &staff.0;
    let codes = st.app.list_discount_codes().await?;
    let plans = st.app.list_plans().await?;
    let lines = codes
        .into_iter()
        .map(|v| {
            let c = &v.record.code;
            CodeLine {
                id: c.id,
                code: c.code.clone(),
                description: c.description.clone(),
                discount: v.discount_label(),
                plans: if v.record.plan_ids.is_empty() {
                    "All plans".into()
                } else {
                    plans
                        .iter()
                        .filter(|p| v.record.plan_ids.contains(&p.plan.id))
                        .map(|p| p.plan.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                },
                customer: if c.customer_email.is_empty() {
                    "Anyone".into()
                } else {
                    c.customer_email.clone()
                },
                uses: match v.rule.use_limit() {
                    Some(l) => format!("{} / {l}", c.used_count),
                    None => format!("{} / unlimited", c.used_count),
                },
                expires: c
                    .expires_at
                    .map(|t| format!("{} UTC", super::admin::fmt_time(t)))
                    .unwrap_or_else(|| "never".into()),
                state: state_label(&v),
                active: c.active,
            }
        })
        .collect();
    let layout = Layout::build(st, "Discount codes", Some(s), csrf, "discount-codes").await;
    Ok(render(&ListPage {
        layout,
        codes: lines,
        can_write: s.can(Permission::DiscountCodesWrite),
        message,
        error,
    }))
}

async fn list_page(
    State(st): State<WebState>,
    staff: Staff,
    CsrfToken(csrf): CsrfToken,
    Query(d): Query<Done>,
) -> Response {
    if let Err(r) = staff.require(Permission::DiscountCodesRead) {
        return r;
    }
    list_view(&st, &staff, &csrf, done_message(&d), None)
        .await
        .unwrap_or_else(|e| app_error_page(&st, e))
}

pub struct Choice {
    pub id: i64,
    pub name: String,
    pub selected: bool,
}

/// The form's values as typed, so a refused save shows exactly what was entered.
#[derive(Default)]
pub struct CodeForm {
    pub code: String,
    pub description: String,
    pub percent_off: String,
    pub amount_off: String,
    pub customer_email: String,
    pub expires_at: String,
    pub max_uses: String,
    pub once_per_customer: bool,
    pub active: bool,
    pub plans: Vec<i64>,
}

impl CodeForm {
    fn blank() -> Self {
        Self {
            once_per_customer: true,
            active: true,
            ..Self::default()
        }
    }

    fn from_view(v: &DiscountCodeView) -> Self {
        let c = &v.record.code;
        Self {
            code: c.code.clone(),
            description: c.description.clone(),
            percent_off: c.percent_off.map(|p| p.to_string()).unwrap_or_default(),
            amount_off: c.amount_off_minor.map(decimal).unwrap_or_default(),
            customer_email: c.customer_email.clone(),
            expires_at: c.expires_at.map(format_when).unwrap_or_default(),
            max_uses: c.max_uses.map(|n| n.to_string()).unwrap_or_default(),
            once_per_customer: c.once_per_customer,
            active: c.active,
            plans: v.record.plan_ids.clone(),
        }
    }

    fn from_fields(f: &Fields) -> Self {
        Self {
            code: form::text(f, "code"),
            description: form::text(f, "description"),
            percent_off: form::text(f, "percent_off"),
            amount_off: form::text(f, "amount_off"),
            customer_email: form::text(f, "customer_email"),
            expires_at: form::text(f, "expires_at"),
            max_uses: form::text(f, "max_uses"),
            once_per_customer: form::flag(f, "once_per_customer"),
            active: form::flag(f, "active"),
            plans: f
                .iter()
                .filter(|(k, _)| k == "plan_ids")
                .filter_map(|(_, v)| v.trim().parse().ok())
                .collect(),
        }
    }

    /// The typed values as a use-case input, or the fields that are not even numbers or dates.
    fn input(&self) -> (DiscountCodeInput, Vec<FieldIssue>) {
        let mut issues = Vec::new();
        let mut number = |field: &'static str, raw: &str| -> Option<i64> {
            let raw = raw.trim();
            if raw.is_empty() {
                return None;
            }
            raw.parse().map(Some).unwrap_or_else(|_| {
                issues.push(FieldIssue {
                    field,
                    message: format!("\"{raw}\" is not a whole number"),
                });
                None
            })
        };
        let percent_off = number("percent_off", &self.percent_off);
        let max_uses = number("max_uses", &self.max_uses);
        let amount_off_minor = if self.amount_off.trim().is_empty() {
            None
        } else {
            // The currency does not change how an amount parses; the site's is applied later.
            let any = Currency::parse("XXX").ok();
            match any.map(|c| Money::parse_decimal(&self.amount_off, c)) {
                Some(Ok(m)) => Some(m.minor),
                Some(Err(e)) => {
                    issues.push(FieldIssue {
                        field: "amount_off",
                        message: e.to_string(),
                    });
                    None
                }
                None => None,
            }
        };
        let expires_at = if self.expires_at.trim().is_empty() {
            None
        } else {
            let t = parse_when(&self.expires_at);
            if t.is_none() {
                issues.push(FieldIssue {
                    field: "expires_at",
                    message: format!(
                        "\"{}\" is not a date and time such as 2026-12-31T23:59",
                        self.expires_at.trim()
                    ),
                });
            }
            t
        };
        (
            DiscountCodeInput {
                code: self.code.clone(),
                description: self.description.clone(),
                percent_off,
                amount_off_minor,
                customer_email: self.customer_email.clone(),
                plan_ids: self.plans.clone(),
                expires_at,
                max_uses,
                once_per_customer: self.once_per_customer,
                active: self.active,
            },
            issues,
        )
    }
}

pub struct UseLine {
    pub at: String,
    pub email: String,
    pub reference: String,
    pub discount: String,
}

#[derive(Template)]
#[template(path = "admin/discount_code.html")]
struct CodePage {
    layout: Layout,
    /// `None` while adding.
    id: Option<i64>,
    f: CodeForm,
    currency: String,
    plans: Vec<Choice>,
    errors: Vec<FieldIssue>,
    uses: Vec<UseLine>,
    summary: String,
    can_write: bool,
    message: Option<&'static str>,
}

impl CodePage {
    fn err(&self, field: &str) -> Option<&str> {
        // The amount is typed as a decimal but checked as minor units: one field either way.
        let field = if field == "amount_off" {
            ["amount_off", "amount_off_minor"].as_slice()
        } else {
            std::slice::from_ref(&field)
        };
        self.errors
            .iter()
            .find(|e| field.contains(&e.field))
            .map(|e| e.message.as_str())
    }
}

#[allow(clippy::too_many_arguments)]
async fn code_view(
    st: &WebState,
    staff: &Staff,
    csrf: &str,
    id: Option<i64>,
    f: CodeForm,
    errors: Vec<FieldIssue>,
    message: Option<&'static str>,
) -> Result<Response, AppError> {
    let s = &staff.0;
    let currency = st
        .app
        .settings()
        .await?
        .get("payments.currency")
        .to_string();
    let plans = st
        .app
        .list_plans()
        .await?
        .into_iter()
        .map(|p| Choice {
            selected: f.plans.contains(&p.plan.id),
            id: p.plan.id,
            name: p.plan.name,
        })
        .collect();
    let (uses, summary) = match id {
        Some(id) => {
            let v = st.app.discount_code(id).await?;
            let summary = format!(
                "{} · {} · used {}{}",
                v.discount_label(),
                state_label(&v),
                v.record.code.used_count,
                v.rule
                    .use_limit()
                    .map(|l| format!(" of {l}"))
                    .unwrap_or_default()
            );
            let uses = st
                .app
                .discount_code_uses(id)
                .await?
                .into_iter()
                .map(|(r, email)| UseLine {
                    at: format!("{} UTC", super::admin::fmt_time(r.created_at)),
                    email,
                    reference: r.reference,
                    discount: Currency::parse(&r.currency)
                        .map(|c| Money::new(r.discount_minor, c).to_string())
                        .unwrap_or_default(),
                })
                .collect();
            (uses, summary)
        }
        None => (Vec::new(), String::new()),
    };
    let title = if id.is_some() {
        format!("Discount code {}", f.code)
    } else {
        "Add a discount code".into()
    };
    let layout = Layout::build(st, &title, Some(s), csrf, "discount-codes").await;
    Ok(render(&CodePage {
        layout,
        id,
        f,
        currency,
        plans,
        errors,
        uses,
        summary,
        can_write: s.can(Permission::DiscountCodesWrite),
        message,
    }))
}

async fn new_page(
    State(st): State<WebState>,
    staff: Staff,
    CsrfToken(csrf): CsrfToken,
) -> Response {
    if let Err(r) = staff.require(Permission::DiscountCodesWrite) {
        return r;
    }
    code_view(
        &st,
        &staff,
        &csrf,
        None,
        CodeForm::blank(),
        Vec::new(),
        None,
    )
    .await
    .unwrap_or_else(|e| app_error_page(&st, e))
}

async fn edit_page(
    State(st): State<WebState>,
    staff: Staff,
    CsrfToken(csrf): CsrfToken,
    Path(id): Path<i64>,
    Query(d): Query<Done>,
) -> Response {
    if let Err(r) = staff.require(Permission::DiscountCodesRead) {
        return r;
    }
    let v = match st.app.discount_code(id).await {
        Ok(v) => v,
        Err(e) => return app_error_page(&st, e),
    };
    let f = CodeForm::from_view(&v);
    code_view(
        &st,
        &staff,
        &csrf,
        Some(id),
        f,
        Vec::new(),
        done_message(&d),
    )
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
    let s = match staff.require(Permission::DiscountCodesWrite) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let values = CodeForm::from_fields(f);
    let (input, mut issues) = values.input();
    let refused = |issues: Vec<FieldIssue>, status| async move {
        code_view(st, staff, csrf, id, values, issues, None)
            .await
            .map(|r| with_status(r, status))
            .unwrap_or_else(|e| app_error_page(st, e))
    };
    match st.app.discount_code_problems(id, &input).await {
        Ok(more) => {
            // An amount or percentage that is not a number is already marked; the use case,
            // which saw nothing there, would add "give a percentage or an amount off".
            let discount_marked = issues
                .iter()
                .any(|i| matches!(i.field, "percent_off" | "amount_off"));
            for m in more {
                let discount_field = matches!(m.field, "percent_off" | "amount_off_minor");
                let marked = issues.iter().any(|i| i.field == m.field);
                let covered = marked || (discount_marked && discount_field);
                if !covered {
                    issues.push(m);
                }
            }
        }
        Err(e) => return app_error_page(st, e),
    }
    if !issues.is_empty() {
        return refused(issues, axum::http::StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    match st.app.save_discount_code(&s.actor(ip), id, &input).await {
        Ok(id) => Redirect::to(&format!("/admin/discount-codes/{id}?done=saved")).into_response(),
        Err(e @ AppError::Invalid { .. }) => {
            let status = failure_status(&e);
            let AppError::Invalid { field, message } = e else {
                return app_error_page(st, e);
            };
            refused(vec![FieldIssue { field, message }], status).await
        }
        Err(e) => app_error_page(st, e),
    }
}

async fn add_code(
    State(st): State<WebState>,
    staff: Staff,
    ClientIp(ip): ClientIp,
    CsrfToken(csrf): CsrfToken,
    Form(f): Form<Fields>,
) -> Response {
    submit(&st, &staff, &ip, &csrf, None, &f).await
}

async fn save_code(
    State(st): State<WebState>,
    staff: Staff,
    ClientIp(ip): ClientIp,
    CsrfToken(csrf): CsrfToken,
    Path(id): Path<i64>,
    Form(f): Form<Fields>,
) -> Response {
    submit(&st, &staff, &ip, &csrf, Some(id), &f).await
}

async fn deactivate(
    State(st): State<WebState>,
    staff: Staff,
    ClientIp(ip): ClientIp,
    CsrfToken(csrf): CsrfToken,
    Path(id): Path<i64>,
) -> Response {
    set_active(&st, &staff, &ip, &csrf, id, false).await
}

async fn activate(
    State(st): State<WebState>,
    staff: Staff,
    ClientIp(ip): ClientIp,
    CsrfToken(csrf): CsrfToken,
    Path(id): Path<i64>,
) -> Response {
    set_active(&st, &staff, &ip, &csrf, id, true).await
}

async fn set_active(
    st: &WebState,
    staff: &Staff,
    ip: &str,
    csrf: &str,
    id: i64,
    active: bool,
) -> Response {
    let s = match staff.require(Permission::DiscountCodesWrite) {
        Ok(s) => s,
        Err(r) => return r,
    };
    match st
        .app
        .set_discount_code_active(&s.actor(ip), id, active)
        .await
    {
        Ok(()) => {
            let done = if active { "activated" } else { "deactivated" };
            Redirect::to(&format!("/admin/discount-codes?done={done}")).into_response()
        }
        Err(e @ AppError::NotFound(_)) => {
            let status = failure_status(&e);
            list_view(st, staff, csrf, None, Some(e.to_string()))
                .await
                .map(|r| with_status(r, status))
                .unwrap_or_else(|e| app_error_page(st, e))
        }
        Err(e) => app_error_page(st, e),
    }
}
