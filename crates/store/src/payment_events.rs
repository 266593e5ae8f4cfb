//! Verified webhook events, each stored once by (provider, event id) in the transaction that
//! applies it.

use crate::{Ex, Result, StoreError, affected, run};

const COLS: &str = "id, provider, event_id, event_type, outcome, waiting_for, detail, event, customer_id, payment_id, occurred_at, received_at";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PaymentEventRow {
    pub id: i64,
    pub provider: String,
    pub event_id: String,
    pub event_type: String,
    pub outcome: String,
    pub waiting_for: String,
    pub detail: String,
    pub event: String,
    pub customer_id: Option<i64>,
    pub payment_id: Option<i64>,
    pub occurred_at: Option<i64>,
    pub received_at: i64,
}

pub struct NewEvent<'a> {
    pub provider: &'a str,
    pub event_id: &'a str,
    pub event_type: &'a str,
    pub event: &'a str,
    pub occurred_at: Option<i64>,
    pub now: i64,
}

/// Stores the event unless it was stored before: answers its new id, or `None` for a
/// duplicate. On PostgreSQL a concurrent duplicate waits here for the first to commit.
pub async fn insert_new(ex: Ex<'_>, e: NewEvent<'_>) -> Result<Option<i64>> {
    let id: Option<(i64,)> = run!(ex, |x| {
        sqlx::query_as(
        "INSERT INTO payment_events (provider, event_id, event_type, outcome, event, occurred_at, received_at)
         VALUES ($1, $2, $3, 'ignored', $4, $5, $6)
         ON CONFLICT (provider, event_id) DO NOTHING RETURNING id"
    )
    .bind(e.provider)
    .bind(e.event_id)
    .bind(e.event_type)
    .bind(e.event)
    .bind(e.occurred_at)
    .bind(e.now)
    .fetch_optional(x)
    .await
    })?;
    Ok(id.map(|(id,)| id))
}

/// What applying the event came to.
pub struct Outcome<'a> {
    pub outcome: &'a str,
    pub waiting_for: &'a str,
    pub detail: &'a str,
    pub customer_id: Option<i64>,
    pub payment_id: Option<i64>,
}

pub async fn set_outcome(ex: Ex<'_>, id: i64, o: Outcome<'_>) -> Result<()> {
    affected!(ex, |e| {
        sqlx::query(
        "UPDATE payment_events SET outcome = $2, waiting_for = $3, detail = $4,
         customer_id = COALESCE($5, customer_id), payment_id = COALESCE($6, payment_id) WHERE id = $1"
    )
    .bind(id)
    .bind(o.outcome)
    .bind(o.waiting_for)
    .bind(o.detail)
    .bind(o.customer_id)
    .bind(o.payment_id)
    .execute(e)
    .await
    })?;
    Ok(())
}

/// Events of `provider` waiting for `key` (`payment:<id>`, `subscription:<id>`), oldest first.
pub async fn waiting_for(ex: Ex<'_>, provider: &str, key: &str) -> Result<Vec<PaymentEventRow>> {
    let sql = format!(
        "SELECT {COLS} FROM payment_events WHERE outcome = 'waiting' AND provider = $1 AND waiting_for = $2 ORDER BY id"
    );
    run!(ex, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(provider)
        .bind(key)
        .fetch_all(e)
        .await)
    .map_err(StoreError::from)
}

pub async fn find(ex: Ex<'_>, provider: &str, event_id: &str) -> Result<Option<PaymentEventRow>> {
    let sql = format!("SELECT {COLS} FROM payment_events WHERE provider = $1 AND event_id = $2");
    run!(ex, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(provider)
        .bind(event_id)
        .fetch_optional(e)
        .await)
    .map_err(StoreError::from)
}

/// Events concerning a customer, newest first.
pub async fn list_for_customer(
    ex: Ex<'_>,
    customer_id: i64,
    limit: i64,
) -> Result<Vec<PaymentEventRow>> {
    let sql = format!(
        "SELECT {COLS} FROM payment_events WHERE customer_id = $1 ORDER BY id DESC LIMIT $2"
    );
    run!(ex, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(customer_id)
        .bind(limit)
        .fetch_all(e)
        .await)
    .map_err(StoreError::from)
}

/// How many events are stored per outcome (for tests and the payments overview).
pub async fn count_by_outcome(ex: Ex<'_>) -> Result<Vec<(String, i64)>> {
    run!(ex, |e| sqlx::query_as(
        "SELECT outcome, COUNT(*) FROM payment_events GROUP BY outcome ORDER BY outcome"
    )
    .fetch_all(e)
    .await)
    .map_err(StoreError::from)
}
