//! My account → Change plan: each plan the customer may move to, with the credit the running
//! payment leaves and the day the new plan would run to, and a form that pays the new plan's
//! price at a gateway (`POST /checkout` with `change_plan=1`). The credit is applied when the
//! payment is recorded (`App::plan_change_payment`).

use super::checkout::allow_gateway_forms;
use super::{app_error_page, render};
use crate::WebState;
use crate::csrf::CsrfToken;
use crate::layout::Layout;
use crate::session::LoggedIn;
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use boxoffice_app::AppError;
use boxoffice_app::auth::SessionCtx;
use boxoffice_app::payments::{PlanChangePreview, Provider};

pub fn routes() -> Router<WebState> {
    Router::new().route("/account/plan", get(plan))
}

#[derive(Template)]
#[template(path = "account_plan.html")]
struct PlanPage {
    layout: Layout,
    previews: Vec<PlanChangePreview>,
    providers: Vec<Provider>,
    /// Why no change is possible now.
    refused: Option<String>,
    error: Option<String>,
}

pub(crate) async fn plan_page(
    st: &WebState,
    s: &SessionCtx,
    csrf: &str,
    error: Option<String>,
) -> Result<Response, AppError> {
    let options = st.app.checkout_options().await?;
    let (previews, refused) = match st.app.plan_change_previews(s.login_id, &s.email).await {
        Ok(p) => (p, None),
        Err(AppError::Conflict(why)) => (Vec::new(), Some(why)),
        Err(e) => return Err(e),
    };
    let layout = Layout::build(st, "Change plan", Some(s), csrf, "account").await;
    let resp = render(&PlanPage {
        layout,
        previews,
        providers: options.providers.clone(),
        refused,
        error,
    });
    Ok(allow_gateway_forms(resp, &options.destinations))
}

async fn plan(
    State(st): State<WebState>,
    LoggedIn(s): LoggedIn,
    CsrfToken(csrf): CsrfToken,
) -> Response {
    match plan_page(&st, &s, &csrf, None).await {
        Ok(r) => (StatusCode::OK, r).into_response(),
        Err(e) => app_error_page(&st, e),
    }
}
