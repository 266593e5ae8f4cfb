//! Activity → Streaming activity: the streams of the latest enforcement pass (who, server,
//! what, quality, direct or transcode, what was done) and streams over the last day, drawn
//! server-side as SVG so the page needs no script and no other host.

use super::{app_error_page, render};
use crate::WebState;
use crate::csrf::CsrfToken;
use crate::layout::Layout;
use crate::session::Staff;
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use boxoffice_app::activity::{ServerPeak, StreamNow};
use boxoffice_domain::Permission;

pub fn routes() -> Router<WebState> {
    Router::new().route("/admin/activity", get(page))
}

const HOURS: i64 = 24;
const CHART_W: f64 = 640.0;
const CHART_H: f64 = 160.0;

/// The chart: a polyline over the period and its axis labels.
struct Chart {
    points: String,
    max: i64,
    from: String,
    to: String,
}

fn chart(timeline: &[(i64, i64)], now: i64) -> Option<Chart> {
    if timeline.is_empty() {
        return None;
    }
    let start = now - HOURS * 3600;
    let max = timeline.iter().map(|p| p.1).max().unwrap_or(0).max(1);
    let x = |t: i64| ((t - start) as f64 / (HOURS * 3600) as f64 * CHART_W).clamp(0.0, CHART_W);
    let y = |n: i64| CHART_H - n as f64 / max as f64 * (CHART_H - 10.0);
    let points = timeline
        .iter()
        .map(|(t, n)| format!("{:.1},{:.1}", x(*t), y(*n)))
        .collect::<Vec<_>>()
        .join(" ");
    Some(Chart {
        points,
        max,
        from: super::admin::fmt_time(start),
        to: super::admin::fmt_time(now),
    })
}

struct PeakView {
    server: String,
    peak: i64,
    at: String,
}

#[derive(Template)]
#[template(path = "admin/activity.html")]
struct ActivityPage {
    layout: Layout,
    read_at: Option<String>,
    streams: Vec<StreamNow>,
    chart: Option<Chart>,
    peaks: Vec<PeakView>,
}

async fn page(State(st): State<WebState>, staff: Staff, CsrfToken(csrf): CsrfToken) -> Response {
    let s = match staff.require(Permission::ActivityRead) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let activity = match st.app.activity(HOURS).await {
        Ok(a) => a,
        Err(e) => return app_error_page(&st, e),
    };
    let now = st.app.now();
    let layout = Layout::build(&st, "Streaming activity", Some(s), &csrf, "activity").await;
    render(&ActivityPage {
        layout,
        read_at: activity.read_at.map(super::admin::fmt_time),
        streams: activity.now,
        chart: chart(&activity.timeline, now),
        peaks: activity
            .peaks
            .into_iter()
            .map(|p: ServerPeak| PeakView {
                server: p.server,
                peak: p.peak,
                at: super::admin::fmt_time(p.at),
            })
            .collect(),
    })
}
