//! Library groups (product §9): what plans grant. Three are built in (Private, Standard,
//! Premium 4K) and can be neither renamed nor deleted; the store refuses to touch them so no door
//! can, whatever the use case checks first.

use crate::{Ex, Result, StoreError, affected, run};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LibraryGroupRow {
    pub id: i64,
    pub name: String,
    /// `private`, `standard` or `premium_4k` for a built-in group; `None` for an owner's own.
    pub builtin: Option<String>,
    pub is_private: bool,
    pub description: String,
    pub created_at: i64,
    /// Current (not removed) libraries in the group.
    pub library_count: i64,
}

const SELECT: &str = "SELECT g.id, g.name, g.builtin, g.is_private, g.description, g.created_at,
        (SELECT COUNT(*) FROM libraries l WHERE l.library_group_id = g.id AND l.removed_at IS NULL) AS library_count
     FROM library_groups g";

/// Every group, built-ins first, with its library count.
pub async fn list(ex: Ex<'_>) -> Result<Vec<LibraryGroupRow>> {
    let sql = format!("{SELECT} ORDER BY g.builtin IS NULL, g.id");
    run!(ex, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .fetch_all(e)
        .await)
    .map_err(StoreError::from)
}

pub async fn find(ex: Ex<'_>, id: i64) -> Result<LibraryGroupRow> {
    let sql = format!("{SELECT} WHERE g.id = $1");
    run!(ex, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_one(e)
        .await)
    .map_err(StoreError::from)
}

/// Adds an owner's group (never private: only the built-in Private group is). `Conflict` when
/// the name is taken.
pub async fn insert(ex: Ex<'_>, name: &str, description: &str, now: i64) -> Result<i64> {
    let (id,): (i64,) = run!(ex, |e| {
        sqlx::query_as(
        "INSERT INTO library_groups (name, description, created_at) VALUES ($1, $2, $3) RETURNING id"
    )
    .bind(name)
    .bind(description)
    .bind(now)
    .fetch_one(e)
    .await
    })?;
    Ok(id)
}

/// Renames an owner's group. `NotFound` for a missing or built-in group.
pub async fn rename(ex: Ex<'_>, id: i64, name: &str, description: &str) -> Result<()> {
    let n = affected!(ex, |e| {
        sqlx::query(
        "UPDATE library_groups SET name = $2, description = $3 WHERE id = $1 AND builtin IS NULL"
    )
    .bind(id)
    .bind(name)
    .bind(description)
    .execute(e)
    .await
    })?;
    if n == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

/// Deletes an owner's group; its libraries move to Standard, as if newly synced. `NotFound` for
/// a missing or built-in group. A plan still granting it makes the database refuse (`Database`),
/// so check [`plans_using`] first.
pub async fn delete(mut ex: Ex<'_>, id: i64) -> Result<()> {
    affected!(ex.reborrow(), |e| {
        sqlx::query(
        "UPDATE libraries SET library_group_id = (SELECT id FROM library_groups WHERE builtin = 'standard')
         WHERE library_group_id = $1 AND EXISTS (SELECT 1 FROM library_groups WHERE id = $1 AND builtin IS NULL)"
    )
    .bind(id)
    .execute(e)
    .await
    })?;
    let n = affected!(ex, |e| sqlx::query(
        "DELETE FROM library_groups WHERE id = $1 AND builtin IS NULL"
    )
    .bind(id)
    .execute(e)
    .await)?;
    if n == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

/// Names of the plans that grant the group or keep it after expiry.
pub async fn plans_using(ex: Ex<'_>, id: i64) -> Result<Vec<String>> {
    let rows: Vec<(String,)> = run!(ex, |e| sqlx::query_as(
        "SELECT DISTINCT p.name FROM plans p JOIN plan_library_groups g ON g.plan_id = p.id
         WHERE g.library_group_id = $1 ORDER BY p.name"
    )
    .bind(id)
    .fetch_all(e)
    .await)?;
    Ok(rows.into_iter().map(|(n,)| n).collect())
}

/// Puts a library in a group. `NotFound` when the library does not exist.
pub async fn assign_library(ex: Ex<'_>, library_id: i64, group_id: i64) -> Result<()> {
    let n = affected!(ex, |e| sqlx::query(
        "UPDATE libraries SET library_group_id = $2 WHERE id = $1"
    )
    .bind(library_id)
    .bind(group_id)
    .execute(e)
    .await)?;
    if n == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}
