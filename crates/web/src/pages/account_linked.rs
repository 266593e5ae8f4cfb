//! My account → Linked users: a master adds and removes the sub-accounts their plan pays for.

use super::app_error_page;
use super::form::{self, Fields, failure_status, with_status};
use crate::WebState;
use crate::csrf::CsrfToken;
use crate::session::{ClientIp, LoggedIn};
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use axum::{Form, Router};
use boxoffice_app::AppError;
use boxoffice_app::auth::SessionCtx;
use boxoffice_app::subscriptions::{MyLinkedUsers, NewSubAccount};

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/account/linked-users", post(add))
        .route("/account/linked-users/{sub_id}/remove", post(remove))
}

/// The section's data, for the account page; `None` for a login without a customer or a plan
/// that allows no sub-account.
pub async fn linked_view(st: &WebState, s: &SessionCtx) -> Result<Option<MyLinkedUsers>, AppError> {
    match st.app.customer_of_login(s.login_id, &s.email).await? {
        Some(c) => st.app.my_linked_users(c.id).await,
        None => Ok(None),
    }
}

async fn master_id(st: &WebState, s: &SessionCtx) -> Result<i64, AppError> {
    st.app
        .customer_of_login(s.login_id, &s.email)
        .await?
        .map(|c| c.id)
        .ok_or_else(|| AppError::Conflict("sub-accounts come with a subscription".into()))
}

async fn back(st: &WebState, s: &SessionCtx, csrf: &str, r: Result<&str, AppError>) -> Response {
    match r {
        Ok(done) => Redirect::to(&format!("/account?done={done}#linked-users")).into_response(),
        Err(e @ (AppError::Invalid { .. } | AppError::Conflict(_) | AppError::NotFound(_))) => {
            let status = failure_status(&e);
            super::account::account_page(st, s, csrf, None, Some(e.to_string()))
                .await
                .map(|r| with_status(r, status))
                .unwrap_or_else(|e| app_error_page(st, e))
        }
        Err(e) => app_error_page(st, e),
    }
}

async fn add(
    State(st): State<WebState>,
    LoggedIn(s): LoggedIn,
    ClientIp(ip): ClientIp,
    CsrfToken(csrf): CsrfToken,
    Form(f): Form<Fields>,
) -> Response {
    let email = form::text(&f, "email");
    let username = form::text(&f, "username");
    let r = async {
        let master = master_id(&st, &s).await?;
        st.app
            .add_sub_account(
                &s.actor(&ip),
                master,
                NewSubAccount {
                    email: &email,
                    username: &username,
                },
            )
            .await
    }
    .await;
    back(&st, &s, &csrf, r.map(|_| "sub_added")).await
}

async fn remove(
    State(st): State<WebState>,
    LoggedIn(s): LoggedIn,
    ClientIp(ip): ClientIp,
    CsrfToken(csrf): CsrfToken,
    Path(sub_id): Path<i64>,
) -> Response {
    let r = async {
        let master = master_id(&st, &s).await?;
        st.app
            .remove_sub_account(&s.actor(&ip), master, sub_id)
            .await
    }
    .await;
    back(&st, &s, &csrf, r.map(|()| "sub_removed")).await
}
