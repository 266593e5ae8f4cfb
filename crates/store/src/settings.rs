//! Stored values of the runtime settings registry. Only values set by an owner are stored; the
//! defaults live in the registry (`boxoffice_domain::settings`).

use crate::{Ex, Result, affected, run};

pub async fn all(ex: Ex<'_>) -> Result<Vec<(String, String)>> {
    Ok(run!(ex, |e| sqlx::query_as(
        "SELECT key, value FROM settings ORDER BY key"
    )
    .fetch_all(e)
    .await)?)
}

pub async fn put(ex: Ex<'_>, key: &str, value: &str, by: Option<i64>, now: i64) -> Result<()> {
    affected!(ex, |e| {
        sqlx::query(
        "INSERT INTO settings (key, value, updated_at, updated_by) VALUES ($1, $2, $3, $4)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at, updated_by = excluded.updated_by"
    )
    .bind(key)
    .bind(value)
    .bind(now)
    .bind(by)
    .execute(e)
    .await
    })?;
    Ok(())
}

pub async fn remove(ex: Ex<'_>, key: &str) -> Result<()> {
    affected!(ex, |e| sqlx::query("DELETE FROM settings WHERE key = $1")
        .bind(key)
        .execute(e)
        .await)?;
    Ok(())
}

/// One stored value; `None` when the owner never set it (the registry's default applies).
pub async fn get(ex: Ex<'_>, key: &str) -> Result<Option<String>> {
    let row: Option<(String,)> = run!(ex, |e| sqlx::query_as(
        "SELECT value FROM settings WHERE key = $1"
    )
    .bind(key)
    .fetch_optional(e)
    .await)?;
    Ok(row.map(|r| r.0))
}
