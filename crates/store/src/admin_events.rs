//! Things an administrator must hear about (no capacity, a paying customer left without access).

use crate::{Ex, Result, StoreError, affected, run};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AdminEventRow {
    pub id: i64,
    pub at: i64,
    pub kind: String,
    pub customer_id: Option<i64>,
    pub server_id: Option<i64>,
    pub message: String,
    pub notified_at: Option<i64>,
}

pub async fn record(
    ex: Ex<'_>,
    at: i64,
    kind: &str,
    customer_id: Option<i64>,
    server_id: Option<i64>,
    message: &str,
) -> Result<()> {
    affected!(ex, |e| {
        sqlx::query(
        "INSERT INTO admin_events (at, kind, customer_id, server_id, message) VALUES ($1, $2, $3, $4, $5)"
    )
    .bind(at)
    .bind(kind)
    .bind(customer_id)
    .bind(server_id)
    .bind(message)
    .execute(e)
    .await
    })?;
    Ok(())
}

/// Newest first; of one customer or of all.
pub async fn list(ex: Ex<'_>, customer_id: Option<i64>, limit: i64) -> Result<Vec<AdminEventRow>> {
    run!(ex, |e| sqlx::query_as(
        "SELECT id, at, kind, customer_id, server_id, message, notified_at FROM admin_events
         WHERE ($1 IS NULL OR customer_id = $1) ORDER BY at DESC, id DESC LIMIT $2"
    )
    .bind(customer_id)
    .bind(limit)
    .fetch_all(e)
    .await)
    .map_err(StoreError::from)
}
