//! Admin → Notifications: every event with its e-mail and Discord templates, the editor for one
//! template (validated on save, previewed with sample values, sent as a test), the SMTP test
//! button, and the notification log. Reading needs the settings read permission; anything that
//! changes a template or sends mail needs settings write.

use super::form::{self, Fields, failure_status, with_status};
use super::{app_error_page, not_found, render};
use crate::WebState;
use crate::csrf::CsrfToken;
use crate::layout::Layout;
use crate::session::{ClientIp, Staff};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use boxoffice_app::AppError;
use boxoffice_app::auth::Principal;
use boxoffice_domain::Permission;
use boxoffice_domain::notifications::{self, COMMON_FIELDS, Channel, EventDef, TemplateText};
use boxoffice_store::notifications::{LogFilter, NotificationRow};
use serde::Deserialize;

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/admin/notifications", get(index_page))
        .route("/admin/notifications/test-smtp", post(test_smtp))
        .route("/admin/notifications/log", get(log_page))
        .route(
            "/admin/notifications/{event}/{channel}",
            get(edit_page).post(save),
        )
        .route(
            "/admin/notifications/{event}/{channel}/preview",
            post(preview),
        )
        .route("/admin/notifications/{event}/{channel}/reset", post(reset))
        .route(
            "/admin/notifications/{event}/{channel}/test",
            post(send_test),
        )
}

/// The statuses a notification can be in, in the order the log filter offers them.
pub const STATUSES: &[&str] = &["queued", "sent", "retrying", "failed", "skipped"];

pub struct IndexRow {
    pub key: &'static str,
    pub name: &'static str,
    pub audience: &'static str,
    pub trigger: &'static str,
    pub email_enabled: bool,
    pub email_customised: bool,
    pub discord_enabled: bool,
    pub discord_customised: bool,
}

#[derive(Template)]
#[template(path = "admin/notifications.html")]
struct IndexPage {
    layout: Layout,
    rows: Vec<IndexRow>,
    email_enabled: bool,
    discord_enabled: bool,
    test_to: String,
    can_write: bool,
    message: Option<String>,
    error: Option<String>,
}

#[derive(Deserialize, Default)]
struct Done {
    done: Option<String>,
}

fn done_message(d: &Done) -> Option<String> {
    Some(
        match d.done.as_deref()? {
            "saved" => "Template saved.",
            "reset" => "The shipped template is back.",
            _ => return None,
        }
        .to_string(),
    )
}

async fn index_view(
    st: &WebState,
    staff: &Staff,
    csrf: &str,
    test_to: Option<String>,
    message: Option<String>,
    error: Option<String>,
) -> Result<Response, AppError> {
    let s = &staff.0;
    let summaries = st.app.notification_templates().await?;
    let settings = st.app.settings().await?;
    let rows = summaries
        .iter()
        .map(|t| IndexRow {
            key: t.event.key,
            name: t.event.name,
            audience: t.event.audience.label(),
            trigger: t.event.trigger,
            email_enabled: t.email.enabled,
            email_customised: t.email.customised,
            discord_enabled: t.discord.enabled,
            discord_customised: t.discord.customised,
        })
        .collect();
    let layout = Layout::build(st, "Notifications", Some(s), csrf, "notifications").await;
    Ok(render(&IndexPage {
        layout,
        rows,
        email_enabled: settings.bool("email.enabled"),
        discord_enabled: settings.bool("discord.enabled"),
        test_to: test_to.unwrap_or_else(|| settings.get("general.admin_email").to_string()),
        can_write: s.can(Permission::SettingsWrite),
        message,
        error,
    }))
}

async fn index_page(
    State(st): State<WebState>,
    staff: Staff,
    CsrfToken(csrf): CsrfToken,
    Query(d): Query<Done>,
) -> Response {
    if let Err(r) = staff.require(Permission::SettingsRead) {
        return r;
    }
    index_view(&st, &staff, &csrf, None, done_message(&d), None)
        .await
        .unwrap_or_else(|e| app_error_page(&st, e))
}

/// The SMTP outcome is shown on the page it was asked from: the server's own words on failure.
async fn test_smtp(
    State(st): State<WebState>,
    staff: Staff,
    ClientIp(ip): ClientIp,
    CsrfToken(csrf): CsrfToken,
    Form(f): Form<Fields>,
) -> Response {
    let s = match staff.require(Permission::SettingsWrite) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let to = form::text(&f, "to");
    let r = match boxoffice_domain::Email::parse(&to) {
        Ok(addr) => st
            .app
            .test_smtp(&s.actor(&ip), &addr.to_string())
            .await
            .map(|()| format!("Test e-mail sent to {addr}: the SMTP server accepted it.")),
        Err(e) => Err(AppError::invalid(
            "to",
            format!("Enter the address to send the test to ({e})."),
        )),
    };
    let (message, error, status) = match r {
        Ok(m) => (Some(m), None, StatusCode::OK),
        Err(e @ (AppError::Invalid { .. } | AppError::Delivery { .. })) => {
            let status = failure_status(&e);
            (None, Some(delivery_text(&e)), status)
        }
        Err(e) => return app_error_page(&st, e),
    };
    index_view(&st, &staff, &csrf, Some(to), message, error)
        .await
        .map(|r| with_status(r, status))
        .unwrap_or_else(|e| app_error_page(&st, e))
}

