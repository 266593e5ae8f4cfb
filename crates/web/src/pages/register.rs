//! The customer's way in: registration (`/register`, `?ref=` from a referral link), the
//! confirmation link (`/register/confirm/{token}`), and the forgotten-password pages
//! (`/password/forgot`, `/password/reset/{token}`). Mistakes come back on their fields with
//! everything typed kept (passwords excepted); nothing is written until the form is right.

use super::form::with_status;
use super::{app_error_page, render};
use crate::WebState;
use crate::csrf::CsrfToken;
use crate::layout::Layout;
use crate::session::{ClientIp, CurrentSession};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use boxoffice_app::AppError;
use boxoffice_app::auth::{RegisterError, RegistrationForm, RegistrationPolicy};
use serde::Deserialize;
use std::collections::BTreeMap;

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/register", get(register_form).post(register_submit))
        .route("/register/confirm/{token}", get(confirm))
        .route("/password/forgot", get(forgot_form).post(forgot_submit))
        .route(
            "/password/reset/{token}",
            get(reset_form).post(reset_submit),
        )
}

/// The password rule, shown under every new-password field.
pub const PASSWORD_RULE: &str = "At least 8 characters, with an upper-case letter, a lower-case letter, a digit and a special character.";

#[derive(Template)]
#[template(path = "register.html")]
struct RegisterPage {
    layout: Layout,
    policy: RegistrationPolicy,
    f: RegistrationForm,
    errors: BTreeMap<&'static str, String>,
    rule: &'static str,
}

impl RegisterPage {
    fn err(&self, field: &str) -> Option<&str> {
        self.errors.get(field).map(String::as_str)
    }
}

#[derive(Template)]
#[template(path = "portal_notice.html")]
struct NoticePage {
    layout: Layout,
    heading: String,
    message: String,
    /// A link under the message: (href, label).
    link: Option<(String, String)>,
    id: &'static str,
}

async fn notice(
    st: &WebState,
    csrf: &str,
    page: &str,
    heading: &str,
    message: &str,
    link: Option<(&str, &str)>,
    id: &'static str,
) -> Response {
    let layout = Layout::build(st, heading, None, csrf, page).await;
    render(&NoticePage {
        layout,
        heading: heading.to_string(),
        message: message.to_string(),
        link: link.map(|(h, l)| (h.to_string(), l.to_string())),
        id,
    })
}

