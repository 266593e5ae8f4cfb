//! The customer's checkout (product §28.2), kept deliberately plain: choose a plan, a gateway,
//! the server location when there is a choice, and (where a gateway bills by itself) pay as you
//! go or recurring, then pay on the gateway's hosted page; or start the free trial. The return
//! and cancel links come back here. Everything that matters happens in
//! the `start_checkout` and `confirm_checkout` use cases; this module only draws and routes.

use super::{app_error_page, render};
use crate::WebState;
use crate::csrf::CsrfToken;
use crate::layout::Layout;
use crate::session::LoggedIn;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use boxoffice_app::AppError;
use boxoffice_app::auth::SessionCtx;
use boxoffice_app::payments::{
    CheckoutExtras, CheckoutMode, CheckoutOptions, CheckoutRefused, CheckoutRequest,
    CheckoutStatus, CustomerCheckout, Provider,
};
use serde::Deserialize;

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/checkout", get(checkout_page).post(checkout_submit))
        .route("/checkout/return", get(checkout_return))
        .route("/checkout/cancel", get(checkout_cancel))
        .route("/checkout/trial", axum::routing::post(trial_submit))
}

#[derive(Template)]
#[template(path = "checkout.html")]
struct CheckoutPage {
    layout: Layout,
    c: CustomerCheckout,
    options: CheckoutOptions,
    /// The plan checked first: the one being renewed, or the first.
    selected: i64,
    /// Some offered plan or trial is served by a Plex server.
    plex_notice: bool,
    /// Some plan can be billed every period by some gateway.
    any_recurring: bool,
    /// Referral credit waiting for the next pay-as-you-go payment, per currency.
    referral_credit: Vec<String>,
    error: Option<String>,
}

impl CheckoutPage {
    fn is_current(&self, plan_id: &i64) -> bool {
        self.c.current_plan_id == Some(*plan_id)
    }
}

#[derive(Template)]
#[template(path = "checkout_done.html")]
struct CheckoutDone {
    layout: Layout,
    status: CheckoutStatus,
    covered_until: String,
}

#[derive(Deserialize)]
struct CheckoutForm {
    plan_id: i64,
    provider: String,
    #[serde(default)]
    mode: Option<String>,
    /// As typed; checked and counted by `App::price_checkout`.
    #[serde(default)]
    discount_code: Option<String>,
    /// A location id, or empty for no preference.
    #[serde(default)]
    location_id: Option<String>,
    /// "1": the plan replaces the current one now (from My account → Change plan).
    #[serde(default)]
    change_plan: Option<String>,
}

#[derive(Deserialize)]
struct TrialForm {
    plan_id: i64,
    #[serde(default)]
    location_id: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct Preselect {
    plan_id: Option<i64>,
}

/// A location field: empty is no preference; anything else must be a number.
fn location_of(raw: Option<&str>) -> Result<Option<i64>, String> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => v
            .parse()
            .map(Some)
            .map_err(|_| "Choose one of the locations offered.".to_string()),
    }
}

#[derive(Deserialize)]
struct Back {
    checkout: i64,
}

/// The form's answer redirects to the gateway's hosted page: the page's policy lets a form lead
/// there (and nowhere else).
pub(crate) fn allow_gateway_forms(mut resp: Response, destinations: &[String]) -> Response {
    let csp = crate::headers::CONTENT_SECURITY_POLICY.replace(
        "form-action 'self'",
        &format!("form-action 'self' {}", destinations.join(" ")),
    );
    if let Ok(v) = HeaderValue::from_str(&csp) {
        resp.headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, v);
    }
    resp
}

async fn page(
    st: &WebState,
    s: &SessionCtx,
    csrf: &str,
    error: Option<String>,
    want: Option<i64>,
) -> Result<Response, AppError> {
    let c = st
        .app
        .customer_checkout_options(s.login_id, &s.email)
        .await?;
    let options = c.options.clone();
    let any_recurring = options.plans.iter().any(|p| !p.recurring.is_empty());
    let offered = |id: i64| options.plans.iter().any(|p| p.plan_id == id);
    let selected = want
        .filter(|id| offered(*id))
        .or(c.current_plan_id)
        .or(options.plans.first().map(|p| p.plan_id))
        .unwrap_or_default();
    let plex_notice = options.plans.iter().any(|p| p.plex) || c.trials.iter().any(|t| t.plex);
    let destinations = options.destinations.clone();
    let referral_credit = st
        .app
        .checkout_referral_credit(s.login_id, &s.email)
        .await?;
    let layout = Layout::build(st, "Subscribe", Some(s), csrf, "account").await;
    let resp = render(&CheckoutPage {
        layout,
        c,
        options,
        selected,
        plex_notice,
        any_recurring,
        referral_credit,
        error,
    });
    Ok(allow_gateway_forms(resp, &destinations))
}

async fn checkout_page(
    State(st): State<WebState>,
    LoggedIn(s): LoggedIn,
    CsrfToken(csrf): CsrfToken,
    Query(p): Query<Preselect>,
) -> Response {
    page(&st, &s, &csrf, None, p.plan_id)
        .await
        .unwrap_or_else(|e| app_error_page(&st, e))
}

/// This site as the browser reached it, for the gateway's return links when no site URI is set.
fn origin(st: &WebState, headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let scheme = if st.opts.secure_cookies {
        "https"
    } else {
        "http"
    };
    format!("{scheme}://{host}")
}

