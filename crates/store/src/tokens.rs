//! API tokens and one-time e-mailed tokens (setup links, confirmations, resets). Only hashes are
//! stored; the token itself is shown once.

use crate::{Ex, Result, StoreError, affected, run};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ApiToken {
    pub id: i64,
    pub login_id: i64,
    pub name: String,
    pub prefix: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

pub async fn insert_api_token(
    ex: Ex<'_>,
    login_id: i64,
    name: &str,
    token_hash: &str,
    prefix: &str,
    now: i64,
) -> Result<ApiToken> {
    run!(ex, |e| sqlx::query_as(
        "INSERT INTO api_tokens (login_id, name, token_hash, prefix, created_at) VALUES ($1, $2, $3, $4, $5)
         RETURNING id, login_id, name, prefix, created_at, last_used_at, revoked_at"
    )
    .bind(login_id)
    .bind(name)
    .bind(token_hash)
    .bind(prefix)
    .bind(now)
    .fetch_one(e)
    .await)
    .map_err(StoreError::from)
}

pub async fn find_active_api_token(ex: Ex<'_>, token_hash: &str) -> Result<ApiToken> {
    run!(ex, |e| sqlx::query_as(
        "SELECT id, login_id, name, prefix, created_at, last_used_at, revoked_at FROM api_tokens
         WHERE token_hash = $1 AND revoked_at IS NULL"
    )
    .bind(token_hash)
    .fetch_one(e)
    .await)
    .map_err(StoreError::from)
}

pub async fn touch_api_token(ex: Ex<'_>, id: i64, now: i64) -> Result<()> {
    affected!(ex, |e| sqlx::query(
        "UPDATE api_tokens SET last_used_at = $1 WHERE id = $2"
    )
    .bind(now)
    .bind(id)
    .execute(e)
    .await)?;
    Ok(())
}

pub async fn list_api_tokens(ex: Ex<'_>, login_id: Option<i64>) -> Result<Vec<ApiToken>> {
    run!(ex, |e| sqlx::query_as(
        "SELECT id, login_id, name, prefix, created_at, last_used_at, revoked_at FROM api_tokens
         WHERE $1 IS NULL OR login_id = $1 ORDER BY id"
    )
    .bind(login_id)
    .fetch_all(e)
    .await)
    .map_err(StoreError::from)
}

/// Revokes a token. `NotFound` when it does not exist or was already revoked.
pub async fn revoke_api_token(ex: Ex<'_>, id: i64, now: i64) -> Result<()> {
    let n = affected!(ex, |e| sqlx::query(
        "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL"
    )
    .bind(now)
    .bind(id)
    .execute(e)
    .await)?;
    if n == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

pub async fn insert_email_token(
    ex: Ex<'_>,
    login_id: Option<i64>,
    purpose: &str,
    token_hash: &str,
    now: i64,
    expires_at: i64,
) -> Result<()> {
    affected!(ex, |e| {
        sqlx::query(
        "INSERT INTO email_tokens (login_id, purpose, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)"
    )
    .bind(login_id)
    .bind(purpose)
    .bind(token_hash)
    .bind(now)
    .bind(expires_at)
    .execute(e)
    .await
    })?;
    Ok(())
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EmailToken {
    pub id: i64,
    pub login_id: Option<i64>,
    pub purpose: String,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

/// Looks a one-time token up without using it (to show the form it unlocks).
pub async fn find_valid_email_token(
    ex: Ex<'_>,
    token_hash: &str,
    purpose: &str,
    now: i64,
) -> Result<EmailToken> {
    run!(ex, |e| sqlx::query_as(
        "SELECT id, login_id, purpose, expires_at, used_at FROM email_tokens
         WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3"
    )
    .bind(token_hash)
    .bind(purpose)
    .bind(now)
    .fetch_one(e)
    .await)
    .map_err(StoreError::from)
}

/// Uses a one-time token: succeeds once, for an unexpired token of that purpose.
pub async fn consume_email_token(
    ex: Ex<'_>,
    token_hash: &str,
    purpose: &str,
    now: i64,
) -> Result<EmailToken> {
    run!(ex, |e| sqlx::query_as(
        "UPDATE email_tokens SET used_at = $3 WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3
         RETURNING id, login_id, purpose, expires_at, used_at"
    )
    .bind(token_hash)
    .bind(purpose)
    .bind(now)
    .fetch_one(e)
    .await)
    .map_err(StoreError::from)
}

pub async fn purge_email_tokens(ex: Ex<'_>, now: i64) -> Result<u64> {
    Ok(affected!(ex, |e| sqlx::query(
        "DELETE FROM email_tokens WHERE expires_at <= $1"
    )
    .bind(now)
    .execute(e)
    .await)?)
}

/// Spends every open token of a purpose (a code guessed at too often).
pub async fn void_email_tokens(ex: Ex<'_>, purpose: &str, now: i64) -> Result<u64> {
    Ok(affected!(ex, |e| sqlx::query(
        "UPDATE email_tokens SET used_at = $2 WHERE purpose = $1 AND used_at IS NULL"
    )
    .bind(purpose)
    .bind(now)
    .execute(e)
    .await)?)
}
