use super::auth::{ApiCaller, Authorized, need};
use crate::{ApiError, WebState};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use boxoffice_app::notify::{EffectiveTemplate, LOG_PAGE_MAX};
use boxoffice_domain::Permission;
use boxoffice_domain::notifications::{self, Channel, TemplateText};
use boxoffice_store::notifications::{LogFilter, NotificationRow};
use serde::{Deserialize, Serialize};

/// The statuses a notification can be in.
const STATUSES: &[&str] = &["queued", "sent", "retrying", "failed", "skipped"];

#[derive(Serialize, utoipa::ToSchema)]
pub struct TemplateOut {
    /// The event's stable key, e.g. `subscription_expiring`.
    pub event: String,
    /// The event's name, e.g. "Subscription Expiring Soon".
    pub name: String,
    /// `customer` or `admin`.
    pub audience: String,
    /// When it is sent.
    pub trigger: String,
    /// `email` or `discord`.
    pub channel: String,
    pub enabled: bool,
    /// Whether the text differs from the shipped default.
    pub customised: bool,
    /// E-mail only; empty for Discord.
    pub subject: String,
    /// The plain-text e-mail body, or the Discord message.
    pub text: String,
    /// The inner HTML of the e-mail; empty for Discord.
    pub html: String,
    /// The placeholders this event's templates may use, without braces.
    pub placeholders: Vec<String>,
}

impl From<&EffectiveTemplate> for TemplateOut {
    fn from(t: &EffectiveTemplate) -> Self {
        TemplateOut {
            event: t.event.key.into(),
            name: t.event.name.into(),
            audience: match t.event.audience {
                notifications::Audience::Customer => "customer".into(),
                notifications::Audience::Admin => "admin".into(),
            },
            trigger: t.event.trigger.into(),
            channel: t.channel.as_str().into(),
            enabled: t.enabled,
            customised: t.customised,
            subject: t.text.subject.clone(),
            text: t.text.text.clone(),
            html: t.text.html.clone(),
            placeholders: t.event.placeholders().map(str::to_string).collect(),
        }
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct TemplateIn {
    /// Leave out to keep the current state.
    pub enabled: Option<bool>,
    /// E-mail only. Leave out to keep the current subject.
    pub subject: Option<String>,
    /// The plain-text body or the Discord message. Leave out to keep it.
    pub text: Option<String>,
    /// E-mail only. Leave out to keep the current HTML.
    pub html: Option<String>,
}

fn channel(s: &str) -> Result<Channel, ApiError> {
    Channel::parse(s).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("\"{s}\" is not a channel: use email or discord"),
        )
    })
}

/// Every event's e-mail and Discord templates as they are sent now.
#[utoipa::path(get, path = "/api/v1/notifications/templates", responses((status = 200, body = [TemplateOut]), (status = 403, body = crate::error::ErrorBody)))]
pub async fn templates(
    State(st): State<WebState>,
    caller: ApiCaller,
) -> Result<Json<Vec<TemplateOut>>, ApiError> {
    caller.require(Permission::SettingsRead)?;
    let all = st.app.notification_templates().await?;
    Ok(Json(
        all.iter()
            .flat_map(|t| [TemplateOut::from(&t.email), TemplateOut::from(&t.discord)])
            .collect(),
    ))
}

