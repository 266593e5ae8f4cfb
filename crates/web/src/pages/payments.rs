//! Payments & Plans → Payments (the ledger: filters, totals per currency, refunds, CSV, each
//! gateway's sync status and "Sync now"), Unmatched payments (assign or dismiss) and Payment
//! gateways (webhook URLs to paste, "Test connection").

use super::{app_error_page, render};
use crate::WebState;
use crate::csrf::CsrfToken;
use crate::layout::Layout;
use crate::session::{ClientIp, Staff};
use askama::Template;
use axum::Form;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use boxoffice_app::AppError;
use boxoffice_app::auth::{Principal, SessionCtx};
use boxoffice_app::payments_sync::{
    GatewayStatusView, PaymentsPage, UnmatchedPage, gateway_label, ledger_decimal, refundable,
};
use boxoffice_domain::Permission;
use boxoffice_store::payment_sync::{CustomerPick, UnmatchedRow};
use boxoffice_store::payments_page::PaymentFilter;
use serde::Deserialize;

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/admin/payments", get(payments_page))
        .route("/admin/payments.csv", get(payments_csv))
        .route("/admin/payments/sync", post(sync_now))
        .route("/admin/payments/{id}/refund", post(refund))
        .route("/admin/unmatched-payments", get(unmatched_page))
        .route("/admin/unmatched-payments/{id}", get(unmatched_detail))
        .route("/admin/unmatched-payments/{id}/assign", post(assign))
        .route("/admin/unmatched-payments/{id}/dismiss", post(dismiss))
        .route("/admin/payment-gateways", get(gateways_page))
        .route("/admin/payment-gateways/{gateway}/test", post(test_gateway))
}

pub(crate) fn fmt_time(t: i64) -> String {
    super::admin::fmt_time(t)
}

/// Percent-encodes a query value.
fn encode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn money(minor: i64, currency: &str) -> String {
    format!("{} {currency}", ledger_decimal(minor, currency))
}

// ---- Payments ----

/// The filters as the page's form sends them; dates are `YYYY-MM-DD` (UTC).
#[derive(Debug, Default, Deserialize, Clone)]
pub struct PaymentsQuery {
    pub customer: Option<String>,
    pub customer_id: Option<String>,
    pub gateway: Option<String>,
    pub currency: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub page: Option<i64>,
    pub done: Option<String>,
}

