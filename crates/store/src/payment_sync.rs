//! Transaction sync's records: the unmatched payments waiting for the admin, each gateway
//! account's sync status, and the ledger look-ups matching needs (migration 0030).

use crate::{Ex, Result, StoreError, affected, run};

const UNMATCHED_COLS: &str = "id, gateway, account, transaction_id, payer_email, payer_name, amount_minor, currency, paid_at, subscription_id, reason, raw, state, customer_id, payment_id, dismiss_reason, resolved_by, resolved_at, created_at";

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct UnmatchedRow {
    pub id: i64,
    pub gateway: String,
    pub account: String,
    pub transaction_id: String,
    pub payer_email: String,
    pub payer_name: String,
    pub amount_minor: i64,
    pub currency: String,
    pub paid_at: i64,
    pub subscription_id: String,
    pub reason: String,
    pub raw: String,
    /// `open`, `assigned` or `dismissed`.
    pub state: String,
    pub customer_id: Option<i64>,
    pub payment_id: Option<i64>,
    pub dismiss_reason: String,
    pub resolved_by: String,
    pub resolved_at: Option<i64>,
    pub created_at: i64,
}

pub struct NewUnmatched<'a> {
    pub gateway: &'a str,
    pub account: &'a str,
    pub transaction_id: &'a str,
    pub payer_email: &'a str,
    pub payer_name: &'a str,
    pub amount_minor: i64,
    pub currency: &'a str,
    pub paid_at: i64,
    pub subscription_id: &'a str,
    pub reason: &'a str,
    pub raw: &'a str,
    pub now: i64,
}

/// Lists the payment for the admin, once: `None` when this gateway transaction is already
/// listed (whatever became of it).
pub async fn insert_unmatched(ex: Ex<'_>, n: NewUnmatched<'_>) -> Result<Option<UnmatchedRow>> {
    let sql = format!(
        "INSERT INTO unmatched_payments (gateway, account, transaction_id, payer_email, payer_name, amount_minor, currency, paid_at, subscription_id, reason, raw, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
         ON CONFLICT (gateway, transaction_id) DO NOTHING RETURNING {UNMATCHED_COLS}"
    );
    run!(ex, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(n.gateway)
        .bind(n.account)
        .bind(n.transaction_id)
        .bind(n.payer_email)
        .bind(n.payer_name)
        .bind(n.amount_minor)
        .bind(n.currency)
        .bind(n.paid_at)
        .bind(n.subscription_id)
        .bind(n.reason)
        .bind(n.raw)
        .bind(n.now)
        .fetch_optional(e)
        .await)
    .map_err(StoreError::from)
}

pub async fn find_unmatched(ex: Ex<'_>, id: i64) -> Result<UnmatchedRow> {
    let sql = format!("SELECT {UNMATCHED_COLS} FROM unmatched_payments WHERE id = $1");
    run!(ex, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_one(e)
        .await)
    .map_err(StoreError::from)
}

