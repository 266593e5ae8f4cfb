//! Payments: each covers the half-open period [period_from, period_to). (transaction id,
//! sequence) is unique, so recording the same gateway payment twice is a `Conflict`, never a double.

use crate::{Ex, Result, StoreError, affected, run};

const COLS: &str = "id, customer_id, plan_id, amount_minor, currency, period_from, period_to, method, transaction_id, sequence, subscription_id, notes, source, created_at, refunded_minor";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PaymentRow {
    pub id: i64,
    pub customer_id: i64,
    pub plan_id: i64,
    pub amount_minor: i64,
    pub currency: String,
    pub period_from: i64,
    pub period_to: i64,
    pub method: String,
    pub transaction_id: String,
    pub sequence: i64,
    pub subscription_id: String,
    pub notes: String,
    pub source: String,
    pub created_at: i64,
    /// Given back by refunds and chargebacks, in the payment's currency.
    pub refunded_minor: i64,
}

pub struct NewPayment<'a> {
    pub customer_id: i64,
    pub plan_id: i64,
    pub amount_minor: i64,
    pub currency: &'a str,
    pub period_from: i64,
    pub period_to: i64,
    pub method: &'a str,
    pub transaction_id: &'a str,
    pub sequence: i64,
    pub subscription_id: &'a str,
    pub notes: &'a str,
    pub source: &'a str,
    pub now: i64,
}

pub async fn insert(ex: Ex<'_>, p: NewPayment<'_>) -> Result<PaymentRow> {
    let sql = format!(
        "INSERT INTO payments (customer_id, plan_id, amount_minor, currency, period_from, period_to, method, transaction_id, sequence, subscription_id, notes, source, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING {COLS}"
    );
    run!(ex, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(p.customer_id)
        .bind(p.plan_id)
        .bind(p.amount_minor)
        .bind(p.currency)
        .bind(p.period_from)
        .bind(p.period_to)
        .bind(p.method)
        .bind(p.transaction_id)
        .bind(p.sequence)
        .bind(p.subscription_id)
        .bind(p.notes)
        .bind(p.source)
        .bind(p.now)
        .fetch_one(e)
        .await)
    .map_err(StoreError::from)
}

/// One payment by id.
pub async fn find(ex: Ex<'_>, id: i64) -> Result<PaymentRow> {
    let sql = format!("SELECT {COLS} FROM payments WHERE id = $1");
    run!(ex, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_one(e)
        .await)
    .map_err(StoreError::from)
}

pub async fn find_by_transaction(
    ex: Ex<'_>,
    transaction_id: &str,
    sequence: i64,
) -> Result<PaymentRow> {
    let sql = format!("SELECT {COLS} FROM payments WHERE transaction_id = $1 AND sequence = $2");
    run!(ex, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(transaction_id)
        .bind(sequence)
        .fetch_one(e)
        .await)
    .map_err(StoreError::from)
}

/// A customer's payments, oldest period first.
pub async fn list_for_customer(ex: Ex<'_>, customer_id: i64) -> Result<Vec<PaymentRow>> {
    let sql =
        format!("SELECT {COLS} FROM payments WHERE customer_id = $1 ORDER BY period_from, id");
    run!(ex, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(customer_id)
        .fetch_all(e)
        .await)
    .map_err(StoreError::from)
}

