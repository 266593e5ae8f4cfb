use super::{app_error_page, render};
use crate::csrf::CsrfToken;
use crate::layout::Layout;
use crate::session::{ClientIp, CurrentSession, safe_next};
use crate::{WebState, cookies};
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use boxoffice_app::AppError;
use boxoffice_app::auth::LoginOutcome;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    layout: Layout,
    error: Option<String>,
    notice: Option<String>,
    email: String,
    next: String,
}

#[derive(Deserialize, Default)]
pub struct NextQuery {
    next: Option<String>,
    notice: Option<String>,
}

pub async fn login_form(
    State(st): State<WebState>,
    CurrentSession(s): CurrentSession,
    CsrfToken(csrf): CsrfToken,
    Query(q): Query<NextQuery>,
) -> Response {
    if s.as_ref().is_some_and(|s| !s.mfa_pending) {
        return Redirect::to(&safe_next(q.next.as_deref())).into_response();
    }
    let notice = match q.notice.as_deref() {
        Some("logged_out") => Some("You are logged out.".to_string()),
        Some("setup_done") => {
            Some("The administrator was created. Log in with it now.".to_string())
        }
        Some("confirmed") => Some("Your e-mail address is confirmed. Log in now.".to_string()),
        Some("password_reset") => {
            Some("Your password was changed and every other session ended. Log in with the new password.".to_string())
        }
        _ => None,
    };
    let layout = Layout::build(&st, "Log in", None, &csrf, "login").await;
    render(&LoginPage {
        layout,
        error: None,
        notice,
        email: String::new(),
        next: safe_next(q.next.as_deref()),
    })
}

#[derive(Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
    next: Option<String>,
}

pub async fn login_submit(
    State(st): State<WebState>,
    ClientIp(ip): ClientIp,
    CsrfToken(csrf): CsrfToken,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    let ua = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let next = safe_next(f.next.as_deref());
    let page = |status: StatusCode, error: String, retry: Option<i64>| {
        let st = st.clone();
        let csrf = csrf.clone();
        let email = f.email.clone();
        let next = next.clone();
        async move {
            let layout = Layout::build(&st, "Log in", None, &csrf, "login").await;
            let mut r = render(&LoginPage {
                layout,
                error: Some(error),
                notice: None,
                email,
                next,
            });
            *r.status_mut() = status;
            if let Some(s) = retry
                && let Ok(v) = HeaderValue::from_str(&s.max(1).to_string())
            {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            r
        }
    };
    match st.app.login(&f.email, &f.password, &ip, ua).await {
        Ok(LoginOutcome::LoggedIn(t)) => {
            let max_age = st
                .app
                .settings()
                .await
                .map(|s| s.int("security.session_max_days") * 86_400)
                .unwrap_or(14 * 86_400);
            let to = if t.mfa_pending {
                format!("/login/2fa?next={}", crate::session::encode_next(&next))
            } else if next != "/" {
                next
            } else if t.is_admin_area {
                "/admin".into()
            } else {
                "/account".into()
            };
            let mut r = Redirect::to(&to).into_response();
            r.headers_mut().append(
                header::SET_COOKIE,
                cookies::set(
                    cookies::SESSION,
                    &t.token,
                    Some(max_age),
                    st.opts.secure_cookies,
                ),
            );
            r
        }
        Ok(LoginOutcome::Invalid) => {
            page(
                StatusCode::UNAUTHORIZED,
                "That e-mail and password do not match a login.".into(),
                None,
            )
            .await
        }
        Ok(LoginOutcome::Unconfirmed) => {
            page(
                StatusCode::FORBIDDEN,
                "Confirm your e-mail address first: follow the link in the e-mail we sent when you registered. No e-mail? Use \"Forgot your password?\" to get a new link.".into(),
                None,
            )
            .await
        }
        Ok(LoginOutcome::Throttled { retry_after }) => {
            page(
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "Too many failed attempts. Wait {retry_after} seconds before trying again."
                ),
                Some(retry_after),
            )
            .await
        }
        Err(AppError::Busy { retry_after }) => {
            page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Many logins are being checked right now. Try again in a moment.".into(),
                Some(retry_after),
            )
            .await
        }
        Err(e) => app_error_page(&st, e),
    }
}

#[derive(Template)]
#[template(path = "two_factor.html")]
struct SecondFactorPage {
    layout: Layout,
    error: Option<String>,
    next: String,
    by_email: bool,
}

pub async fn second_factor_form(
    State(st): State<WebState>,
    CurrentSession(s): CurrentSession,
    CsrfToken(csrf): CsrfToken,
    Query(q): Query<NextQuery>,
) -> Response {
    match s {
        Some(s) if s.mfa_pending => {
            let by_email = match st.app.second_factor_by_email(&s).await {
                Ok(b) => b,
                Err(e) => return app_error_page(&st, e),
            };
            let layout = Layout::build(&st, "Two-factor check", None, &csrf, "two_factor").await;
            render(&SecondFactorPage {
                layout,
                error: None,
                next: safe_next(q.next.as_deref()),
                by_email,
            })
        }
        Some(_) => Redirect::to("/").into_response(),
        None => Redirect::to("/login").into_response(),
    }
}

