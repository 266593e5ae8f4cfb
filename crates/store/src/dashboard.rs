//! The admin dashboard's numbers: customers by status, revenue since a moment and each server's
//! share count. Each is one aggregate statement.

use crate::{Ex, Result, StoreError, run};

#[derive(Debug, Clone, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct CustomerCounts {
    /// Permanent, or covered past now.
    pub active: i64,
    pub permanent: i64,
    /// Covered past now on a trial plan.
    pub trial: i64,
    /// Not permanent, covered past now but not past `soon`.
    pub expiring: i64,
    /// Not permanent and not covered now.
    pub expired: i64,
}

pub async fn customer_counts(ex: Ex<'_>, now: i64, soon: i64) -> Result<CustomerCounts> {
    run!(ex, |e| sqlx::query_as(
        "SELECT
           COALESCE(SUM(CASE WHEN c.permanent = TRUE OR c.covered_until > $1 THEN 1 ELSE 0 END), 0) AS active,
           COALESCE(SUM(CASE WHEN c.permanent = TRUE THEN 1 ELSE 0 END), 0) AS permanent,
           COALESCE(SUM(CASE WHEN c.permanent = FALSE AND c.covered_until > $1 AND p.is_trial = TRUE THEN 1 ELSE 0 END), 0) AS trial,
           COALESCE(SUM(CASE WHEN c.permanent = FALSE AND c.covered_until > $1 AND c.covered_until <= $2 THEN 1 ELSE 0 END), 0) AS expiring,
           COALESCE(SUM(CASE WHEN c.permanent = FALSE AND COALESCE(c.covered_until, 0) <= $1 THEN 1 ELSE 0 END), 0) AS expired
         FROM customers c LEFT JOIN plans p ON p.id = c.plan_id"
    )
    .bind(now)
    .bind(soon)
    .fetch_one(e)
    .await)
    .map_err(StoreError::from)
}

/// Payments received since `from` (their creation time), summed per currency, largest first.
pub async fn revenue_since(ex: Ex<'_>, from: i64) -> Result<Vec<(String, i64)>> {
    run!(ex, |e| sqlx::query_as(
        "SELECT currency, CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT) AS total FROM payments
         WHERE created_at >= $1 GROUP BY currency ORDER BY total DESC, currency"
    )
    .bind(from)
    .fetch_all(e)
    .await)
    .map_err(StoreError::from)
}

/// Shares that are not removed, per server id.
pub async fn shares_per_server(ex: Ex<'_>) -> Result<Vec<(i64, i64)>> {
    run!(ex, |e| sqlx::query_as(
        "SELECT server_id, COUNT(*) FROM shares WHERE state <> 'removed' GROUP BY server_id"
    )
    .fetch_all(e)
    .await)
    .map_err(StoreError::from)
}

/// The sum of the payments in `currency` created in `[from, to)`.
pub async fn revenue_between(ex: Ex<'_>, currency: &str, from: i64, to: i64) -> Result<i64> {
    let (total,): (i64,) = run!(ex, |e| sqlx::query_as(
        "SELECT CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT) FROM payments
         WHERE currency = $1 AND created_at >= $2 AND created_at < $3"
    )
    .bind(currency)
    .bind(from)
    .bind(to)
    .fetch_one(e)
    .await)?;
    Ok(total)
}
