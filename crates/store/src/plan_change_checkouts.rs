//! Checkouts that change the customer's plan now rather than add a period after the current one.

use crate::{Ex, Result, StoreError, run};

pub async fn mark(ex: Ex<'_>, checkout_id: i64, from_plan_id: i64) -> Result<()> {
    crate::affected!(ex, |e| sqlx::query(
        "INSERT INTO plan_change_checkouts (checkout_id, from_plan_id) VALUES ($1, $2)"
    )
    .bind(checkout_id)
    .bind(from_plan_id)
    .execute(e)
    .await)?;
    Ok(())
}

/// The plan the customer was on when they started this plan-change checkout, if it is one.
pub async fn from_plan(ex: Ex<'_>, checkout_id: i64) -> Result<Option<i64>> {
    run!(ex, |e| sqlx::query_scalar::<_, i64>(
        "SELECT from_plan_id FROM plan_change_checkouts WHERE checkout_id = $1"
    )
    .bind(checkout_id)
    .fetch_optional(e)
    .await)
    .map_err(StoreError::from)
}
