//! Tick bookkeeping for recurring jobs. A tick is won by a compare-and-set on `next_run_at`, so
//! however many instances share the database, each tick is taken by exactly one of them.

use crate::{Ex, Result, affected, run};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ScheduleRow {
    pub name: String,
    pub next_run_at: i64,
    pub last_run_at: Option<i64>,
}

/// Registers a schedule the first time it is seen; an existing row keeps its next tick.
pub async fn ensure(ex: Ex<'_>, name: &str, next_run_at: i64) -> Result<()> {
    affected!(ex, |e| sqlx::query(
        "INSERT INTO schedules (name, next_run_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING"
    )
    .bind(name)
    .bind(next_run_at)
    .execute(e)
    .await)?;
    Ok(())
}

pub async fn all(ex: Ex<'_>) -> Result<Vec<ScheduleRow>> {
    Ok(run!(ex, |e| sqlx::query_as(
        "SELECT name, next_run_at, last_run_at FROM schedules ORDER BY name"
    )
    .fetch_all(e)
    .await)?)
}

/// Takes the tick that was due at `due_at`, moving the schedule on to `next`. False when another
/// instance took it first.
pub async fn take_tick(ex: Ex<'_>, name: &str, due_at: i64, next: i64, now: i64) -> Result<bool> {
    let n = affected!(ex, |e| {
        sqlx::query("UPDATE schedules SET next_run_at = $3, last_run_at = $4 WHERE name = $1 AND next_run_at = $2")
        .bind(name)
        .bind(due_at)
        .bind(next)
        .bind(now)
        .execute(e)
        .await
    })?;
    Ok(n == 1)
}

pub async fn set_next(ex: Ex<'_>, name: &str, next: i64) -> Result<()> {
    affected!(ex, |e| sqlx::query(
        "UPDATE schedules SET next_run_at = $2 WHERE name = $1"
    )
    .bind(name)
    .bind(next)
    .execute(e)
    .await)?;
    Ok(())
}