fn blank(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// Parses `YYYY-MM-DD` as the start of that UTC day.
fn day(v: &Option<String>, field: &'static str) -> Result<Option<i64>, AppError> {
    let Some(s) = blank(v) else { return Ok(None) };
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(&s, &fmt)
        .map(|d| Some(d.midnight().assume_utc().unix_timestamp()))
        .map_err(|_| AppError::invalid(field, format!("\"{s}\" is not a date: use YYYY-MM-DD")))
}

impl PaymentsQuery {
    /// The store filter; `to` includes its whole day.
    pub fn filter(&self) -> Result<PaymentFilter, AppError> {
        let customer_id = match blank(&self.customer_id) {
            None => None,
            Some(s) => Some(s.parse::<i64>().map_err(|_| {
                AppError::invalid("customer_id", format!("\"{s}\" is not a customer id"))
            })?),
        };
        let currency = match blank(&self.currency) {
            None => None,
            Some(c) => Some(
                boxoffice_domain::money::Currency::parse(&c)
                    .map_err(|e| AppError::invalid("currency", e.to_string()))?
                    .as_str()
                    .to_string(),
            ),
        };
        Ok(PaymentFilter {
            customer_id,
            customer: blank(&self.customer),
            method: blank(&self.gateway).map(|g| g.to_lowercase()),
            currency,
            from: day(&self.from, "from")?,
            until: day(&self.to, "to")?.map(|t| t + 86_400),
        })
    }

    /// The query string of the filters (no page), for links.
    fn query_string(&self) -> String {
        let mut parts = Vec::new();
        for (k, v) in [
            ("customer", &self.customer),
            ("customer_id", &self.customer_id),
            ("gateway", &self.gateway),
            ("currency", &self.currency),
            ("from", &self.from),
            ("to", &self.to),
        ] {
            if let Some(v) = blank(v) {
                parts.push(format!("{k}={}", encode(&v)));
            }
        }
        parts.join("&")
    }
}

struct PaymentRowView {
    id: i64,
    when: String,
    customer_id: i64,
    customer: String,
    plan: String,
    amount: String,
    gateway: String,
    transaction_id: String,
    source: String,
    period: String,
    refund: Option<String>,
    refundable: bool,
}

struct StatusView {
    gateway: String,
    account: String,
    configured: bool,
    last_run: String,
    last_success: String,
    error: String,
    failures: i64,
    found: String,
}

fn status_views(v: Vec<GatewayStatusView>) -> Vec<StatusView> {
    v.into_iter()
        .map(|g| {
            let s = g.status.unwrap_or_default();
            StatusView {
                gateway: g.label.to_string(),
                account: g.account.to_string(),
                configured: g.configured,
                last_run: s
                    .last_finished_at
                    .or(s.last_started_at)
                    .map(fmt_time)
                    .unwrap_or_else(|| "never".into()),
                last_success: s
                    .last_success_at
                    .map(fmt_time)
                    .unwrap_or_else(|| "never".into()),
                error: s.last_error,
                failures: s.consecutive_failures,
                found: format!(
                    "{} read, {} matched, {} unmatched",
                    s.last_seen, s.last_matched, s.last_unmatched
                ),
            }
        })
        .collect()
}

#[derive(Template)]
#[template(path = "admin/payments.html")]
struct PaymentsTemplate {
    layout: Layout,
    q: PaymentsQuery,
    rows: Vec<PaymentRowView>,
    totals: Vec<(String, i64, String)>,
    methods: Vec<(String, String)>,
    currencies: Vec<String>,
    page: i64,
    pages: i64,
    count: i64,
    export_href: String,
    prev_href: Option<String>,
    next_href: Option<String>,
    statuses: Vec<StatusView>,
    can_write: bool,
    can_sync: bool,
    message: Option<&'static str>,
    error: Option<String>,
}

impl PaymentsTemplate {
    fn sel(&self, v: &Option<String>, x: &str) -> bool {
        v.as_deref().is_some_and(|v| v.eq_ignore_ascii_case(x))
    }
}

fn payments_message(done: Option<&str>) -> Option<&'static str> {
    Some(match done? {
        "sync" => "Sync queued for every configured gateway account: refresh in a moment.",
        "refund" => {
            "Refund queued: the gateway is asked in the background, and the row shows the answer."
        }
        "refund-again" => "A refund of this payment was already asked for: nothing new was queued.",
        _ => return None,
    })
}

async fn payments_page(
    State(st): State<WebState>,
    staff: Staff,
    CsrfToken(csrf): CsrfToken,
    Query(q): Query<PaymentsQuery>,
) -> Response {
    let s = match staff.require(Permission::PaymentsRead) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let (data, error) = match q.filter() {
        Ok(f) => match st.app.payments_page(&f, q.page.unwrap_or(1)).await {
            Ok(d) => (d, None),
            Err(e) => return app_error_page(&st, e),
        },
        Err(e) => match st.app.payments_page(&PaymentFilter::default(), 1).await {
            Ok(d) => (d, Some(e.to_string())),
            Err(e) => return app_error_page(&st, e),
        },
    };
    let statuses = match st.app.payment_sync_overview().await {
        Ok(v) => status_views(v),
        Err(e) => return app_error_page(&st, e),
    };
    let PaymentsPage {
        rows,
        totals,
        page,
        pages,
        count,
        methods,
        currencies,
    } = data;
    let qs = q.query_string();
    let link = |p: i64| {
        if qs.is_empty() {
            format!("/admin/payments?page={p}")
        } else {
            format!("/admin/payments?{qs}&page={p}")
        }
    };
    let rows = rows
        .into_iter()
        .map(|r| PaymentRowView {
            id: r.id,
            when: fmt_time(r.created_at),
            customer_id: r.customer_id,
            customer: r.customer_email.clone(),
            plan: r.plan_name.clone(),
            amount: money(r.amount_minor, &r.currency),
            gateway: gateway_label(&r.method),
            refundable: refundable(&r.method, &r.transaction_id) && r.refund_state.is_none(),
            transaction_id: r.transaction_id,
            source: r.source,
            period: format!(
                "{} → {}",
                boxoffice_app::notify::date(r.period_from),
                boxoffice_app::notify::date(r.period_to)
            ),
            refund: r
                .refund_state
                .map(|s| match r.refund_error.filter(|e| !e.is_empty()) {
                    Some(e) => format!("{s}: {e}"),
                    None => s,
                }),
        })
        .collect();
    let layout = Layout::build(&st, "Payments", Some(s), &csrf, "payments").await;
    render(&PaymentsTemplate {
        layout,
        rows,
        totals: totals
            .into_iter()
            .map(|t| {
                let m = money(t.amount_minor, &t.currency);
                (t.currency, t.count, m)
            })
            .collect(),
        methods: methods
            .into_iter()
            .map(|m| {
                let l = gateway_label(&m);
                (m, l)
            })
            .collect(),
        currencies,
        page,
        pages,
        count,
        export_href: if qs.is_empty() {
            "/admin/payments.csv".into()
        } else {
            format!("/admin/payments.csv?{qs}")
        },
        prev_href: (page > 1).then(|| link(page - 1)),
        next_href: (page < pages).then(|| link(page + 1)),
        statuses,
        can_write: s.can(Permission::PaymentsWrite),
        can_sync: s.can(Permission::PaymentsWrite),
        message: payments_message(q.done.as_deref()),
        error,
        q,
    })
}

