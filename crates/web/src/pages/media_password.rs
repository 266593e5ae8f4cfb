//! The page behind a Jellyfin/Emby invite's one-time link: the customer (no site login needed)
//! sees the server and their username and chooses their media password. The password goes to a
//! job, so after submitting the page says it is being saved and refreshes until it is set.
//!
//! The token is in the path, so these pages send no Referer (a link to the media server would
//! otherwise carry it away) and are not cached.

use super::form::{self, Fields};
use super::{app_error_page, render};
use crate::WebState;
use crate::csrf::CsrfToken;
use crate::layout::Layout;
use crate::session::{ClientIp, CurrentSession};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use boxoffice_app::AppError;
use boxoffice_app::subscriptions::{LinkState, MediaPasswordView, spent_message};
use boxoffice_domain::media_password::MIN_LEN;
use serde::Deserialize;

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/media-password/{token}", get(page).post(submit))
        .route("/media-password/{token}/new-link", post(new_link))
}

#[derive(Template)]
#[template(path = "media_password.html")]
struct LinkPage {
    layout: Layout,
    token: String,
    /// open, applying, set, failed, expired or replaced (also the `data-state` tests wait on).
    state: &'static str,
    platform: String,
    server_name: String,
    server_url: String,
    username: String,
    expires: String,
    min_len: usize,
    /// Why the link no longer opens the form.
    spent: &'static str,
    /// The server's refusal, when it refused.
    server_error: String,
    password_error: Option<String>,
    confirm_error: Option<String>,
    notice: Option<String>,
    error: Option<String>,
    can_ask_new: bool,
}

fn state_name(s: LinkState) -> &'static str {
    match s {
        LinkState::Open => "open",
        LinkState::Applying => "applying",
        LinkState::Set => "set",
        LinkState::Failed => "failed",
        LinkState::Expired => "expired",
        LinkState::Replaced => "replaced",
    }
}

/// No Referer from this page (its address is the secret) and no copy in any cache.
fn private(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

#[derive(Default)]
struct Extra {
    password_error: Option<String>,
    confirm_error: Option<String>,
    notice: Option<String>,
    error: Option<String>,
}

async fn view_page(
    st: &WebState,
    session: &CurrentSession,
    csrf: &str,
    token: String,
    v: MediaPasswordView,
    extra: Extra,
    status: StatusCode,
) -> Response {
    let title = match v.state {
        LinkState::Open => format!("Choose your {} password", v.platform),
        LinkState::Set => "Your password is set".to_string(),
        _ => format!("Your {} password", v.platform),
    };
    let mut layout = Layout::build(st, &title, session.0.as_ref(), csrf, "media-password").await;
    layout.page = "media-password".into();
    let mut r = render(&LinkPage {
        layout,
        token,
        state: state_name(v.state),
        platform: v.platform.to_string(),
        server_name: v.server_name,
        server_url: v.server_url,
        username: v.username,
        expires: super::admin::fmt_time(v.expires_at),
        min_len: MIN_LEN,
        spent: spent_message(v.state),
        server_error: v.error,
        password_error: extra.password_error,
        confirm_error: extra.confirm_error,
        notice: extra.notice,
        error: extra.error,
        can_ask_new: !matches!(v.state, LinkState::Open | LinkState::Applying),
    });
    *r.status_mut() = status;
    private(r)
}

fn unknown_link() -> Response {
    private(
        (
            StatusCode::NOT_FOUND,
            Html(super::simple_page(
                "Link not valid",
                "This password link is not valid. Use the link of your latest invite message exactly as it arrived, or ask the site's administrator to send the invite again.",
            )),
        )
            .into_response(),
    )
}

#[derive(Deserialize, Default)]
struct Q {
    new_link: Option<String>,
}

async fn page(
    State(st): State<WebState>,
    session: CurrentSession,
    CsrfToken(csrf): CsrfToken,
    Path(token): Path<String>,
    Query(q): Query<Q>,
) -> Response {
    let notice = match q.new_link.as_deref() {
        Some("sent") => Some(
            "A new link is on its way to your e-mail (and Discord, if you linked it). It replaces this one."
                .to_string(),
        ),
        _ => None,
    };
    match st.app.media_password_link(&token).await {
        Ok(v) => {
            let extra = Extra {
                notice,
                ..Extra::default()
            };
            view_page(&st, &session, &csrf, token, v, extra, StatusCode::OK).await
        }
        Err(AppError::NotFound(_)) => unknown_link(),
        Err(e) => private(app_error_page(&st, e)),
    }
}

async fn submit(
    State(st): State<WebState>,
    session: CurrentSession,
    CsrfToken(csrf): CsrfToken,
    ClientIp(ip): ClientIp,
    Path(token): Path<String>,
    Form(f): Form<Fields>,
) -> Response {
    let password = form::secret(&f, "password");
    let confirm = form::secret(&f, "confirm");
    let again = |extra: Extra, status: StatusCode| {
        let (st, session, csrf, token) = (st.clone(), &session, csrf.clone(), token.clone());
        async move {
            match st.app.media_password_link(&token).await {
                Ok(v) => view_page(&st, session, &csrf, token, v, extra, status).await,
                Err(AppError::NotFound(_)) => unknown_link(),
                Err(e) => private(app_error_page(&st, e)),
            }
        }
    };
    match st
        .app
        .choose_media_password(&token, &password, &confirm, &ip)
        .await
    {
        // Post/redirect/get: the page of the link now says the password is being saved.
        Ok(_) => private(Redirect::to(&format!("/media-password/{token}")).into_response()),
        Err(AppError::Invalid { field, message }) => {
            let extra = if field == "confirm" {
                Extra {
                    confirm_error: Some(message),
                    ..Extra::default()
                }
            } else {
                Extra {
                    password_error: Some(message),
                    ..Extra::default()
                }
            };
            again(extra, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(AppError::Conflict(message)) => {
            again(
                Extra {
                    error: Some(message),
                    ..Extra::default()
                },
                StatusCode::CONFLICT,
            )
            .await
        }
        Err(AppError::NotFound(_)) => unknown_link(),
        Err(e) => private(app_error_page(&st, e)),
    }
}

async fn new_link(
    State(st): State<WebState>,
    session: CurrentSession,
    CsrfToken(csrf): CsrfToken,
    Path(token): Path<String>,
) -> Response {
    let (message, status) = match st.app.request_new_password_link(&token).await {
        Ok(_) => {
            return private(
                Redirect::to(&format!("/media-password/{token}?new_link=sent")).into_response(),
            );
        }
        Err(AppError::Throttled { retry_after }) => (
            format!(
                "A link was sent a few minutes ago: look for it in your e-mail (and its spam folder). You can ask again in {} minutes.",
                (retry_after + 59) / 60
            ),
            StatusCode::TOO_MANY_REQUESTS,
        ),
        Err(AppError::Conflict(m)) => (m, StatusCode::CONFLICT),
        Err(AppError::NotFound(_)) => return unknown_link(),
        Err(e) => return private(app_error_page(&st, e)),
    };
    match st.app.media_password_link(&token).await {
        Ok(v) => {
            let extra = Extra {
                error: Some(message),
                ..Extra::default()
            };
            view_page(&st, &session, &csrf, token, v, extra, status).await
        }
        Err(AppError::NotFound(_)) => unknown_link(),
        Err(e) => private(app_error_page(&st, e)),
    }
}
