//! What a customer does from their subscription on My account besides changing plan: stop a
//! recurring payment, open a payment's printable receipt, and ask for a new "set your password"
//! link for a Jellyfin or Emby server.

use super::account::account_page;
use super::{app_error_page, render};
use crate::WebState;
use crate::csrf::CsrfToken;
use crate::layout::Layout;
use crate::session::LoggedIn;
use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use boxoffice_app::AppError;
use boxoffice_app::subscriptions::MyReceipt;

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/account/recurring/{id}/cancel", post(cancel_recurring))
        .route("/account/receipts/{id}", get(receipt))
        .route("/account/media-password/{share_id}", post(password_link))
}

#[derive(Template)]
#[template(path = "receipt.html")]
struct ReceiptPage {
    layout: Layout,
    r: MyReceipt,
}

/// A refusal the customer can act on comes back on My account with its reason.
async fn refused(
    st: &WebState,
    s: &boxoffice_app::auth::SessionCtx,
    csrf: &str,
    e: AppError,
) -> Response {
    let status = match &e {
        AppError::Conflict(_) => StatusCode::CONFLICT,
        AppError::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
        _ => return app_error_page(st, e),
    };
    let message = match &e {
        AppError::Throttled { retry_after } => format!(
            "A link was sent a moment ago: check your e-mail, or ask again in {} minutes.",
            (retry_after + 59) / 60
        ),
        other => other.to_string(),
    };
    match account_page(st, s, csrf, None, Some(message)).await {
        Ok(r) => (status, r).into_response(),
        Err(e) => app_error_page(st, e),
    }
}

async fn cancel_recurring(
    State(st): State<WebState>,
    LoggedIn(s): LoggedIn,
    CsrfToken(csrf): CsrfToken,
    Path(id): Path<i64>,
) -> Response {
    match st
        .app
        .request_recurring_cancel(s.login_id, &s.email, id)
        .await
    {
        Ok(()) => Redirect::to("/account?done=recurring_cancel").into_response(),
        Err(e) => refused(&st, &s, &csrf, e).await,
    }
}

async fn receipt(
    State(st): State<WebState>,
    LoggedIn(s): LoggedIn,
    CsrfToken(csrf): CsrfToken,
    Path(id): Path<i64>,
) -> Response {
    match st.app.my_receipt(s.login_id, &s.email, id).await {
        Ok(r) => {
            let layout = Layout::build(&st, "Receipt", Some(&s), &csrf, "account").await;
            render(&ReceiptPage { layout, r })
        }
        Err(e) => app_error_page(&st, e),
    }
}

async fn password_link(
    State(st): State<WebState>,
    LoggedIn(s): LoggedIn,
    CsrfToken(csrf): CsrfToken,
    Path(share_id): Path<i64>,
) -> Response {
    let result = async {
        let c = st
            .app
            .customer_of_login(s.login_id, &s.email)
            .await?
            .ok_or(AppError::NotFound("server"))?;
        st.app.send_my_password_link(c.id, share_id).await
    }
    .await;
    match result {
        Ok(_) => Redirect::to("/account?done=password_link").into_response(),
        Err(e) => refused(&st, &s, &csrf, e).await,
    }
}
