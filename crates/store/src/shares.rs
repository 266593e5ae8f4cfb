//! Shares: a customer's access on one server, what we want it to be (desired libraries, limits,
//! state) and what was last applied. Every change of the desired state bumps `revision`, which keys
//! the job applying it.

use crate::{Ex, Result, StoreError, affected, run};

const COLS: &str = "id, customer_id, server_id, state, remote_user_id, remote_invite_id, desired_libraries, downloads, video_transcoding, stream_limit, applied_at, last_error, delete_after, revision, applied_revision, created_at, updated_at";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ShareRow {
    pub id: i64,
    pub customer_id: i64,
    pub server_id: i64,
    pub state: String,
    pub remote_user_id: String,
    pub remote_invite_id: String,
    /// JSON array of library ids (ours).
    pub desired_libraries: String,
    pub downloads: bool,
    pub video_transcoding: bool,
    pub stream_limit: Option<i64>,
    pub applied_at: Option<i64>,
    pub last_error: Option<String>,
    pub delete_after: Option<i64>,
    pub revision: i64,
    pub applied_revision: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

impl ShareRow {
    /// The desired library ids; a malformed column reads as none (shares nothing rather than all).
    /// Whether the server holds what this row asks for (the last apply wrote this revision).
    pub fn is_applied(&self) -> bool {
        self.applied_revision == self.revision
    }

    pub fn library_ids(&self) -> Vec<i64> {
        serde_json::from_str(&self.desired_libraries).unwrap_or_default()
    }
}

/// What a share should be.
pub struct Desired<'a> {
    pub state: &'a str,
    pub library_ids: &'a [i64],
    pub downloads: bool,
    pub video_transcoding: bool,
    pub stream_limit: Option<i64>,
    pub delete_after: Option<i64>,
}

/// Creates or rewrites the customer's share on a server and bumps its revision.
pub async fn upsert_desired(
    ex: Ex<'_>,
    customer_id: i64,
    server_id: i64,
    d: &Desired<'_>,
    now: i64,
) -> Result<ShareRow> {
    let libs =
        serde_json::to_string(d.library_ids).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let sql = format!(
        "INSERT INTO shares (customer_id, server_id, state, desired_libraries, downloads, video_transcoding, stream_limit, delete_after, revision, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9, $9)
         ON CONFLICT (customer_id, server_id) DO UPDATE SET state = excluded.state,
             desired_libraries = excluded.desired_libraries, downloads = excluded.downloads,
             video_transcoding = excluded.video_transcoding, stream_limit = excluded.stream_limit,
             delete_after = excluded.delete_after, revision = shares.revision + 1, updated_at = excluded.updated_at
         RETURNING {COLS}"
    );
    run!(ex, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(customer_id)
        .bind(server_id)
        .bind(d.state)
        .bind(&libs)
        .bind(d.downloads)
        .bind(d.video_transcoding)
        .bind(d.stream_limit)
        .bind(d.delete_after)
        .bind(now)
        .fetch_one(e)
        .await)
    .map_err(StoreError::from)
}

pub async fn find(ex: Ex<'_>, id: i64) -> Result<ShareRow> {
    let sql = format!("SELECT {COLS} FROM shares WHERE id = $1");
    run!(ex, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_one(e)
        .await)
    .map_err(StoreError::from)
}

pub async fn list_for_customer(ex: Ex<'_>, customer_id: i64) -> Result<Vec<ShareRow>> {
    let sql = format!("SELECT {COLS} FROM shares WHERE customer_id = $1 ORDER BY id");
    run!(ex, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(customer_id)
        .fetch_all(e)
        .await)
    .map_err(StoreError::from)
}

/// Records a successful apply of `revision`. The state only moves if no newer change came in
/// meanwhile (the newer change has its own job).
pub async fn record_applied(
    ex: Ex<'_>,
    id: i64,
    revision: i64,
    state: &str,
    remote_user_id: &str,
    remote_invite_id: &str,
    now: i64,
) -> Result<()> {
    affected!(ex, |e| {
        sqlx::query(
        "UPDATE shares SET state = CASE WHEN revision = $2 THEN $3 ELSE state END,
             remote_user_id = $4, remote_invite_id = $5, applied_at = $6,
             applied_revision = CASE WHEN applied_revision > $2 THEN applied_revision ELSE $2 END, last_error = NULL, updated_at = $6
         WHERE id = $1"
    )
    .bind(id)
    .bind(revision)
    .bind(state)
    .bind(remote_user_id)
    .bind(remote_invite_id)
    .bind(now)
    .execute(e)
    .await
    })?;
    Ok(())
}

