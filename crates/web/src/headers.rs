//! The headers every answer carries to protect the browser that shows it, set in one layer so
//! no page, API call, export or error can miss them. A handler that sets one itself (a static
//! file's `Cache-Control`) keeps its own.

use crate::WebOptions;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

/// Scripts only from our own files, never inline; no plugins; no framing; forms post back here.
/// Inline styles stay allowed because the e-mail preview shows the template's own HTML (in a
/// sandboxed frame that inherits this policy), and e-mails are styled inline; images may come
/// from any https address for the same reason.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data: https:; object-src 'none'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// One year; sent only when users reach the site over https (`public_url`).
const HSTS: &str = "max-age=31536000";

pub async fn secure(State(opts): State<WebOptions>, req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    let mut set = |name: HeaderName, value: &'static str| {
        if !h.contains_key(&name) {
            h.insert(name, HeaderValue::from_static(value));
        }
    };
    set(header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY);
    set(header::X_FRAME_OPTIONS, "DENY");
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(header::REFERRER_POLICY, "same-origin");
    // Pages, API answers and exports hold someone's data; only what opts in (static files) is
    // kept by browsers and proxies.
    set(header::CACHE_CONTROL, "no-store");
    if opts.hsts {
        set(header::STRICT_TRANSPORT_SECURITY, HSTS);
    }
    resp
}