/// Ends a payment early (a plan change): its period, amount and note are rewritten together.
pub async fn cut(
    ex: Ex<'_>,
    id: i64,
    period_to: i64,
    amount_minor: i64,
    notes: &str,
) -> Result<()> {
    let n = affected!(ex, |e| {
        sqlx::query(
        "UPDATE payments SET period_to = $2, amount_minor = $3, notes = $4 WHERE id = $1 AND period_from < $2"
    )
    .bind(id)
    .bind(period_to)
    .bind(amount_minor)
    .bind(notes)
    .execute(e)
    .await
    })?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Moves a pre-paid payment to another period and plan (a plan change puts it behind the new
/// payment), appending `note` to its notes; its amount and transaction are unchanged.
pub async fn move_period(
    ex: Ex<'_>,
    id: i64,
    period: (i64, i64),
    plan_id: i64,
    note: &str,
) -> Result<()> {
    let n = affected!(ex, |e| {
        sqlx::query(
            "UPDATE payments SET period_from = $2, period_to = $3, plan_id = $4, \
             notes = CASE WHEN notes = '' THEN $5 ELSE notes || ' ' || $5 END WHERE id = $1",
        )
        .bind(id)
        .bind(period.0)
        .bind(period.1)
        .bind(plan_id)
        .bind(note)
        .execute(e)
        .await
    })?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Removes a payment outright (a period cut to nothing cannot stay: `period_to > period_from`).
pub async fn delete(ex: Ex<'_>, id: i64) -> Result<u64> {
    Ok(affected!(ex, |e| sqlx::query(
        "DELETE FROM payments WHERE id = $1"
    )
    .bind(id)
    .execute(e)
    .await)?)
}

/// A refund or chargeback of a gateway payment: its refunded total and its shortened period
/// are written together, with `note` appended to its notes. Answers `NotFound` for no such row.
pub async fn record_refund(
    ex: Ex<'_>,
    id: i64,
    refunded_minor: i64,
    period_to: i64,
    note: &str,
) -> Result<()> {
    let n = affected!(ex, |e| {
        sqlx::query(
            "UPDATE payments SET refunded_minor = $2, period_to = $3, \
             notes = CASE WHEN notes = '' THEN $4 ELSE notes || ' ' || $4 END \
             WHERE id = $1 AND period_from < $3",
        )
        .bind(id)
        .bind(refunded_minor)
        .bind(period_to)
        .bind(note)
        .execute(e)
        .await
    })?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// The payment recorded for a gateway transaction id (any sequence; the first).
pub async fn find_by_transaction_any(
    ex: Ex<'_>,
    transaction_id: &str,
) -> Result<Option<PaymentRow>> {
    let sql = format!(
        "SELECT {COLS} FROM payments WHERE transaction_id = $1 ORDER BY sequence, id LIMIT 1"
    );
    run!(ex, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(transaction_id)
        .fetch_optional(e)
        .await)
    .map_err(StoreError::from)
}

/// A chargeback: as [`record_refund`], and what the payment gave and covered before it is kept
/// (once, however many chargebacks are told) so a dispute won can put it back.
pub async fn record_chargeback(
    ex: Ex<'_>,
    id: i64,
    refunded_minor: i64,
    period_to: i64,
    note: &str,
) -> Result<()> {
    let n = affected!(ex, |e| {
        sqlx::query(
            "UPDATE payments SET \
             disputed_refunded_minor = COALESCE(disputed_refunded_minor, refunded_minor), \
             disputed_period_to = COALESCE(disputed_period_to, period_to), \
             refunded_minor = $2, period_to = $3, \
             notes = CASE WHEN notes = '' THEN $4 ELSE notes || ' ' || $4 END \
             WHERE id = $1 AND period_from < $3",
        )
        .bind(id)
        .bind(refunded_minor)
        .bind(period_to)
        .bind(note)
        .execute(e)
        .await
    })?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// A dispute won: the payment gives and covers again what it did before the chargeback.
/// Answers the restored end of coverage, or `None` when no chargeback stands on it.
pub async fn restore_disputed(ex: Ex<'_>, id: i64, note: &str) -> Result<Option<i64>> {
    Ok(run!(ex, |e| sqlx::query_scalar(
        "UPDATE payments SET refunded_minor = disputed_refunded_minor, \
         period_to = disputed_period_to, \
         disputed_refunded_minor = NULL, disputed_period_to = NULL, \
         notes = CASE WHEN notes = '' THEN $2 ELSE notes || ' ' || $2 END \
         WHERE id = $1 AND disputed_period_to IS NOT NULL RETURNING period_to"
    )
    .bind(id)
    .bind(note)
    .fetch_optional(e)
    .await)?)
}
