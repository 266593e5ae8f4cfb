//! Servers & Libraries → Devices: the Emby devices each customer has logged in from, with their
//! last use, as the latest enforcement pass found them (read from the database, not the server).

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
use boxoffice_domain::Permission;

pub fn routes() -> Router<WebState> {
    Router::new().route("/admin/devices", get(page))
}

struct DeviceRowView {
    server: String,
    who: String,
    customer_id: Option<i64>,
    name: String,
    app: String,
    last_used: String,
}

#[derive(Template)]
#[template(path = "admin/devices.html")]
struct DevicesPage {
    layout: Layout,
    devices: Vec<DeviceRowView>,
}

async fn page(State(st): State<WebState>, staff: Staff, CsrfToken(csrf): CsrfToken) -> Response {
    let s = match staff.require(Permission::DevicesRead) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let devices = match st.app.emby_devices().await {
        Ok(d) => d
            .into_iter()
            .map(|d| DeviceRowView {
                server: d.server,
                who: d.who,
                customer_id: d.customer_id,
                name: d.name,
                app: d.app,
                last_used: d
                    .last_used
                    .map(super::admin::fmt_time)
                    .unwrap_or_else(|| "unknown".into()),
            })
            .collect(),
        Err(e) => return app_error_page(&st, e),
    };
    let layout = Layout::build(&st, "Devices", Some(s), &csrf, "devices").await;
    render(&DevicesPage { layout, devices })
}
