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

/// Percent-decodes one `application/x-www-form-urlencoded` key or value (`+` is a space).
fn percent_decode(raw: &[u8]) -> Vec<u8> {
    let hex = |b: u8| match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    };
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < raw.len() => match (hex(raw[i + 1]), hex(raw[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    out
}

/// The name of the first field whose name or value is not UTF-8 once decoded.
pub fn first_non_utf8(encoded: &[u8]) -> Option<String> {
    encoded.split(|b| *b == b'&').find_map(|pair| {
        let mut kv = pair.splitn(2, |b| *b == b'=');
        let key = percent_decode(kv.next().unwrap_or_default());
        let value = percent_decode(kv.next().unwrap_or_default());
        let bad = std::str::from_utf8(&key).is_err() || std::str::from_utf8(&value).is_err();
        bad.then(|| String::from_utf8_lossy(&key).into_owned())
    })
}

/// Refuses a form (or a query string) carrying text that is not UTF-8, before any handler sees
/// it: decoding it would turn each bad byte into U+FFFD and store that in place of the text.
pub async fn require_utf8(
    axum::extract::State(st): axum::extract::State<crate::WebState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    use axum::body::{Body, to_bytes};
    use axum::response::IntoResponse;
    let refuse = |field: String| {
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            axum::response::Html(super::simple_page(
                "Not saved",
                &format!(
                    "The form sent \"{field}\" with text that is not valid UTF-8, so nothing was saved. Go back, type or paste the text again and resend the form."
                ),
            )),
        )
            .into_response()
    };
    if let Some(field) = req.uri().query().and_then(|q| first_non_utf8(q.as_bytes())) {
        return refuse(field);
    }
    let is_form = req
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let bytes = match to_bytes(body, st.opts.max_body_bytes).await {
        Ok(b) => b,
        Err(_) => {
            return (
                StatusCode::PAYLOAD_TOO_LARGE,
                axum::response::Html(super::simple_page(
                    "Too large",
                    "The form was larger than this site accepts.",
                )),
            )
                .into_response();
        }
    };
    if let Some(field) = first_non_utf8(&bytes) {
        return refuse(field);
    }
    next.run(axum::extract::Request::from_parts(parts, Body::from(bytes)))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_field_with_bytes_that_are_not_utf8_is_named() {
        assert_eq!(first_non_utf8(b"a=1&name=caf%C3%A9+bar"), None);
        assert_eq!(
            first_non_utf8(b"csrf=x&general.site_name=%FF%FE"),
            Some("general.site_name".into())
        );
        assert_eq!(
            first_non_utf8(b"q=100%25&x=%"),
            None,
            "a lone % is kept as text"
        );
    }
}
