//! Bulk invite imports: the accepted upload and its validated rows, each with its outcome. The
//! job reads the first pending row, invites, and writes the outcome, so progress is durable row
//! by row and a restarted job resumes where the last one stopped.

use crate::{Ex, Result, StoreError, affected, run};

const COLS: &str = "id, created_at, created_by, file_name, file_hash, state, total_rows, done_rows, failed_rows, retries, finished_at";
const ROW_COLS: &str = "bulk_invite_id, row_number, email, server_id, server_name, plan_id, plan_name, quantity, amount_minor, currency, transaction_id, payment_date, payment_method, username, permanent, notes, outcome, message, customer_id, processed_at";

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct BulkInviteRow {
    pub id: i64,
    pub created_at: i64,
    pub created_by: String,
    pub file_name: String,
    pub file_hash: String,
    pub state: String,
    pub total_rows: i64,
    pub done_rows: i64,
    pub failed_rows: i64,
    pub retries: i64,
    pub finished_at: Option<i64>,
}

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct ImportRow {
    pub bulk_invite_id: i64,
    pub row_number: i64,
    pub email: String,
    pub server_id: i64,
    pub server_name: String,
    pub plan_id: i64,
    pub plan_name: String,
    pub quantity: i64,
    pub amount_minor: i64,
    pub currency: String,
    pub transaction_id: String,
    pub payment_date: i64,
    pub payment_method: String,
    pub username: Option<String>,
    pub permanent: bool,
    pub notes: String,
    pub outcome: String,
    pub message: String,
    pub customer_id: Option<i64>,
    pub processed_at: Option<i64>,
}

pub async fn insert(
    ex: Ex<'_>,
    created_by: &str,
    file_name: &str,
    file_hash: &str,
    total_rows: i64,
    now: i64,
) -> Result<i64> {
    run!(ex, |e| sqlx::query_scalar(
        "INSERT INTO bulk_invites (created_at, created_by, file_name, file_hash, state, total_rows)
         VALUES ($1, $2, $3, $4, 'running', $5) RETURNING id"
    )
    .bind(now)
    .bind(created_by)
    .bind(file_name)
    .bind(file_hash)
    .bind(total_rows)
    .fetch_one(e)
    .await)
    .map_err(StoreError::from)
}

/// Stores one validated row as pending; `r.outcome`, `message`, `customer_id` and `processed_at`
/// are ignored.
pub async fn insert_row(ex: Ex<'_>, r: &ImportRow) -> Result<()> {
    affected!(ex, |e| {
        sqlx::query(
        "INSERT INTO bulk_invite_rows (bulk_invite_id, row_number, email, server_id, server_name, plan_id, plan_name, quantity, amount_minor, currency, transaction_id, payment_date, payment_method, username, permanent, notes, outcome)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, 'pending')"
    )
    .bind(r.bulk_invite_id)
    .bind(r.row_number)
    .bind(&r.email)
    .bind(r.server_id)
    .bind(&r.server_name)
    .bind(r.plan_id)
    .bind(&r.plan_name)
    .bind(r.quantity)
    .bind(r.amount_minor)
    .bind(&r.currency)
    .bind(&r.transaction_id)
    .bind(r.payment_date)
    .bind(&r.payment_method)
    .bind(&r.username)
    .bind(r.permanent)
    .bind(&r.notes)
    .execute(e)
    .await
    })?;
    Ok(())
}

pub async fn find(ex: Ex<'_>, id: i64) -> Result<BulkInviteRow> {
    let sql = format!("SELECT {COLS} FROM bulk_invites WHERE id = $1");
    run!(ex, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_one(e)
        .await)
    .map_err(StoreError::from)
}

/// Every row of an import, in file order.
pub async fn rows(ex: Ex<'_>, id: i64) -> Result<Vec<ImportRow>> {
    let sql = format!(
        "SELECT {ROW_COLS} FROM bulk_invite_rows WHERE bulk_invite_id = $1 ORDER BY row_number"
    );
    run!(ex, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_all(e)
        .await)
    .map_err(StoreError::from)
}

/// The first row still to do, in file order.
pub async fn next_pending(ex: Ex<'_>, id: i64) -> Result<Option<ImportRow>> {
    let sql = format!(
        "SELECT {ROW_COLS} FROM bulk_invite_rows WHERE bulk_invite_id = $1 AND outcome = 'pending' ORDER BY row_number LIMIT 1"
    );
    run!(ex, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(e)
        .await)
    .map_err(StoreError::from)
}

