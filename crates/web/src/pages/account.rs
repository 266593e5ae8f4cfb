use super::{app_error_page, render};
use crate::WebState;
use crate::csrf::CsrfToken;
use crate::layout::Layout;
use crate::session::{ClientIp, LoggedIn};
use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use boxoffice_app::AppError;
use boxoffice_app::auth::{Enrolment, SessionCtx};
use serde::Deserialize;

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    layout: Layout,
    email: String,
}

pub async fn home(
    State(st): State<WebState>,
    LoggedIn(s): LoggedIn,
    CsrfToken(csrf): CsrfToken,
) -> Response {
    let layout = Layout::build(&st, "My account", Some(&s), &csrf, "account").await;
    render(&AccountPage {
        layout,
        email: s.email.clone(),
    })
}

#[derive(Template)]
#[template(path = "security.html")]
struct SecurityPage {
    layout: Layout,
    totp_enabled: bool,
    enrolment: Option<Enrolment>,
    recovery_codes: Vec<String>,
    recovery_left: i64,
    notice: Option<String>,
    error: Option<String>,
}

async fn security_page(
    st: &WebState,
    s: &SessionCtx,
    csrf: &str,
    recovery_codes: Vec<String>,
    notice: Option<String>,
    error: Option<String>,
) -> Result<Response, AppError> {
    let totp_enabled = st.app.totp_enabled(s.login_id).await?;
    let enrolment = if totp_enabled {
        None
    } else {
        st.app.pending_enrolment(s).await?
    };
    let recovery_left = if totp_enabled {
        st.app.unused_recovery_codes(s.login_id).await?
    } else {
        0
    };
    let layout = Layout::build(st, "Security", Some(s), csrf, "security").await;
    Ok(render(&SecurityPage {
        layout,
        totp_enabled,
        enrolment,
        recovery_codes,
        recovery_left,
        notice,
        error,
    }))
}

pub async fn security(
    State(st): State<WebState>,
    LoggedIn(s): LoggedIn,
    CsrfToken(csrf): CsrfToken,
) -> Response {
    security_page(&st, &s, &csrf, vec![], None, None)
        .await
        .unwrap_or_else(|e| app_error_page(&st, e))
}

pub async fn totp_start(State(st): State<WebState>, LoggedIn(s): LoggedIn) -> Response {
    match st.app.begin_totp_enrolment(&s).await {
        Ok(_) | Err(AppError::Conflict(_)) => Redirect::to("/security").into_response(),
        Err(e) => app_error_page(&st, e),
    }
}

#[derive(Deserialize)]
pub struct CodeForm {
    code: String,
}

pub async fn totp_confirm(
    State(st): State<WebState>,
    LoggedIn(s): LoggedIn,
    ClientIp(ip): ClientIp,
    CsrfToken(csrf): CsrfToken,
    Form(f): Form<CodeForm>,
) -> Response {
    let result = match st.app.confirm_totp(&s, &f.code, &ip).await {
        Ok(codes) => {
            security_page(
                &st,
                &s,
                &csrf,
                codes,
                Some("Two-factor authentication is on.".into()),
                None,
            )
            .await
        }
        Err(AppError::Invalid { message, .. }) => {
            security_page(&st, &s, &csrf, vec![], None, Some(message))
                .await
                .map(|mut r| {
                    *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
                    r
                })
        }
        Err(e) => Err(e),
    };
    result.unwrap_or_else(|e| app_error_page(&st, e))
}

pub async fn totp_disable(
    State(st): State<WebState>,
    LoggedIn(s): LoggedIn,
    ClientIp(ip): ClientIp,
) -> Response {
    match st.app.disable_totp(&s, &ip).await {
        Ok(()) => Redirect::to("/security").into_response(),
        Err(e) => app_error_page(&st, e),
    }
}
