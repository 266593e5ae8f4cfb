//! `/`: the home page (the owner's sections, the pricing section, Register and Log in), public
//! or for logged-in visitors only per "Home page is public". Staff go to the admin dashboard.

use super::{app_error_page, render};
use crate::WebState;
use crate::csrf::CsrfToken;
use crate::layout::Layout;
use crate::session::CurrentSession;
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use boxoffice_app::home::HomePage;

pub fn routes() -> Router<WebState> {
    Router::new().route("/", get(home))
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomeTemplate {
    layout: Layout,
    home: HomePage,
    logged_in: bool,
}

async fn home(
    State(st): State<WebState>,
    CurrentSession(s): CurrentSession,
    CsrfToken(csrf): CsrfToken,
) -> Response {
    match &s {
        Some(s) if s.mfa_pending => return Redirect::to("/login/2fa").into_response(),
        Some(s) if s.is_staff() => return Redirect::to("/admin").into_response(),
        _ => {}
    }
    let home = match st.app.home_page().await {
        Ok(h) => h,
        Err(e) => return app_error_page(&st, e),
    };
    if s.is_none() && !home.public {
        return Redirect::to("/login").into_response();
    }
    let layout = Layout::build(&st, "Home", s.as_ref(), &csrf, "home").await;
    render(&HomeTemplate {
        layout,
        logged_in: s.is_some(),
        home,
    })
}
