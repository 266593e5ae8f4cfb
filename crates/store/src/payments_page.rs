//! The admin Payments page: the ledger filtered by customer, gateway, date and currency, with
//! totals per currency, and the refunds asked for from it (migration 0030).

use crate::{Ex, Result, StoreError, affected, run};

/// The page's filters; each `None` is "any".
#[derive(Debug, Clone, Default)]
pub struct PaymentFilter {
    pub customer_id: Option<i64>,
    /// Part of the customer's e-mail, lower-cased.
    pub customer: Option<String>,
    /// The payment's method: `stripe`, `paypal`, `plisio`, `manual`, …
    pub method: Option<String>,
    pub currency: Option<String>,
    /// Recorded at or after (Unix seconds).
    pub from: Option<i64>,
    /// Recorded before (Unix seconds).
    pub until: Option<i64>,
}

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct PaymentListRow {
    pub id: i64,
    pub customer_id: i64,
    pub customer_email: String,
    pub plan_id: i64,
    pub plan_name: String,
    pub amount_minor: i64,
    pub currency: String,
    pub period_from: i64,
    pub period_to: i64,
    pub method: String,
    pub transaction_id: String,
    pub subscription_id: String,
    pub source: String,
    pub notes: String,
    pub created_at: i64,
    /// The refund asked for from the Payments page, if any: its state.
    pub refund_state: Option<String>,
    pub refund_error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct CurrencyTotal {
    pub currency: String,
    pub count: i64,
    pub amount_minor: i64,
}

const WHERE: &str = "WHERE ($1 IS NULL OR p.customer_id = $1)
   AND ($2 IS NULL OR c.email_key LIKE $2 ESCAPE '\\')
   AND ($3 IS NULL OR p.method = $3)
   AND ($4 IS NULL OR p.currency = $4)
   AND ($5 IS NULL OR p.created_at >= $5)
   AND ($6 IS NULL OR p.created_at < $6)";

fn like(term: &Option<String>) -> Option<String> {
    term.as_deref()
        .map(|t| t.trim().to_lowercase())
        .filter(|t| !t.is_empty())
        .map(|t| {
            let escaped = t
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            format!("%{escaped}%")
        })
}

macro_rules! bind_filter {
    ($q:expr, $f:expr, $like:expr) => {
        $q.bind($f.customer_id)
            .bind($like.clone())
            .bind($f.method.clone())
            .bind($f.currency.clone())
            .bind($f.from)
            .bind($f.until)
    };
}

/// One page of payments, newest first.
pub async fn list(
    ex: Ex<'_>,
    f: &PaymentFilter,
    limit: i64,
    offset: i64,
) -> Result<Vec<PaymentListRow>> {
    let l = like(&f.customer);
    let sql = format!(
        "SELECT p.id, p.customer_id, c.email AS customer_email, p.plan_id, COALESCE(pl.name, '') AS plan_name,
                p.amount_minor, p.currency, p.period_from, p.period_to, p.method, p.transaction_id,
                p.subscription_id, p.source, p.notes, p.created_at, r.state AS refund_state, r.error AS refund_error
         FROM payments p JOIN customers c ON c.id = p.customer_id
         LEFT JOIN plans pl ON pl.id = p.plan_id
         LEFT JOIN payment_refunds r ON r.payment_id = p.id
         {WHERE}
         ORDER BY p.created_at DESC, p.id DESC LIMIT $7 OFFSET $8"
    );
    run!(ex, |e| bind_filter!(
        sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())),
        f,
        l
    )
    .bind(limit)
    .bind(offset)
    .fetch_all(e)
    .await)
    .map_err(StoreError::from)
}

/// How many payments and how much money per currency the filter selects.
pub async fn totals(ex: Ex<'_>, f: &PaymentFilter) -> Result<Vec<CurrencyTotal>> {
    let l = like(&f.customer);
    let sql = format!(
        "SELECT p.currency, COUNT(*) AS count, CAST(COALESCE(SUM(p.amount_minor), 0) AS BIGINT) AS amount_minor
         FROM payments p JOIN customers c ON c.id = p.customer_id
         {WHERE}
         GROUP BY p.currency ORDER BY p.currency"
    );
    run!(ex, |e| bind_filter!(
        sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())),
        f,
        l
    )
    .fetch_all(e)
    .await)
    .map_err(StoreError::from)
}

/// The methods payments were recorded with, for the gateway filter.
pub async fn methods(ex: Ex<'_>) -> Result<Vec<String>> {
    let rows: Vec<(String,)> = run!(ex, |e| sqlx::query_as(
        "SELECT DISTINCT method FROM payments ORDER BY method"
    )
    .fetch_all(e)
    .await)?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

pub async fn currencies(ex: Ex<'_>) -> Result<Vec<String>> {
    let rows: Vec<(String,)> = run!(ex, |e| sqlx::query_as(
        "SELECT DISTINCT currency FROM payments ORDER BY currency"
    )
    .fetch_all(e)
    .await)?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

// ---- refunds ----

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct RefundRow {
    pub id: i64,
    pub payment_id: i64,
    pub amount_minor: i64,
    pub currency: String,
    pub reason: String,
    /// `queued`, `succeeded`, `pending` or `failed`.
    pub state: String,
    pub gateway_refund_id: String,
    pub error: String,
    pub requested_by: String,
    pub created_at: i64,
    pub updated_at: i64,
}

const REFUND_COLS: &str = "id, payment_id, amount_minor, currency, reason, state, gateway_refund_id, error, requested_by, created_at, updated_at";

pub struct NewRefund<'a> {
    pub payment_id: i64,
    pub amount_minor: i64,
    pub currency: &'a str,
    pub reason: &'a str,
    pub requested_by: &'a str,
    pub now: i64,
}

/// Asks for the payment's refund once: `None` when one was already asked for.
pub async fn insert_refund(ex: Ex<'_>, n: NewRefund<'_>) -> Result<Option<RefundRow>> {
    let sql = format!(
        "INSERT INTO payment_refunds (payment_id, amount_minor, currency, reason, requested_by, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (payment_id) DO NOTHING RETURNING {REFUND_COLS}"
    );
    run!(ex, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(n.payment_id)
        .bind(n.amount_minor)
        .bind(n.currency)
        .bind(n.reason)
        .bind(n.requested_by)
        .bind(n.now)
        .fetch_optional(e)
        .await)
    .map_err(StoreError::from)
}

pub async fn find_refund(ex: Ex<'_>, id: i64) -> Result<RefundRow> {
    let sql = format!("SELECT {REFUND_COLS} FROM payment_refunds WHERE id = $1");
    run!(ex, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_one(e)
        .await)
    .map_err(StoreError::from)
}

pub async fn refund_for_payment(ex: Ex<'_>, payment_id: i64) -> Result<Option<RefundRow>> {
    let sql = format!("SELECT {REFUND_COLS} FROM payment_refunds WHERE payment_id = $1");
    run!(ex, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(payment_id)
        .fetch_optional(e)
        .await)
    .map_err(StoreError::from)
}

pub async fn set_refund_state(
    ex: Ex<'_>,
    id: i64,
    state: &str,
    gateway_refund_id: &str,
    error: &str,
    now: i64,
) -> Result<()> {
    let n = affected!(ex, |e| {
        sqlx::query(
        "UPDATE payment_refunds SET state = $2, gateway_refund_id = $3, error = $4, updated_at = $5 WHERE id = $1"
    )
    .bind(id)
    .bind(state)
    .bind(gateway_refund_id)
    .bind(error)
    .bind(now)
    .execute(e)
    .await
    })?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}
