//! The customer's checkout (product §28.2), kept deliberately plain: choose a plan, a gateway
//! and (where a gateway bills by itself) pay as you go or recurring, then pay on the gateway's
//! hosted page. The return and cancel links come back here. Everything that matters happens in
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
    CheckoutMode, CheckoutOptions, CheckoutRefused, CheckoutRequest, CheckoutStatus, Provider,
};
use serde::Deserialize;

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/checkout", get(checkout_page).post(checkout_submit))
        .route("/checkout/return", get(checkout_return))
        .route("/checkout/cancel", get(checkout_cancel))
}

#[derive(Template)]
#[template(path = "checkout.html")]
struct CheckoutPage {
    layout: Layout,
    options: CheckoutOptions,
    /// Some plan can be billed every period by some gateway.
    any_recurring: bool,
    /// Referral credit waiting for the next pay-as-you-go payment, per currency.
    referral_credit: Vec<String>,
    error: Option<String>,
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
}

#[derive(Deserialize)]
struct Back {
    checkout: i64,
}

async fn page(
    st: &WebState,
    s: &SessionCtx,
    csrf: &str,
    error: Option<String>,
) -> Result<Response, AppError> {
    let options = st.app.checkout_options().await?;
    let any_recurring = options.plans.iter().any(|p| !p.recurring.is_empty());
    let referral_credit = st
        .app
        .checkout_referral_credit(s.login_id, &s.email)
        .await?;
    // The form's answer redirects to the gateway's hosted page: the page's policy lets a form
    // lead there (and nowhere else).
    let csp = crate::headers::CONTENT_SECURITY_POLICY.replace(
        "form-action 'self'",
        &format!("form-action 'self' {}", options.destinations.join(" ")),
    );
    let layout = Layout::build(st, "Subscribe", Some(s), csrf, "account").await;
    let mut resp = render(&CheckoutPage {
        layout,
        options,
        any_recurring,
        referral_credit,
        error,
    });
    if let Ok(v) = HeaderValue::from_str(&csp) {
        resp.headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, v);
    }
    Ok(resp)
}

async fn checkout_page(
    State(st): State<WebState>,
    LoggedIn(s): LoggedIn,
    CsrfToken(csrf): CsrfToken,
) -> Response {
    page(&st, &s, &csrf, None)
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
    let again = |status: StatusCode, message: String| {
        let st = st.clone();
        let (s, csrf) = (s.clone(), csrf.clone());
        async move {
            match page(&st, &s, &csrf, Some(message)).await {
                Ok(r) => (status, r).into_response(),
                Err(e) => app_error_page(&st, e),
            }
        }
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
    match st.app.start_checkout(s.login_id, &s.email, req).await {
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
