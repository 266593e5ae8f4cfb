//! Failures no handler wrote (an extractor refusing the body, query or path, the body-size
//! limit, a method the route does not have, the request timeout) arrive as plain text or no
//! body at all. They are rewritten here in the kind of the address: under `/api/` the one JSON
//! shape `{"error":{"code","message","field"}}`, elsewhere a page.

use crate::WebState;
use crate::error::{ErrorBody, ErrorDetail};
use axum::body::to_bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};

/// Long enough for any rejection text axum writes; a longer body is not a rejection.
const MAX_REJECTION_TEXT: usize = 16 * 1024;

pub async fn answer_in_kind(State(st): State<WebState>, req: Request, next: Next) -> Response {
    let api = req.uri().path().starts_with("/api/");
    let resp = next.run(req).await;
    let status = resp.status();
    let content_type = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    // Only plain text or nothing: JSON, pages and files were written on purpose.
    let unwritten = content_type.is_empty() || content_type.starts_with("text/plain");
    if !(status.is_client_error() || status.is_server_error()) || !unwritten {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let text = match to_bytes(body, MAX_REJECTION_TEXT).await {
        Ok(b) => String::from_utf8_lossy(&b).trim().to_string(),
        Err(_) => String::new(),
    };
    let (code, message, field) = describe(status, &text, st.opts.max_body_bytes);
    let mut out = if api {
        json(status, code, message, field)
    } else {
        let title = if status.is_server_error() {
            "Something went wrong"
        } else {
            "Not accepted"
        };
        (status, Html(crate::pages::simple_page(title, &message))).into_response()
    };
    // Keep what the original answer said about retrying or the allowed methods.
    for name in [header::RETRY_AFTER, header::ALLOW, header::WWW_AUTHENTICATE] {
        if let Some(v) = parts.headers.get(&name) {
            out.headers_mut().insert(name, v.clone());
        }
    }
    out
}

fn json(status: StatusCode, code: &str, message: String, field: Option<String>) -> Response {
    let mut out = (
        status,
        axum::Json(ErrorBody {
            error: ErrorDetail {
                code: code.to_string(),
                message,
                field,
            },
        }),
    )
        .into_response();
    out.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    out
}

/// The code, a message that says what to do, and the field when the text names one.
fn describe(
    status: StatusCode,
    text: &str,
    max_body: usize,
) -> (&'static str, String, Option<String>) {
    const JSON_DATA: &str = "Failed to deserialize the JSON body into the target type: ";
    const JSON_SYNTAX: &str = "Failed to parse the request body as JSON: ";
    const QUERY: &str = "Failed to deserialize query string: ";
    const FORM: &str = "Failed to deserialize form body: ";
    match status {
        StatusCode::UNPROCESSABLE_ENTITY => {
            let detail = text
                .strip_prefix(JSON_DATA)
                .or_else(|| text.strip_prefix(QUERY))
                .or_else(|| text.strip_prefix(FORM))
                .unwrap_or(text);
            let field = field_of(detail);
            let message = if detail.is_empty() {
                "The request could not be understood.".to_string()
            } else {
                detail.to_string()
            };
            ("invalid", message, field)
        }
        StatusCode::BAD_REQUEST => {
            if let Some(d) = text.strip_prefix(JSON_SYNTAX) {
                ("malformed_json", format!("The body is not valid JSON: {d}"), None)
            } else if let Some(d) = text.strip_prefix(QUERY) {
                ("invalid", d.to_string(), field_of(d))
            } else if let Some(d) = text.strip_prefix("Invalid URL: ") {
                ("invalid_path", format!("This address is not valid: {d}"), None)
            } else {
                ("bad_request", non_empty(text, "The request could not be understood."), None)
            }
        }
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "unsupported_media_type",
            non_empty(text, "This body's Content-Type is not accepted here."),
            None,
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (
            "too_large",
            format!(
                "The request body is larger than the {max_body} bytes this site accepts (web.max_body_bytes)."
            ),
            None,
        ),
        StatusCode::METHOD_NOT_ALLOWED => (
            "method_not_allowed",
            "This endpoint does not take that method; the Allow header lists the ones it does."
                .to_string(),
            None,
        ),
        StatusCode::REQUEST_TIMEOUT => (
            "timeout",
            "The request took too long and was stopped; nothing may have been changed. Try again."
                .to_string(),
            None,
        ),
        StatusCode::NOT_FOUND => ("not_found", non_empty(text, "Not found."), None),
        StatusCode::UNAUTHORIZED => ("unauthorized", non_empty(text, "Not authenticated."), None),
        StatusCode::FORBIDDEN => ("forbidden", non_empty(text, "Not allowed."), None),
        StatusCode::TOO_MANY_REQUESTS => ("throttled", non_empty(text, "Too many requests."), None),
        s if s.is_server_error() => (
            "internal",
            "Something went wrong on our side. The error is in the server log with this request's id."
                .to_string(),
            None,
        ),
        _ => ("bad_request", non_empty(text, "The request was refused."), None),
    }
}

fn non_empty(text: &str, default: &str) -> String {
    if text.is_empty() {
        default.to_string()
    } else {
        text.to_string()
    }
}

/// The field a deserialisation message is about: its path prefix (`plan_id: invalid type …`,
/// `settings.allowSync: …`) or the field it names (missing field `email`).
fn field_of(detail: &str) -> Option<String> {
    for marker in ["missing field `", "unknown field `", "duplicate field `"] {
        if let Some(rest) = detail.split(marker).nth(1) {
            return rest.split('`').next().map(str::to_string);
        }
    }
    let (path, _) = detail.split_once(": ")?;
    let is_path = !path.is_empty()
        && path
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '[' | ']' | '-'));
    is_path.then(|| path.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_field_is_read_from_serdes_messages() {
        assert_eq!(
            field_of("plan_id: invalid type: string \"x\", expected i64 at line 1 column 15"),
            Some("plan_id".into())
        );
        assert_eq!(
            field_of("missing field `email` at line 1 column 2"),
            Some("email".into())
        );
        assert_eq!(field_of("EOF while parsing an object"), None);
    }

    #[test]
    fn a_body_too_large_names_the_limit() {
        let (code, message, _) =
            describe(StatusCode::PAYLOAD_TOO_LARGE, "length limit exceeded", 1000);
        assert_eq!(code, "too_large");
        assert!(message.contains("1000 bytes"), "{message}");
    }
}
