use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use boxoffice_app::AppError;
use boxoffice_store::StoreError;
use serde::Serialize;

/// The one JSON error shape of the API: `{"error":{"code","message","field"}}`.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<&'static str>,
    pub retry_after: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// A stable machine-readable code, e.g. `invalid`, `not_found`, `unauthorized`.
    pub code: String,
    pub message: String,
    /// The request field the error is about, when there is one.
    pub field: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            field: None,
            retry_after: None,
        }
    }

    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Send an API token as `Authorization: Bearer bo_…`; create one with `boxoffice admin token create`.",
        )
    }
}

/// Maps use-case failures to HTTP: the caller's fault is 4xx with the reason, ours is 5xx with a
/// request id to quote, and a database outage is 503, never 404.
pub fn classify(e: &AppError) -> (StatusCode, &'static str) {
    match e {
        AppError::Invalid { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
        AppError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
        AppError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
        AppError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
        AppError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
        AppError::Throttled { .. } => (StatusCode::TOO_MANY_REQUESTS, "throttled"),
        AppError::Busy { .. } => (StatusCode::SERVICE_UNAVAILABLE, "busy"),
        // The media server's failure, not ours: its message says what to do, so it is shown.
        AppError::Media(_) => (StatusCode::BAD_GATEWAY, "media_server"),
        // Likewise the SMTP server's or Discord's answer.
        AppError::Delivery { .. } => (StatusCode::BAD_GATEWAY, "delivery"),
        AppError::Store(StoreError::Unavailable(_)) => {
            (StatusCode::SERVICE_UNAVAILABLE, "unavailable")
        }
        _ => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
    }
}

/// The seconds a caller should wait before trying again, for the failures that have one.
pub fn retry_after_of(e: &AppError) -> Option<i64> {
    match e {
        AppError::Throttled { retry_after } | AppError::Busy { retry_after } => Some(*retry_after),
        _ => None,
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        let (status, code) = classify(&e);
        let field = match &e {
            AppError::Invalid { field, .. } => Some(*field),
            _ => None,
        };
        let retry_after = retry_after_of(&e);
        let message = if matches!(
            e,
            AppError::Media(_) | AppError::Delivery { .. } | AppError::Busy { .. }
        ) {
            e.to_string()
        } else if status.is_server_error() {
            tracing::error!(error = ?e, "request failed");
            if status == StatusCode::SERVICE_UNAVAILABLE {
                "The database is unavailable. Try again shortly.".to_string()
            } else {
                "Something went wrong on our side. The error is in the server log with this request's id.".to_string()
            }
        } else {
            e.to_string()
        };
        Self {
            status,
            code,
            message,
            field,
            retry_after,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_string(),
                message: self.message,
                field: self.field.map(str::to_string),
            },
        };
        let mut r = (self.status, Json(body)).into_response();
        if let Some(s) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&s.max(1).to_string())
        {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        r
    }
}