async fn payments_csv(
    State(st): State<WebState>,
    staff: Staff,
    Query(q): Query<PaymentsQuery>,
) -> Response {
    if let Err(r) = staff.require(Permission::PaymentsRead) {
        return r;
    }
    let f = match q.filter() {
        Ok(f) => f,
        Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    };
    match st.app.payments_csv(&f).await {
        Ok(body) => csv_response(body),
        Err(e) => app_error_page(&st, e),
    }
}

pub(crate) fn csv_response(body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"payments.csv\"",
            ),
        ],
        body,
    )
        .into_response()
}

#[derive(Deserialize)]
struct ReasonForm {
    #[serde(default)]
    reason: String,
}

async fn refund(
    State(st): State<WebState>,
    staff: Staff,
    ClientIp(ip): ClientIp,
    Path(id): Path<i64>,
    Form(f): Form<ReasonForm>,
) -> Response {
    let s = match staff.require(Permission::PaymentsWrite) {
        Ok(s) => s,
        Err(r) => return r,
    };
    match st.app.request_refund(&s.actor(&ip), id, &f.reason).await {
        Ok(o) if o.queued => Redirect::to("/admin/payments?done=refund").into_response(),
        Ok(_) => Redirect::to("/admin/payments?done=refund-again").into_response(),
        Err(e) => app_error_page(&st, e),
    }
}

async fn sync_now(State(st): State<WebState>, staff: Staff, ClientIp(ip): ClientIp) -> Response {
    let s = match staff.require(Permission::PaymentsWrite) {
        Ok(s) => s,
        Err(r) => return r,
    };
    match st.app.queue_payment_sync_now(&s.actor(&ip)).await {
        Ok(_) => Redirect::to("/admin/payments?done=sync").into_response(),
        Err(e) => app_error_page(&st, e),
    }
}

// ---- Unmatched payments ----

struct UnmatchedView {
    id: i64,
    when: String,
    gateway: String,
    account: String,
    transaction_id: String,
    payer: String,
    amount: String,
    reason: String,
    state: String,
    resolution: String,
}

fn unmatched_view(r: UnmatchedRow) -> UnmatchedView {
    let resolution = match r.state.as_str() {
        "assigned" => format!(
            "assigned by {}{}",
            r.resolved_by,
            r.resolved_at
                .map(|t| format!(" on {}", fmt_time(t)))
                .unwrap_or_default()
        ),
        "dismissed" => format!("dismissed by {}: {}", r.resolved_by, r.dismiss_reason),
        _ => String::new(),
    };
    UnmatchedView {
        id: r.id,
        when: fmt_time(r.paid_at),
        gateway: gateway_label(&r.gateway),
        account: r.account,
        transaction_id: r.transaction_id,
        payer: if r.payer_name.is_empty() {
            r.payer_email
        } else {
            format!("{} ({})", r.payer_email, r.payer_name)
        },
        amount: money(r.amount_minor, &r.currency),
        reason: r.reason,
        state: r.state,
        resolution,
    }
}

