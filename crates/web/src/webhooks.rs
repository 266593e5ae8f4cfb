//! `/webhooks/stripe`, `/webhooks/paypal`, `/webhooks/plisio`: the gateways' notifications.
//! Authenticated by their signature only: these routes sit outside the session and CSRF layers,
//! and the raw body goes to the use case untouched (signatures are over its exact bytes).
//!
//! Answers: 200 when the event was stored and applied (or had been before); 400 when it is not
//! the provider's (nothing is written); 503 when the gateway is not configured or verification
//! could not reach it, and 500 when our side failed — both make the provider deliver again.

use crate::WebState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use boxoffice_app::payments::{Provider, WebhookRefused};
use serde_json::json;

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/webhooks/stripe", post(stripe))
        .route("/webhooks/paypal", post(paypal))
        .route("/webhooks/plisio", post(plisio))
}

async fn stripe(State(st): State<WebState>, headers: HeaderMap, body: Bytes) -> Response {
    receive(&st, Provider::Stripe, &headers, &body).await
}

async fn paypal(State(st): State<WebState>, headers: HeaderMap, body: Bytes) -> Response {
    receive(&st, Provider::PayPal, &headers, &body).await
}

async fn plisio(State(st): State<WebState>, headers: HeaderMap, body: Bytes) -> Response {
    receive(&st, Provider::Plisio, &headers, &body).await
}

fn refusal(status: StatusCode, code: &str, message: String) -> Response {
    (
        status,
        Json(json!({ "error": { "code": code, "message": message } })),
    )
        .into_response()
}

async fn receive(st: &WebState, provider: Provider, headers: &HeaderMap, body: &[u8]) -> Response {
    match st.app.receive_webhook(provider, headers, body).await {
        Ok(r) => (
            StatusCode::OK,
            Json(json!({
                "received": true,
                "event_id": r.event_id,
                "outcome": r.outcome.as_ref().map_or("duplicate", |o| o.as_str()),
            })),
        )
            .into_response(),
        Err(WebhookRefused::Signature(m)) => {
            tracing::warn!(%provider, reason = %m, "webhook refused");
            refusal(StatusCode::BAD_REQUEST, "bad_signature", m)
        }
        Err(WebhookRefused::NotConfigured(e)) => {
            tracing::warn!(%provider, error = %e, "webhook for a gateway that is not configured");
            refusal(
                StatusCode::SERVICE_UNAVAILABLE,
                "not_configured",
                e.to_string(),
            )
        }
        Err(WebhookRefused::Gateway(e)) => {
            tracing::warn!(%provider, error = %e, "webhook verification could not complete");
            refusal(
                StatusCode::SERVICE_UNAVAILABLE,
                "verification_unavailable",
                e.to_string(),
            )
        }
        Err(WebhookRefused::Failed(e)) => {
            tracing::error!(%provider, error = %e, "webhook could not be applied");
            refusal(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the event could not be recorded; deliver it again".into(),
            )
        }
    }
}
