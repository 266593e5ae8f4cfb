//! A customer's request to stop a recurring payment, and how far the gateway call got.

use crate::{Ex, Result, StoreError, run};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CancellationRow {
    pub subscription_row_id: i64,
    /// requested, done or failed.
    pub state: String,
    pub error: String,
    pub requested_at: i64,
    pub updated_at: i64,
}

/// Records the request; answers false when one is already there and not failed.
pub async fn request(ex: Ex<'_>, subscription_row_id: i64, now: i64) -> Result<bool> {
    let n = crate::affected!(ex, |e| {
        sqlx::query(
        "INSERT INTO recurring_cancellations (subscription_row_id, state, requested_at, updated_at)
         VALUES ($1, 'requested', $2, $2)
         ON CONFLICT (subscription_row_id) DO UPDATE SET state = 'requested', error = '', requested_at = $2, updated_at = $2
         WHERE recurring_cancellations.state = 'failed'"
    )
    .bind(subscription_row_id)
    .bind(now)
    .execute(e)
    .await
    })?;
    Ok(n > 0)
}

pub async fn find(ex: Ex<'_>, subscription_row_id: i64) -> Result<Option<CancellationRow>> {
    run!(ex, |e| sqlx::query_as::<_, CancellationRow>(
        "SELECT subscription_row_id, state, error, requested_at, updated_at FROM recurring_cancellations WHERE subscription_row_id = $1"
    )
    .bind(subscription_row_id)
    .fetch_optional(e)
    .await)
    .map_err(StoreError::from)
}

pub async fn finish(
    ex: Ex<'_>,
    subscription_row_id: i64,
    state: &str,
    error: &str,
    now: i64,
) -> Result<()> {
    crate::affected!(ex, |e| {
        sqlx::query(
        "UPDATE recurring_cancellations SET state = $2, error = $3, updated_at = $4 WHERE subscription_row_id = $1"
    )
    .bind(subscription_row_id)
    .bind(state)
    .bind(error)
    .bind(now)
    .execute(e)
    .await
    })?;
    Ok(())
}

/// One recurring subscription by its row id.
pub async fn subscription(
    ex: Ex<'_>,
    id: i64,
) -> Result<Option<crate::gateway_subscriptions::GatewaySubscriptionRow>> {
    run!(ex, |e| sqlx::query_as(
        "SELECT id, provider, subscription_id, customer_id, plan_id, state, cancel_at_period_end, current_period_end, state_at, created_at, updated_at
         FROM gateway_subscriptions WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(e)
    .await)
    .map_err(StoreError::from)
}
