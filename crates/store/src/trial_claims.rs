//! Who has had a free trial: one row per identity a trial was started under, kept when the
//! customer is deleted, and how many customers are on a trial right now.

use crate::{Ex, Result, StoreError, run};

/// The first of `identities` that already had a trial, with the customer who took it.
pub async fn first_claimed(ex: Ex<'_>, identities: &[String]) -> Result<Option<(String, i64)>> {
    if identities.is_empty() {
        return Ok(None);
    }
    let marks: Vec<String> = (1..=identities.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT identity, customer_id FROM trial_claims WHERE identity IN ({}) ORDER BY claimed_at, identity LIMIT 1",
        marks.join(", ")
    );
    run!(ex, |e| {
        let mut q = sqlx::query_as::<_, (String, i64)>(sqlx::AssertSqlSafe(sql.clone()));
        for i in identities {
            q = q.bind(i.clone());
        }
        q.fetch_optional(e).await
    })
    .map_err(StoreError::from)
}

/// Records the identities of a trial. A row already there for one of them is a second trial
/// started at the same moment: the unique key refuses it (`StoreError::Conflict`).
pub async fn claim(
    mut ex: Ex<'_>,
    identities: &[String],
    customer_id: i64,
    plan_id: i64,
    now: i64,
) -> Result<()> {
    for i in identities {
        crate::affected!(ex.reborrow(), |e| {
            sqlx::query(
            "INSERT INTO trial_claims (identity, customer_id, plan_id, claimed_at) VALUES ($1, $2, $3, $4)"
        )
        .bind(i.as_str())
        .bind(customer_id)
        .bind(plan_id)
        .bind(now)
        .execute(e)
        .await
        })?;
    }
    Ok(())
}

/// Customers with a payment on a trial plan covering `now`.
pub async fn active_trial_users(ex: Ex<'_>, now: i64) -> Result<i64> {
    run!(ex, |e| sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(DISTINCT pa.customer_id) FROM payments pa JOIN plans p ON p.id = pa.plan_id
         WHERE p.is_trial = TRUE AND pa.period_from <= $1 AND pa.period_to > $1"
    )
    .bind(now)
    .fetch_one(e)
    .await)
    .map_err(StoreError::from)
}

/// Whether the customer has any payment at all (a trial or a purchase).
pub async fn has_any_payment(ex: Ex<'_>, customer_id: i64) -> Result<bool> {
    let n = run!(ex, |e| sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM payments WHERE customer_id = $1"
    )
    .bind(customer_id)
    .fetch_one(e)
    .await)
    .map_err(StoreError::from)?;
    Ok(n > 0)
}