/// Changes one template. It is checked first: a syntax error or a placeholder the event does not
/// offer answers 422 with `field` subject, text or html, and nothing is saved. Text equal to the
/// shipped default is stored as "default".
#[utoipa::path(put, path = "/api/v1/notifications/templates/{event}/{channel}",
    params(("event" = String, Path, description = "The event key"), ("channel" = String, Path, description = "email or discord")),
    request_body = TemplateIn,
    responses((status = 200, body = TemplateOut), (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn put_template(
    State(st): State<WebState>,
    caller: Authorized<need::SettingsWrite>,
    Path((event, ch)): Path<(String, String)>,
    Json(body): Json<TemplateIn>,
) -> Result<Json<TemplateOut>, ApiError> {
    let ch = channel(&ch)?;
    let current = st
        .app
        .effective_template(st.app.db.ex(), &event, ch)
        .await?;
    let text = match ch {
        Channel::Email => TemplateText {
            subject: body.subject.unwrap_or(current.text.subject),
            text: body.text.unwrap_or(current.text.text),
            html: body.html.unwrap_or(current.text.html),
        },
        Channel::Discord => TemplateText {
            subject: String::new(),
            text: body.text.unwrap_or(current.text.text),
            html: String::new(),
        },
    };
    let enabled = body.enabled.unwrap_or(current.enabled);
    st.app
        .save_template(&caller.actor(), current.event.key, ch, enabled, text)
        .await?;
    let saved = st
        .app
        .effective_template(st.app.db.ex(), current.event.key, ch)
        .await?;
    Ok(Json(TemplateOut::from(&saved)))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct NotificationOut {
    pub id: i64,
    /// Unix seconds (UTC).
    pub created_at: i64,
    pub event: String,
    pub channel: String,
    pub recipient: String,
    pub customer_id: Option<i64>,
    /// queued, sent, retrying, failed or skipped.
    pub status: String,
    pub attempts: i64,
    pub subject: String,
    pub error: String,
    /// Unix seconds (UTC), once sent.
    pub sent_at: Option<i64>,
}

impl From<NotificationRow> for NotificationOut {
    fn from(r: NotificationRow) -> Self {
        NotificationOut {
            id: r.id,
            created_at: r.created_at,
            event: r.event,
            channel: r.channel,
            recipient: r.recipient,
            customer_id: r.customer_id,
            status: r.status,
            attempts: r.attempts,
            subject: r.subject,
            error: r.error,
            sent_at: r.sent_at,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct NotificationLogOut {
    pub items: Vec<NotificationOut>,
    /// Pass as `before_id` for the next, older page; absent on the last page.
    pub next_before_id: Option<i64>,
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct LogQuery {
    /// Only this event (its key).
    event: Option<String>,
    /// Only this status: queued, sent, retrying, failed or skipped.
    status: Option<String>,
    /// Only notifications about this customer.
    customer_id: Option<i64>,
    /// Only rows older than this id (keyset paging).
    before_id: Option<i64>,
    /// At most this many (1–200, default 50).
    limit: Option<i64>,
}

fn invalid(field: &'static str, message: String) -> ApiError {
    ApiError {
        field: Some(field),
        ..ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message)
    }
}

/// The notification log, newest first.
#[utoipa::path(get, path = "/api/v1/notifications/log", params(LogQuery), responses((status = 200, body = NotificationLogOut), (status = 403, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn log(
    State(st): State<WebState>,
    caller: ApiCaller,
    Query(q): Query<LogQuery>,
) -> Result<Json<NotificationLogOut>, ApiError> {
    caller.require(Permission::SettingsRead)?;
    if let Some(e) = &q.event
        && notifications::find(e).is_none()
    {
        return Err(invalid(
            "event",
            format!("\"{e}\" is not a notification event"),
        ));
    }
    if let Some(s) = &q.status
        && !STATUSES.contains(&s.as_str())
    {
        return Err(invalid(
            "status",
            format!("\"{s}\" is not a status: use queued, sent, retrying, failed or skipped"),
        ));
    }
    let limit = q.limit.unwrap_or(50).clamp(1, LOG_PAGE_MAX);
    let rows = st
        .app
        .notification_log(&LogFilter {
            customer_id: q.customer_id,
            event: q.event,
            status: q.status,
            before_id: q.before_id,
            limit,
        })
        .await?;
    let next_before_id = match rows.last() {
        Some(r) if rows.len() as i64 == limit => Some(r.id),
        _ => None,
    };
    Ok(Json(NotificationLogOut {
        items: rows.into_iter().map(NotificationOut::from).collect(),
        next_before_id,
    }))
}
