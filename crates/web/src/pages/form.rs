//! Reading admin forms posted as key/value lists: checkboxes send a value only when ticked, so
//! absence means off.

use axum::http::StatusCode;
use axum::response::Response;

pub type Fields = Vec<(String, String)>;

pub fn text(f: &Fields, key: &str) -> String {
    f.iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_default()
}

/// A secret as typed: not trimmed, since a space may be part of it.
pub fn secret(f: &Fields, key: &str) -> String {
    f.iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

pub fn flag(f: &Fields, key: &str) -> bool {
    f.iter()
        .any(|(k, v)| k == key && matches!(v.as_str(), "true" | "on" | "1"))
}

pub fn int(f: &Fields, key: &str) -> Option<i64> {
    text(f, key).parse().ok()
}

pub fn with_status(mut r: Response, s: StatusCode) -> Response {
    *r.status_mut() = s;
    r
}

/// The status a failed form action answers with: the caller's mistake is 422, a media server's
/// refusal 502, anything else as classified for the API.
pub fn failure_status(e: &boxoffice_app::AppError) -> StatusCode {
    crate::error::classify(e).0
}

pub fn opt_time(t: Option<i64>) -> String {
    t.map(super::admin::fmt_time)
        .unwrap_or_else(|| "never".into())
}
