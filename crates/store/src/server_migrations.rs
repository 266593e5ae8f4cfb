//! Server migrations (operations §4.1): the request (source, target, who asked, progress) and one
//! item per customer, so the job can be re-run after a crash and skip those already moved.

use crate::{Ex, Result, StoreError, affected, run};

const COLS: &str =
    "id, source, target, requested_by, state, counts, created_at, finished_at, stop_reason";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MigrationRow {
    pub id: i64,
    pub source: i64,
    pub target: i64,
    pub requested_by: String,
    /// queued, running, stopped (its job was given up) or done.
    pub state: String,
    /// JSON `{"moved","failed","pending"}`.
    pub counts: String,
    pub created_at: i64,
    pub finished_at: Option<i64>,
    /// Why a stopped migration stopped (its job's last error); empty otherwise.
    pub stop_reason: String,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MigrationItemRow {
    pub customer: i64,
    /// pending, moved or failed.
    pub outcome: String,
    pub message: String,
}

pub async fn insert(
    ex: Ex<'_>,
    source: i64,
    target: i64,
    requested_by: &str,
    now: i64,
) -> Result<MigrationRow> {
    let sql = format!(
        "INSERT INTO migrations (source, target, requested_by, state, counts, created_at)
         VALUES ($1, $2, $3, 'queued', '{{}}', $4) RETURNING {COLS}"
    );
    run!(ex, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(source)
        .bind(target)
        .bind(requested_by)
        .bind(now)
        .fetch_one(e)
        .await)
    .map_err(StoreError::from)
}

pub async fn add_item(ex: Ex<'_>, migration_id: i64, customer: i64) -> Result<()> {
    affected!(ex, |e| sqlx::query(
        "INSERT INTO migration_items (migration_id, customer) VALUES ($1, $2)
         ON CONFLICT (migration_id, customer) DO NOTHING"
    )
    .bind(migration_id)
    .bind(customer)
    .execute(e)
    .await)?;
    Ok(())
}

pub async fn find(ex: Ex<'_>, id: i64) -> Result<MigrationRow> {
    let sql = format!("SELECT {COLS} FROM migrations WHERE id = $1");
    run!(ex, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_one(e)
        .await)
    .map_err(StoreError::from)
}

/// Newest first; of one server (as source or target) or of all.
pub async fn list(ex: Ex<'_>, server: Option<i64>, limit: i64) -> Result<Vec<MigrationRow>> {
    let sql = format!(
        "SELECT {COLS} FROM migrations WHERE ($1 IS NULL OR source = $1 OR target = $1)
         ORDER BY id DESC LIMIT $2"
    );
    run!(ex, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(server)
        .bind(limit)
        .fetch_all(e)
        .await)
    .map_err(StoreError::from)
}

/// Unfinished migrations touching either server: two at once would fight over the same shares.
pub async fn running_on(ex: Ex<'_>, a: i64, b: i64) -> Result<Vec<MigrationRow>> {
    let sql = format!(
        "SELECT {COLS} FROM migrations WHERE state <> 'done'
           AND (source IN ($1, $2) OR target IN ($1, $2)) ORDER BY id"
    );
    run!(ex, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(a)
        .bind(b)
        .fetch_all(e)
        .await)
    .map_err(StoreError::from)
}

pub async fn items(ex: Ex<'_>, migration_id: i64) -> Result<Vec<MigrationItemRow>> {
    run!(ex, |e| sqlx::query_as(
        "SELECT customer, outcome, message FROM migration_items WHERE migration_id = $1 ORDER BY customer"
    )
    .bind(migration_id)
    .fetch_all(e)
    .await)
    .map_err(StoreError::from)
}

pub async fn set_item(
    ex: Ex<'_>,
    migration_id: i64,
    customer: i64,
    outcome: &str,
    message: &str,
) -> Result<()> {
    affected!(ex, |e| {
        sqlx::query(
        "UPDATE migration_items SET outcome = $3, message = $4 WHERE migration_id = $1 AND customer = $2"
    )
    .bind(migration_id)
    .bind(customer)
    .bind(outcome)
    .bind(message)
    .execute(e)
    .await
    })?;
    Ok(())
}

/// Sets the state and counts; `finished_at` when given (done).
/// Marks an unfinished migration stopped: its job was given up for `reason`.
pub async fn set_stopped(ex: Ex<'_>, id: i64, reason: &str) -> Result<u64> {
    affected!(ex, |e| sqlx::query(
        "UPDATE migrations SET state = 'stopped', stop_reason = $2 WHERE id = $1 AND state <> 'done'"
    )
    .bind(id)
    .bind(reason)
    .execute(e)
    .await)
    .map_err(StoreError::from)
}

/// Sets the state (and clears any stop reason: a migration that runs again is no longer stopped).
pub async fn set_state(
    ex: Ex<'_>,
    id: i64,
    state: &str,
    counts: &str,
    finished_at: Option<i64>,
) -> Result<()> {
    affected!(ex, |e| {
        sqlx::query(
        "UPDATE migrations SET state = $2, counts = $3, finished_at = $4, stop_reason = '' WHERE id = $1"
    )
    .bind(id)
    .bind(state)
    .bind(counts)
    .bind(finished_at)
    .execute(e)
    .await
    })?;
    Ok(())
}
