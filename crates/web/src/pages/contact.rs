//! Contact Us: a customer writes to the administrator. Logged-in customers may always write;
//! visitors only while `general.contact_page_enabled` is on. The message travels as the
//! `contact_us` notification, so it reaches the administrator's e-mail or Discord.

use super::form::{self, Fields, failure_status, with_status};
use super::{app_error_page, render};
use crate::WebState;
use crate::csrf::CsrfToken;
use crate::layout::Layout;
use crate::session::{ClientIp, CurrentSession};
use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use boxoffice_app::AppError;
use boxoffice_app::auth::SessionCtx;
use boxoffice_app::notify::{CONTACT_MESSAGE_MAX, ContactMessage};
use serde::Deserialize;

pub fn routes() -> Router<WebState> {
    Router::new().route("/contact", get(contact_page).post(contact_submit))
}

#[derive(Template)]
#[template(path = "contact.html")]
struct ContactPage {
    layout: Layout,
    sent: bool,
    name: String,
    email: String,
    message: String,
    max: usize,
    name_error: Option<String>,
    email_error: Option<String>,
    message_error: Option<String>,
    error: Option<String>,
}

#[derive(Deserialize, Default)]
struct Sent {
    sent: Option<String>,
}

/// The session, when the page is open to this caller: a full login always, a visitor only while
/// the page is enabled. `Err` is the answer for everyone else.
async fn admitted(
    st: &WebState,
    session: Option<SessionCtx>,
) -> Result<Option<SessionCtx>, Response> {
    match session {
        Some(s) if s.mfa_pending => Err(Redirect::to("/login/2fa").into_response()),
        Some(s) => Ok(Some(s)),
        None => {
            let open = match st.app.settings().await {
                Ok(s) => s.bool("general.contact_page_enabled"),
                Err(e) => return Err(app_error_page(st, e)),
            };
            if open {
                Ok(None)
            } else {
                Err(Redirect::to("/login?next=%2Fcontact").into_response())
            }
        }
    }
}

async fn contact_page(
    State(st): State<WebState>,
    CurrentSession(session): CurrentSession,
    CsrfToken(csrf): CsrfToken,
    Query(q): Query<Sent>,
) -> Response {
    let session = match admitted(&st, session).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let layout = Layout::build(&st, "Contact us", session.as_ref(), &csrf, "contact").await;
    render(&ContactPage {
        layout,
        sent: q.sent.is_some(),
        name: String::new(),
        email: session.map(|s| s.email).unwrap_or_default(),
        message: String::new(),
        max: CONTACT_MESSAGE_MAX,
        name_error: None,
        email_error: None,
        message_error: None,
        error: None,
    })
}

async fn contact_submit(
    State(st): State<WebState>,
    CurrentSession(session): CurrentSession,
    ClientIp(ip): ClientIp,
    CsrfToken(csrf): CsrfToken,
    Form(f): Form<Fields>,
) -> Response {
    let session = match admitted(&st, session).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let name = form::text(&f, "name");
    let email = form::text(&f, "email");
    let message = form::secret(&f, "message").replace("\r\n", "\n");
    let r = st
        .app
        .contact_us(&ContactMessage {
            login_email: session.as_ref().map(|s| s.email.as_str()),
            ip: &ip,
            name: &name,
            email: &email,
            message: &message,
        })
        .await;
    let e = match r {
        Ok(()) => return Redirect::to("/contact?sent=1").into_response(),
        Err(e @ (AppError::Invalid { .. } | AppError::Throttled { .. })) => e,
        Err(e) => return app_error_page(&st, e),
    };
    let status = failure_status(&e);
    let (mut name_error, mut email_error, mut message_error, mut error) = (None, None, None, None);
    match &e {
        AppError::Invalid {
            field: "name",
            message,
        } => name_error = Some(message.clone()),
        AppError::Invalid {
            field: "email",
            message,
        } => email_error = Some(message.clone()),
        AppError::Invalid { message, .. } => message_error = Some(message.clone()),
        AppError::Throttled { retry_after } => {
            error = Some(format!(
                "You have sent several messages in the last hour. Try again in {} minutes.",
                (retry_after + 59) / 60
            ))
        }
        _ => {}
    }
    let layout = Layout::build(&st, "Contact us", session.as_ref(), &csrf, "contact").await;
    let page = ContactPage {
        layout,
        sent: false,
        name,
        email,
        message,
        max: CONTACT_MESSAGE_MAX,
        name_error,
        email_error,
        message_error,
        error,
    };
    with_status(render(&page), status)
}
