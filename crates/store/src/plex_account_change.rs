//! The Plex-account-change flag, the self re-invite stamp and the lookups both flows need
//! (operations §4.3, §4.4). Kept apart from `customers` so the lifecycle's fixed column list
//! stays as it is.

use crate::{Ex, Result, StoreError, affected, run};

/// Sets or clears "requires a Plex account change"; `NotFound` when the customer is gone.
pub async fn set_required(ex: Ex<'_>, customer_id: i64, required: bool, now: i64) -> Result<()> {
    let n = affected!(ex, |e| sqlx::query(
        "UPDATE customers SET requires_plex_account_change = $2, updated_at = $3 WHERE id = $1"
    )
    .bind(customer_id)
    .bind(required)
    .bind(now)
    .execute(e)
    .await)?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

pub async fn is_required(ex: Ex<'_>, customer_id: i64) -> Result<bool> {
    run!(ex, |e| sqlx::query_scalar::<_, bool>(
        "SELECT requires_plex_account_change FROM customers WHERE id = $1"
    )
    .bind(customer_id)
    .fetch_one(e)
    .await)
    .map_err(StoreError::from)
}

/// Writes the new Plex identity and clears the flag in one statement.
pub async fn switch_identity(
    ex: Ex<'_>,
    customer_id: i64,
    plex_email: &str,
    plex_username: &str,
    now: i64,
) -> Result<()> {
    let n = affected!(ex, |e| sqlx::query(
        "UPDATE customers SET plex_email = $2, plex_username = $3,
             requires_plex_account_change = FALSE, updated_at = $4 WHERE id = $1"
    )
    .bind(customer_id)
    .bind(plex_email)
    .bind(plex_username)
    .bind(now)
    .execute(e)
    .await)?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Another customer already known on Plex as `who` (e-mail or username, any case).
pub async fn other_holder(ex: Ex<'_>, who: &str, except: i64) -> Result<Option<i64>> {
    run!(ex, |e| sqlx::query_scalar::<_, i64>(
        "SELECT id FROM customers WHERE id <> $2
             AND (LOWER(plex_email) = LOWER($1) OR LOWER(plex_username) = LOWER($1))
         ORDER BY id LIMIT 1"
    )
    .bind(who)
    .bind(except)
    .fetch_optional(e)
    .await)
    .map_err(StoreError::from)
}

pub async fn self_reinvite_at(ex: Ex<'_>, customer_id: i64) -> Result<Option<i64>> {
    run!(ex, |e| sqlx::query_scalar::<_, Option<i64>>(
        "SELECT self_reinvite_at FROM customers WHERE id = $1"
    )
    .bind(customer_id)
    .fetch_one(e)
    .await)
    .map_err(StoreError::from)
}

/// Stamps a self re-invite unless one happened after `not_before`: false when rate-limited, so
/// two quick clicks (or two instances) cannot both pass the check.
pub async fn stamp_self_reinvite(
    ex: Ex<'_>,
    customer_id: i64,
    now: i64,
    not_before: i64,
) -> Result<bool> {
    let n = affected!(ex, |e| sqlx::query(
        "UPDATE customers SET self_reinvite_at = $2
         WHERE id = $1 AND (self_reinvite_at IS NULL OR self_reinvite_at <= $3)"
    )
    .bind(customer_id)
    .bind(now)
    .bind(not_before)
    .execute(e)
    .await)?;
    Ok(n == 1)
}

/// The customer behind a site login: linked by `login_id`, else (never linked yet) the one
/// whose e-mail is the login's, and only once the login proved it owns that e-mail, so
/// registering with someone else's address gives no hold on their subscription.
pub async fn customer_of_login(ex: Ex<'_>, login_id: i64, email_key: &str) -> Result<i64> {
    run!(ex, |e| sqlx::query_scalar::<_, i64>(
        "SELECT id FROM customers WHERE login_id = $1
             OR (login_id IS NULL AND email_key = $2
                 AND EXISTS (SELECT 1 FROM logins l WHERE l.id = $1 AND l.email_confirmed))
         ORDER BY CASE WHEN login_id = $1 THEN 0 ELSE 1 END, id LIMIT 1"
    )
    .bind(login_id)
    .bind(email_key)
    .fetch_one(e)
    .await)
    .map_err(StoreError::from)
}

/// Jobs not finished yet whose idempotency key starts with `prefix` (a re-invite run in flight).
pub async fn unfinished_jobs(ex: Ex<'_>, prefix: &str) -> Result<i64> {
    run!(ex, |e| sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM jobs WHERE idempotency_key LIKE $1 AND state IN ('queued', 'running')"
    )
    .bind(format!("{prefix}%"))
    .fetch_one(e)
    .await)
    .map_err(StoreError::from)
}
