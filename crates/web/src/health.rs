use crate::WebState;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use std::fmt::Write;

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
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

async fn metrics(State(s): State<WebState>) -> Response {
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
