//! Reading loosely typed provider JSON by pointer.

use serde_json::Value;

pub(crate) fn s(v: &Value, ptr: &str) -> Option<String> {
    match v.pointer(ptr)? {
        Value::String(x) if !x.is_empty() => Some(x.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

pub(crate) fn i(v: &Value, ptr: &str) -> Option<i64> {
    match v.pointer(ptr)? {
        Value::Number(n) => n.as_i64(),
        Value::String(x) => x.trim().parse().ok(),
        _ => None,
    }
}

pub(crate) fn b(v: &Value, ptr: &str) -> Option<bool> {
    v.pointer(ptr)?.as_bool()
}

/// An id that may be a bare string or an expanded object with an `id`.
pub(crate) fn id(v: &Value, ptr: &str) -> Option<String> {
    let x = v.pointer(ptr)?;
    match x {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Object(_) => s(x, "/id"),
        _ => None,
    }
}

/// RFC 3339 to unix seconds.
pub(crate) fn rfc3339(v: &Value, ptr: &str) -> Option<i64> {
    let t = s(v, ptr)?;
    time::OffsetDateTime::parse(&t, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp())
}

pub(crate) fn fmt_rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}
