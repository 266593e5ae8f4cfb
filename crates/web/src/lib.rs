//! The HTTP face of boxoffice: server-rendered admin panel and customer pages, the JSON API under
//! `/api/v1`, and `/healthz` and `/metrics`. Handlers call use cases on [`boxoffice_app::App`];
//! nothing here talks to a media server or a gateway.

// Handlers answer early with a ready `Response`; boxing it would only add noise.
#![allow(clippy::result_large_err)]

mod api;
mod cookies;
mod csrf;
mod error;
mod headers;
mod health;
mod layout;
mod observe;
mod pages;
pub mod proxy;
mod rejections;
mod session;
mod static_files;
mod upload;
mod webhooks;

pub use error::ApiError;

/// The settings pages' sections and their URL names (`/admin/settings/<slug>`).
pub mod settings_pages {
    pub use crate::pages::settings::{sections, slug};
}

use axum::Router;
use boxoffice_app::App;
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct WebOptions {
    /// Mark cookies `Secure` (the site is served over HTTPS).
    pub secure_cookies: bool,
    /// Send `Strict-Transport-Security`: users reach the site at an `https://` public URL.
    pub hsts: bool,
    /// Take the client address from `X-Forwarded-For` whoever sends it (legacy; prefer
    /// `trusted_proxies`).
    pub trust_forwarded_for: bool,
    /// Peers whose forwarded headers (`X-Forwarded-*`, `Forwarded`) are believed.
    pub trusted_proxies: Vec<proxy::ProxyNet>,
    pub request_timeout: Duration,
    pub max_body_bytes: usize,
    /// Every page says it is a demo.
    pub demo: bool,
    /// `/metrics` answers only `Authorization: Bearer <this>`.
    pub metrics_token: Option<String>,
    /// Whether `/metrics` is on this router (not when it has an address of its own).
    pub metrics_on_main: bool,
}

impl Default for WebOptions {
    fn default() -> Self {
        Self {
            secure_cookies: false,
            hsts: false,
            trust_forwarded_for: false,
            trusted_proxies: Vec::new(),
            request_timeout: Duration::from_secs(30),
            max_body_bytes: 10 << 20,
            demo: false,
            metrics_token: None,
            metrics_on_main: true,
        }
    }
}

#[derive(Clone, Debug)]
pub struct WebState {
    pub app: App,
    pub opts: WebOptions,
}

pub fn router(app: App, opts: WebOptions) -> Router {
    let state = WebState { app, opts };
    let pages = pages::routes()
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            pages::form::require_utf8,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            csrf::verify,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            session::load,
        ));
    Router::new()
        .merge(pages)
        .nest(
            "/api/v1",
            api::routes().layer(axum::middleware::from_fn_with_state(
                state.clone(),
                api::idempotency::replay,
            )),
        )
        .merge(health::routes(state.opts.metrics_on_main))
        // Signature-authenticated: outside the session and CSRF layers of the pages.
        .merge(webhooks::routes())
        .merge(static_files::routes())
        .fallback(pages::not_found)
        // Before everything else: the client's address and the host check of the Site URI.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            proxy::admit,
        ))
        // What Json, Form and Multipart read, unless a route sets its own (a CSV upload).
        .layer(axum::extract::DefaultBodyLimit::max(
            state.opts.max_body_bytes,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            observe::record,
        ))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(
            state.opts.max_body_bytes,
        ))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            state.opts.request_timeout,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            rejections::answer_in_kind,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.opts.clone(),
            headers::secure,
        ))
        .layer(observe::trace_layer())
        .layer(tower_http::request_id::PropagateRequestIdLayer::x_request_id())
        .layer(tower_http::request_id::SetRequestIdLayer::x_request_id(
            observe::RandomRequestId,
        ))
        .with_state(state)
}

/// `/metrics` alone, for its own listen address (`metrics.listen`).
pub fn metrics_router(app: App, opts: WebOptions) -> Router {
    let state = WebState { app, opts };
    Router::new()
        .merge(health::metrics_only())
        .layer(axum::middleware::from_fn_with_state(
            state.opts.clone(),
            headers::secure,
        ))
        .with_state(state)
}
