//! Helpers the payment fakes share: form bodies with bracketed keys, the hosted pages, the
//! webhook control routes.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::webhooks::Dispatcher;
use crate::http_util::decode;

/// `a=1&b=2` decoded, in order (`+` is a space, percent escapes and `%5B`/`%5D` decoded).
pub(crate) fn pairs(s: &str) -> Vec<(String, String)> {
    s.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// Bracketed keys (`line_items[0][price_data][currency]`, `expand[]`) as nested JSON, the way
/// Stripe reads form bodies: numeric or empty segments make arrays.
pub(crate) fn nest(pairs: &[(String, String)]) -> Value {
    let mut root = Value::Object(Map::new());
    for (k, v) in pairs {
        let mut segs: Vec<String> = Vec::new();
        let (head, mut rest) = match k.find('[') {
            Some(i) => (&k[..i], &k[i..]),
            None => (k.as_str(), ""),
        };
        segs.push(head.to_string());
        while let Some(stripped) = rest.strip_prefix('[') {
            let Some(end) = stripped.find(']') else { break };
            segs.push(stripped[..end].to_string());
            rest = &stripped[end + 1..];
        }
        insert(&mut root, &segs, Value::String(v.clone()));
    }
    root
}

fn insert(node: &mut Value, segs: &[String], v: Value) {
    let Some((first, rest)) = segs.split_first() else {
        return;
    };
    let is_index = first.is_empty() || first.bytes().all(|b| b.is_ascii_digit());
    if is_index && node.is_object() && node.as_object().is_some_and(Map::is_empty) {
        *node = Value::Array(Vec::new());
    }
    match node {
        Value::Array(a) => {
            let i = if first.is_empty() {
                a.len()
            } else {
                first.parse().unwrap_or(a.len())
            };
            while a.len() <= i {
                a.push(Value::Object(Map::new()));
            }
            if rest.is_empty() {
                a[i] = v;
            } else {
                insert(&mut a[i], rest, v);
            }
        }
        Value::Object(m) => {
            if rest.is_empty() {
                m.insert(first.clone(), v);
            } else {
                let child = m
                    .entry(first.clone())
                    .or_insert_with(|| Value::Object(Map::new()));
                insert(child, rest, v);
            }
        }
        _ => {}
    }
}

pub(crate) fn now() -> i64 {
    crate::ids::now_secs()
}

pub(crate) fn rfc3339(unix: i64) -> String {
    crate::ids::iso_secs(unix)
}

/// The fake's own origin as the client reached it, for links to hosted pages.
pub(crate) fn origin(h: &HeaderMap) -> String {
    let host = h
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("127.0.0.1");
    format!("http://{host}")
}

pub(crate) fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// A hosted page: what is bought, and one form per button (`action` = the button's value).
pub(crate) fn page(
    provider: &str,
    title: &str,
    lines: &[(String, String)],
    form_action: &str,
    buttons: &[(&str, &str)],
) -> Response {
    let rows: String = lines
        .iter()
        .map(|(k, v)| format!("<tr><th>{}</th><td>{}</td></tr>", esc(k), esc(v)))
        .collect();
    let forms: String = buttons
        .iter()
        .map(|(value, label)| {
            format!(
                r#"<form method="post" action="{}"><input type="hidden" name="action" value="{}"><button type="submit" id="{}">{}</button></form>"#,
                esc(form_action), esc(value), esc(value), esc(label)
            )
        })
        .collect();
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t} · {p} (fake)</title></head><body><main><h1>{t}</h1><p>{p} test page served by boxoffice sandbox: no money moves.</p><table>{rows}</table>{forms}</main></body></html>",
        t = esc(title),
        p = esc(provider)
    );
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        html,
    )
        .into_response()
}

pub(crate) fn message_page(provider: &str, title: &str, text: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title></head><body><h1>{t}</h1><p>{x}</p><p>{p} (fake)</p></body></html>",
        t = esc(title),
        x = esc(text),
        p = esc(provider)
    );
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        html,
    )
        .into_response()
}

pub(crate) fn redirect(url: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, url.to_string())]).into_response()
}

/// The `action` field of a hosted page's form.
pub(crate) fn form_action(body: &str) -> String {
    pairs(body)
        .into_iter()
        .find(|(k, _)| k == "action")
        .map(|(_, v)| v)
        .unwrap_or_default()
}

#[derive(Deserialize)]
struct WebhookPut {
    #[serde(default, deserialize_with = "some")]
    url: Option<Option<String>>,
    #[serde(default)]
    retry_schedule_ms: Option<Vec<u64>>,
}

fn some<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// `GET|PUT /webhook`, `GET|DELETE /deliveries`, `POST /deliveries/retry`.
pub(crate) fn webhook_control(d: Arc<Dispatcher>) -> Router {
    Router::new()
        .route(
            "/webhook",
            get(|State(d): State<Arc<Dispatcher>>| async move { Json(d.settings()) }).put(
                |State(d): State<Arc<Dispatcher>>, Json(b): Json<WebhookPut>| async move {
                    d.configure(b.url, b.retry_schedule_ms);
                    Json(d.settings())
                },
            ),
        )
        .route(
            "/deliveries",
            get(|State(d): State<Arc<Dispatcher>>| async move { Json(d.deliveries()) }).delete(|State(d): State<Arc<Dispatcher>>| async move {
                d.clear();
                StatusCode::NO_CONTENT
            }),
        )
        .route(
            "/deliveries/retry",
            post(|State(d): State<Arc<Dispatcher>>| async move {
                d.retry_now();
                (StatusCode::ACCEPTED, Json(json!({"pending": d.deliveries().iter().filter(|x| x.state == "pending").count()})))
            }),
        )
        .with_state(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bracketed_keys_nest_as_stripe_reads_them() {
        let p = pairs(
            "mode=payment&line_items%5B0%5D%5Bprice_data%5D%5Bcurrency%5D=usd&line_items[0][quantity]=1&metadata[a]=b&expand[]=x&expand[]=y",
        );
        let v = nest(&p);
        assert_eq!(v["line_items"][0]["price_data"]["currency"], "usd");
        assert_eq!(v["line_items"][0]["quantity"], "1");
        assert_eq!(v["metadata"]["a"], "b");
        assert_eq!(v["expand"], json!(["x", "y"]));
    }
}
