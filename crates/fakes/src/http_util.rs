//! Small request/response helpers shared by the fakes.

use std::collections::HashMap;

use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

/// Decoded query parameters (`+` is a space, percent escapes decoded). Keys keep
/// their case; lookups that must be case-insensitive use [`q_get`].
pub fn query_map(uri: &Uri) -> HashMap<String, String> {
    let mut m = HashMap::new();
    for pair in uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
    {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        m.insert(decode(k), decode(v));
    }
    m
}

/// All values of a repeated query key, case-insensitively (`id=a&id=b`, or `id=a,b`).
pub fn query_all(uri: &Uri, key: &str) -> Vec<String> {
    uri.query()
        .unwrap_or("")
        .split('&')
        .filter_map(|p| p.split_once('='))
        .filter(|(k, _)| decode(k).eq_ignore_ascii_case(key))
        .flat_map(|(_, v)| decode(v).split(',').map(str::to_string).collect::<Vec<_>>())
        .filter(|v| !v.is_empty())
        .collect()
}

pub fn decode(s: &str) -> String {
    let s = s.replace('+', " ");
    percent_encoding::percent_decode_str(&s)
        .decode_utf8_lossy()
        .into_owned()
}

/// Case-insensitive query lookup (Jellyfin/Emby bind query names case-insensitively).
pub fn q_get<'a>(q: &'a HashMap<String, String>, key: &str) -> Option<&'a str> {
    q.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v.as_str())
}

pub fn header_str<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

pub fn wants_json(h: &HeaderMap) -> bool {
    header_str(h, "accept").is_some_and(|a| a.contains("application/json"))
}

pub fn xml(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/xml;charset=utf-8")],
        body,
    )
        .into_response()
}

pub fn json(status: StatusCode, v: Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        v.to_string(),
    )
        .into_response()
}

/// Lenient boolean as Plex clients send it: `"1"`/`"0"`, `true`/`false`, 1/0.
pub fn loose_bool(v: Option<&Value>) -> Option<bool> {
    match v? {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => Some(n.as_i64().unwrap_or(0) != 0),
        Value::String(s) => Some(matches!(s.as_str(), "1" | "true" | "True")),
        _ => None,
    }
}

/// Lenient integer: number or numeric string.
pub fn loose_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Parse a JSON request body without trusting it; `None` on malformed input.
pub fn parse_json(body: &[u8]) -> Option<Value> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Some(Value::Object(Default::default()));
    }
    serde_json::from_slice(body).ok()
}
