//! One-time links for choosing a Jellyfin or Emby password, and the chosen password (sealed)
//! until a job has written it to the server. Only token hashes are stored.

use crate::{Ex, Result, StoreError, affected, run};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LinkRow {
    pub id: i64,
    pub customer_id: i64,
    pub share_id: i64,
    pub created_at: i64,
    pub expires_at: i64,
    /// open, applying, set, failed or replaced.
    pub state: String,
    pub used_at: Option<i64>,
    pub password_sealed: Option<String>,
    pub finished_at: Option<i64>,
    pub error: String,
}

const COLUMNS: &str = "id, customer_id, share_id, created_at, expires_at, state, used_at, password_sealed, finished_at, error";

/// A new open link for `share_id`; every other open link of that share stops working, so only
/// the latest message's link does.
pub async fn insert(
    mut ex: Ex<'_>,
    customer_id: i64,
    share_id: i64,
    token_hash: &str,
    now: i64,
    expires_at: i64,
) -> Result<i64> {
    affected!(ex.reborrow(), |e| sqlx::query(
        "UPDATE media_password_links SET state = 'replaced', finished_at = $2
         WHERE share_id = $1 AND state = 'open'"
    )
    .bind(share_id)
    .bind(now)
    .execute(e)
    .await)?;
    run!(ex, |e| sqlx::query_scalar::<_, i64>(
        "INSERT INTO media_password_links (customer_id, share_id, token_hash, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5) RETURNING id"
    )
    .bind(customer_id)
    .bind(share_id)
    .bind(token_hash)
    .bind(now)
    .bind(expires_at)
    .fetch_one(e)
    .await)
    .map_err(StoreError::from)
}

pub async fn find_by_hash(ex: Ex<'_>, token_hash: &str) -> Result<LinkRow> {
    let sql = format!("SELECT {COLUMNS} FROM media_password_links WHERE token_hash = $1");
    run!(ex, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(token_hash)
        .fetch_one(e)
        .await)
    .map_err(StoreError::from)
}

pub async fn find(ex: Ex<'_>, id: i64) -> Result<LinkRow> {
    let sql = format!("SELECT {COLUMNS} FROM media_password_links WHERE id = $1");
    run!(ex, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(id)
        .fetch_one(e)
        .await)
    .map_err(StoreError::from)
}

/// The newest link of a share, whatever its state.
pub async fn latest_for_share(ex: Ex<'_>, share_id: i64) -> Result<Option<LinkRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM media_password_links WHERE share_id = $1 ORDER BY id DESC LIMIT 1"
    );
    run!(ex, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(share_id)
        .fetch_optional(e)
        .await)
    .map_err(StoreError::from)
}

/// Uses an open, unexpired link: keeps the sealed password and marks it applying. False when
/// the link was used, replaced or expired meanwhile (a second submit loses).
pub async fn claim(ex: Ex<'_>, id: i64, password_sealed: &str, now: i64) -> Result<bool> {
    let n = affected!(ex, |e| sqlx::query(
        "UPDATE media_password_links SET state = 'applying', used_at = $3, password_sealed = $2
         WHERE id = $1 AND state = 'open' AND expires_at > $3"
    )
    .bind(id)
    .bind(password_sealed)
    .bind(now)
    .execute(e)
    .await)?;
    Ok(n == 1)
}

/// Ends an applying link as `set` or `failed` and wipes the password.
pub async fn finish(ex: Ex<'_>, id: i64, state: &str, error: &str, now: i64) -> Result<()> {
    affected!(ex, |e| {
        sqlx::query(
        "UPDATE media_password_links SET state = $2, error = $3, finished_at = $4, password_sealed = NULL
         WHERE id = $1 AND state = 'applying'"
    )
    .bind(id)
    .bind(state)
    .bind(error)
    .bind(now)
    .execute(e)
    .await
    })?;
    Ok(())
}

/// The last attempt's refusal, kept while the job retries.
pub async fn record_error(ex: Ex<'_>, id: i64, error: &str) -> Result<()> {
    affected!(ex, |e| sqlx::query(
        "UPDATE media_password_links SET error = $2 WHERE id = $1 AND state = 'applying'"
    )
    .bind(id)
    .bind(error)
    .execute(e)
    .await)?;
    Ok(())
}
