//! TOTP secrets (encrypted by the caller) and recovery codes (hashed by the caller).

use crate::{Ex, Result, StoreError, affected, run};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TotpSecret {
    pub login_id: i64,
    pub secret_enc: String,
    pub confirmed_at: Option<i64>,
    pub last_used_step: i64,
}

/// Stores a new, unconfirmed secret (replacing an unconfirmed one; a confirmed one stays until
/// 2FA is turned off).
pub async fn put_pending(ex: Ex<'_>, login_id: i64, secret_enc: &str) -> Result<()> {
    affected!(ex, |e| sqlx::query(
        "INSERT INTO totp_secrets (login_id, secret_enc) VALUES ($1, $2)
         ON CONFLICT (login_id) DO UPDATE SET secret_enc = excluded.secret_enc, last_used_step = 0
         WHERE totp_secrets.confirmed_at IS NULL"
    )
    .bind(login_id)
    .bind(secret_enc)
    .execute(e)
    .await)?;
    Ok(())
}

pub async fn find(ex: Ex<'_>, login_id: i64) -> Result<TotpSecret> {
    run!(ex, |e| sqlx::query_as("SELECT login_id, secret_enc, confirmed_at, last_used_step FROM totp_secrets WHERE login_id = $1")
        .bind(login_id)
        .fetch_one(e)
        .await)
    .map_err(StoreError::from)
}

/// Records that time step `step` was used. Returns false when that step (or a later one) was
/// already used: the compare happens in the database, so two racing requests cannot both win.
pub async fn use_step(
    ex: Ex<'_>,
    login_id: i64,
    step: i64,
    confirm_at: Option<i64>,
) -> Result<bool> {
    let n = affected!(ex, |e| sqlx::query(
        "UPDATE totp_secrets SET last_used_step = $2, confirmed_at = COALESCE(confirmed_at, $3)
         WHERE login_id = $1 AND last_used_step < $2"
    )
    .bind(login_id)
    .bind(step)
    .bind(confirm_at)
    .execute(e)
    .await)?;
    Ok(n == 1)
}

pub async fn delete(ex: Ex<'_>, login_id: i64) -> Result<()> {
    affected!(ex, |e| sqlx::query(
        "DELETE FROM totp_secrets WHERE login_id = $1"
    )
    .bind(login_id)
    .execute(e)
    .await)?;
    Ok(())
}

pub async fn replace_recovery_codes(
    mut ex: Ex<'_>,
    login_id: i64,
    hashes: &[String],
) -> Result<()> {
    affected!(ex.reborrow(), |e| sqlx::query(
        "DELETE FROM recovery_codes WHERE login_id = $1"
    )
    .bind(login_id)
    .execute(e)
    .await)?;
    for h in hashes {
        affected!(ex.reborrow(), |e| sqlx::query(
            "INSERT INTO recovery_codes (login_id, code_hash) VALUES ($1, $2)"
        )
        .bind(login_id)
        .bind(h)
        .execute(e)
        .await)?;
    }
    Ok(())
}

/// Uses a recovery code once. Returns false for an unknown or already used code.
pub async fn use_recovery_code(ex: Ex<'_>, login_id: i64, hash: &str, now: i64) -> Result<bool> {
    let n = affected!(ex, |e| {
        sqlx::query("UPDATE recovery_codes SET used_at = $3 WHERE login_id = $1 AND code_hash = $2 AND used_at IS NULL")
        .bind(login_id)
        .bind(hash)
        .bind(now)
        .execute(e)
        .await
    })?;
    Ok(n == 1)
}

pub async fn count_unused_recovery_codes(ex: Ex<'_>, login_id: i64) -> Result<i64> {
    let (n,): (i64,) = run!(ex, |e| sqlx::query_as(
        "SELECT COUNT(*) FROM recovery_codes WHERE login_id = $1 AND used_at IS NULL"
    )
    .bind(login_id)
    .fetch_one(e)
    .await)?;
    Ok(n)
}
