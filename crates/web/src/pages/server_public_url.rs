//! The address customers use for a Jellyfin or Emby server (Servers → a server → "Address for
//! customers"), named in invites and on the password page instead of the address boxoffice
//! reaches the server at.

use super::form::{self, Fields, failure_status, with_status};
use super::{app_error_page, render};
use crate::WebState;
use crate::csrf::CsrfToken;
use crate::layout::Layout;
use crate::session::{ClientIp, Staff};
use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use boxoffice_app::AppError;
use boxoffice_domain::Permission;

pub fn routes() -> Router<WebState> {
    Router::new().route("/admin/servers/{id}/public-url", get(form_page).post(save))
}

#[derive(Template)]
#[template(path = "admin/server_public_url.html")]
struct PublicUrlPage {
    layout: Layout,
    id: i64,
    name: String,
    url: String,
    public_url: String,
    error: Option<String>,
}

async fn page(
    st: &WebState,
    staff: &Staff,
    csrf: &str,
    id: i64,
    typed: Option<String>,
    error: Option<String>,
) -> Result<Response, AppError> {
    let server = st.app.server(id).await?;
    let public_url = match typed {
        Some(t) => t,
        None => st.app.server_public_url(id).await?,
    };
    let layout = Layout::build(st, "Address for customers", Some(&staff.0), csrf, "servers").await;
    Ok(render(&PublicUrlPage {
        layout,
        id,
        name: server.name,
        url: server.url,
        public_url,
        error,
    }))
}

async fn form_page(
    State(st): State<WebState>,
    staff: Staff,
    CsrfToken(csrf): CsrfToken,
    Path(id): Path<i64>,
) -> Response {
    if let Err(r) = staff.require(Permission::ServersWrite) {
        return r;
    }
    page(&st, &staff, &csrf, id, None, None)
        .await
        .unwrap_or_else(|e| app_error_page(&st, e))
}

async fn save(
    State(st): State<WebState>,
    staff: Staff,
    ClientIp(ip): ClientIp,
    CsrfToken(csrf): CsrfToken,
    Path(id): Path<i64>,
    Form(f): Form<Fields>,
) -> Response {
    let s = match staff.require(Permission::ServersWrite) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let typed = form::text(&f, "public_url");
    match st
        .app
        .set_server_public_url(&s.actor(&ip), id, &typed)
        .await
    {
        Ok(()) => Redirect::to(&format!("/admin/servers/{id}")).into_response(),
        Err(e @ AppError::Invalid { .. }) => {
            let status = failure_status(&e);
            page(&st, &staff, &csrf, id, Some(typed), Some(e.to_string()))
                .await
                .map(|r| with_status(r, status))
                .unwrap_or_else(|e| app_error_page(&st, e))
        }
        Err(e) => app_error_page(&st, e),
    }
}
