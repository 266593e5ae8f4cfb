//! `Idempotency-Key` on API writes (docs/api.md): the first request with a key runs and its answer
//! is saved; a repeat (same token, method, path and body) gets that answer back with
//! `Idempotent-Replayed: true` and changes nothing. Requests without the header run as usual.

use crate::{ApiError, WebState};
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use boxoffice_app::idempotency::{Claim, request_hash, scope_for, valid_key};

const HEADER: &str = "idempotency-key";
/// Largest request or answer kept for a replay; larger answers are not replayable.
const BODY_MAX: usize = 64 * 1024 * 1024;

pub async fn replay(State(st): State<WebState>, req: Request, next: Next) -> Response {
    let write = matches!(
        *req.method(),
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    );
    let Some(key) = req.headers().get(HEADER).filter(|_| write) else {
        return next.run(req).await;
    };
    let key = match key.to_str() {
        Ok(k) if valid_key(k) => k.to_string(),
        _ => {
            return field_error("Idempotency-Key must be 1 to 255 visible ASCII characters.");
        }
    };
    // Keys are per credential; a request without one is refused by its handler as usual.
    let Some(credential) = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
    else {
        return next.run(req).await;
    };
    let (parts, body) = req.into_parts();
    let bytes = match to_bytes(body, BODY_MAX).await {
        Ok(b) => b,
        Err(_) => {
            return ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                "The request body is too large.",
            )
            .into_response();
        }
    };
    let target = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path().to_string(), |p| p.as_str().to_string());
    let scope = scope_for(&credential);
    let hash = request_hash(parts.method.as_str(), &target, &bytes);
    match st.app.claim_idempotent(&scope, &key, &hash).await {
        Ok(Claim::Run) => {}
        Ok(Claim::Replay { status, body }) => return replayed(status, body),
        Ok(Claim::InFlight) => {
            return ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                "A request with this Idempotency-Key is still being processed; retry it in a moment.",
            )
            .into_response();
        }
        Ok(Claim::Mismatch) => {
            return field_error(
                "This Idempotency-Key was already used with another request (method, path or body); use a new key for a new request.",
            );
        }
        Err(e) => return ApiError::from(e).into_response(),
    }
    let res = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    let status = res.status();
    // Refused credentials and server errors changed nothing: the key is given back so a retry
    // runs for real instead of replaying the failure.
    if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN)
        || status.is_server_error()
    {
        if let Err(e) = st.app.release_idempotent(&scope, &key).await {
            tracing::warn!(error = %e, "idempotency key not released");
        }
        return res;
    }
    let (parts, body) = res.into_parts();
    let saved = match to_bytes(body, BODY_MAX).await {
        Ok(b) => b,
        Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    };
    match std::str::from_utf8(&saved) {
        Ok(text) => {
            if let Err(e) = st
                .app
                .finish_idempotent(&scope, &key, status.as_u16(), text)
                .await
            {
                tracing::warn!(error = %e, "idempotency answer not saved");
            }
        }
        Err(_) => {
            if let Err(e) = st.app.release_idempotent(&scope, &key).await {
                tracing::warn!(error = %e, "idempotency key not released");
            }
        }
    }
    Response::from_parts(parts, Body::from(saved))
}

fn replayed(status: u16, body: String) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    let empty = body.is_empty();
    let mut r = (status, body).into_response();
    let h = r.headers_mut();
    if !empty {
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    }
    h.insert("idempotent-replayed", HeaderValue::from_static("true"));
    r
}

fn field_error(message: &'static str) -> Response {
    let mut e = ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message);
    e.field = Some("Idempotency-Key");
    e.into_response()
}