fn retry_after(mut r: Response, secs: i64) -> Response {
    if let Ok(v) = HeaderValue::from_str(&secs.max(1).to_string()) {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}

#[derive(Deserialize, Default)]
pub struct RefQuery {
    #[serde(rename = "ref")]
    code: Option<String>,
}

async fn register_form(
    State(st): State<WebState>,
    CurrentSession(s): CurrentSession,
    CsrfToken(csrf): CsrfToken,
    Query(q): Query<RefQuery>,
) -> Response {
    if s.as_ref().is_some_and(|s| !s.mfa_pending) {
        return Redirect::to("/").into_response();
    }
    let policy = match st.app.registration_policy().await {
        Ok(p) => p,
        Err(e) => return app_error_page(&st, e),
    };
    if let Some(why) = &policy.closed {
        return notice(
            &st,
            &csrf,
            "register",
            "Registrations are closed",
            why,
            Some(("/login", "Log in")),
            "register-closed",
        )
        .await;
    }
    let f = RegistrationForm {
        referral_code: q.code.unwrap_or_default().trim().chars().take(64).collect(),
        ..RegistrationForm::default()
    };
    let layout = Layout::build(&st, "Create an account", None, &csrf, "register").await;
    render(&RegisterPage {
        layout,
        policy,
        f,
        errors: BTreeMap::new(),
        rule: PASSWORD_RULE,
    })
}

#[derive(Deserialize)]
pub struct RegisterFields {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
    #[serde(default)]
    plex_email: String,
    #[serde(default)]
    media_username: String,
    #[serde(default)]
    discord_username: String,
    #[serde(default)]
    discord_id: String,
    #[serde(default)]
    referral_code: String,
}

async fn register_submit(
    State(st): State<WebState>,
    ClientIp(ip): ClientIp,
    CsrfToken(csrf): CsrfToken,
    Form(x): Form<RegisterFields>,
) -> Response {
    let f = RegistrationForm {
        email: x.email,
        password: x.password,
        confirm: x.confirm,
        plex_email: x.plex_email,
        media_username: x.media_username,
        discord_username: x.discord_username,
        discord_id: x.discord_id,
        referral_code: x.referral_code,
    };
    match st.app.register(&f, &ip).await {
        Ok(r) => {
            notice(
                &st,
                &csrf,
                "register",
                "Check your e-mail",
                &format!(
                    "We sent a confirmation link to {}. Follow it to confirm your address, then log in. The link works for 7 days.",
                    r.email
                ),
                Some(("/login", "Log in")),
                "register-done",
            )
            .await
        }
        Err(RegisterError::Closed(why)) => with_status(
            notice(
                &st,
                &csrf,
                "register",
                "Registrations are closed",
                &why,
                Some(("/login", "Log in")),
                "register-closed",
            )
            .await,
            StatusCode::FORBIDDEN,
        ),
        Err(RegisterError::Throttled { retry_after: secs }) => retry_after(
            with_status(
                notice(
                    &st,
                    &csrf,
                    "register",
                    "Too many attempts",
                    &format!("Too many registrations from your address. Wait {secs} seconds before trying again."),
                    Some(("/register", "Back to the form")),
                    "register-throttled",
                )
                .await,
                StatusCode::TOO_MANY_REQUESTS,
            ),
            secs,
        ),
        Err(RegisterError::Fields(errors)) => {
            let policy = match st.app.registration_policy().await {
                Ok(p) => p,
                Err(e) => return app_error_page(&st, e),
            };
            let errors = errors.into_iter().map(|e| (e.field, e.message)).collect();
            let layout = Layout::build(&st, "Create an account", None, &csrf, "register").await;
            let f = RegistrationForm {
                password: String::new(),
                confirm: String::new(),
                ..f
            };
            with_status(
                render(&RegisterPage {
                    layout,
                    policy,
                    f,
                    errors,
                    rule: PASSWORD_RULE,
                }),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        Err(RegisterError::Failed(e)) => app_error_page(&st, e),
    }
}

async fn confirm(
    State(st): State<WebState>,
    ClientIp(ip): ClientIp,
    CsrfToken(csrf): CsrfToken,
    Path(token): Path<String>,
) -> Response {
    match st.app.confirm_registration(&token, &ip).await {
        Ok(_) => Redirect::to("/login?notice=confirmed").into_response(),
        Err(AppError::Unauthorized(why)) => with_status(
            notice(
                &st,
                &csrf,
                "register",
                "Link not valid",
                &why,
                Some(("/login", "Log in")),
                "confirm-invalid",
            )
            .await,
            StatusCode::NOT_FOUND,
        ),
        Err(e) => app_error_page(&st, e),
    }
}

#[derive(Template)]
#[template(path = "password_forgot.html")]
struct ForgotPage {
    layout: Layout,
    email: String,
    error: Option<String>,
}

async fn forgot_form(State(st): State<WebState>, CsrfToken(csrf): CsrfToken) -> Response {
    let layout = Layout::build(&st, "Forgot your password?", None, &csrf, "password_forgot").await;
    render(&ForgotPage {
        layout,
        email: String::new(),
        error: None,
    })
}

#[derive(Deserialize)]
pub struct ForgotFields {
    #[serde(default)]
    email: String,
}

async fn forgot_submit(
    State(st): State<WebState>,
    ClientIp(ip): ClientIp,
    CsrfToken(csrf): CsrfToken,
    Form(x): Form<ForgotFields>,
) -> Response {
    match st.app.request_password_reset(&x.email, &ip).await {
        Ok(()) => {
            notice(
                &st,
                &csrf,
                "password_forgot",
                "Check your e-mail",
                "If an account uses this address, a link to choose a new password is on its way. The link works once, for an hour.",
                Some(("/login", "Back to log in")),
                "forgot-sent",
            )
            .await
        }
        Err(AppError::Invalid { message, .. }) => {
            let layout =
                Layout::build(&st, "Forgot your password?", None, &csrf, "password_forgot").await;
            with_status(
                render(&ForgotPage {
                    layout,
                    email: x.email,
                    error: Some(message),
                }),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        Err(AppError::Throttled { retry_after: secs }) => retry_after(
            with_status(
                notice(
                    &st,
                    &csrf,
                    "password_forgot",
                    "Too many attempts",
                    &format!("Too many requests from your address. Wait {secs} seconds before trying again."),
                    Some(("/password/forgot", "Back")),
                    "forgot-throttled",
                )
                .await,
                StatusCode::TOO_MANY_REQUESTS,
            ),
            secs,
        ),
        Err(e) => app_error_page(&st, e),
    }
}

#[derive(Template)]
#[template(path = "password_reset.html")]
struct ResetPage {
    layout: Layout,
    token: String,
    errors: BTreeMap<&'static str, String>,
    rule: &'static str,
}

impl ResetPage {
    fn err(&self, field: &str) -> Option<&str> {
        self.errors.get(field).map(String::as_str)
    }
}

async fn reset_invalid(st: &WebState, csrf: &str) -> Response {
    with_status(
        notice(
            st,
            csrf,
            "password_reset",
            "Link not valid",
            "This reset link has expired or was already used. Ask for a new one.",
            Some(("/password/forgot", "Ask for a new link")),
            "reset-invalid",
        )
        .await,
        StatusCode::NOT_FOUND,
    )
}

async fn reset_form(
    State(st): State<WebState>,
    CsrfToken(csrf): CsrfToken,
    Path(token): Path<String>,
) -> Response {
    match st.app.password_reset_valid(&token).await {
        Ok(true) => {
            let layout =
                Layout::build(&st, "Choose a new password", None, &csrf, "password_reset").await;
            render(&ResetPage {
                layout,
                token,
                errors: BTreeMap::new(),
                rule: PASSWORD_RULE,
            })
        }
        Ok(false) => reset_invalid(&st, &csrf).await,
        Err(e) => app_error_page(&st, e),
    }
}

#[derive(Deserialize)]
pub struct ResetFields {
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

async fn reset_submit(
    State(st): State<WebState>,
    ClientIp(ip): ClientIp,
    CsrfToken(csrf): CsrfToken,
    Path(token): Path<String>,
    Form(x): Form<ResetFields>,
) -> Response {
    match st
        .app
        .complete_password_reset(&token, &x.password, &x.confirm, &ip)
        .await
    {
        Ok(_) => Redirect::to("/login?notice=password_reset").into_response(),
        Err(AppError::Invalid { field, message }) => {
            let layout =
                Layout::build(&st, "Choose a new password", None, &csrf, "password_reset").await;
            let mut errors = BTreeMap::new();
            errors.insert(field, message);
            with_status(
                render(&ResetPage {
                    layout,
                    token,
                    errors,
                    rule: PASSWORD_RULE,
                }),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        Err(AppError::Unauthorized(_)) => reset_invalid(&st, &csrf).await,
        Err(e) => app_error_page(&st, e),
    }
}
