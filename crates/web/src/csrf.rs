//! CSRF protection for every state-changing form. A logged-in form carries its session's token;
//! a form shown before login (login, setup) carries the token of a random `bo_csrf` cookie. A
//! request whose token does not match is refused with 403 before any handler runs.

use crate::session::CurrentSession;
use crate::{WebState, cookies};
use axum::body::{Body, Bytes, to_bytes};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};

/// The token forms on this page must carry.
#[derive(Clone, Debug)]
pub struct CsrfToken(pub String);

impl<S: Send + Sync> FromRequestParts<S> for CsrfToken {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<CsrfToken>()
            .cloned()
            .unwrap_or(CsrfToken(String::new())))
    }
}

fn form_field(body: &[u8], name: &str) -> Option<String> {
    std::str::from_utf8(body)
        .ok()?
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// A text field of a `multipart/form-data` body (the file upload forms put the token first).
async fn multipart_field(content_type: &str, body: &Bytes, name: &str) -> Option<String> {
    let boundary = multer::parse_boundary(content_type).ok()?;
    let body = body.clone();
    let stream = futures_util::stream::once(async move { Ok::<_, std::io::Error>(body) });
    let mut form = multer::Multipart::new(stream, boundary);
    while let Ok(Some(field)) = form.next_field().await {
        if field.name() == Some(name) {
            return field.text().await.ok();
        }
    }
    None
}

pub async fn verify(State(state): State<WebState>, req: Request, next: Next) -> Response {
    let session = req
        .extensions()
        .get::<CurrentSession>()
        .and_then(|c| c.0.clone());
    let anon_cookie = cookies::get(req.headers(), cookies::CSRF).filter(|c| c.len() >= 32);
    let expected = session
        .as_ref()
        .map(|s| s.csrf_token.clone())
        .or_else(|| anon_cookie.clone());

    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if safe {
        let mut req = req;
        let (token, new_cookie) = match expected {
            Some(t) => (t, None),
            None => match boxoffice_app::crypto::random_token() {
                Ok(t) => (t.clone(), Some(t)),
                Err(e) => return crate::pages::app_error_page(&state, e.into()),
            },
        };
        req.extensions_mut().insert(CsrfToken(token));
        let mut resp = next.run(req).await;
        if let Some(c) = new_cookie {
            resp.headers_mut().append(
                header::SET_COOKIE,
                cookies::set(cookies::CSRF, &c, None, state.opts.secure_cookies),
            );
        }
        return resp;
    }

    let Some(expected) = expected else {
        return refuse();
    };
    let (parts, body) = req.into_parts();
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let header_token = parts
        .headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let bytes = match to_bytes(body, state.opts.max_body_bytes).await {
        Ok(b) => b,
        Err(_) => {
            return (
                StatusCode::PAYLOAD_TOO_LARGE,
                Html(crate::pages::simple_page(
                    "Too large",
                    "The form was larger than this site accepts.",
                )),
            )
                .into_response();
        }
    };
    let req = Request::from_parts(parts, Body::from(bytes.clone()));
    // Never from the query string: a token in a URL ends up in logs and Referer headers.
    let given = match header_token {
        Some(t) => Some(t),
        None if content_type.starts_with("application/x-www-form-urlencoded") => {
            form_field(&bytes, "csrf")
        }
        None if content_type.starts_with("multipart/form-data") => {
            multipart_field(&content_type, &bytes, "csrf").await
        }
        None => None,
    };
    match given {
        Some(g) if boxoffice_app::crypto::constant_time_eq(g.as_bytes(), expected.as_bytes()) => {
            let mut req = req;
            req.extensions_mut().insert(CsrfToken(expected));
            next.run(req).await
        }
        _ => refuse(),
    }
}

fn refuse() -> Response {
    (
        StatusCode::FORBIDDEN,
        Html(crate::pages::simple_page(
            "Form expired",
            "This form has expired or was sent from another site, so nothing was changed. Go back, reload the page and try again.",
        )),
    )
        .into_response()
}
