//! Request ids, traces and the HTTP metrics.

use crate::WebState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use boxoffice_app::metrics::labels;
use std::time::Instant;
use tower_http::request_id::{MakeRequestId, RequestId};
use tower_http::trace::TraceLayer;

#[derive(Clone, Copy, Default)]
pub struct RandomRequestId;

impl MakeRequestId for RandomRequestId {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        let mut b = [0u8; 8];
        getrandom::fill(&mut b).ok()?;
        HeaderValue::from_str(&hex::encode(b))
            .ok()
            .map(RequestId::new)
    }
}

pub fn trace_layer() -> TraceLayer<
    tower_http::classify::SharedClassifier<tower_http::classify::ServerErrorsAsFailures>,
    impl Fn(&axum::http::Request<axum::body::Body>) -> tracing::Span + Clone,
> {
    TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<axum::body::Body>| {
        let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
        tracing::info_span!("request", request_id = %id, method = %req.method(), path = %loggable_path(req.uri().path()))
    })
}

/// The path as logs may keep it: the one-time tokens in setup and password links are secrets.
pub fn loggable_path(path: &str) -> std::borrow::Cow<'_, str> {
    for prefix in [
        "/setup/",
        "/media-password/",
        "/register/confirm/",
        "/password/reset/",
    ] {
        if let Some(rest) = path.strip_prefix(prefix) {
            let tail = rest.find('/').map_or("", |i| &rest[i..]);
            return format!("{prefix}<token>{tail}").into();
        }
    }
    path.into()
}

pub async fn record(State(state): State<WebState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let method = req.method().to_string();
    let started = Instant::now();
    let resp = next.run(req).await;
    let status = resp.status().as_u16().to_string();
    let m = &state.app.metrics;
    m.inc(
        "boxoffice_http_requests_total",
        labels(&[("method", &method), ("route", &route), ("status", &status)]),
    );
    m.observe(
        "boxoffice_http_request_duration_seconds",
        labels(&[("method", &method), ("route", &route)]),
        started.elapsed().as_secs_f64(),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::loggable_path;

    #[test]
    fn one_time_link_tokens_never_reach_the_log() {
        assert_eq!(
            loggable_path("/media-password/abc123/new-link"),
            "/media-password/<token>/new-link"
        );
        assert_eq!(loggable_path("/setup/abc123"), "/setup/<token>");
        assert_eq!(
            loggable_path("/register/confirm/abc123"),
            "/register/confirm/<token>"
        );
        assert_eq!(
            loggable_path("/password/reset/abc123"),
            "/password/reset/<token>"
        );
        assert_eq!(loggable_path("/admin/users/7"), "/admin/users/7");
    }
}