async fn checkout_submit(
    State(st): State<WebState>,
    LoggedIn(s): LoggedIn,
    CsrfToken(csrf): CsrfToken,
    headers: HeaderMap,
    Form(f): Form<CheckoutForm>,
) -> Response {
    let change_plan = f.change_plan.as_deref() == Some("1");
    let want = Some(f.plan_id);
    let again = |status: StatusCode, message: String| {
        let st = st.clone();
        let (s, csrf) = (s.clone(), csrf.clone());
        async move {
            let r = if change_plan {
                super::account_plan::plan_page(&st, &s, &csrf, Some(message)).await
            } else {
                page(&st, &s, &csrf, Some(message), want).await
            };
            match r {
                Ok(r) => (status, r).into_response(),
                Err(e) => app_error_page(&st, e),
            }
        }
    };
    let location_id = match location_of(f.location_id.as_deref()) {
        Ok(l) => l,
        Err(m) => return again(StatusCode::UNPROCESSABLE_ENTITY, m).await,
    };
    let Some(provider) = Provider::parse(&f.provider) else {
        return again(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Choose how to pay.".into(),
        )
        .await;
    };
    let mode = match f.mode.as_deref().map(str::trim) {
        None | Some("") => CheckoutMode::OneOff,
        Some(m) => match CheckoutMode::parse(m) {
            Some(m) => m,
            None => {
                return again(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "Choose pay as you go or recurring.".into(),
                )
                .await;
            }
        },
    };
    let req = CheckoutRequest {
        plan_id: f.plan_id,
        provider,
        mode,
        discount_code: f.discount_code,
        origin: origin(&st, &headers),
    };
    let extras = CheckoutExtras {
        location_id,
        change_plan,
    };
    match st
        .app
        .start_checkout_with(s.login_id, &s.email, req, extras)
        .await
    {
        // 303: the browser follows with a GET to the gateway's hosted page.
        Ok(started) => Redirect::to(&started.redirect_url).into_response(),
        Err(e @ CheckoutRefused::ServersFull { .. }) => {
            again(StatusCode::CONFLICT, e.to_string()).await
        }
        Err(e @ CheckoutRefused::Gateway { .. }) => {
            again(StatusCode::BAD_GATEWAY, e.to_string()).await
        }
        Err(CheckoutRefused::App(e @ (AppError::Invalid { .. } | AppError::Conflict(_)))) => {
            again(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()).await
        }
        Err(CheckoutRefused::App(e)) => app_error_page(&st, e),
    }
}

async fn done_page(st: &WebState, s: &SessionCtx, csrf: &str, status: CheckoutStatus) -> Response {
    let layout = Layout::build(st, "Your payment", Some(s), csrf, "account").await;
    let covered_until = status
        .covered_until
        .map(boxoffice_app::notify::date)
        .unwrap_or_default();
    render(&CheckoutDone {
        layout,
        status,
        covered_until,
    })
}

async fn checkout_return(
    State(st): State<WebState>,
    LoggedIn(s): LoggedIn,
    CsrfToken(csrf): CsrfToken,
    Query(b): Query<Back>,
) -> Response {
    let co = match st
        .app
        .customer_checkout(s.login_id, &s.email, b.checkout)
        .await
    {
        Ok(c) => c,
        Err(e) => return app_error_page(&st, e),
    };
    // The webhook usually got here first; if not, ask the gateway (PayPal: capture now). A
    // gateway that does not answer leaves the checkout as it was: the webhook still comes.
    let co = match st.app.confirm_checkout(co.id).await {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(checkout = co.id, error = %e, "confirming a checkout on return failed");
            co
        }
    };
    match st.app.checkout_status(&co).await {
        Ok(status) => done_page(&st, &s, &csrf, status).await,
        Err(e) => app_error_page(&st, e),
    }
}

async fn checkout_cancel(
    State(st): State<WebState>,
    LoggedIn(s): LoggedIn,
    CsrfToken(csrf): CsrfToken,
    Query(b): Query<Back>,
) -> Response {
    let result = async {
        let co = st
            .app
            .customer_checkout(s.login_id, &s.email, b.checkout)
            .await?;
        st.app.cancel_checkout(&co).await?;
        let co = st
            .app
            .customer_checkout(s.login_id, &s.email, b.checkout)
            .await?;
        st.app.checkout_status(&co).await
    }
    .await;
    match result {
        Ok(status) => done_page(&st, &s, &csrf, status).await,
        Err(e) => app_error_page(&st, e),
    }
}

/// Starts the free trial and shows it on My account; a refusal comes back on the checkout page
/// with its reason.
async fn trial_submit(
    State(st): State<WebState>,
    LoggedIn(s): LoggedIn,
    CsrfToken(csrf): CsrfToken,
    Form(f): Form<TrialForm>,
) -> Response {
    let result = match location_of(f.location_id.as_deref()) {
        Ok(location) => {
            st.app
                .start_trial(s.login_id, &s.email, f.plan_id, location)
                .await
        }
        Err(m) => Err(CheckoutRefused::App(AppError::invalid("location_id", m))),
    };
    let (status, message) = match result {
        Ok(_) => return Redirect::to("/account?done=trial_started").into_response(),
        Err(e @ CheckoutRefused::ServersFull { .. }) => (StatusCode::CONFLICT, e.to_string()),
        Err(CheckoutRefused::App(e @ AppError::Conflict(_))) => {
            (StatusCode::CONFLICT, e.to_string())
        }
        Err(CheckoutRefused::App(e @ AppError::Invalid { .. })) => {
            (StatusCode::UNPROCESSABLE_ENTITY, e.to_string())
        }
        Err(CheckoutRefused::App(e)) => return app_error_page(&st, e),
        Err(e @ CheckoutRefused::Gateway { .. }) => (StatusCode::BAD_GATEWAY, e.to_string()),
    };
    match page(&st, &s, &csrf, Some(message), None).await {
        Ok(r) => (status, r).into_response(),
        Err(e) => app_error_page(&st, e),
    }
}
