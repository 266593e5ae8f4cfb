//! My streams: a customer's own streams as the latest enforcement pass read them (server, title,
//! device, started), where they choose which to stop when they are over their plan's limit and
//! the owner lets customers choose (`enforcement.stream_policy` = `customer_chooses`). Only the
//! logged-in customer's streams are listed or stopped.

use super::form::{Fields, failure_status, with_status};
use super::{app_error_page, render};
use crate::WebState;
use crate::csrf::CsrfToken;
use crate::layout::Layout;
use crate::session::{ClientIp, LoggedIn};
use askama::Template;
use axum::Form;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use boxoffice_app::AppError;
use boxoffice_app::auth::SessionCtx;
use serde::Deserialize;

pub fn routes() -> Router<WebState> {
    Router::new().route("/account/streams", get(page).post(stop))
}

struct StreamView {
    server_id: i64,
    server: String,
    session_id: String,
    title: String,
    device: String,
    product: String,
    started: String,
    stopped: bool,
}

#[derive(Template)]
#[template(path = "my_streams.html")]
struct MyStreamsPage {
    layout: Layout,
    streams: Vec<StreamView>,
    limit_line: String,
    playing: u32,
    over_by: u32,
    over_line: String,
    read_at: String,
    notice: Option<String>,
    error: Option<String>,
}

fn plural(n: u32, one: &str, many: &str) -> String {
    if n == 1 {
        format!("{n} {one}")
    } else {
        format!("{n} {many}")
    }
}

async fn customer_id(st: &WebState, s: &SessionCtx) -> Result<i64, AppError> {
    Ok(st
        .app
        .customer_of_login(s.login_id, &s.email)
        .await?
        .ok_or(AppError::NotFound("subscriber account"))?
        .id)
}

async fn view(
    st: &WebState,
    s: &SessionCtx,
    csrf: &str,
    notice: Option<String>,
    error: Option<String>,
) -> Result<Response, AppError> {
    let mine = st.app.my_streams(customer_id(st, s).await?).await?;
    let over_by = mine.over_by();
    let limit_line = match mine.limit {
        Some(l) => format!(
            "Your plan allows {} at once.",
            plural(l, "stream", "streams")
        ),
        None => "Your plan has no limit on streams.".to_string(),
    };
    let mut over_line = format!(
        "Stop {} to be within your plan.",
        plural(over_by, "stream", "streams")
    );
    if let Some(until) = mine.choose_until {
        over_line.push_str(&format!(
            " If you don't choose by {} (UTC), the newest {} will stop.",
            super::admin::fmt_time(until),
            if over_by == 1 { "stream" } else { "streams" }
        ));
    }
    let read_at = mine
        .streams
        .first()
        .map(|s| super::admin::fmt_time(s.read_at))
        .unwrap_or_else(|| "none yet".into());
    let streams = mine
        .streams
        .into_iter()
        .map(|m| StreamView {
            server_id: m.server_id,
            server: m.server,
            session_id: m.session_id,
            title: m.title,
            device: m.device,
            product: m.product,
            started: m
                .started_at
                .map(super::admin::fmt_time)
                .unwrap_or_else(|| "earlier".into()),
            stopped: m.stopped,
        })
        .collect();
    let layout = Layout::build(st, "My streams", Some(s), csrf, "account").await;
    Ok(render(&MyStreamsPage {
        layout,
        streams,
        limit_line,
        playing: mine.playing,
        over_by,
        over_line,
        read_at,
        notice,
        error,
    }))
}

#[derive(Deserialize, Default)]
struct Done {
    stopped: Option<usize>,
}

async fn page(
    State(st): State<WebState>,
    LoggedIn(s): LoggedIn,
    CsrfToken(csrf): CsrfToken,
    Query(d): Query<Done>,
) -> Response {
    let notice = d.stopped.map(|n| {
        format!(
            "Stopped {}.",
            plural(n.try_into().unwrap_or(u32::MAX), "stream", "streams")
        )
    });
    view(&st, &s, &csrf, notice, None)
        .await
        .unwrap_or_else(|e| app_error_page(&st, e))
}

/// `server id:session id` as the form sends it; anything else is a bad pick.
fn parse_pick(raw: &str) -> Result<(i64, String), AppError> {
    raw.split_once(':')
        .and_then(|(server, session)| {
            let server = server.parse::<i64>().ok()?;
            (!session.is_empty()).then(|| (server, session.to_string()))
        })
        .ok_or_else(|| {
            AppError::invalid("stream", format!("\"{raw}\" is not one of your streams."))
        })
}

async fn stop(
    State(st): State<WebState>,
    LoggedIn(s): LoggedIn,
    ClientIp(ip): ClientIp,
    CsrfToken(csrf): CsrfToken,
    Form(f): Form<Fields>,
) -> Response {
    let result = async {
        let customer = customer_id(&st, &s).await?;
        let picks = f
            .iter()
            .filter(|(k, _)| k == "stream")
            .map(|(_, v)| parse_pick(v))
            .collect::<Result<Vec<_>, _>>()?;
        st.app
            .stop_my_streams(&s.actor(&ip), customer, &picks)
            .await
    }
    .await;
    match result {
        Ok(out) if out.failed.is_empty() => {
            Redirect::to(&format!("/account/streams?stopped={}", out.stopped)).into_response()
        }
        Ok(out) => {
            let error = format!("Could not stop: {}", out.failed.join("; "));
            let notice = (out.stopped > 0).then(|| format!("Stopped {}.", out.stopped));
            view(&st, &s, &csrf, notice, Some(error))
                .await
                .map(|r| with_status(r, axum::http::StatusCode::BAD_GATEWAY))
                .unwrap_or_else(|e| app_error_page(&st, e))
        }
        Err(e @ AppError::Invalid { .. }) => {
            let status = failure_status(&e);
            view(&st, &s, &csrf, None, Some(e.to_string()))
                .await
                .map(|r| with_status(r, status))
                .unwrap_or_else(|e| app_error_page(&st, e))
        }
        Err(e) => app_error_page(&st, e),
    }
}