fn delivery_text(e: &AppError) -> String {
    match e {
        AppError::Delivery { message, .. } => format!("The test e-mail was not sent: {message}"),
        other => other.to_string(),
    }
}

pub struct Placeholder {
    /// As it is written in a template: `{{ name }}`.
    pub tag: String,
    pub sample: &'static str,
}

pub struct PreviewView {
    pub subject: String,
    pub text: String,
    pub html: String,
}

#[derive(Template)]
#[template(path = "admin/notification_edit.html")]
struct EditPage {
    layout: Layout,
    event: &'static EventDef,
    channel: &'static str,
    channel_label: &'static str,
    is_email: bool,
    enabled: bool,
    customised: bool,
    text: TemplateText,
    placeholders: Vec<Placeholder>,
    subject_error: Option<String>,
    text_error: Option<String>,
    html_error: Option<String>,
    preview: Option<PreviewView>,
    test_to: String,
    can_write: bool,
    message: Option<String>,
    error: Option<String>,
}

/// What the edit page shows besides the template: the draft being edited (or the stored one),
/// an error against one field or the page, a notice, and a preview.
#[derive(Default)]
struct EditState {
    draft: Option<(bool, TemplateText)>,
    field_error: Option<(&'static str, String)>,
    message: Option<String>,
    error: Option<String>,
    preview: Option<PreviewView>,
    test_to: Option<String>,
}

fn target(event: &str, channel: &str) -> Option<(&'static EventDef, Channel)> {
    Some((notifications::find(event)?, Channel::parse(channel)?))
}

async fn edit_view(
    st: &WebState,
    staff: &Staff,
    csrf: &str,
    def: &'static EventDef,
    channel: Channel,
    es: EditState,
) -> Result<Response, AppError> {
    let s = &staff.0;
    let stored = st
        .app
        .effective_template(st.app.db.ex(), def.key, channel)
        .await?;
    let (enabled, text) = es.draft.unwrap_or((stored.enabled, stored.text));
    let preview = match es.preview {
        Some(p) => Some(p),
        // A page showing a refused draft keeps the error in view instead of a stale preview.
        None if es.field_error.is_none() && es.error.is_none() => st
            .app
            .preview_template(def.key, channel, Some(text.clone()))
            .await
            .ok()
            .map(|r| PreviewView {
                subject: r.subject,
                text: r.text,
                html: r.html,
            }),
        None => None,
    };
    let placeholders = COMMON_FIELDS
        .iter()
        .chain(def.fields.iter())
        .map(|(name, sample)| Placeholder {
            tag: format!("{{{{ {name} }}}}"),
            sample,
        })
        .collect();
    let test_to = match es.test_to {
        Some(t) => t,
        None => st
            .app
            .settings()
            .await?
            .get("general.admin_email")
            .to_string(),
    };
    let (mut subject_error, mut text_error, mut html_error) = (None, None, None);
    match es.field_error {
        Some(("subject", m)) => subject_error = Some(m),
        Some(("html", m)) => html_error = Some(m),
        Some((_, m)) => text_error = Some(m),
        None => {}
    }
    let title = format!("{} · {}", def.name, channel.label());
    let layout = Layout::build(st, &title, Some(s), csrf, "notifications").await;
    Ok(render(&EditPage {
        layout,
        event: def,
        channel: channel.as_str(),
        channel_label: channel.label(),
        is_email: channel == Channel::Email,
        enabled,
        customised: stored.customised,
        text,
        placeholders,
        subject_error,
        text_error,
        html_error,
        preview,
        test_to,
        can_write: s.can(Permission::SettingsWrite),
        message: es.message,
        error: es.error,
    }))
}

async fn edit_page(
    State(st): State<WebState>,
    staff: Staff,
    CsrfToken(csrf): CsrfToken,
    Path((event, channel)): Path<(String, String)>,
    Query(d): Query<Done>,
) -> Response {
    if let Err(r) = staff.require(Permission::SettingsRead) {
        return r;
    }
    let Some((def, ch)) = target(&event, &channel) else {
        return not_found().await;
    };
    let es = EditState {
        message: done_message(&d),
        ..EditState::default()
    };
    edit_view(&st, &staff, &csrf, def, ch, es)
        .await
        .unwrap_or_else(|e| app_error_page(&st, e))
}

/// The draft as posted. A Discord template has a message only, so its subject and HTML stay empty.
fn draft_from(f: &Fields, channel: Channel) -> (bool, TemplateText) {
    // Template bodies keep their exact whitespace; only the subject line is trimmed.
    let body = |k: &str| form::secret(f, k).replace("\r\n", "\n");
    let text = match channel {
        Channel::Email => TemplateText {
            subject: form::text(f, "subject"),
            text: body("text"),
            html: body("html"),
        },
        Channel::Discord => TemplateText {
            subject: String::new(),
            text: body("text"),
            html: String::new(),
        },
    };
    (form::flag(f, "enabled"), text)
}

async fn save(
    State(st): State<WebState>,
    staff: Staff,
    ClientIp(ip): ClientIp,
    CsrfToken(csrf): CsrfToken,
    Path((event, channel)): Path<(String, String)>,
    Form(f): Form<Fields>,
) -> Response {
    let s = match staff.require(Permission::SettingsWrite) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Some((def, ch)) = target(&event, &channel) else {
        return not_found().await;
    };
    let (enabled, text) = draft_from(&f, ch);
    match st
        .app
        .save_template(&s.actor(&ip), def.key, ch, enabled, text.clone())
        .await
    {
        Ok(()) => Redirect::to(&format!(
            "/admin/notifications/{}/{}?done=saved",
            def.key,
            ch.as_str()
        ))
        .into_response(),
        Err(AppError::Invalid { field, message }) => {
            let es = EditState {
                draft: Some((enabled, text)),
                field_error: Some((field, message)),
                error: Some("Not saved: correct the template marked below.".into()),
                ..EditState::default()
            };
            edit_view(&st, &staff, &csrf, def, ch, es)
                .await
                .map(|r| with_status(r, StatusCode::UNPROCESSABLE_ENTITY))
                .unwrap_or_else(|e| app_error_page(&st, e))
        }
        Err(e) => app_error_page(&st, e),
    }
}

/// Renders the draft with sample values without saving it.
async fn preview(
    State(st): State<WebState>,
    staff: Staff,
    CsrfToken(csrf): CsrfToken,
    Path((event, channel)): Path<(String, String)>,
    Form(f): Form<Fields>,
) -> Response {
    if let Err(r) = staff.require(Permission::SettingsRead) {
        return r;
    }
    let Some((def, ch)) = target(&event, &channel) else {
        return not_found().await;
    };
    let (enabled, text) = draft_from(&f, ch);
    let r = st
        .app
        .preview_template(def.key, ch, Some(text.clone()))
        .await;
    let (es, status) = match r {
        Ok(r) => (
            EditState {
                draft: Some((enabled, text)),
                message: Some(
                    "Preview of the draft below, with sample values. Not saved yet.".into(),
                ),
                preview: Some(PreviewView {
                    subject: r.subject,
                    text: r.text,
                    html: r.html,
                }),
                ..EditState::default()
            },
            StatusCode::OK,
        ),
        Err(AppError::Invalid { message, .. }) => (
            EditState {
                draft: Some((enabled, text)),
                error: Some(format!("The draft cannot be previewed: {message}")),
                ..EditState::default()
            },
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(e) => return app_error_page(&st, e),
    };
    edit_view(&st, &staff, &csrf, def, ch, es)
        .await
        .map(|r| with_status(r, status))
        .unwrap_or_else(|e| app_error_page(&st, e))
}

async fn reset(
    State(st): State<WebState>,
    staff: Staff,
    ClientIp(ip): ClientIp,
    Path((event, channel)): Path<(String, String)>,
) -> Response {
    let s = match staff.require(Permission::SettingsWrite) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Some((def, ch)) = target(&event, &channel) else {
        return not_found().await;
    };
    match st.app.reset_template(&s.actor(&ip), def.key, ch).await {
        Ok(()) => Redirect::to(&format!(
            "/admin/notifications/{}/{}?done=reset",
            def.key,
            ch.as_str()
        ))
        .into_response(),
        Err(e) => app_error_page(&st, e),
    }
}

/// Sends the saved e-mail template, with sample values, to the address given.
async fn send_test(
    State(st): State<WebState>,
    staff: Staff,
    ClientIp(ip): ClientIp,
    CsrfToken(csrf): CsrfToken,
    Path((event, channel)): Path<(String, String)>,
    Form(f): Form<Fields>,
) -> Response {
    let s = match staff.require(Permission::SettingsWrite) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Some((def, ch)) = target(&event, &channel) else {
        return not_found().await;
    };
    let to = form::text(&f, "to");
    let r = match boxoffice_domain::Email::parse(&to) {
        Ok(addr) => st
            .app
            .send_test_email(&s.actor(&ip), def.key, &addr.to_string())
            .await
            .map(|reply| {
                let reply = reply.trim();
                if reply.is_empty() {
                    format!("Test e-mail sent to {addr}.")
                } else {
                    format!("Test e-mail sent to {addr}. The SMTP server answered: {reply}")
                }
            }),
        Err(e) => Err(AppError::invalid(
            "to",
            format!("Enter the address to send the test to ({e})."),
        )),
    };
    let (es, status) = match r {
        Ok(m) => (
            EditState {
                message: Some(m),
                test_to: Some(to),
                ..EditState::default()
            },
            StatusCode::OK,
        ),
        Err(e @ (AppError::Invalid { .. } | AppError::Delivery { .. })) => (
            EditState {
                error: Some(delivery_text(&e)),
                test_to: Some(to),
                ..EditState::default()
            },
            failure_status(&e),
        ),
        Err(e) => return app_error_page(&st, e),
    };
    edit_view(&st, &staff, &csrf, def, ch, es)
        .await
        .map(|r| with_status(r, status))
        .unwrap_or_else(|e| app_error_page(&st, e))
}

/// One log row as shown: times formatted, the event by its name.
pub struct LogLine {
    pub when: String,
    pub event: String,
    pub channel: &'static str,
    pub recipient: String,
    pub customer_id: Option<i64>,
    pub status: String,
    pub attempts: i64,
    pub subject: String,
    pub error: String,
}

impl From<NotificationRow> for LogLine {
    fn from(r: NotificationRow) -> Self {
        LogLine {
            when: super::admin::fmt_time(r.created_at),
            event: notifications::find(&r.event).map_or(r.event.clone(), |d| d.name.to_string()),
            channel: Channel::parse(&r.channel).map_or("?", Channel::label),
            recipient: r.recipient,
            customer_id: r.customer_id,
            status: r.status,
            attempts: r.attempts,
            subject: r.subject,
            error: r.error,
        }
    }
}

const LOG_PAGE: i64 = 50;

#[derive(Deserialize, Default)]
struct LogQuery {
    event: Option<String>,
    status: Option<String>,
    customer: Option<String>,
    before: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/notification_log.html")]
struct LogPage {
    layout: Layout,
    lines: Vec<LogLine>,
    events: Vec<(&'static str, &'static str)>,
    statuses: &'static [&'static str],
    event: String,
    status: String,
    customer: Option<i64>,
    /// The query string of the next, older page, when there is one.
    older: Option<String>,
    paged: bool,
}

impl LogPage {
    fn is_status(&self, s: &str) -> bool {
        self.status == s
    }
}

async fn log_page(
    State(st): State<WebState>,
    staff: Staff,
    CsrfToken(csrf): CsrfToken,
    Query(q): Query<LogQuery>,
) -> Response {
    let s = match staff.require(Permission::SettingsRead) {
        Ok(s) => s,
        Err(r) => return r,
    };
    // Unknown filter values are dropped rather than refused: the page still answers.
    let event = q
        .event
        .filter(|e| notifications::find(e).is_some())
        .unwrap_or_default();
    let status = q
        .status
        .filter(|v| STATUSES.contains(&v.as_str()))
        .unwrap_or_default();
    let customer = q.customer.and_then(|c| c.trim().parse::<i64>().ok());
    let before = q.before.and_then(|b| b.trim().parse::<i64>().ok());
    let filter = LogFilter {
        customer_id: customer,
        event: (!event.is_empty()).then(|| event.clone()),
        status: (!status.is_empty()).then(|| status.clone()),
        before_id: before,
        limit: LOG_PAGE,
    };
    let rows = match st.app.notification_log(&filter).await {
        Ok(r) => r,
        Err(e) => return app_error_page(&st, e),
    };
    let older = match rows.last() {
        Some(last) if rows.len() as i64 == LOG_PAGE => {
            let mut q = vec![format!("before={}", last.id)];
            if !event.is_empty() {
                q.push(format!("event={event}"));
            }
            if !status.is_empty() {
                q.push(format!("status={status}"));
            }
            if let Some(c) = customer {
                q.push(format!("customer={c}"));
            }
            Some(q.join("&"))
        }
        _ => None,
    };
    let layout = Layout::build(&st, "Notification log", Some(s), &csrf, "notifications").await;
    render(&LogPage {
        layout,
        lines: rows.into_iter().map(LogLine::from).collect(),
        events: notifications::EVENTS
            .iter()
            .map(|e| (e.key, e.name))
            .collect(),
        statuses: STATUSES,
        event,
        status,
        customer,
        older,
        paged: before.is_some(),
    })
}
