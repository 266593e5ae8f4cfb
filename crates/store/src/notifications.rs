//! Notification templates (owner edits over the shipped defaults) and the outbox/log of every
//! message boxoffice sends.

use crate::{Ex, Result, StoreError, affected, run};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TemplateRow {
    pub event: String,
    pub channel: String,
    pub enabled: bool,
    pub subject: Option<String>,
    pub body_text: Option<String>,
    pub body_html: Option<String>,
    pub updated_at: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct NotificationRow {
    pub id: i64,
    pub created_at: i64,
    pub event: String,
    pub channel: String,
    pub recipient: String,
    pub customer_id: Option<i64>,
    pub context_sealed: String,
    pub dedupe_key: Option<String>,
    pub status: String,
    pub attempts: i64,
    pub subject: String,
    pub error: String,
    pub sent_at: Option<i64>,
}

pub struct NewNotification<'a> {
    pub event: &'a str,
    pub channel: &'a str,
    pub recipient: &'a str,
    pub customer_id: Option<i64>,
    pub context_sealed: &'a str,
    pub dedupe_key: Option<&'a str>,
}

pub async fn templates(ex: Ex<'_>) -> Result<Vec<TemplateRow>> {
    run!(ex, |e| sqlx::query_as(
        "SELECT event, channel, enabled, subject, body_text, body_html, updated_at
         FROM notification_templates ORDER BY event, channel"
    )
    .fetch_all(e)
    .await)
    .map_err(StoreError::from)
}

pub async fn template(ex: Ex<'_>, event: &str, channel: &str) -> Result<Option<TemplateRow>> {
    run!(ex, |e| sqlx::query_as(
        "SELECT event, channel, enabled, subject, body_text, body_html, updated_at
         FROM notification_templates WHERE event = $1 AND channel = $2"
    )
    .bind(event)
    .bind(channel)
    .fetch_optional(e)
    .await)
    .map_err(StoreError::from)
}

/// Stores an edit; `None` texts fall back to the shipped default.
pub async fn save_template(ex: Ex<'_>, t: &TemplateRow) -> Result<()> {
    affected!(ex, |e| {
        sqlx::query(
        "INSERT INTO notification_templates (event, channel, enabled, subject, body_text, body_html, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (event, channel) DO UPDATE SET enabled = excluded.enabled, subject = excluded.subject,
           body_text = excluded.body_text, body_html = excluded.body_html, updated_at = excluded.updated_at"
    )
    .bind(&t.event)
    .bind(&t.channel)
    .bind(t.enabled)
    .bind(&t.subject)
    .bind(&t.body_text)
    .bind(&t.body_html)
    .bind(t.updated_at)
    .execute(e)
    .await
    })?;
    Ok(())
}

/// Writes the outbox row; `None` when the dedupe key was already used (told before).
pub async fn insert(ex: Ex<'_>, n: &NewNotification<'_>, now: i64) -> Result<Option<i64>> {
    let id: Option<(i64,)> = run!(ex, |e| {
        sqlx::query_as(
        "INSERT INTO notifications (created_at, event, channel, recipient, customer_id, context_sealed, dedupe_key)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (dedupe_key) DO NOTHING RETURNING id"
    )
    .bind(now)
    .bind(n.event)
    .bind(n.channel)
    .bind(n.recipient)
    .bind(n.customer_id)
    .bind(n.context_sealed)
    .bind(n.dedupe_key)
    .fetch_optional(e)
    .await
    })?;
    Ok(id.map(|(id,)| id))
}

