//! Failed-login counters, kept in the database so every instance sees the same count.

use crate::{Ex, Result, affected, run};

#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct Counter {
    pub failures: i64,
    pub last_failure_at: i64,
    pub locked_until: i64,
}

pub async fn get(ex: Ex<'_>, key: &str) -> Result<Option<Counter>> {
    Ok(run!(ex, |e| sqlx::query_as(
        "SELECT failures, last_failure_at, locked_until FROM login_throttle WHERE key = $1"
    )
    .bind(key)
    .fetch_optional(e)
    .await)?)
}

/// Counts one more failure and stores the lock computed from the new count by `lock_for`.
pub async fn record_failure(
    mut ex: Ex<'_>,
    key: &str,
    now: i64,
    reset_after: i64,
    lock_for: impl Fn(i64) -> i64,
) -> Result<Counter> {
    let current = get(ex.reborrow(), key).await?;
    // Counts forget old failures: after a quiet period a mistyped password starts afresh.
    let failures = match current {
        Some(c) if now - c.last_failure_at < reset_after => c.failures + 1,
        _ => 1,
    };
    let locked_until = now + lock_for(failures);
    affected!(ex, |e| {
        sqlx::query(
        "INSERT INTO login_throttle (key, failures, last_failure_at, locked_until) VALUES ($1, $2, $3, $4)
         ON CONFLICT (key) DO UPDATE SET failures = excluded.failures, last_failure_at = excluded.last_failure_at, locked_until = excluded.locked_until"
    )
    .bind(key)
    .bind(failures)
    .bind(now)
    .bind(locked_until)
    .execute(e)
    .await
    })?;
    Ok(Counter {
        failures,
        last_failure_at: now,
        locked_until,
    })
}

pub async fn clear(ex: Ex<'_>, key: &str) -> Result<()> {
    affected!(ex, |e| sqlx::query(
        "DELETE FROM login_throttle WHERE key = $1"
    )
    .bind(key)
    .execute(e)
    .await)?;
    Ok(())
}

pub async fn purge(ex: Ex<'_>, before: i64) -> Result<u64> {
    Ok(affected!(ex, |e| sqlx::query(
        "DELETE FROM login_throttle WHERE last_failure_at < $1 AND locked_until < $1"
    )
    .bind(before)
    .execute(e)
    .await)?)
}
