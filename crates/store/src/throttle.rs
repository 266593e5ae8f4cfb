//! Failed-login counters, kept in the database so every instance sees the same count.

use crate::{Backend, Ex, Result, affected, run};

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

/// What [`take`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Take {
    /// The attempt is counted; the counter after it.
    Counted(Counter),
    /// Locked until this time; nothing was counted.
    Locked { until: i64 },
}

const ENSURE: &str = "INSERT INTO login_throttle (key, failures, last_failure_at, locked_until) VALUES ($1, 0, 0, 0) ON CONFLICT (key) DO NOTHING";
const READ_SQLITE: &str =
    "SELECT failures, last_failure_at, locked_until FROM login_throttle WHERE key = $1";
const READ_POSTGRES: &str =
    "SELECT failures, last_failure_at, locked_until FROM login_throttle WHERE key = $1 FOR UPDATE";

/// Reads a counter, creating it at zero, and holds it until the transaction ends: PostgreSQL
/// locks the row, SQLite's `BEGIN IMMEDIATE` already holds the whole database.
async fn read_locked(mut ex: Ex<'_>, key: &str) -> Result<Counter> {
    affected!(ex.reborrow(), |e| sqlx::query(ENSURE)
        .bind(key)
        .execute(e)
        .await)?;
    let sql = match ex.backend() {
        Backend::Sqlite => READ_SQLITE,
        Backend::Postgres => READ_POSTGRES,
    };
    Ok(run!(ex, |e| sqlx::query_as(sql)
        .bind(key)
        .fetch_one(e)
        .await)?)
}

async fn write(ex: Ex<'_>, key: &str, c: Counter) -> Result<()> {
    affected!(ex, |e| {
        sqlx::query(
        "UPDATE login_throttle SET failures = $2, last_failure_at = $3, locked_until = $4 WHERE key = $1"
    )
    .bind(key)
    .bind(c.failures)
    .bind(c.last_failure_at)
    .bind(c.locked_until)
    .execute(e)
    .await
    })?;
    Ok(())
}

/// Counts an attempt *before* it is checked, unless the key is locked: concurrent attempts are
/// counted one after another, so the limit holds however many arrive at once. Run it in a
/// transaction (the counter stays locked until it ends); give the attempt back with
/// [`give_back`] when it succeeds or is never checked.
pub async fn take(
    mut ex: Ex<'_>,
    key: &str,
    now: i64,
    reset_after: i64,
    lock_for: impl Fn(i64) -> i64,
) -> Result<Take> {
    let c = read_locked(ex.reborrow(), key).await?;
    if c.locked_until > now {
        return Ok(Take::Locked {
            until: c.locked_until,
        });
    }
    // Counts forget old attempts: after a quiet period a mistyped password starts afresh.
    let failures = if now - c.last_failure_at < reset_after {
        c.failures + 1
    } else {
        1
    };
    let next = Counter {
        failures,
        last_failure_at: now,
        locked_until: now + lock_for(failures),
    };
    write(ex, key, next).await?;
    Ok(Take::Counted(next))
}

/// Undoes one attempt counted by [`take`]: the count drops by one and the lock shrinks to what
/// the lower count implies.
pub async fn give_back(mut ex: Ex<'_>, key: &str, lock_for: impl Fn(i64) -> i64) -> Result<()> {
    let c = read_locked(ex.reborrow(), key).await?;
    let failures = (c.failures - 1).max(0);
    let lock = if failures == 0 {
        c.last_failure_at
    } else {
        c.last_failure_at + lock_for(failures)
    };
    write(
        ex,
        key,
        Counter {
            failures,
            last_failure_at: c.last_failure_at,
            locked_until: c.locked_until.min(lock),
        },
    )
    .await
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
