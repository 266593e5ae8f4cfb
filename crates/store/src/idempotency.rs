//! Idempotency keys: a request that moves money or access carries a key; the first one to arrive
//! does the work and saves its answer, and a repeat gets the saved answer back.

use crate::{Ex, Result, StoreError, affected, run};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Begin {
    /// This caller owns the key and must `complete` it.
    Started,
    /// An earlier request finished with this answer.
    Done { status: i64, body: String },
    /// An earlier request holds the key and has not finished.
    InFlight,
    /// The key was first used with another request (its `request_hash` differs).
    Mismatch,
}

/// Claims `key` in `scope` for the request hashed as `request_hash`. A claim still unfinished
/// at `stale_before` (its request died with its process) may be taken over.
pub async fn begin(
    mut ex: Ex<'_>,
    scope: &str,
    key: &str,
    request_hash: &str,
    now: i64,
    stale_before: i64,
) -> Result<Begin> {
    let inserted = affected!(ex.reborrow(), |e| {
        sqlx::query(
        "INSERT INTO idempotency_keys (scope, key, created_at, request_hash) VALUES ($1, $2, $3, $4) ON CONFLICT (scope, key) DO NOTHING"
    )
    .bind(scope)
    .bind(key)
    .bind(now)
    .bind(request_hash)
    .execute(e)
    .await
    })?;
    if inserted == 1 {
        return Ok(Begin::Started);
    }
    let (status, body, hash): (Option<i64>, Option<String>, String) = run!(ex.reborrow(), |e| {
        sqlx::query_as(
        "SELECT response_status, response_body, request_hash FROM idempotency_keys WHERE scope = $1 AND key = $2"
    )
    .bind(scope)
    .bind(key)
    .fetch_one(e)
    .await
    })?;
    if hash != request_hash {
        return Ok(Begin::Mismatch);
    }
    if let (Some(status), Some(body)) = (status, body) {
        return Ok(Begin::Done { status, body });
    }
    let taken = affected!(ex, |e| {
        sqlx::query(
        "UPDATE idempotency_keys SET created_at = $3 WHERE scope = $1 AND key = $2 AND response_status IS NULL AND created_at < $4"
    )
    .bind(scope)
    .bind(key)
    .bind(now)
    .bind(stale_before)
    .execute(e)
    .await
    })?;
    Ok(if taken == 1 {
        Begin::Started
    } else {
        Begin::InFlight
    })
}

pub async fn complete(ex: Ex<'_>, scope: &str, key: &str, status: i64, body: &str) -> Result<()> {
    let n = affected!(ex, |e| {
        sqlx::query("UPDATE idempotency_keys SET response_status = $3, response_body = $4 WHERE scope = $1 AND key = $2")
        .bind(scope)
        .bind(key)
        .bind(status)
        .bind(body)
        .execute(e)
        .await
    })?;
    if n == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

/// Gives a key back when its request failed before doing anything, so a retry may run.
pub async fn abandon(ex: Ex<'_>, scope: &str, key: &str) -> Result<()> {
    affected!(ex, |e| sqlx::query(
        "DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 AND response_status IS NULL"
    )
    .bind(scope)
    .bind(key)
    .execute(e)
    .await)?;
    Ok(())
}

pub async fn purge(ex: Ex<'_>, before: i64) -> Result<u64> {
    Ok(affected!(ex, |e| sqlx::query(
        "DELETE FROM idempotency_keys WHERE created_at < $1"
    )
    .bind(before)
    .execute(e)
    .await)?)
}
