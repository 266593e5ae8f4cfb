//! Recurring subscriptions at a gateway: whose they are and their state (active, past due,
//! cancelled) as the latest event said. An event older than the one that set the state does
//! not override it, so deliveries in any order end in the same state.

use crate::{Ex, Result, StoreError, affected, run};

const COLS: &str = "id, provider, subscription_id, customer_id, plan_id, state, cancel_at_period_end, current_period_end, state_at, created_at, updated_at";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct GatewaySubscriptionRow {
    pub id: i64,
    pub provider: String,
    pub subscription_id: String,
    pub customer_id: i64,
    pub plan_id: Option<i64>,
    pub state: String,
    pub cancel_at_period_end: bool,
    pub current_period_end: Option<i64>,
    pub state_at: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

pub async fn find(
    ex: Ex<'_>,
    provider: &str,
    subscription_id: &str,
) -> Result<Option<GatewaySubscriptionRow>> {
    let sql = format!(
        "SELECT {COLS} FROM gateway_subscriptions WHERE provider = $1 AND subscription_id = $2"
    );
    run!(ex, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(provider)
        .bind(subscription_id)
        .fetch_optional(e)
        .await)
    .map_err(StoreError::from)
}

pub async fn list_for_customer(
    ex: Ex<'_>,
    customer_id: i64,
) -> Result<Vec<GatewaySubscriptionRow>> {
    let sql = format!(
        "SELECT {COLS} FROM gateway_subscriptions WHERE customer_id = $1 ORDER BY created_at DESC, id DESC"
    );
    run!(ex, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(customer_id)
        .fetch_all(e)
        .await)
    .map_err(StoreError::from)
}

pub struct NewSubscription<'a> {
    pub provider: &'a str,
    pub subscription_id: &'a str,
    pub customer_id: i64,
    pub plan_id: Option<i64>,
    pub state: &'a str,
    /// Older than any event that should move the state.
    pub state_at: i64,
    pub now: i64,
}

/// Records a subscription the first time it is heard of; one already known keeps its row (its
/// state is moved by [`set_state`]). Answers whether it was new.
pub async fn insert_if_new(ex: Ex<'_>, s: NewSubscription<'_>) -> Result<bool> {
    let NewSubscription {
        provider,
        subscription_id,
        customer_id,
        plan_id,
        state,
        state_at,
        now,
    } = s;
    let n = affected!(ex, |e| {
        sqlx::query(
        "INSERT INTO gateway_subscriptions (provider, subscription_id, customer_id, plan_id, state, state_at, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
         ON CONFLICT (provider, subscription_id) DO NOTHING"
    )
    .bind(provider)
    .bind(subscription_id)
    .bind(customer_id)
    .bind(plan_id)
    .bind(state)
    .bind(state_at)
    .bind(now)
    .execute(e)
    .await
    })?;
    Ok(n > 0)
}

/// Moves the state if the event at `at` is not older than the one that set the current state.
/// A cancelled subscription stays cancelled. `period_end`/`cancel_at_period_end` are kept when
/// `None`. Answers whether the event was applied.
pub async fn set_state(
    ex: Ex<'_>,
    id: i64,
    state: &str,
    at: i64,
    period_end: Option<i64>,
    cancel_at_period_end: Option<bool>,
    now: i64,
) -> Result<bool> {
    let n = affected!(ex, |e| {
        sqlx::query(
        "UPDATE gateway_subscriptions SET state = $2, state_at = $3,
         current_period_end = CASE WHEN $4 IS NULL THEN current_period_end
             WHEN current_period_end IS NULL OR current_period_end < $4 THEN $4 ELSE current_period_end END,
         cancel_at_period_end = COALESCE($5, cancel_at_period_end), updated_at = $6
         WHERE id = $1 AND state_at <= $3 AND state <> 'cancelled'"
    )
    .bind(id)
    .bind(state)
    .bind(at)
    .bind(period_end)
    .bind(cancel_at_period_end)
    .bind(now)
    .execute(e)
    .await
    })?;
    Ok(n > 0)
}
