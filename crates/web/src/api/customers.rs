//! Manual invite and the customer detail over the JSON API. The invite writes the customer,
//! payment and share at once and queues the media work, so it answers 201 before any server is
//! called; the share's state and last error show on the customer.

use super::auth::ApiCaller;
use crate::{ApiError, WebState};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use boxoffice_app::subscriptions::{CustomerStatus, InviteInput};
use boxoffice_domain::Permission;
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
    pub payments: Vec<PaymentOut>,
    pub shares: Vec<ShareOut>,
    pub events: Vec<EventOut>,
}

/// Invites a customer manually: customer (found by e-mail or created), payment, share and audit
/// in one transaction; the invite itself is a queued job.
#[utoipa::path(post, path = "/api/v1/invites", request_body = InviteIn, responses((status = 201, body = InviteOut), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn invite(
    State(st): State<WebState>,
    caller: ApiCaller,
    Json(b): Json<InviteIn>,
) -> Result<(StatusCode, Json<InviteOut>), ApiError> {
    caller.require(Permission::UsersWrite)?;
    caller.require(Permission::PaymentsWrite)?;
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
    let d = st.app.customer_detail(id).await?;
    let status = match d.status {
        CustomerStatus::Permanent => "permanent",
        CustomerStatus::Active => "active",
        CustomerStatus::Expired => "expired",
    };
    Ok(Json(CustomerOut {
        id: d.customer.id,
        email: d.customer.email,
        permanent: d.customer.permanent,
        plan_id: d.customer.plan_id,
        covered_until: d.customer.covered_until,
        status: status.into(),
        payments: d
            .payments
            .into_iter()
            .map(|p| PaymentOut {
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
            })
            .collect(),
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
    }))
}