#[derive(Deserialize)]
pub struct CodeForm {
    code: String,
    next: Option<String>,
}

pub async fn second_factor_submit(
    State(st): State<WebState>,
    CurrentSession(s): CurrentSession,
    ClientIp(ip): ClientIp,
    CsrfToken(csrf): CsrfToken,
    Form(f): Form<CodeForm>,
) -> Response {
    let Some(s) = s.filter(|s| s.mfa_pending) else {
        return Redirect::to("/login").into_response();
    };
    match st.app.verify_second_factor(&s, &f.code, &ip).await {
        Ok(()) => {
            let next = safe_next(f.next.as_deref());
            let to = if next != "/" {
                next
            } else if s.role != boxoffice_domain::RoleKind::User {
                "/admin".into()
            } else {
                "/account".into()
            };
            Redirect::to(&to).into_response()
        }
        Err(AppError::Invalid { message, .. }) => {
            let by_email = st.app.second_factor_by_email(&s).await.unwrap_or(false);
            let layout = Layout::build(&st, "Two-factor check", None, &csrf, "two_factor").await;
            let mut r = render(&SecondFactorPage {
                layout,
                error: Some(message),
                next: safe_next(f.next.as_deref()),
                by_email,
            });
            *r.status_mut() = StatusCode::UNAUTHORIZED;
            r
        }
        Err(e) => app_error_page(&st, e),
    }
}

pub async fn logout(
    State(st): State<WebState>,
    CurrentSession(s): CurrentSession,
    ClientIp(ip): ClientIp,
) -> Response {
    if let Some(s) = s
        && let Err(e) = st.app.logout(&s, &ip).await
    {
        return app_error_page(&st, e);
    }
    let mut r = Redirect::to("/login?notice=logged_out").into_response();
    r.headers_mut().append(
        header::SET_COOKIE,
        cookies::clear(cookies::SESSION, st.opts.secure_cookies),
    );
    r
}

pub async fn logout_everywhere(
    State(st): State<WebState>,
    CurrentSession(s): CurrentSession,
    ClientIp(ip): ClientIp,
) -> Response {
    if let Some(s) = s
        && let Err(e) = st.app.logout_everywhere(&s, &ip).await
    {
        return app_error_page(&st, e);
    }
    let mut r = Redirect::to("/login?notice=logged_out").into_response();
    r.headers_mut().append(
        header::SET_COOKIE,
        cookies::clear(cookies::SESSION, st.opts.secure_cookies),
    );
    r
}

#[derive(Template)]
#[template(path = "setup.html")]
struct SetupPage {
    layout: Layout,
    token: String,
    email: String,
    error: Option<String>,
}

pub async fn setup_form(
    State(st): State<WebState>,
    CsrfToken(csrf): CsrfToken,
    Path(token): Path<String>,
) -> Response {
    match st.app.setup_token_valid(&token).await {
        Ok(true) => {
            let layout = Layout::build(&st, "Set up", None, &csrf, "setup").await;
            render(&SetupPage { layout, token, email: String::new(), error: None })
        }
        Ok(false) => (StatusCode::NOT_FOUND, axum::response::Html(super::simple_page("Setup link not valid", "This setup link has expired or was already used. An administrator exists, or restart `boxoffice serve` for a new link."))).into_response(),
        Err(e) => app_error_page(&st, e),
    }
}

#[derive(Deserialize)]
pub struct SetupForm {
    email: String,
    password: String,
}

pub async fn setup_submit(
    State(st): State<WebState>,
    ClientIp(ip): ClientIp,
    CsrfToken(csrf): CsrfToken,
    Path(token): Path<String>,
    Form(f): Form<SetupForm>,
) -> Response {
    match st
        .app
        .complete_setup(&token, &f.email, &f.password, &ip)
        .await
    {
        Ok(()) => Redirect::to("/login?notice=setup_done").into_response(),
        Err(AppError::Invalid { message, .. } | AppError::Conflict(message)) => {
            let layout = Layout::build(&st, "Set up", None, &csrf, "setup").await;
            let mut r = render(&SetupPage {
                layout,
                token,
                email: f.email,
                error: Some(message),
            });
            *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            r
        }
        Err(e @ AppError::Unauthorized(_)) => (
            StatusCode::NOT_FOUND,
            axum::response::Html(super::simple_page("Setup link not valid", &e.to_string())),
        )
            .into_response(),
        Err(e) => app_error_page(&st, e),
    }
}
