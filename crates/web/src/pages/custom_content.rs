//! The owner's custom content on the web: the FAQ page, the uploaded logo and wallpaper and the
//! theme stylesheets (all served from this site, with their own content type and `nosniff`), and
//! the upload and removal forms on Settings → Custom content.

use super::{app_error_page, render};
use crate::WebState;
use crate::csrf::CsrfToken;
use crate::layout::Layout;
use crate::session::{ClientIp, CurrentSession, Staff};
use askama::Template;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use boxoffice_app::AppError;
use boxoffice_app::content::uploads::MAX_UPLOAD_BYTES;
use boxoffice_app::home::FaqPage;
use boxoffice_domain::Permission;

/// Room for the largest upload plus the multipart envelope.
const BODY_LIMIT: usize = MAX_UPLOAD_BYTES + 64 * 1024;
/// The addresses carry a version, so browsers may keep a copy for a day.
const CACHE: &str = "public, max-age=86400";

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/faq", get(faq))
        .route("/site/logo.png", get(|st| upload(st, "logo")))
        .route("/site/wallpaper", get(|st| upload(st, "wallpaper")))
        .route("/site/theme.css", get(theme_css))
        .route("/site/custom.css", get(custom_css))
        .route(
            "/admin/content/{what}",
            post(upload_submit).layer(DefaultBodyLimit::max(BODY_LIMIT)),
        )
        .route("/admin/content/{what}/remove", post(remove_submit))
}

#[derive(Template)]
#[template(path = "faq.html")]
struct FaqTemplate {
    layout: Layout,
    faq: FaqPage,
}

async fn faq(
    State(st): State<WebState>,
    CurrentSession(s): CurrentSession,
    CsrfToken(csrf): CsrfToken,
) -> Response {
    if s.as_ref().is_some_and(|s| s.mfa_pending) {
        return Redirect::to("/login/2fa").into_response();
    }
    let faq = match st.app.faq_page().await {
        Ok(f) => f,
        Err(e) => return app_error_page(&st, e),
    };
    if s.is_none() && !faq.public {
        return Redirect::to("/login").into_response();
    }
    let title = if faq.title.is_empty() {
        "FAQ".to_string()
    } else {
        faq.title.clone()
    };
    let layout = Layout::build(&st, &title, s.as_ref(), &csrf, "faq").await;
    render(&FaqTemplate { layout, faq })
}

async fn upload(State(st): State<WebState>, what: &'static str) -> Response {
    match st.app.upload(what).await {
        Ok(u) => (
            [
                (header::CONTENT_TYPE, u.content_type),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
                (header::CACHE_CONTROL, CACHE),
            ],
            u.bytes,
        )
            .into_response(),
        Err(AppError::NotFound(_)) => StatusCode::NOT_FOUND.into_response(),
        Err(e) => app_error_page(&st, e),
    }
}

fn stylesheet(css: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::CACHE_CONTROL, CACHE),
        ],
        css,
    )
        .into_response()
}

async fn theme_css(State(st): State<WebState>) -> Response {
    match st.app.theme_stylesheet().await {
        Ok(css) => stylesheet(css),
        Err(e) => app_error_page(&st, e),
    }
}

async fn custom_css(State(st): State<WebState>) -> Response {
    match st.app.custom_stylesheet().await {
        Ok(css) => stylesheet(css),
        Err(e) => app_error_page(&st, e),
    }
}

const SECTION: &str = "Custom content";

async fn upload_submit(
    State(st): State<WebState>,
    staff: Staff,
    ClientIp(ip): ClientIp,
    CsrfToken(csrf): CsrfToken,
    Path(what): Path<String>,
    mut form: Multipart,
) -> Response {
    let s = match staff.require(Permission::SettingsWrite) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let what: &'static str = match what.as_str() {
        "logo" => "logo",
        "wallpaper" => "wallpaper",
        _ => return super::not_found().await,
    };
    let label = if what == "logo" { "Logo" } else { "Wallpaper" };
    let mut bytes: Option<Vec<u8>> = None;
    let mut failure: Option<String> = None;
    loop {
        let mut field = match form.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                failure = Some(format!(
                    "{label}: the file is too large; it must be under 5 MB"
                ));
                break;
            }
            Err(e) => {
                failure = Some(format!("{label}: the upload could not be read: {e}"));
                break;
            }
        };
        if field.name() == Some("file") {
            match crate::upload::read_capped(&mut field, MAX_UPLOAD_BYTES).await {
                Ok(crate::upload::Capped::Within(b)) => bytes = Some(b),
                Ok(crate::upload::Capped::TooLarge) => {
                    failure = Some(format!(
                        "{label}: the file is too large; it must be under 5 MB"
                    ));
                    break;
                }
                Err(e) => {
                    failure = Some(format!("{label}: the file could not be read: {e}"));
                    break;
                }
            }
        }
    }
    let result = match (failure, bytes) {
        (Some(m), _) => Err(m),
        (None, b) => {
            let b = b.unwrap_or_default();
            let actor = s.actor(&ip);
            let r = if what == "logo" {
                st.app.upload_logo(&actor, &b).await
            } else {
                st.app.upload_wallpaper(&actor, &b).await
            };
            match r {
                Ok(()) => Ok(()),
                Err(AppError::Invalid { message, .. }) => Err(message),
                Err(e) => return app_error_page(&st, e),
            }
        }
    };
    match result {
        Ok(()) => Redirect::to("/admin/settings/custom-content?saved=1").into_response(),
        Err(message) => {
            super::settings::section_with_errors(
                &st,
                s,
                &csrf,
                SECTION,
                vec![(format!("upload.{what}"), message)],
            )
            .await
        }
    }
}

async fn remove_submit(
    State(st): State<WebState>,
    staff: Staff,
    ClientIp(ip): ClientIp,
    Path(what): Path<String>,
) -> Response {
    let s = match staff.require(Permission::SettingsWrite) {
        Ok(s) => s,
        Err(r) => return r,
    };
    match st.app.remove_upload(&s.actor(&ip), &what).await {
        Ok(()) => Redirect::to("/admin/settings/custom-content?saved=1").into_response(),
        Err(AppError::NotFound(_)) => super::not_found().await,
        Err(e) => app_error_page(&st, e),
    }
}