pub async fn record_error(ex: Ex<'_>, id: i64, message: &str, now: i64) -> Result<()> {
    affected!(ex, |e| sqlx::query(
        "UPDATE shares SET last_error = $2, updated_at = $3 WHERE id = $1"
    )
    .bind(id)
    .bind(message)
    .bind(now)
    .execute(e)
    .await)?;
    Ok(())
}

/// Shares still granting plan access whose customer is not permanent and no longer covered.
pub async fn due_for_expiry(ex: Ex<'_>, now: i64) -> Result<Vec<ShareRow>> {
    let sql = format!(
        "SELECT {} FROM shares s JOIN customers c ON c.id = s.customer_id
         WHERE NOT c.permanent AND (c.covered_until IS NULL OR c.covered_until <= $1)
           AND s.state IN ('pending', 'invited', 'active') ORDER BY s.id",
        prefixed("s")
    );
    run!(ex, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(now)
        .fetch_all(e)
        .await)
    .map_err(StoreError::from)
}

/// Expired shares whose stay on the server is over.
pub async fn due_for_deletion(ex: Ex<'_>, now: i64) -> Result<Vec<ShareRow>> {
    let sql = format!(
        "SELECT {COLS} FROM shares WHERE state = 'grace' AND delete_after IS NOT NULL AND delete_after <= $1 ORDER BY id"
    );
    run!(ex, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(now)
        .fetch_all(e)
        .await)
    .map_err(StoreError::from)
}

/// Every share on a server, whatever its state (reconciliation compares them with the server).
pub async fn list_for_server(ex: Ex<'_>, server_id: i64) -> Result<Vec<ShareRow>> {
    let sql = format!("SELECT {COLS} FROM shares WHERE server_id = $1 ORDER BY id");
    run!(ex, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(server_id)
        .fetch_all(e)
        .await)
    .map_err(StoreError::from)
}

/// Bumps the revision without changing the desired state, so the share job (keyed by revision)
/// applies it again: a repair of drift the server developed on its own.
pub async fn bump_revision(ex: Ex<'_>, id: i64, now: i64) -> Result<ShareRow> {
    let sql = format!(
        "UPDATE shares SET revision = revision + 1, updated_at = $2 WHERE id = $1 RETURNING {COLS}"
    );
    run!(ex, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(now)
        .fetch_one(e)
        .await)
    .map_err(StoreError::from)
}

/// Users per server (shares not removed), for capacity.
pub async fn counts_by_server(ex: Ex<'_>) -> Result<Vec<(i64, i64)>> {
    run!(ex, |e| sqlx::query_as(
        "SELECT server_id, COUNT(*) FROM shares WHERE state <> 'removed' GROUP BY server_id"
    )
    .fetch_all(e)
    .await)
    .map_err(StoreError::from)
}

/// A live share with the plan its customer is on now.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ShareWithPlan {
    #[sqlx(flatten)]
    pub share: ShareRow,
    pub plan_id: Option<i64>,
}

/// Shares not removed, of customers not being deleted, with their customer's plan: what a plan
/// or library-group change may have left behind. On one server, or on every server.
pub async fn live_with_plan(ex: Ex<'_>, server_id: Option<i64>) -> Result<Vec<ShareWithPlan>> {
    let sql = format!(
        "SELECT {}, c.plan_id FROM shares s JOIN customers c ON c.id = s.customer_id
         WHERE s.state <> 'removed' AND c.deleting_at IS NULL AND ($1 IS NULL OR s.server_id = $1)
         ORDER BY s.id",
        prefixed("s")
    );
    run!(ex, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(server_id)
        .fetch_all(e)
        .await)
    .map_err(StoreError::from)
}

fn prefixed(alias: &str) -> String {
    COLS.split(", ")
        .map(|c| format!("{alias}.{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}