#[derive(Deserialize)]
struct UnmatchedQuery {
    state: Option<String>,
    page: Option<i64>,
    done: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/unmatched_payments.html")]
struct UnmatchedTemplate {
    layout: Layout,
    rows: Vec<UnmatchedView>,
    state: String,
    total: i64,
    open: i64,
    page: i64,
    pages: i64,
    message: Option<&'static str>,
}

impl UnmatchedTemplate {
    fn is_state(&self, s: &str) -> bool {
        self.state == s
    }
}

async fn unmatched_page(
    State(st): State<WebState>,
    staff: Staff,
    CsrfToken(csrf): CsrfToken,
    Query(q): Query<UnmatchedQuery>,
) -> Response {
    let s = match staff.require(Permission::UnmatchedPaymentsRead) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let state = q.state.clone().unwrap_or_else(|| "open".into());
    let UnmatchedPage {
        rows,
        total,
        open,
        page,
        pages,
    } = match st
        .app
        .unmatched_payments(Some(&state), q.page.unwrap_or(1))
        .await
    {
        Ok(p) => p,
        Err(e @ AppError::Invalid { .. }) => {
            return (StatusCode::BAD_REQUEST, e.to_string()).into_response();
        }
        Err(e) => return app_error_page(&st, e),
    };
    let layout = Layout::build(
        &st,
        "Unmatched payments",
        Some(s),
        &csrf,
        "unmatched-payments",
    )
    .await;
    render(&UnmatchedTemplate {
        layout,
        rows: rows.into_iter().map(unmatched_view).collect(),
        state,
        total,
        open,
        page,
        pages,
        message: match q.done.as_deref() {
            Some("assigned") => {
                Some("Assigned: the payment is recorded on the customer and their access follows.")
            }
            Some("dismissed") => Some("Dismissed: nothing was recorded."),
            _ => None,
        },
    })
}

#[derive(Deserialize, Default)]
struct DetailQuery {
    q: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/unmatched_payment.html")]
struct UnmatchedDetailTemplate {
    layout: Layout,
    row: UnmatchedView,
    raw: String,
    search: String,
    picks: Vec<CustomerPick>,
    plans: Vec<(i64, String)>,
    can_write: bool,
    error: Option<String>,
}

async fn detail(
    st: &WebState,
    s: &SessionCtx,
    csrf: &str,
    id: i64,
    search: Option<String>,
    error: Option<String>,
) -> Response {
    let row = match st.app.unmatched_payment(id).await {
        Ok(r) => r,
        Err(e @ AppError::NotFound(_)) => {
            return (StatusCode::NOT_FOUND, e.to_string()).into_response();
        }
        Err(e) => return app_error_page(st, e),
    };
    let search = search.unwrap_or_else(|| row.payer_email.clone());
    let picks = match st.app.customer_picks(&search).await {
        Ok(p) => p,
        Err(e) => return app_error_page(st, e),
    };
    let plans = match st.app.plan_choices_in(&row.currency).await {
        Ok(p) => p,
        Err(e) => return app_error_page(st, e),
    };
    let raw = serde_json::from_str::<serde_json::Value>(&row.raw)
        .and_then(|v| serde_json::to_string_pretty(&v))
        .unwrap_or_else(|_| row.raw.clone());
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let layout = Layout::build(st, "Unmatched payment", Some(s), csrf, "unmatched-payments").await;
    let mut r = render(&UnmatchedDetailTemplate {
        layout,
        row: unmatched_view(row),
        raw,
        search,
        picks,
        plans,
        can_write: s.can(Permission::UnmatchedPaymentsWrite),
        error,
    });
    if r.status() == StatusCode::OK {
        *r.status_mut() = status;
    }
    r
}

async fn unmatched_detail(
    State(st): State<WebState>,
    staff: Staff,
    CsrfToken(csrf): CsrfToken,
    Path(id): Path<i64>,
    Query(q): Query<DetailQuery>,
) -> Response {
    let s = match staff.require(Permission::UnmatchedPaymentsRead) {
        Ok(s) => s,
        Err(r) => return r,
    };
    detail(&st, s, &csrf, id, q.q, None).await
}

#[derive(Deserialize)]
struct AssignForm {
    #[serde(default)]
    customer_id: String,
    #[serde(default)]
    plan_id: String,
}

async fn assign(
    State(st): State<WebState>,
    staff: Staff,
    ClientIp(ip): ClientIp,
    CsrfToken(csrf): CsrfToken,
    Path(id): Path<i64>,
    Form(f): Form<AssignForm>,
) -> Response {
    let s = match staff.require(Permission::UnmatchedPaymentsWrite) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Ok(customer_id) = f.customer_id.trim().parse::<i64>() else {
        return detail(
            &st,
            s,
            &csrf,
            id,
            None,
            Some("Choose the customer this payment belongs to.".into()),
        )
        .await;
    };
    let plan_id = f.plan_id.trim().parse::<i64>().ok();
    match st
        .app
        .assign_unmatched(&s.actor(&ip), id, customer_id, plan_id)
        .await
    {
        Ok(_) => Redirect::to("/admin/unmatched-payments?done=assigned").into_response(),
        Err(
            e @ (AppError::Invalid { .. } | AppError::Conflict(_) | AppError::NotFound("customer")),
        ) => detail(&st, s, &csrf, id, None, Some(e.to_string())).await,
        Err(e) => app_error_page(&st, e),
    }
}

async fn dismiss(
    State(st): State<WebState>,
    staff: Staff,
    ClientIp(ip): ClientIp,
    CsrfToken(csrf): CsrfToken,
    Path(id): Path<i64>,
    Form(f): Form<ReasonForm>,
) -> Response {
    let s = match staff.require(Permission::UnmatchedPaymentsWrite) {
        Ok(s) => s,
        Err(r) => return r,
    };
    match st.app.dismiss_unmatched(&s.actor(&ip), id, &f.reason).await {
        Ok(()) => Redirect::to("/admin/unmatched-payments?done=dismissed").into_response(),
        Err(e @ (AppError::Invalid { .. } | AppError::Conflict(_))) => {
            detail(&st, s, &csrf, id, None, Some(e.to_string())).await
        }
        Err(e) => app_error_page(&st, e),
    }
}

// ---- Payment gateways ----

struct GatewayView {
    slug: String,
    label: String,
    enabled: bool,
    webhook_url: String,
    statuses: Vec<StatusView>,
}

#[derive(Template)]
#[template(path = "admin/payment_gateways.html")]
struct GatewaysTemplate {
    layout: Layout,
    gateways: Vec<GatewayView>,
    site_uri_set: bool,
    can_test: bool,
    tested: Option<(String, bool, String)>,
}

async fn gateways(
    st: &WebState,
    s: &SessionCtx,
    csrf: &str,
    tested: Option<(String, bool, String)>,
) -> Response {
    let overview = match st.app.payment_gateways_overview().await {
        Ok(v) => v,
        Err(e) => return app_error_page(st, e),
    };
    let site_uri_set = overview.iter().all(|g| !g.webhook_url.starts_with('/'));
    let gateways = overview
        .into_iter()
        .map(|g| GatewayView {
            slug: g.slug.to_string(),
            label: g.label.to_string(),
            enabled: g.enabled,
            webhook_url: g.webhook_url,
            statuses: status_views(g.sync),
        })
        .collect();
    let layout = Layout::build(st, "Payment gateways", Some(s), csrf, "payment-gateways").await;
    render(&GatewaysTemplate {
        layout,
        gateways,
        site_uri_set,
        can_test: s.can(Permission::SettingsWrite),
        tested,
    })
}

async fn gateways_page(
    State(st): State<WebState>,
    staff: Staff,
    CsrfToken(csrf): CsrfToken,
) -> Response {
    let s = match staff.require(Permission::SettingsRead) {
        Ok(s) => s,
        Err(r) => return r,
    };
    gateways(&st, s, &csrf, None).await
}

async fn test_gateway(
    State(st): State<WebState>,
    staff: Staff,
    ClientIp(ip): ClientIp,
    CsrfToken(csrf): CsrfToken,
    Path(gateway): Path<String>,
) -> Response {
    let s = match staff.require(Permission::SettingsWrite) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let outcome = st.app.test_payment_gateway(&s.actor(&ip), &gateway).await;
    let tested = match outcome {
        Ok(msg) => (gateway_label(&gateway), true, msg),
        Err(AppError::NotFound(_)) => return super::not_found().await,
        Err(e) => (gateway_label(&gateway), false, e.to_string()),
    };
    gateways(&st, s, &csrf, Some(tested)).await
}
