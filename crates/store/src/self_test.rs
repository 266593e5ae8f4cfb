//! Self-test history: one run, one result row per call made against a Plex account or server.

use crate::{Ex, Result, StoreError, affected, run};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RunRow {
    pub id: i64,
    /// "schedule" or "manual".
    pub cause: String,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    pub passed: i64,
    pub failed: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ResultRow {
    pub id: i64,
    pub run_id: i64,
    pub target_key: String,
    pub target: String,
    pub call: String,
    pub ok: bool,
    pub skipped: bool,
    pub status: Option<i64>,
    pub message: String,
    pub advice: String,
    pub latency_ms: i64,
    pub at: i64,
}

pub struct NewResult<'a> {
    pub target_key: &'a str,
    pub target: &'a str,
    pub call: &'a str,
    pub ok: bool,
    pub skipped: bool,
    pub status: Option<i64>,
    pub message: &'a str,
    pub advice: &'a str,
    pub latency_ms: i64,
    pub at: i64,
}

const RUN_COLS: &str = "id, cause, started_at, finished_at, passed, failed";
const RESULT_COLS: &str =
    "id, run_id, target_key, target, call, ok, skipped, status, message, advice, latency_ms, at";

pub async fn start_run(ex: Ex<'_>, cause: &str, now: i64) -> Result<RunRow> {
    let sql = format!(
        "INSERT INTO self_test_runs (cause, started_at) VALUES ($1, $2) RETURNING {RUN_COLS}"
    );
    run!(ex, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(cause)
        .bind(now)
        .fetch_one(e)
        .await)
    .map_err(StoreError::from)
}

pub async fn add_result(ex: Ex<'_>, run_id: i64, r: NewResult<'_>) -> Result<()> {
    affected!(ex, |e| {
        sqlx::query(
        "INSERT INTO self_test_results (run_id, target_key, target, call, ok, skipped, status, message, advice, latency_ms, at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    )
    .bind(run_id)
    .bind(r.target_key)
    .bind(r.target)
    .bind(r.call)
    .bind(r.ok)
    .bind(r.skipped)
    .bind(r.status)
    .bind(r.message)
    .bind(r.advice)
    .bind(r.latency_ms)
    .bind(r.at)
    .execute(e)
    .await
    })?;
    Ok(())
}

/// Closes a run with its totals, counted from its rows.
pub async fn finish_run(ex: Ex<'_>, run_id: i64, now: i64) -> Result<()> {
    affected!(ex, |e| sqlx::query(
        "UPDATE self_test_runs SET finished_at = $2,
             passed = (SELECT COUNT(*) FROM self_test_results WHERE run_id = $1 AND ok),
             failed = (SELECT COUNT(*) FROM self_test_results WHERE run_id = $1 AND NOT ok)
         WHERE id = $1"
    )
    .bind(run_id)
    .bind(now)
    .execute(e)
    .await)?;
    Ok(())
}

pub async fn find_run(ex: Ex<'_>, id: i64) -> Result<RunRow> {
    let sql = format!("SELECT {RUN_COLS} FROM self_test_runs WHERE id = $1");
    run!(ex, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_one(e)
        .await)
    .map_err(StoreError::from)
}

/// The newest finished run. `NotFound` before the first.
pub async fn latest_run(ex: Ex<'_>) -> Result<RunRow> {
    let sql = format!(
        "SELECT {RUN_COLS} FROM self_test_runs WHERE finished_at IS NOT NULL ORDER BY id DESC LIMIT 1"
    );
    run!(ex, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .fetch_one(e)
        .await)
    .map_err(StoreError::from)
}

pub async fn runs(ex: Ex<'_>, limit: i64) -> Result<Vec<RunRow>> {
    let sql = format!("SELECT {RUN_COLS} FROM self_test_runs ORDER BY id DESC LIMIT $1");
    run!(ex, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(limit)
        .fetch_all(e)
        .await)
    .map_err(StoreError::from)
}

pub async fn results(ex: Ex<'_>, run_id: i64) -> Result<Vec<ResultRow>> {
    let sql = format!("SELECT {RESULT_COLS} FROM self_test_results WHERE run_id = $1 ORDER BY id");
    run!(ex, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(run_id)
        .fetch_all(e)
        .await)
    .map_err(StoreError::from)
}

/// The same check in the newest run before `run_id`, to tell "turned red" from "still red".
pub async fn previous_result(
    ex: Ex<'_>,
    run_id: i64,
    target_key: &str,
    call: &str,
) -> Result<Option<ResultRow>> {
    let sql = format!(
        "SELECT {RESULT_COLS} FROM self_test_results WHERE run_id < $1 AND target_key = $2 AND call = $3
         ORDER BY run_id DESC LIMIT 1"
    );
    run!(ex, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(run_id)
        .bind(target_key)
        .bind(call)
        .fetch_optional(e)
        .await)
    .map_err(StoreError::from)
}

/// Deletes runs started before `before` (their results go with them).
pub async fn prune(ex: Ex<'_>, before: i64) -> Result<u64> {
    Ok(affected!(ex, |e| sqlx::query(
        "DELETE FROM self_test_runs WHERE started_at < $1"
    )
    .bind(before)
    .execute(e)
    .await)?)
}
