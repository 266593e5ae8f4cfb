//! Libraries as the last sync found them. A sync upserts by (server, remote key), so running it
//! twice, or again after a failure half way, never doubles a library.

use crate::{Ex, Result, StoreError, affected, run};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LibraryRow {
    pub id: i64,
    pub server_id: i64,
    pub remote_key: String,
    pub global_id: String,
    pub name: String,
    pub kind: String,
    pub item_count: i64,
    pub child_count: Option<i64>,
    pub library_group_id: Option<i64>,
    pub created_at: i64,
    pub synced_at: i64,
    pub removed_at: Option<i64>,
}

pub struct SyncedLibrary<'a> {
    pub remote_key: &'a str,
    pub global_id: &'a str,
    pub name: &'a str,
    pub kind: &'a str,
    pub item_count: i64,
    pub child_count: Option<i64>,
}

/// A new library lands in the Standard group (product §9); a known one keeps the group the owner
/// gave it (one synced before groups existed gets Standard too).
pub async fn upsert(ex: Ex<'_>, server_id: i64, l: SyncedLibrary<'_>, now: i64) -> Result<()> {
    affected!(ex, |e| {
        sqlx::query(
        "INSERT INTO libraries (server_id, remote_key, global_id, name, kind, item_count, child_count, created_at, synced_at, library_group_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, (SELECT id FROM library_groups WHERE builtin = 'standard'))
         ON CONFLICT (server_id, remote_key) DO UPDATE SET global_id = excluded.global_id, name = excluded.name,
             library_group_id = COALESCE(libraries.library_group_id, excluded.library_group_id),
             kind = excluded.kind, item_count = excluded.item_count, child_count = excluded.child_count,
             synced_at = excluded.synced_at, removed_at = NULL"
    )
    .bind(server_id)
    .bind(l.remote_key)
    .bind(l.global_id)
    .bind(l.name)
    .bind(l.kind)
    .bind(l.item_count)
    .bind(l.child_count)
    .bind(now)
    .execute(e)
    .await
    })?;
    Ok(())
}

/// Marks the server's libraries a sync at `now` did not see as removed.
pub async fn mark_unseen_removed(ex: Ex<'_>, server_id: i64, now: i64) -> Result<u64> {
    Ok(affected!(ex, |e| {
        sqlx::query(
        "UPDATE libraries SET removed_at = $2 WHERE server_id = $1 AND synced_at < $2 AND removed_at IS NULL"
    )
    .bind(server_id)
    .bind(now)
    .execute(e)
    .await
    })?)
}

/// Current libraries (removed ones left out), of one server or of all.
pub async fn list(ex: Ex<'_>, server_id: Option<i64>) -> Result<Vec<LibraryRow>> {
    run!(ex, |e| sqlx::query_as(
        "SELECT id, server_id, remote_key, global_id, name, kind, item_count, child_count, library_group_id, created_at, synced_at, removed_at
         FROM libraries WHERE removed_at IS NULL AND ($1 IS NULL OR server_id = $1) ORDER BY server_id, name"
    )
    .bind(server_id)
    .fetch_all(e)
    .await)
    .map_err(StoreError::from)
}
