use crate::WebState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use std::fmt::Write;

pub fn routes(with_metrics: bool) -> Router<WebState> {
    let r = Router::new().route("/healthz", get(healthz));
    if with_metrics {
        r.merge(metrics_only())
    } else {
        r
    }
}

pub fn metrics_only() -> Router<WebState> {
    Router::new().route("/metrics", get(metrics))
}

/// Whether the request carries the configured `metrics.token` (compared in constant time).
fn metrics_allowed(opts: &crate::WebOptions, headers: &HeaderMap) -> bool {
    let Some(expected) = &opts.metrics_token else {
        return true;
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .unwrap_or("");
    boxoffice_app::crypto::constant_time_eq(given.as_bytes(), expected.as_bytes())
}

async fn healthz(State(s): State<WebState>) -> Response {
    match s.app.db.ping().await {
        Ok(()) => (
            StatusCode::OK,
            Json(json!({"status": "ok", "database": "ok"})),
        )
            .into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "health check: database unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": "unavailable", "database": "unreachable"})),
            )
                .into_response()
        }
    }
}

async fn metrics(State(s): State<WebState>, headers: HeaderMap) -> Response {
    if !metrics_allowed(&s.opts, &headers) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "Send the metrics token as `Authorization: Bearer …` (metrics.token).\n",
        )
            .into_response();
    }
    let mut out = String::new();
    let _ = writeln!(out, "# TYPE boxoffice_up gauge\nboxoffice_up 1");
    match s.app.job_counts().await {
        Ok(counts) => {
            let _ = writeln!(out, "# TYPE boxoffice_jobs gauge");
            for state in ["queued", "running", "done", "dead"] {
                let n = counts
                    .iter()
                    .find(|(s, _)| s == state)
                    .map(|(_, n)| *n)
                    .unwrap_or(0);
                let _ = writeln!(out, "boxoffice_jobs{{state=\"{state}\"}} {n}");
            }
            let _ = writeln!(
                out,
                "# TYPE boxoffice_database_up gauge\nboxoffice_database_up 1"
            );
        }
        Err(_) => {
            let _ = writeln!(
                out,
                "# TYPE boxoffice_database_up gauge\nboxoffice_database_up 0"
            );
        }
    }
    s.app.metrics.render(&mut out);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
        .into_response()
}