/// Whether any of the ids is listed for the gateway.
pub async fn unmatched_exists(mut ex: Ex<'_>, gateway: &str, ids: &[&str]) -> Result<bool> {
    for id in ids {
        let n: (i64,) = run!(ex.reborrow(), |e| sqlx::query_as(
            "SELECT COUNT(*) FROM unmatched_payments WHERE gateway = $1 AND transaction_id = $2"
        )
        .bind(gateway)
        .bind(*id)
        .fetch_one(e)
        .await)?;
        if n.0 > 0 {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Unmatched payments in `state` (all when `None`), newest payment first.
pub async fn list_unmatched(
    ex: Ex<'_>,
    state: Option<&str>,
    limit: i64,
    offset: i64,
) -> Result<Vec<UnmatchedRow>> {
    let sql = format!(
        "SELECT {UNMATCHED_COLS} FROM unmatched_payments WHERE ($1 IS NULL OR state = $1)
         ORDER BY paid_at DESC, id DESC LIMIT $2 OFFSET $3"
    );
    run!(ex, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(state)
        .bind(limit)
        .bind(offset)
        .fetch_all(e)
        .await)
    .map_err(StoreError::from)
}

pub async fn count_unmatched(ex: Ex<'_>, state: Option<&str>) -> Result<i64> {
    let n: (i64,) = run!(ex, |e| sqlx::query_as(
        "SELECT COUNT(*) FROM unmatched_payments WHERE ($1 IS NULL OR state = $1)"
    )
    .bind(state)
    .fetch_one(e)
    .await)?;
    Ok(n.0)
}

/// Marks an open row assigned to the payment that now records it. `NotFound` when it is not
/// open (already assigned or dismissed).
pub async fn mark_assigned(
    ex: Ex<'_>,
    id: i64,
    customer_id: i64,
    payment_id: i64,
    by: &str,
    now: i64,
) -> Result<()> {
    let n = affected!(ex, |e| {
        sqlx::query(
        "UPDATE unmatched_payments SET state = 'assigned', customer_id = $2, payment_id = $3, resolved_by = $4, resolved_at = $5
         WHERE id = $1 AND state = 'open'"
    )
    .bind(id)
    .bind(customer_id)
    .bind(payment_id)
    .bind(by)
    .bind(now)
    .execute(e)
    .await
    })?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Marks an open row dismissed with the admin's reason. `NotFound` when it is not open.
pub async fn mark_dismissed(ex: Ex<'_>, id: i64, reason: &str, by: &str, now: i64) -> Result<()> {
    let n = affected!(ex, |e| {
        sqlx::query(
        "UPDATE unmatched_payments SET state = 'dismissed', dismiss_reason = $2, resolved_by = $3, resolved_at = $4
         WHERE id = $1 AND state = 'open'"
    )
    .bind(id)
    .bind(reason)
    .bind(by)
    .bind(now)
    .execute(e)
    .await
    })?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// An open row whose transaction the ledger recorded by another way (the admin added the
/// payment by hand with that transaction id) is settled as assigned to it.
pub async fn settle_recorded(ex: Ex<'_>, now: i64) -> Result<u64> {
    Ok(affected!(ex, |e| {
        sqlx::query(
        "UPDATE unmatched_payments SET state = 'assigned',
            payment_id = (SELECT p.id FROM payments p WHERE p.transaction_id = unmatched_payments.transaction_id ORDER BY p.sequence LIMIT 1),
            customer_id = (SELECT p.customer_id FROM payments p WHERE p.transaction_id = unmatched_payments.transaction_id ORDER BY p.sequence LIMIT 1),
            resolved_by = 'recorded by hand', resolved_at = $1
         WHERE state = 'open' AND EXISTS (SELECT 1 FROM payments p WHERE p.transaction_id = unmatched_payments.transaction_id)"
    )
    .bind(now)
    .execute(e)
    .await
    })?)
}

// ---- sync status ----

#[derive(Debug, Clone, Default, sqlx::FromRow, serde::Serialize)]
pub struct SyncStatusRow {
    pub gateway: String,
    pub account: String,
    pub synced_through: Option<i64>,
    pub last_started_at: Option<i64>,
    pub last_finished_at: Option<i64>,
    pub last_success_at: Option<i64>,
    pub last_error: String,
    pub consecutive_failures: i64,
    pub last_seen: i64,
    pub last_matched: i64,
    pub last_unmatched: i64,
    pub last_skipped: i64,
    pub total_matched: i64,
    pub total_unmatched: i64,
}

const STATUS_COLS: &str = "gateway, account, synced_through, last_started_at, last_finished_at, last_success_at, last_error, consecutive_failures, last_seen, last_matched, last_unmatched, last_skipped, total_matched, total_unmatched";

pub async fn statuses(ex: Ex<'_>) -> Result<Vec<SyncStatusRow>> {
    let sql = format!("SELECT {STATUS_COLS} FROM payment_sync_status ORDER BY gateway, account");
    run!(ex, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .fetch_all(e)
        .await)
    .map_err(StoreError::from)
}

pub async fn status(ex: Ex<'_>, gateway: &str, account: &str) -> Result<Option<SyncStatusRow>> {
    let sql = format!(
        "SELECT {STATUS_COLS} FROM payment_sync_status WHERE gateway = $1 AND account = $2"
    );
    run!(ex, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(gateway)
        .bind(account)
        .fetch_optional(e)
        .await)
    .map_err(StoreError::from)
}

pub async fn mark_started(ex: Ex<'_>, gateway: &str, account: &str, now: i64) -> Result<()> {
    affected!(ex, |e| sqlx::query(
        "INSERT INTO payment_sync_status (gateway, account, last_started_at) VALUES ($1, $2, $3)
         ON CONFLICT (gateway, account) DO UPDATE SET last_started_at = excluded.last_started_at"
    )
    .bind(gateway)
    .bind(account)
    .bind(now)
    .execute(e)
    .await)?;
    Ok(())
}

/// What one run found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct RunCounts {
    pub seen: i64,
    pub matched: i64,
    pub unmatched: i64,
    pub skipped: i64,
}

pub async fn mark_succeeded(
    ex: Ex<'_>,
    gateway: &str,
    account: &str,
    synced_through: i64,
    c: RunCounts,
    now: i64,
) -> Result<()> {
    affected!(ex, |e| {
        sqlx::query(
        "INSERT INTO payment_sync_status (gateway, account, synced_through, last_started_at, last_finished_at, last_success_at,
             last_error, consecutive_failures, last_seen, last_matched, last_unmatched, last_skipped, total_matched, total_unmatched)
         VALUES ($1, $2, $3, $4, $4, $4, '', 0, $5, $6, $7, $8, $6, $7)
         ON CONFLICT (gateway, account) DO UPDATE SET synced_through = excluded.synced_through,
             last_finished_at = excluded.last_finished_at, last_success_at = excluded.last_success_at,
             last_error = '', consecutive_failures = 0, last_seen = excluded.last_seen,
             last_matched = excluded.last_matched, last_unmatched = excluded.last_unmatched,
             last_skipped = excluded.last_skipped,
             total_matched = payment_sync_status.total_matched + excluded.last_matched,
             total_unmatched = payment_sync_status.total_unmatched + excluded.last_unmatched"
    )
    .bind(gateway)
    .bind(account)
    .bind(synced_through)
    .bind(now)
    .bind(c.seen)
    .bind(c.matched)
    .bind(c.unmatched)
    .bind(c.skipped)
    .execute(e)
    .await
    })?;
    Ok(())
}

/// Records a failed run; answers the number of failures in a row, this one included.
pub async fn mark_failed(
    mut ex: Ex<'_>,
    gateway: &str,
    account: &str,
    error: &str,
    now: i64,
) -> Result<i64> {
    affected!(ex.reborrow(), |e| {
        sqlx::query(
        "INSERT INTO payment_sync_status (gateway, account, last_started_at, last_finished_at, last_error, consecutive_failures)
         VALUES ($1, $2, $4, $4, $3, 1)
         ON CONFLICT (gateway, account) DO UPDATE SET last_finished_at = excluded.last_finished_at,
             last_error = excluded.last_error, consecutive_failures = payment_sync_status.consecutive_failures + 1"
    )
    .bind(gateway)
    .bind(account)
    .bind(error)
    .bind(now)
    .execute(e)
    .await
    })?;
    Ok(status(ex, gateway, account)
        .await?
        .map_or(1, |s| s.consecutive_failures))
}

// ---- ledger look-ups for matching ----

/// The payment recording any of these transaction ids: (payment id, customer id).
pub async fn recorded(mut ex: Ex<'_>, ids: &[&str]) -> Result<Option<(i64, i64)>> {
    for id in ids {
        let row: Option<(i64, i64)> = run!(ex.reborrow(), |e| {
            sqlx::query_as(
            "SELECT id, customer_id FROM payments WHERE transaction_id = $1 ORDER BY sequence, id LIMIT 1"
        )
        .bind(*id)
        .fetch_optional(e)
        .await
        })?;
        if row.is_some() {
            return Ok(row);
        }
    }
    Ok(None)
}

/// Customers with a payment carrying this subscription id.
pub async fn subscription_owners(ex: Ex<'_>, subscription_id: &str) -> Result<Vec<i64>> {
    let rows: Vec<(i64,)> = run!(ex, |e| {
        sqlx::query_as(
        "SELECT DISTINCT customer_id FROM payments WHERE subscription_id = $1 AND subscription_id <> '' ORDER BY customer_id"
    )
    .bind(subscription_id)
    .fetch_all(e)
    .await
    })?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// Customers whose profile e-mail is `key` (already trimmed and lower-cased).
pub async fn email_owners(ex: Ex<'_>, key: &str) -> Result<Vec<i64>> {
    let rows: Vec<(i64,)> = run!(ex, |e| sqlx::query_as(
        "SELECT id FROM customers WHERE email_key = $1 ORDER BY id"
    )
    .bind(key)
    .fetch_all(e)
    .await)?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// Customers whose PayPal e-mail is `key` (already trimmed and lower-cased).
pub async fn paypal_email_owners(ex: Ex<'_>, key: &str) -> Result<Vec<i64>> {
    let rows: Vec<(i64,)> = run!(ex, |e| {
        sqlx::query_as(
        "SELECT id FROM customers WHERE lower(paypal_email) = $1 AND paypal_email <> '' ORDER BY id"
    )
    .bind(key)
    .fetch_all(e)
    .await
    })?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// A customer as the assign form lists them.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct CustomerPick {
    pub id: i64,
    pub email: String,
    pub paypal_email: String,
    pub plan_id: Option<i64>,
    pub covered_until: Option<i64>,
}

/// Up to `limit` customers whose e-mail, PayPal e-mail, Plex e-mail or name contains `term`
/// (lower-cased), by e-mail.
pub async fn search_customers(ex: Ex<'_>, term: &str, limit: i64) -> Result<Vec<CustomerPick>> {
    let escaped = term
        .trim()
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    let pattern = format!("%{escaped}%");
    run!(ex, |e| sqlx::query_as(
        "SELECT id, email, paypal_email, plan_id, covered_until FROM customers
         WHERE email_key LIKE $1 ESCAPE '\\' OR lower(paypal_email) LIKE $1 ESCAPE '\\'
            OR lower(plex_email) LIKE $1 ESCAPE '\\' OR lower(display_name) LIKE $1 ESCAPE '\\'
         ORDER BY email_key LIMIT $2"
    )
    .bind(&pattern)
    .bind(limit)
    .fetch_all(e)
    .await)
    .map_err(StoreError::from)
}

/// A PayPal subscription whose paid period ended in `[from, to)` while its customer is no
/// longer covered: a renewal was due and no payment for it is in the ledger.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OverdueSubscription {
    pub subscription_id: String,
    pub customer_id: i64,
    pub paid_until: i64,
}

pub async fn overdue_subscriptions(
    ex: Ex<'_>,
    method: &str,
    from: i64,
    to: i64,
) -> Result<Vec<OverdueSubscription>> {
    run!(ex, |e| sqlx::query_as(
        "SELECT p.subscription_id, p.customer_id, MAX(p.period_to) AS paid_until
         FROM payments p JOIN customers c ON c.id = p.customer_id
         WHERE p.method = $1 AND p.subscription_id <> '' AND c.permanent = FALSE
           AND COALESCE(c.covered_until, 0) < $3
         GROUP BY p.subscription_id, p.customer_id
         HAVING MAX(p.period_to) >= $2 AND MAX(p.period_to) < $3
         ORDER BY p.subscription_id"
    )
    .bind(method)
    .bind(from)
    .bind(to)
    .fetch_all(e)
    .await)
    .map_err(StoreError::from)
}