pub async fn get(ex: Ex<'_>, id: i64) -> Result<NotificationRow> {
    run!(ex, |e| sqlx::query_as(
        "SELECT id, created_at, event, channel, recipient, customer_id, context_sealed, dedupe_key,
                status, attempts, subject, error, sent_at
         FROM notifications WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(e)
    .await)?
    .ok_or(StoreError::NotFound)
}

/// Records one delivery attempt's outcome.
pub async fn record_attempt(
    ex: Ex<'_>,
    id: i64,
    status: &str,
    subject: &str,
    error: &str,
    sent_at: Option<i64>,
) -> Result<()> {
    affected!(ex, |e| sqlx::query(
        "UPDATE notifications SET status = $2, subject = $3, error = $4, sent_at = $5,
                attempts = attempts + 1 WHERE id = $1"
    )
    .bind(id)
    .bind(status)
    .bind(subject)
    .bind(error)
    .bind(sent_at)
    .execute(e)
    .await)?;
    Ok(())
}

/// Marks a notification whose job died (the last attempt failed) as failed for good.
pub async fn mark_failed(ex: Ex<'_>, id: i64, error: &str) -> Result<()> {
    affected!(ex, |e| sqlx::query(
        "UPDATE notifications SET status = 'failed', error = $2 WHERE id = $1 AND status <> 'sent'"
    )
    .bind(id)
    .bind(error)
    .execute(e)
    .await)?;
    Ok(())
}

#[derive(Debug, Default, Clone)]
pub struct LogFilter {
    pub customer_id: Option<i64>,
    pub event: Option<String>,
    pub status: Option<String>,
    /// Keyset paging: rows older than this id.
    pub before_id: Option<i64>,
    pub limit: i64,
}

/// Newest first.
pub async fn log(ex: Ex<'_>, f: &LogFilter) -> Result<Vec<NotificationRow>> {
    run!(ex, |e| sqlx::query_as(
        "SELECT id, created_at, event, channel, recipient, customer_id, context_sealed, dedupe_key,
                status, attempts, subject, error, sent_at
         FROM notifications
         WHERE ($1 IS NULL OR customer_id = $1) AND ($2 IS NULL OR event = $2)
           AND ($3 IS NULL OR status = $3) AND ($4 IS NULL OR id < $4)
         ORDER BY id DESC LIMIT $5"
    )
    .bind(f.customer_id)
    .bind(f.event.as_deref())
    .bind(f.status.as_deref())
    .bind(f.before_id)
    .bind(f.limit)
    .fetch_all(e)
    .await)
    .map_err(StoreError::from)
}

/// Whether any notification with this dedupe key prefix exists (e.g. every channel of a reminder).
pub async fn exists_with_key(ex: Ex<'_>, key: &str) -> Result<bool> {
    let n: (i64,) = run!(ex, |e| sqlx::query_as(
        "SELECT COUNT(*) FROM notifications WHERE dedupe_key = $1"
    )
    .bind(key)
    .fetch_one(e)
    .await)?;
    Ok(n.0 > 0)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Contact {
    pub email: String,
    pub display_name: String,
    pub discord_id: String,
    pub permanent: bool,
}

/// How to reach a customer; `None` when the customer is gone.
pub async fn customer_contact(ex: Ex<'_>, customer_id: i64) -> Result<Option<Contact>> {
    run!(ex, |e| sqlx::query_as(
        "SELECT email, display_name, discord_id, permanent FROM customers WHERE id = $1"
    )
    .bind(customer_id)
    .fetch_optional(e)
    .await)
    .map_err(StoreError::from)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReminderCandidate {
    pub customer_id: i64,
    pub covered_until: i64,
    pub plan_name: String,
    pub cost_minor: i64,
    pub currency: String,
    /// The gateway subscription of the latest payment; empty for pay-as-you-go.
    pub subscription_id: String,
}

/// Non-permanent customers whose paid time ends in `(now, until]`.
pub async fn reminder_candidates(
    ex: Ex<'_>,
    now: i64,
    until: i64,
) -> Result<Vec<ReminderCandidate>> {
    run!(ex, |e| sqlx::query_as(
        "SELECT c.id AS customer_id, c.covered_until AS covered_until,
                COALESCE(p.name, '') AS plan_name, COALESCE(p.cost_minor, 0) AS cost_minor,
                COALESCE(p.currency, '') AS currency,
                COALESCE((SELECT pay.subscription_id FROM payments pay WHERE pay.customer_id = c.id
                          ORDER BY pay.period_to DESC, pay.id DESC LIMIT 1), '') AS subscription_id
         FROM customers c LEFT JOIN plans p ON p.id = c.plan_id
         WHERE c.permanent = FALSE AND c.deleting_at IS NULL
           AND c.covered_until > $1 AND c.covered_until <= $2
         ORDER BY c.id"
    )
    .bind(now)
    .bind(until)
    .fetch_all(e)
    .await)
    .map_err(StoreError::from)
}
