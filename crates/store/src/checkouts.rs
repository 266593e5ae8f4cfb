//! Checkouts: a customer's attempt to buy a plan through a gateway. The row is written before
//! the gateway is called, and its id derives the call's idempotency key.

use crate::{Ex, Result, StoreError, affected, run};

const COLS: &str = "id, customer_id, plan_id, provider, mode, state, amount_minor, currency, discount_code, discount_minor, gateway_ref, redirect_url, payment_id, error, created_at, updated_at, referral_credit_minor";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CheckoutRow {
    pub id: i64,
    pub customer_id: i64,
    pub plan_id: i64,
    pub provider: String,
    pub mode: String,
    pub state: String,
    pub amount_minor: i64,
    pub currency: String,
    pub discount_code: String,
    pub discount_minor: i64,
    pub gateway_ref: String,
    pub redirect_url: String,
    pub payment_id: Option<i64>,
    pub error: String,
    pub created_at: i64,
    pub updated_at: i64,
    /// Pending referral credits this checkout took off its price.
    pub referral_credit_minor: i64,
}

pub struct NewCheckout<'a> {
    pub customer_id: i64,
    pub plan_id: i64,
    pub provider: &'a str,
    pub mode: &'a str,
    pub amount_minor: i64,
    pub currency: &'a str,
    pub discount_code: &'a str,
    pub discount_minor: i64,
    pub referral_credit_minor: i64,
    pub now: i64,
}

pub async fn insert(ex: Ex<'_>, c: NewCheckout<'_>) -> Result<CheckoutRow> {
    let sql = format!(
        "INSERT INTO checkouts (customer_id, plan_id, provider, mode, state, amount_minor, currency, discount_code, discount_minor, referral_credit_minor, created_at, updated_at)
         VALUES ($1, $2, $3, $4, 'created', $5, $6, $7, $8, $10, $9, $9) RETURNING {COLS}"
    );
    run!(ex, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(c.customer_id)
        .bind(c.plan_id)
        .bind(c.provider)
        .bind(c.mode)
        .bind(c.amount_minor)
        .bind(c.currency)
        .bind(c.discount_code)
        .bind(c.discount_minor)
        .bind(c.now)
        .bind(c.referral_credit_minor)
        .fetch_one(e)
        .await)
    .map_err(StoreError::from)
}

pub async fn find(ex: Ex<'_>, id: i64) -> Result<CheckoutRow> {
    let sql = format!("SELECT {COLS} FROM checkouts WHERE id = $1");
    run!(ex, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_one(e)
        .await)
    .map_err(StoreError::from)
}

/// The checkout a gateway knows by `gateway_ref` (a Stripe session, a PayPal order).
pub async fn find_by_gateway_ref(
    ex: Ex<'_>,
    provider: &str,
    gateway_ref: &str,
) -> Result<Option<CheckoutRow>> {
    let sql = format!(
        "SELECT {COLS} FROM checkouts WHERE provider = $1 AND gateway_ref = $2 ORDER BY id LIMIT 1"
    );
    run!(ex, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(provider)
        .bind(gateway_ref)
        .fetch_optional(e)
        .await)
    .map_err(StoreError::from)
}

/// A customer's checkouts, newest first.
pub async fn list_for_customer(
    ex: Ex<'_>,
    customer_id: i64,
    limit: i64,
) -> Result<Vec<CheckoutRow>> {
    let sql = format!(
        "SELECT {COLS} FROM checkouts WHERE customer_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2"
    );
    run!(ex, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(customer_id)
        .bind(limit)
        .fetch_all(e)
        .await)
    .map_err(StoreError::from)
}

/// The gateway opened its hosted page: where the customer goes.
pub async fn set_opened(
    ex: Ex<'_>,
    id: i64,
    gateway_ref: &str,
    redirect_url: &str,
    now: i64,
) -> Result<()> {
    let n = affected!(ex, |e| sqlx::query(
        "UPDATE checkouts SET gateway_ref = $2, redirect_url = $3, updated_at = $4,
         state = CASE WHEN state = 'created' THEN 'open' ELSE state END WHERE id = $1"
    )
    .bind(id)
    .bind(gateway_ref)
    .bind(redirect_url)
    .bind(now)
    .execute(e)
    .await)?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Moves a checkout to `state` unless it is already paid (a late "expired" never undoes a
/// payment). Answers whether the row changed.
pub async fn set_state(ex: Ex<'_>, id: i64, state: &str, error: &str, now: i64) -> Result<bool> {
    let n = affected!(ex, |e| sqlx::query(
        "UPDATE checkouts SET state = $2, error = $3, updated_at = $4
         WHERE id = $1 AND state <> 'paid' AND state <> $2"
    )
    .bind(id)
    .bind(state)
    .bind(error)
    .bind(now)
    .execute(e)
    .await)?;
    Ok(n > 0)
}

/// Paid: the payment it became (or none yet, for a subscription whose first invoice is to come).
pub async fn set_paid(ex: Ex<'_>, id: i64, payment_id: Option<i64>, now: i64) -> Result<()> {
    affected!(ex, |e| sqlx::query(
        "UPDATE checkouts SET state = 'paid', error = '', updated_at = $3,
         payment_id = COALESCE(payment_id, $2) WHERE id = $1"
    )
    .bind(id)
    .bind(payment_id)
    .bind(now)
    .execute(e)
    .await)?;
    Ok(())
}
