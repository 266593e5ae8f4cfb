//! The self-test page: the latest run as a table (green/red per call, with what to do), the
//! history of runs, and a button that queues a run now.

use super::form::opt_time;
use super::servers::{Done, done_message};
use super::{app_error_page, render};
use crate::WebState;
use crate::csrf::CsrfToken;
use crate::layout::Layout;
use crate::session::{ClientIp, Staff};
use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use boxoffice_app::auth::Principal;
use boxoffice_app::servers::self_test::SelfTestReport;
use boxoffice_domain::Permission;
use serde::Deserialize;

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/admin/self-test", get(page))
        .route("/admin/self-test/run", post(run_now))
}

pub struct RunView {
    pub id: i64,
    pub cause: String,
    pub started: String,
    pub finished: String,
    pub passed: i64,
    pub failed: i64,
}

pub struct RowView {
    pub target: String,
    pub call: String,
    /// "ok", "failed" or "skipped": also the badge's class.
    pub result: &'static str,
    pub status: String,
    pub message: String,
    pub advice: String,
    pub latency_ms: i64,
}

#[derive(Template)]
#[template(path = "admin/self_test.html")]
struct SelfTestPage {
    layout: Layout,
    shown: Option<RunView>,
    rows: Vec<RowView>,
    history: Vec<RunView>,
    can_write: bool,
    message: Option<&'static str>,
}

#[derive(Deserialize)]
struct PageQuery {
    run: Option<i64>,
    done: Option<String>,
}

fn run_view(r: &boxoffice_store::self_test::RunRow) -> RunView {
    RunView {
        id: r.id,
        cause: r.cause.clone(),
        started: super::admin::fmt_time(r.started_at),
        finished: opt_time(r.finished_at),
        passed: r.passed,
        failed: r.failed,
    }
}

async fn page(
    State(st): State<WebState>,
    staff: Staff,
    CsrfToken(csrf): CsrfToken,
    Query(q): Query<PageQuery>,
) -> Response {
    let s = match staff.require(Permission::ServersRead) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let report: Option<SelfTestReport> = match q.run {
        Some(id) => match st.app.self_test_run(id).await {
            Ok(r) => Some(r),
            Err(e) => return app_error_page(&st, e),
        },
        None => match st.app.latest_self_test().await {
            Ok(r) => r,
            Err(e) => return app_error_page(&st, e),
        },
    };
    let history = match st.app.self_test_history(50).await {
        Ok(h) => h.iter().map(run_view).collect(),
        Err(e) => return app_error_page(&st, e),
    };
    let (shown, rows) = match report {
        Some(r) => (
            Some(run_view(&r.run)),
            r.results
                .into_iter()
                .map(|x| RowView {
                    target: x.target,
                    call: x.call,
                    result: if x.skipped {
                        "skipped"
                    } else if x.ok {
                        "ok"
                    } else {
                        "failed"
                    },
                    status: x.status.map(|s| s.to_string()).unwrap_or_default(),
                    message: x.message,
                    advice: x.advice,
                    latency_ms: x.latency_ms,
                })
                .collect(),
        ),
        None => (None, Vec::new()),
    };
    let layout = Layout::build(&st, "Self-test", Some(s), &csrf, "self-test").await;
    render(&SelfTestPage {
        layout,
        shown,
        rows,
        history,
        can_write: s.can(Permission::ServersWrite),
        message: done_message(&Done {
            done: q.done,
            ..Done::default()
        }),
    })
}

async fn run_now(State(st): State<WebState>, staff: Staff, ClientIp(ip): ClientIp) -> Response {
    let s = match staff.require(Permission::ServersWrite) {
        Ok(s) => s,
        Err(r) => return r,
    };
    match st.app.request_self_test(&s.actor(&ip)).await {
        Ok(_) => Redirect::to("/admin/self-test?done=selftest").into_response(),
        Err(e) => app_error_page(&st, e),
    }
}
