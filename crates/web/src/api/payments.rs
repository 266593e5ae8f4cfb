//! Payments over the API: the ledger with filters and totals (and as CSV), refunds, the
//! unmatched payments (assign, dismiss), transaction sync (status, "sync now") and the gateway
//! connection test. Documented in its own OpenAPI fragment, merged into the served document.

use super::auth::{ApiCaller, Authorized, need};
use crate::pages::payments::{PaymentsQuery, csv_response};
use crate::{ApiError, WebState};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use boxoffice_domain::Permission;
use serde::{Deserialize, Serialize};
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    paths(
        list,
        export,
        refund,
        unmatched,
        unmatched_one,
        assign,
        dismiss,
        sync_status,
        sync_now,
        test_gateway
    ),
    components(schemas(
        PaymentOut,
        TotalOut,
        PaymentsOut,
        RefundIn,
        RefundOut,
        UnmatchedOut,
        UnmatchedListOut,
        AssignIn,
        AssignOut,
        DismissIn,
        SyncStatusOut,
        SyncQueuedOut,
        TestOut
    ))
)]
pub struct PaymentsDoc;

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/payments", get(list))
        .route("/payments.csv", get(export))
        .route("/payments/{id}/refund", post(refund))
        .route("/payments/sync", get(sync_status).post(sync_now))
        .route("/payment-gateways/{gateway}/test", post(test_gateway))
        .route("/unmatched-payments", get(unmatched))
        .route("/unmatched-payments/{id}", get(unmatched_one))
        .route("/unmatched-payments/{id}/assign", post(assign))
        .route("/unmatched-payments/{id}/dismiss", post(dismiss))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct PaymentOut {
    pub id: i64,
    pub customer_id: i64,
    pub customer_email: String,
    pub plan_id: i64,
    pub plan_name: String,
    /// Integer minor units of `currency`.
    pub amount_minor: i64,
    pub currency: String,
    /// Unix seconds (UTC): the half-open period the payment covers.
    pub period_from: i64,
    pub period_to: i64,
    /// stripe, paypal, plisio, manual, …
    pub method: String,
    pub transaction_id: String,
    pub subscription_id: String,
    /// checkout, sync, manual, …
    pub source: String,
    pub notes: String,
    /// Unix seconds (UTC) the payment was recorded.
    pub created_at: i64,
    /// queued, succeeded, pending or failed, when a refund was asked for.
    pub refund_state: Option<String>,
    /// Whether a refund can be asked for (a Stripe or PayPal payment not yet refunded).
    pub refundable: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TotalOut {
    pub currency: String,
    pub count: i64,
    pub amount_minor: i64,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct PaymentsOut {
    pub payments: Vec<PaymentOut>,
    /// Per currency, over every page of the filter.
    pub totals: Vec<TotalOut>,
    pub count: i64,
    pub page: i64,
    pub pages: i64,
}

fn filter_of(q: &PaymentsQuery) -> Result<boxoffice_store::payments_page::PaymentFilter, ApiError> {
    q.filter().map_err(ApiError::from)
}

/// The ledger, newest first, 50 a page. Filters: `customer` (part of the e-mail),
/// `customer_id`, `gateway` (the payment's method), `currency`, `from` and `to` (YYYY-MM-DD,
/// UTC, both inclusive), `page`.
#[utoipa::path(get, path = "/api/v1/payments", params(("customer" = Option<String>, Query), ("customer_id" = Option<i64>, Query), ("gateway" = Option<String>, Query), ("currency" = Option<String>, Query), ("from" = Option<String>, Query), ("to" = Option<String>, Query), ("page" = Option<i64>, Query)), responses((status = 200, body = PaymentsOut), (status = 403, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn list(
    State(st): State<WebState>,
    caller: ApiCaller,
    Query(q): Query<PaymentsQuery>,
) -> Result<Json<PaymentsOut>, ApiError> {
    caller.require(Permission::PaymentsRead)?;
    let f = filter_of(&q)?;
    let p = st.app.payments_page(&f, q.page.unwrap_or(1)).await?;
    Ok(Json(PaymentsOut {
        payments: p
            .rows
            .into_iter()
            .map(|r| PaymentOut {
                refundable: boxoffice_app::payments_sync::refundable(&r.method, &r.transaction_id)
                    && r.refund_state.is_none(),
                id: r.id,
                customer_id: r.customer_id,
                customer_email: r.customer_email,
                plan_id: r.plan_id,
                plan_name: r.plan_name,
                amount_minor: r.amount_minor,
                currency: r.currency,
                period_from: r.period_from,
                period_to: r.period_to,
                method: r.method,
                transaction_id: r.transaction_id,
                subscription_id: r.subscription_id,
                source: r.source,
                notes: r.notes,
                created_at: r.created_at,
                refund_state: r.refund_state,
            })
            .collect(),
        totals: p
            .totals
            .into_iter()
            .map(|t| TotalOut {
                currency: t.currency,
                count: t.count,
                amount_minor: t.amount_minor,
            })
            .collect(),
        count: p.count,
        page: p.page,
        pages: p.pages,
    }))
}

/// The filtered ledger as CSV (same filters as the list).
#[utoipa::path(get, path = "/api/v1/payments.csv", responses((status = 200, content_type = "text/csv", body = String), (status = 403, body = crate::error::ErrorBody)))]
pub async fn export(
    State(st): State<WebState>,
    caller: ApiCaller,
    Query(q): Query<PaymentsQuery>,
) -> Result<Response, ApiError> {
    caller.require(Permission::PaymentsRead)?;
    let f = filter_of(&q)?;
    Ok(csv_response(st.app.payments_csv(&f).await?))
}

#[derive(Deserialize, utoipa::ToSchema, Default)]
pub struct RefundIn {
    #[serde(default)]
    pub reason: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct RefundOut {
    pub refund_id: i64,
    pub payment_id: i64,
    /// queued, succeeded, pending or failed.
    pub state: String,
    /// False when a refund of this payment had already been asked for.
    pub queued: bool,
}

/// Asks for a full refund at the payment's gateway (Stripe or PayPal), carried out by a job
/// with an idempotency key. Asking again answers the first request (200, `queued: false`).
#[utoipa::path(post, path = "/api/v1/payments/{id}/refund", params(("id" = i64, Path)), request_body = RefundIn, responses((status = 202, body = RefundOut), (status = 200, body = RefundOut), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn refund(
    State(st): State<WebState>,
    caller: Authorized<need::PaymentsWrite>,
    Path(id): Path<i64>,
    body: Option<Json<RefundIn>>,
) -> Result<Response, ApiError> {
    let reason = body.map(|b| b.0.reason).unwrap_or_default();
    let o = st.app.request_refund(&caller.actor(), id, &reason).await?;
    let status = if o.queued {
        StatusCode::ACCEPTED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(RefundOut {
            refund_id: o.refund.id,
            payment_id: o.refund.payment_id,
            state: o.refund.state,
            queued: o.queued,
        }),
    )
        .into_response())
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct UnmatchedOut {
    pub id: i64,
    /// stripe, paypal or plisio.
    pub gateway: String,
    /// primary or secondary.
    pub account: String,
    pub transaction_id: String,
    pub payer_email: String,
    pub payer_name: String,
    pub amount_minor: i64,
    pub currency: String,
    /// Unix seconds (UTC).
    pub paid_at: i64,
    pub subscription_id: String,
    /// Why sync could not match it.
    pub reason: String,
    /// open, assigned or dismissed.
    pub state: String,
    pub customer_id: Option<i64>,
    pub payment_id: Option<i64>,
    pub dismiss_reason: String,
    pub resolved_by: String,
    pub resolved_at: Option<i64>,
}

impl From<boxoffice_store::payment_sync::UnmatchedRow> for UnmatchedOut {
    fn from(r: boxoffice_store::payment_sync::UnmatchedRow) -> Self {
        Self {
            id: r.id,
            gateway: r.gateway,
            account: r.account,
            transaction_id: r.transaction_id,
            payer_email: r.payer_email,
            payer_name: r.payer_name,
            amount_minor: r.amount_minor,
            currency: r.currency,
            paid_at: r.paid_at,
            subscription_id: r.subscription_id,
            reason: r.reason,
            state: r.state,
            customer_id: r.customer_id,
            payment_id: r.payment_id,
            dismiss_reason: r.dismiss_reason,
            resolved_by: r.resolved_by,
            resolved_at: r.resolved_at,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct UnmatchedListOut {
    pub unmatched: Vec<UnmatchedOut>,
    pub total: i64,
    pub open: i64,
    pub page: i64,
    pub pages: i64,
}

#[derive(Deserialize)]
pub struct UnmatchedQuery {
    state: Option<String>,
    page: Option<i64>,
}

/// Unmatched payments, newest first, 50 a page; `state` is open (default), assigned,
/// dismissed or all.
#[utoipa::path(get, path = "/api/v1/unmatched-payments", params(("state" = Option<String>, Query), ("page" = Option<i64>, Query)), responses((status = 200, body = UnmatchedListOut), (status = 403, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn unmatched(
    State(st): State<WebState>,
    caller: ApiCaller,
    Query(q): Query<UnmatchedQuery>,
) -> Result<Json<UnmatchedListOut>, ApiError> {
    caller.require(Permission::UnmatchedPaymentsRead)?;
    let state = q.state.unwrap_or_else(|| "open".into());
    let p = st
        .app
        .unmatched_payments(Some(&state), q.page.unwrap_or(1))
        .await?;
    Ok(Json(UnmatchedListOut {
        unmatched: p.rows.into_iter().map(UnmatchedOut::from).collect(),
        total: p.total,
        open: p.open,
        page: p.page,
        pages: p.pages,
    }))
}

#[utoipa::path(get, path = "/api/v1/unmatched-payments/{id}", params(("id" = i64, Path)), responses((status = 200, body = UnmatchedOut), (status = 404, body = crate::error::ErrorBody)))]
pub async fn unmatched_one(
    State(st): State<WebState>,
    caller: ApiCaller,
    Path(id): Path<i64>,
) -> Result<Json<UnmatchedOut>, ApiError> {
    caller.require(Permission::UnmatchedPaymentsRead)?;
    Ok(Json(st.app.unmatched_payment(id).await?.into()))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct AssignIn {
    pub customer_id: i64,
    /// Default: the customer's current plan. Must be priced in the payment's currency.
    pub plan_id: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AssignOut {
    pub payment_id: i64,
    pub customer_id: i64,
    /// Unix seconds (UTC): the period the payment covers.
    pub period_from: i64,
    pub period_to: i64,
}

/// Records the unmatched payment on a customer: a payment with the gateway's transaction id,
/// extending their coverage from their current expiry by the plan's period.
#[utoipa::path(post, path = "/api/v1/unmatched-payments/{id}/assign", params(("id" = i64, Path)), request_body = AssignIn, responses((status = 200, body = AssignOut), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn assign(
    State(st): State<WebState>,
    caller: Authorized<need::UnmatchedPaymentsWrite>,
    Path(id): Path<i64>,
    Json(body): Json<AssignIn>,
) -> Result<Json<AssignOut>, ApiError> {
    let o = st
        .app
        .assign_unmatched(&caller.actor(), id, body.customer_id, body.plan_id)
        .await?;
    Ok(Json(AssignOut {
        payment_id: o.payment_id,
        customer_id: o.customer_id,
        period_from: o.period_from,
        period_to: o.period_to,
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct DismissIn {
    /// Why (required): not for the server, a duplicate, settled another way…
    pub reason: String,
}

/// Dismisses an unmatched payment; nothing is recorded in the ledger.
#[utoipa::path(post, path = "/api/v1/unmatched-payments/{id}/dismiss", params(("id" = i64, Path)), request_body = DismissIn, responses((status = 204), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn dismiss(
    State(st): State<WebState>,
    caller: Authorized<need::UnmatchedPaymentsWrite>,
    Path(id): Path<i64>,
    Json(body): Json<DismissIn>,
) -> Result<StatusCode, ApiError> {
    st.app
        .dismiss_unmatched(&caller.actor(), id, &body.reason)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SyncStatusOut {
    pub gateway: String,
    pub account: String,
    /// Switched on in the settings.
    pub configured: bool,
    /// Unix seconds (UTC); null before the first run.
    pub last_started_at: Option<i64>,
    pub last_finished_at: Option<i64>,
    pub last_success_at: Option<i64>,
    /// Transactions created before this were read by the last successful run.
    pub synced_through: Option<i64>,
    /// Empty after a successful run.
    pub last_error: String,
    pub consecutive_failures: i64,
    pub last_seen: i64,
    pub last_matched: i64,
    pub last_unmatched: i64,
    pub total_matched: i64,
    pub total_unmatched: i64,
}

/// Each gateway account's transaction sync status.
#[utoipa::path(get, path = "/api/v1/payments/sync", responses((status = 200, body = [SyncStatusOut]), (status = 403, body = crate::error::ErrorBody)))]
pub async fn sync_status(
    State(st): State<WebState>,
    caller: ApiCaller,
) -> Result<Json<Vec<SyncStatusOut>>, ApiError> {
    caller.require(Permission::PaymentsRead)?;
    let v = st.app.payment_sync_overview().await?;
    Ok(Json(
        v.into_iter()
            .map(|g| {
                let s = g.status.unwrap_or_default();
                SyncStatusOut {
                    gateway: g.gateway.to_string(),
                    account: g.account.to_string(),
                    configured: g.configured,
                    last_started_at: s.last_started_at,
                    last_finished_at: s.last_finished_at,
                    last_success_at: s.last_success_at,
                    synced_through: s.synced_through,
                    last_error: s.last_error,
                    consecutive_failures: s.consecutive_failures,
                    last_seen: s.last_seen,
                    last_matched: s.last_matched,
                    last_unmatched: s.last_unmatched,
                    total_matched: s.total_matched,
                    total_unmatched: s.total_unmatched,
                }
            })
            .collect(),
    ))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SyncQueuedOut {
    /// Gateway accounts whose sync job was queued.
    pub queued: usize,
}

/// "Sync now": queues a sync of every configured gateway account.
#[utoipa::path(post, path = "/api/v1/payments/sync", responses((status = 202, body = SyncQueuedOut), (status = 403, body = crate::error::ErrorBody)))]
pub async fn sync_now(State(st): State<WebState>, caller: ApiCaller) -> Result<Response, ApiError> {
    caller.require(Permission::PaymentsWrite)?;
    let queued = st.app.queue_payment_sync_now(&caller.actor()).await?;
    Ok((StatusCode::ACCEPTED, Json(SyncQueuedOut { queued })).into_response())
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TestOut {
    pub ok: bool,
    /// What worked, or the gateway's specific error.
    pub message: String,
}

/// "Test connection": one cheap authenticated call to the gateway (stripe, paypal, plisio).
#[utoipa::path(post, path = "/api/v1/payment-gateways/{gateway}/test", params(("gateway" = String, Path)), responses((status = 200, body = TestOut), (status = 404, body = crate::error::ErrorBody)))]
pub async fn test_gateway(
    State(st): State<WebState>,
    caller: ApiCaller,
    Path(gateway): Path<String>,
) -> Result<Json<TestOut>, ApiError> {
    caller.require(Permission::SettingsWrite)?;
    match st.app.test_payment_gateway(&caller.actor(), &gateway).await {
        Ok(message) => Ok(Json(TestOut { ok: true, message })),
        Err(boxoffice_app::AppError::NotFound(w)) => {
            Err(boxoffice_app::AppError::NotFound(w).into())
        }
        Err(e) => Ok(Json(TestOut {
            ok: false,
            message: e.to_string(),
        })),
    }
}
