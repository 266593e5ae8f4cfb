//! Manual invite and the customer detail over the JSON API. The invite writes the customer,
//! payment and share at once and queues the media work, so it answers 201 before any server is
//! called; the share's state and last error show on the customer.

use super::auth::{ApiCaller, Authorized, need};
use crate::{ApiError, WebState};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use boxoffice_app::auth::Principal;
use boxoffice_app::subscriptions::{CustomerEdit, CustomerStatus, InviteInput, RenewInput};
use boxoffice_domain::Permission;
use boxoffice_store::payments::PaymentRow;
use serde::{Deserialize, Serialize};

#[derive(Deserialize, utoipa::ToSchema)]
pub struct InviteIn {
    /// Plex e-mail, or the Jellyfin/Emby user name or e-mail.
    pub email: String,
    pub plan_id: i64,
    /// The server to invite to; when absent the server is selected as for a subscription.
    pub server_id: Option<i64>,
    /// Plan durations bought (default 1).
    pub quantity: Option<u32>,
    /// Minor units; default quantity × the plan's cost.
    pub amount_minor: Option<i64>,
    /// Unique with the sequence; generated when absent. Sending the same one again is a safe retry.
    pub transaction_id: Option<String>,
    /// Default 1; splits one transaction over several customers.
    pub sequence: Option<i64>,
    pub subscription_id: Option<String>,
    pub paypal_email: Option<String>,
    pub permanent: Option<bool>,
    /// The money was already taken (a gateway payment imported by its transaction id): when no
    /// server has room, record it anyway and let the customer wait, shown as
    /// `waiting_for_server` and placed by a job once a server has room. Without it such an
    /// invite is refused with 409 and nothing is written.
    #[serde(default)]
    pub wait_for_server: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct InviteOut {
    pub customer_id: i64,
    pub payment_id: i64,
    pub transaction_id: String,
    pub period_from: i64,
    pub period_to: i64,
    pub share_id: Option<i64>,
    pub server_id: Option<i64>,
    /// "There are no servers with capacity that accomodate plan …" when nothing could take it.
    pub no_capacity: Option<String>,
    /// Set when the customer is flagged for a Plex account change: paid for, not invited to
    /// the Plex server until they give a new Plex account.
    pub awaiting_plex_change: Option<String>,
    /// True when this transaction id had already been recorded for this customer.
    pub replayed: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct PaymentOut {
    pub id: i64,
    pub plan_id: i64,
    pub amount_minor: i64,
    pub currency: String,
    /// Coverage is [period_from, period_to), Unix seconds.
    pub period_from: i64,
    pub period_to: i64,
    pub method: String,
    pub transaction_id: String,
    pub sequence: i64,
    pub notes: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ShareOut {
    pub id: i64,
    pub server_id: i64,
    /// pending, invited, active, grace or removed.
    pub state: String,
    pub library_ids: Vec<i64>,
    pub downloads: bool,
    pub video_transcoding: bool,
    pub stream_limit: Option<i64>,
    pub applied_at: Option<i64>,
    /// False while a change waits for its job.
    pub applied: bool,
    pub last_error: Option<String>,
    pub delete_after: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct EventOut {
    pub at: i64,
    pub kind: String,
    pub message: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CustomerOut {
    pub id: i64,
    pub email: String,
    pub permanent: bool,
    pub plan_id: Option<i64>,
    pub covered_until: Option<i64>,
    /// permanent, active or expired: derived from payments, never stored.
    pub status: String,
    /// Only for a caller with `payments.read`; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payments: Option<Vec<PaymentOut>>,
    pub shares: Vec<ShareOut>,
    pub events: Vec<EventOut>,
    /// Paid, waiting for a server: set while no server has room for the plan; a job retries.
    pub waiting_for_server: Option<WaitingOut>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct WaitingOut {
    /// Waiting since (Unix seconds).
    pub since: i64,
    /// Why no server took them at the last try.
    pub message: String,
    pub tried_at: i64,
}

/// Invites a customer manually: customer (found by e-mail or created), payment, share and audit
/// in one transaction; the invite itself is a queued job.
#[utoipa::path(post, path = "/api/v1/invites", request_body = InviteIn, responses((status = 201, body = InviteOut), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn invite(
    State(st): State<WebState>,
    caller: Authorized<need::UsersAndPaymentsWrite>,
    Json(b): Json<InviteIn>,
) -> Result<(StatusCode, Json<InviteOut>), ApiError> {
    let o = st
        .app
        .invite(
            &caller.actor(),
            InviteInput {
                email: b.email,
                plan_id: b.plan_id,
                server_id: b.server_id,
                quantity: b.quantity,
                amount_minor: b.amount_minor,
                transaction_id: b.transaction_id,
                sequence: b.sequence,
                subscription_id: b.subscription_id,
                paypal_email: b.paypal_email,
                permanent: b.permanent,
                wait_for_server: b.wait_for_server,
                ..InviteInput::default()
            },
        )
        .await?;
    let status = if o.replayed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((
        status,
        Json(InviteOut {
            customer_id: o.customer_id,
            payment_id: o.payment_id,
            transaction_id: o.transaction_id,
            period_from: o.period_from,
            period_to: o.period_to,
            share_id: o.share_id,
            server_id: o.server_id,
            no_capacity: o.no_capacity,
            awaiting_plex_change: o.awaiting_plex_change,
            replayed: o.replayed,
        }),
    ))
}

#[utoipa::path(get, path = "/api/v1/customers/{id}", params(("id" = i64, Path, description = "Customer id")), responses((status = 200, body = CustomerOut), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get_one(
    State(st): State<WebState>,
    caller: ApiCaller,
    Path(id): Path<i64>,
) -> Result<Json<CustomerOut>, ApiError> {
    caller.require(Permission::UsersRead)?;
    customer_out(&st, &caller, id).await.map(Json)
}

/// A customer's payments, newest coverage last; needs `payments.read`.
#[utoipa::path(get, path = "/api/v1/customers/{id}/payments", params(("id" = i64, Path, description = "Customer id")), responses((status = 200, body = [PaymentOut]), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn payments(
    State(st): State<WebState>,
    caller: ApiCaller,
    Path(id): Path<i64>,
) -> Result<Json<Vec<PaymentOut>>, ApiError> {
    caller.require(Permission::UsersRead)?;
    caller.require(Permission::PaymentsRead)?;
    let d = st.app.customer_detail(id).await?;
    Ok(Json(d.payments.into_iter().map(payment_out).collect()))
}

fn payment_out(p: PaymentRow) -> PaymentOut {
    PaymentOut {
        id: p.id,
        plan_id: p.plan_id,
        amount_minor: p.amount_minor,
        currency: p.currency,
        period_from: p.period_from,
        period_to: p.period_to,
        method: p.method,
        transaction_id: p.transaction_id,
        sequence: p.sequence,
        notes: p.notes,
    }
}

async fn customer_out(st: &WebState, caller: &ApiCaller, id: i64) -> Result<CustomerOut, ApiError> {
    let d = st.app.customer_detail(id).await?;
    let status = match d.status {
        CustomerStatus::Permanent => "permanent",
        CustomerStatus::Active => "active",
        CustomerStatus::Expired => "expired",
    };
    Ok(CustomerOut {
        id: d.customer.id,
        email: d.customer.email,
        permanent: d.customer.permanent,
        plan_id: d.customer.plan_id,
        covered_until: d.customer.covered_until,
        status: status.into(),
        payments: caller
            .0
            .can(Permission::PaymentsRead)
            .then(|| d.payments.into_iter().map(payment_out).collect()),
        shares: d
            .shares
            .into_iter()
            .map(|s| ShareOut {
                id: s.id,
                server_id: s.server_id,
                library_ids: s.library_ids(),
                applied: s.is_applied(),
                state: s.state,
                downloads: s.downloads,
                video_transcoding: s.video_transcoding,
                stream_limit: s.stream_limit,
                applied_at: s.applied_at,
                last_error: s.last_error,
                delete_after: s.delete_after,
            })
            .collect(),
        events: d
            .events
            .into_iter()
            .map(|e| EventOut {
                at: e.at,
                kind: e.kind,
                message: e.message,
            })
            .collect(),
        waiting_for_server: d.waiting_for_server.map(|w| WaitingOut {
            since: w.since,
            message: w.message,
            tried_at: w.tried_at,
        }),
    })
}

/// A renewal: another manual payment for the customer.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct RenewIn {
    /// Default: the customer's current plan.
    pub plan_id: Option<i64>,
    /// Plan durations bought (default 1).
    pub quantity: Option<u32>,
    /// Minor units; default quantity × the plan's cost.
    pub amount_minor: Option<i64>,
    /// Unique with the sequence; generated when absent. Sending the same one again is a safe retry.
    pub transaction_id: Option<String>,
    pub sequence: Option<i64>,
}

/// Records a payment starting at max(now, coverage end) and applies the share (as a job).
#[utoipa::path(post, path = "/api/v1/customers/{id}/payments", params(("id" = i64, Path, description = "Customer id")), request_body = RenewIn, responses((status = 201, body = InviteOut), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn renew(
    State(st): State<WebState>,
    caller: Authorized<need::UsersAndPaymentsWrite>,
    Path(id): Path<i64>,
    Json(b): Json<RenewIn>,
) -> Result<(StatusCode, Json<InviteOut>), ApiError> {
    let o = st
        .app
        .renew(
            &caller.actor(),
            id,
            RenewInput {
                plan_id: b.plan_id,
                quantity: b.quantity,
                amount_minor: b.amount_minor,
                transaction_id: b.transaction_id,
                sequence: b.sequence,
                ..RenewInput::default()
            },
        )
        .await?;
    let status = if o.replayed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((
        status,
        Json(InviteOut {
            customer_id: o.customer_id,
            payment_id: o.payment_id,
            transaction_id: o.transaction_id,
            period_from: o.period_from,
            period_to: o.period_to,
            share_id: o.share_id,
            server_id: o.server_id,
            no_capacity: o.no_capacity,
            awaiting_plex_change: o.awaiting_plex_change,
            replayed: o.replayed,
        }),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct PlanChangeIn {
    pub plan_id: i64,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct PlanChangeOut {
    pub payment_id: i64,
    /// The unused part of the running payment, in minor units, carried to the new plan.
    pub credit_minor: i64,
    /// The credit note, also kept on the new payment.
    pub note: String,
    pub period_to: i64,
    pub no_capacity: Option<String>,
}

/// Changes plan now: the running payment is cut with a credit note, a new payment starts.
#[utoipa::path(post, path = "/api/v1/customers/{id}/plan", params(("id" = i64, Path, description = "Customer id")), request_body = PlanChangeIn, responses((status = 200, body = PlanChangeOut), (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn change_plan(
    State(st): State<WebState>,
    caller: Authorized<need::UsersAndPaymentsWrite>,
    Path(id): Path<i64>,
    Json(b): Json<PlanChangeIn>,
) -> Result<Json<PlanChangeOut>, ApiError> {
    let o = st.app.change_plan(&caller.actor(), id, b.plan_id).await?;
    Ok(Json(PlanChangeOut {
        payment_id: o.payment_id,
        credit_minor: o.credit_minor,
        note: o.note,
        period_to: o.period_to,
        no_capacity: o.no_capacity,
    }))
}

/// Ends paid coverage now; the next expiry pass takes the shares away.
#[utoipa::path(post, path = "/api/v1/customers/{id}/cancel", params(("id" = i64, Path, description = "Customer id")), responses((status = 204), (status = 404, body = crate::error::ErrorBody)))]
pub async fn cancel(
    State(st): State<WebState>,
    caller: ApiCaller,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    caller.require(Permission::UsersWrite)?;
    st.app.cancel_subscription(&caller.actor(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Deletes the customer: every share is removed from its server first (jobs), then the row.
#[utoipa::path(delete, path = "/api/v1/customers/{id}", params(("id" = i64, Path, description = "Customer id")), responses((status = 202), (status = 404, body = crate::error::ErrorBody)))]
pub async fn delete(
    State(st): State<WebState>,
    caller: ApiCaller,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    caller.require(Permission::UsersWrite)?;
    st.app.delete_customer(&caller.actor(), id).await?;
    Ok(StatusCode::ACCEPTED)
}

/// Fields to change; absent ones keep their value.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct CustomerPatch {
    pub email: Option<String>,
    pub display_name: Option<String>,
    /// Changing it removes the old identity's Plex share and invites the new one (jobs).
    pub plex_email: Option<String>,
    pub plex_username: Option<String>,
    /// Changing it removes the old Jellyfin user and creates the new one (jobs).
    pub jellyfin_username: Option<String>,
    /// Changing it removes the old Emby user and creates the new one (jobs).
    pub emby_username: Option<String>,
    pub paypal_email: Option<String>,
    pub notes: Option<String>,
    pub permanent: Option<bool>,
}

/// Edits the profile and media identities (operations §6.7).
#[utoipa::path(patch, path = "/api/v1/customers/{id}", params(("id" = i64, Path, description = "Customer id")), request_body = CustomerPatch, responses((status = 200, body = CustomerOut), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn update(
    State(st): State<WebState>,
    caller: Authorized<need::UsersWrite>,
    Path(id): Path<i64>,
    Json(b): Json<CustomerPatch>,
) -> Result<Json<CustomerOut>, ApiError> {
    st.app
        .edit_customer(
            &caller.actor(),
            id,
            &CustomerEdit {
                email: b.email,
                display_name: b.display_name,
                plex_email: b.plex_email,
                plex_username: b.plex_username,
                jellyfin_username: b.jellyfin_username,
                emby_username: b.emby_username,
                paypal_email: b.paypal_email,
                notes: b.notes,
                permanent: b.permanent,
            },
        )
        .await?;
    customer_out(&st, &caller, id).await.map(Json)
}