/// Records a row's outcome and refreshes the import's counts from its rows (recounted rather than
/// incremented, so a row written twice after a crash cannot skew them).
pub async fn record_outcome(
    mut ex: Ex<'_>,
    id: i64,
    row_number: i64,
    outcome: &str,
    message: &str,
    customer_id: Option<i64>,
    now: i64,
) -> Result<()> {
    affected!(ex.reborrow(), |e| {
        sqlx::query(
        "UPDATE bulk_invite_rows SET outcome = $3, message = $4, customer_id = COALESCE($5, customer_id), processed_at = $6
         WHERE bulk_invite_id = $1 AND row_number = $2"
    )
    .bind(id)
    .bind(row_number)
    .bind(outcome)
    .bind(message)
    .bind(customer_id)
    .bind(now)
    .execute(e)
    .await
    })?;
    recount(ex, id).await
}

async fn recount(ex: Ex<'_>, id: i64) -> Result<()> {
    affected!(ex, |e| {
        sqlx::query(
        "UPDATE bulk_invites SET
           done_rows = (SELECT COUNT(*) FROM bulk_invite_rows WHERE bulk_invite_id = $1 AND outcome = 'done'),
           failed_rows = (SELECT COUNT(*) FROM bulk_invite_rows WHERE bulk_invite_id = $1 AND outcome = 'failed')
         WHERE id = $1"
    )
    .bind(id)
    .execute(e)
    .await
    })?;
    Ok(())
}

pub async fn finish(ex: Ex<'_>, id: i64, now: i64) -> Result<()> {
    affected!(ex, |e| sqlx::query(
        "UPDATE bulk_invites SET state = 'finished', finished_at = $2 WHERE id = $1"
    )
    .bind(id)
    .bind(now)
    .execute(e)
    .await)?;
    Ok(())
}

/// Puts failed rows back to pending and the import back to running; returns how many rows and
/// the retry's ordinal (for the job's idempotency key).
pub async fn reset_failed(mut ex: Ex<'_>, id: i64) -> Result<(u64, i64)> {
    let n = affected!(ex.reborrow(), |e| {
        sqlx::query(
        "UPDATE bulk_invite_rows SET outcome = 'pending', message = '' WHERE bulk_invite_id = $1 AND outcome = 'failed'"
    )
    .bind(id)
    .execute(e)
    .await
    })?;
    if n == 0 {
        return Ok((0, 0));
    }
    let retries: i64 = run!(ex.reborrow(), |e| sqlx::query_scalar(
        "UPDATE bulk_invites SET state = 'running', finished_at = NULL, retries = retries + 1 WHERE id = $1 RETURNING retries"
    )
    .bind(id)
    .fetch_one(e)
    .await)
    .map_err(StoreError::from)?;
    recount(ex, id).await?;
    Ok((n, retries))
}

/// Every transaction id recorded in payments: the validator refuses a row reusing one.
pub async fn recorded_transaction_ids(ex: Ex<'_>) -> Result<Vec<String>> {
    run!(ex, |e| sqlx::query_scalar(
        "SELECT DISTINCT transaction_id FROM payments"
    )
    .fetch_all(e)
    .await)
    .map_err(StoreError::from)
}

/// Marks an import stopped: its job was given up, for `reason`. It stays so until retried.
pub async fn set_stopped(ex: Ex<'_>, id: i64, reason: &str) -> Result<()> {
    affected!(ex, |e| {
        sqlx::query(
        "UPDATE bulk_invites SET state = 'stopped', stop_reason = $2 WHERE id = $1 AND state <> 'finished'"
    )
    .bind(id)
    .bind(reason)
    .execute(e)
    .await
    })?;
    Ok(())
}

/// Marks a running import paused: its worker shut down between rows and handed the job back.
pub async fn set_paused(ex: Ex<'_>, id: i64) -> Result<()> {
    affected!(ex, |e| sqlx::query(
        "UPDATE bulk_invites SET state = 'paused' WHERE id = $1 AND state = 'running'"
    )
    .bind(id)
    .execute(e)
    .await)?;
    Ok(())
}

/// Puts a paused or stopped import back to running (its job runs again); true when it was
/// stopped or paused.
pub async fn set_running(ex: Ex<'_>, id: i64) -> Result<bool> {
    let n = affected!(ex, |e| {
        sqlx::query(
        "UPDATE bulk_invites SET state = 'running', stop_reason = '' WHERE id = $1 AND state IN ('paused', 'stopped')"
    )
    .bind(id)
    .execute(e)
    .await
    })?;
    Ok(n == 1)
}

/// Why an import stopped; empty unless it is stopped.
pub async fn stop_reason(ex: Ex<'_>, id: i64) -> Result<String> {
    run!(ex, |e| sqlx::query_scalar(
        "SELECT stop_reason FROM bulk_invites WHERE id = $1"
    )
    .bind(id)
    .fetch_one(e)
    .await)
    .map_err(StoreError::from)
}
