//! Loads the login session behind the cookie once per request and hands it to handlers.

use crate::{WebState, cookies};
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use boxoffice_app::auth::{Principal, SessionCtx};
use boxoffice_domain::Permission;
use std::net::SocketAddr;

/// The session of this request, if any (after the middleware ran).
#[derive(Clone, Debug, Default)]
pub struct CurrentSession(pub Option<SessionCtx>);

/// The client's address as text, for throttling and the audit log.
#[derive(Clone, Debug)]
pub struct ClientIp(pub String);

fn client_ip(req: &Request, trust_forwarded: bool) -> String {
    if trust_forwarded
        && let Some(first) = req
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
    {
        return first.trim().to_string();
    }
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

pub async fn load(State(state): State<WebState>, mut req: Request, next: Next) -> Response {
    // The outer `proxy::admit` layer has read it, trusted proxies included.
    if req.extensions().get::<ClientIp>().is_none() {
        let ip = client_ip(&req, state.opts.trust_forwarded_for);
        req.extensions_mut().insert(ClientIp(ip));
    }
    let token = cookies::get(req.headers(), cookies::SESSION);
    let mut stale_cookie = false;
    let session = match &token {
        Some(t) if !t.is_empty() => match state.app.session(t).await {
            Ok(s) => {
                stale_cookie = s.is_none();
                s
            }
            Err(e) => return crate::pages::app_error_page(&state, e),
        },
        _ => None,
    };
    req.extensions_mut().insert(CurrentSession(session));
    let mut resp = next.run(req).await;
    if stale_cookie && !resp.headers().contains_key(header::SET_COOKIE) {
        resp.headers_mut().append(
            header::SET_COOKIE,
            cookies::clear(cookies::SESSION, state.opts.secure_cookies),
        );
    }
    resp
}

impl<S: Send + Sync> FromRequestParts<S> for CurrentSession {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<CurrentSession>()
            .cloned()
            .unwrap_or_default())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<ClientIp>()
            .cloned()
            .unwrap_or(ClientIp("unknown".into())))
    }
}

/// A fully logged-in session (second factor done), or a redirect to the login page.
pub struct LoggedIn(pub SessionCtx);

impl<S: Send + Sync> FromRequestParts<S> for LoggedIn {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        match parts
            .extensions
            .get::<CurrentSession>()
            .and_then(|c| c.0.clone())
        {
            Some(s) if !s.mfa_pending => Ok(LoggedIn(s)),
            Some(_) => Err(Redirect::to("/login/2fa").into_response()),
            None => {
                let next = parts
                    .uri
                    .path_and_query()
                    .map(|p| p.as_str())
                    .unwrap_or("/");
                Err(Redirect::to(&format!("/login?next={}", encode_next(next))).into_response())
            }
        }
    }
}

/// Staff (administrators and custom roles) in the admin panel.
pub struct Staff(pub SessionCtx);

impl<S: Send + Sync> FromRequestParts<S> for Staff {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, s: &S) -> Result<Self, Self::Rejection> {
        let LoggedIn(session) = LoggedIn::from_request_parts(parts, s).await?;
        if !session.is_staff() {
            return Err(forbidden_page(
                "This page is for the site's administrators.",
            ));
        }
        Ok(Staff(session))
    }
}

impl Staff {
    /// Checks a named permission; every admin handler calls this with the one it needs.
    pub fn require(&self, p: Permission) -> Result<&SessionCtx, Response> {
        if self.0.can(p) {
            Ok(&self.0)
        } else {
            Err(forbidden_page(&format!(
                "Your role does not allow you to {}.",
                p.label().to_lowercase()
            )))
        }
    }
}

pub fn forbidden_page(message: &str) -> Response {
    (
        StatusCode::FORBIDDEN,
        axum::response::Html(crate::pages::simple_page("Not allowed", message)),
    )
        .into_response()
}

/// Keeps a local path for the post-login redirect; anything else becomes "/".
pub fn encode_next(next: &str) -> String {
    let safe = if next.starts_with('/') && !next.starts_with("//") {
        next
    } else {
        "/"
    };
    safe.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_string(),
        _ => "/".to_string(),
    }
}
