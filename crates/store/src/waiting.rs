//! "Paid, waiting for a server": customers whose money was taken when no server had room for
//! their plan. A row is written with the payment and removed in the transaction that writes
//! their share.

use crate::{Ex, Result, StoreError, affected, run};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WaitingRow {
    pub customer_id: i64,
    pub since: i64,
    pub message: String,
    pub tried_at: i64,
}

/// Marks the customer waiting; a customer already waiting keeps `since` and gets the latest
/// message. Answers whether they started waiting now (false: they already were).
pub async fn mark(mut ex: Ex<'_>, customer_id: i64, message: &str, now: i64) -> Result<bool> {
    let before = find(ex.reborrow(), customer_id).await?;
    affected!(ex, |e| {
        sqlx::query(
        "INSERT INTO waiting_for_server (customer_id, since, message, tried_at)
         VALUES ($1, $2, $3, $2)
         ON CONFLICT (customer_id) DO UPDATE SET message = excluded.message, tried_at = excluded.tried_at"
    )
    .bind(customer_id)
    .bind(now)
    .bind(message)
    .execute(e)
    .await
    })?;
    Ok(before.is_none())
}

/// Answers whether the customer was waiting.
pub async fn clear(ex: Ex<'_>, customer_id: i64) -> Result<bool> {
    let n = affected!(ex, |e| sqlx::query(
        "DELETE FROM waiting_for_server WHERE customer_id = $1"
    )
    .bind(customer_id)
    .execute(e)
    .await)?;
    Ok(n > 0)
}

pub async fn find(ex: Ex<'_>, customer_id: i64) -> Result<Option<WaitingRow>> {
    run!(ex, |e| sqlx::query_as(
        "SELECT customer_id, since, message, tried_at FROM waiting_for_server WHERE customer_id = $1"
    )
    .bind(customer_id)
    .fetch_optional(e)
    .await)
    .map_err(StoreError::from)
}

/// Everyone waiting, longest first.
pub async fn list(ex: Ex<'_>) -> Result<Vec<WaitingRow>> {
    run!(ex, |e| sqlx::query_as(
        "SELECT customer_id, since, message, tried_at FROM waiting_for_server ORDER BY since, customer_id"
    )
    .fetch_all(e)
    .await)
    .map_err(StoreError::from)
}
