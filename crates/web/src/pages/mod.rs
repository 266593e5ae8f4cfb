//! Server-rendered pages. Templates escape every value; forms work without JavaScript.

mod account;
mod account_actions;
mod account_linked;
mod account_plan;
mod activity;
pub mod admin;
mod auth;
mod bulk_invite;
mod checkout;
mod contact;
mod custom_content;
mod devices;
mod discounts;
mod drift;
pub mod form;
mod home;
mod library_groups;
mod linked_users;
mod media_password;
mod migrations;
mod my_streams;
mod new_customer;
mod notifications;
pub(crate) mod payments;
mod plan_request_apps;
mod plans;
mod plex_accounts;
mod plex_change;
mod register;
mod selftest;
mod server_public_url;
mod servers;
pub mod settings;
mod site_logins;
mod user_detail;
mod users;

use crate::WebState;
use askama::Template;
use axum::Router;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use boxoffice_app::AppError;

pub fn routes() -> Router<WebState> {
    Router::new()
        .merge(home::routes())
        .merge(custom_content::routes())
        .route("/login", get(auth::login_form).post(auth::login_submit))
        .route(
            "/login/2fa",
            get(auth::second_factor_form).post(auth::second_factor_submit),
        )
        .route("/logout", post(auth::logout))
        .route("/logout/everywhere", post(auth::logout_everywhere))
        .route(
            "/setup/{token}",
            get(auth::setup_form).post(auth::setup_submit),
        )
        .route("/account", get(account::home))
        .route("/security", get(account::security))
        .route("/security/totp/start", post(account::totp_start))
        .route("/security/totp/confirm", post(account::totp_confirm))
        .route("/security/totp/disable", post(account::totp_disable))
        .merge(servers::routes())
        .merge(server_public_url::routes())
        .merge(migrations::routes())
        .merge(plex_accounts::routes())
        .merge(plans::routes())
        .merge(discounts::routes())
        .merge(plan_request_apps::routes())
        .merge(library_groups::routes())
        .merge(selftest::routes())
        .merge(drift::routes())
        .merge(activity::routes())
        .merge(devices::routes())
        .merge(payments::routes())
        .merge(new_customer::routes())
        .merge(users::routes())
        .merge(plex_change::routes())
        .merge(my_streams::routes())
        .merge(bulk_invite::routes())
        .merge(user_detail::routes())
        .merge(site_logins::routes())
        .merge(linked_users::routes())
        .merge(account_linked::routes())
        .merge(notifications::routes())
        .merge(contact::routes())
        .merge(checkout::routes())
        .merge(account_plan::routes())
        .merge(account_actions::routes())
        .merge(media_password::routes())
        .merge(register::routes())
        .merge(admin::routes())
        .merge(settings::routes())
}

#[derive(Template)]
#[template(path = "message.html")]
struct Message<'a> {
    title: &'a str,
    message: &'a str,
}

/// A page without the site frame, for errors met before a handler runs.
pub fn simple_page(title: &str, message: &str) -> String {
    Message { title, message }
        .render()
        .unwrap_or_else(|_| message.to_string())
}

pub fn render<T: Template>(t: &T) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed to render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Html(simple_page(
                    "Something went wrong",
                    "This page could not be drawn. The error is in the server log.",
                )),
            )
                .into_response()
        }
    }
}

/// An unexpected failure as a page: 503 when the database is down, 500 otherwise.
pub fn app_error_page(_state: &WebState, e: AppError) -> Response {
    let (status, _) = crate::error::classify(&e);
    if status.is_server_error()
        && !matches!(
            e,
            AppError::Media(_) | AppError::Delivery { .. } | AppError::Busy { .. }
        )
    {
        tracing::error!(error = ?e, "page failed");
    }
    let retry_after = crate::error::retry_after_of(&e);
    let message = match status {
        _ if matches!(
            e,
            AppError::Media(_) | AppError::Delivery { .. } | AppError::Busy { .. }
        ) =>
        {
            e.to_string()
        }
        StatusCode::SERVICE_UNAVAILABLE => "The database is unavailable right now. Try again in a moment.".to_string(),
        s if s.is_server_error() => "Something went wrong on our side. The error is in the server log with this request's id.".to_string(),
        _ => e.to_string(),
    };
    let mut r = (status, Html(simple_page("Something went wrong", &message))).into_response();
    if let Some(s) = retry_after
        && let Ok(v) = axum::http::HeaderValue::from_str(&s.max(1).to_string())
    {
        r.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
    }
    r
}

pub async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        Html(simple_page(
            "Not found",
            "There is no page at this address.",
        )),
    )
        .into_response()
}
