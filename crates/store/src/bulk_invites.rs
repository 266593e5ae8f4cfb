//! Bulk invite imports: the accepted upload and its validated rows, each with its outcome. The
//! job reads the first pending row, invites, and writes the outcome, so progress is durable row
//! by row and a restarted job resumes where the last one stopped.

use crate::{Backend, Ex, Result, StoreError, affected, run};
use std::collections::HashMap;

const COLS: &str = "id, created_at, created_by, file_name, file_hash, state, total_rows, done_rows, failed_rows, retries, finished_at, unknown_columns";
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
    /// Header columns the file had that boxoffice does not read, one per line; see
    /// [`BulkInviteRow::unknown_columns`].
    #[serde(skip)]
    pub unknown_columns: String,
}

impl BulkInviteRow {
    /// The header columns of the upload whose values were ignored.
    pub fn unknown_columns(&self) -> Vec<String> {
        self.unknown_columns
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect()
    }
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
    unknown_columns: &[String],
    now: i64,
) -> Result<i64> {
    // One name per line: a header cell with a line break in it (quoted) is kept on one line.
    let unknown: Vec<String> = unknown_columns
        .iter()
        .map(|c| c.replace(['\r', '\n'], " "))
        .collect();
    let unknown = unknown.join("\n");
    run!(ex, |e| sqlx::query_scalar(
        "INSERT INTO bulk_invites (created_at, created_by, file_name, file_hash, state, total_rows, unknown_columns)
         VALUES ($1, $2, $3, $4, 'running', $5, $6) RETURNING id"
    )
    .bind(now)
    .bind(created_by)
    .bind(file_name)
    .bind(file_hash)
    .bind(total_rows)
    .bind(&unknown)
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

/// One page of imports, newest first, and whether an older page follows.
pub async fn list(ex: Ex<'_>, page: i64, per_page: i64) -> Result<(Vec<BulkInviteRow>, bool)> {
    let per_page = per_page.clamp(1, 200);
    let offset = (page.max(1) - 1).saturating_mul(per_page);
    let sql = format!("SELECT {COLS} FROM bulk_invites ORDER BY id DESC LIMIT $1 OFFSET $2");
    let mut rows: Vec<BulkInviteRow> = run!(ex, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(per_page + 1)
        .bind(offset)
        .fetch_all(e)
        .await)
    .map_err(StoreError::from)?;
    let more = rows.len() > usize::try_from(per_page).unwrap_or(usize::MAX);
    rows.truncate(usize::try_from(per_page).unwrap_or(usize::MAX));
    Ok((rows, more))
}

/// How many imports there are.
pub async fn count(ex: Ex<'_>) -> Result<i64> {
    run!(ex, |e| sqlx::query_scalar(
        "SELECT COUNT(*) FROM bulk_invites"
    )
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

/// The first `limit` failed rows of an import, in file order.
pub async fn failed_rows(ex: Ex<'_>, id: i64, limit: usize) -> Result<Vec<ImportRow>> {
    let sql = format!(
        "SELECT {ROW_COLS} FROM bulk_invite_rows WHERE bulk_invite_id = $1 AND outcome = 'failed' ORDER BY row_number LIMIT $2"
    );
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    run!(ex, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(limit)
        .fetch_all(e)
        .await)
    .map_err(StoreError::from)
}

/// The first `limit` rows still to do, in file order.
pub async fn next_pending(ex: Ex<'_>, id: i64, limit: i64) -> Result<Vec<ImportRow>> {
    let sql = format!(
        "SELECT {ROW_COLS} FROM bulk_invite_rows WHERE bulk_invite_id = $1 AND outcome = 'pending' ORDER BY row_number LIMIT $2"
    );
    run!(ex, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(limit)
        .fetch_all(e)
        .await)
    .map_err(StoreError::from)
}

/// Records a row's outcome; the import's done and failed counts follow in the same statement
/// (migration 0021), so this needs no transaction of its own.
pub async fn record_outcome(
    ex: Ex<'_>,
    id: i64,
    row_number: i64,
    outcome: &str,
    message: &str,
    customer_id: Option<i64>,
    now: i64,
) -> Result<()> {
    affected!(ex, |e| {
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
    let retries: i64 = run!(ex, |e| sqlx::query_scalar(
        "UPDATE bulk_invites SET state = 'running', finished_at = NULL, retries = retries + 1 WHERE id = $1 RETURNING retries"
    )
    .bind(id)
    .fetch_one(e)
    .await)
    .map_err(StoreError::from)?;
    Ok((n, retries))
}

/// Which of `ids` are recorded in payments: the validator refuses a row reusing one. Looks up
/// only the file's ids (one statement, the ids as one JSON array, probing the transaction id
/// index), so the cost follows the file, not the number of payments ever recorded.
pub async fn recorded_among(mut ex: Ex<'_>, ids: &[String]) -> Result<Vec<String>> {
    let list = json_list(ex.backend());
    let sql =
        format!("SELECT DISTINCT transaction_id FROM payments WHERE transaction_id IN ({list})");
    let mut out = Vec::new();
    for chunk in ids.chunks(LOOKUP_BATCH) {
        let json = serde_json::to_string(chunk)
            .map_err(|e| StoreError::Corrupt(format!("transaction ids: {e}")))?;
        let found: Vec<String> = run!(ex.reborrow(), |e| {
            sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone()))
                .bind(json.as_str())
                .fetch_all(e)
                .await
        })
        .map_err(StoreError::from)?;
        out.extend(found);
    }
    Ok(out)
}

/// A subquery listing the values of the JSON array of strings bound as `$1`.
fn json_list(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "SELECT value FROM json_each($1)",
        Backend::Postgres => "SELECT jsonb_array_elements_text(CAST($1 AS jsonb))",
    }
}

/// Every transaction id recorded in payments.
pub async fn recorded_transaction_ids(ex: Ex<'_>) -> Result<Vec<String>> {
    run!(ex, |e| sqlx::query_scalar(
        "SELECT DISTINCT transaction_id FROM payments"
    )
    .fetch_all(e)
    .await)
    .map_err(StoreError::from)
}

/// A customer the dry run found for an e-mail of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownCustomer {
    pub email_key: String,
    pub covered_until: Option<i64>,
    pub permanent: bool,
    /// Servers the customer has a share on that is not removed.
    pub server_ids: Vec<i64>,
}

/// E-mail keys per statement: a whole file of the largest size at once.
const LOOKUP_BATCH: usize = 10_000;

/// The customers whose e-mail key is one of `keys`, with their live shares: the dry run's view
/// of what an import would touch, read in one statement for the whole file instead of one
/// lookup per row. The keys travel as one JSON array: no bind limit to mind, and each backend
/// unpacks it as it plans best (SQLite probes the unique e-mail index once per key, PostgreSQL
/// hashes the keys and reads the table once).
pub async fn known_customers(mut ex: Ex<'_>, keys: &[String]) -> Result<Vec<KnownCustomer>> {
    let list = json_list(ex.backend());
    // One row per live share (or one without a server for a customer with none).
    let sql = format!(
        "SELECT c.email_key, c.covered_until, c.permanent, s.server_id
         FROM customers c
         LEFT JOIN shares s ON s.customer_id = c.id AND s.state <> 'removed'
         WHERE c.email_key IN ({list})"
    );
    let mut out: Vec<KnownCustomer> = Vec::new();
    let mut at: HashMap<String, usize> = HashMap::new();
    for chunk in keys.chunks(LOOKUP_BATCH) {
        let json = serde_json::to_string(chunk)
            .map_err(|e| StoreError::Corrupt(format!("e-mail keys: {e}")))?;
        let rows: Vec<(String, Option<i64>, bool, Option<i64>)> = run!(ex.reborrow(), |e| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(json.as_str())
                .fetch_all(e)
                .await
        })
        .map_err(StoreError::from)?;
        for (email_key, covered_until, permanent, server_id) in rows {
            match at.get(&email_key) {
                Some(&i) => out[i].server_ids.extend(server_id),
                None => {
                    at.insert(email_key.clone(), out.len());
                    out.push(KnownCustomer {
                        email_key,
                        covered_until,
                        permanent,
                        server_ids: server_id.into_iter().collect(),
                    });
                }
            }
        }
    }
    for c in &mut out {
        c.server_ids.sort_unstable();
    }
    Ok(out)
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
