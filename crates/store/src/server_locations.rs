//! Where servers run (product §11), so a customer can pick the closest at checkout.

use crate::{Ex, Result, StoreError, affected, run};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LocationRow {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub sort_order: i64,
    pub created_at: i64,
}

/// `Conflict` when the name is taken.
pub async fn insert(
    ex: Ex<'_>,
    name: &str,
    description: &str,
    sort_order: i64,
    now: i64,
) -> Result<LocationRow> {
    run!(ex, |e| sqlx::query_as(
        "INSERT INTO server_locations (name, description, sort_order, created_at) VALUES ($1, $2, $3, $4)
         RETURNING id, name, description, sort_order, created_at"
    )
    .bind(name)
    .bind(description)
    .bind(sort_order)
    .bind(now)
    .fetch_one(e)
    .await)
    .map_err(StoreError::from)
}

pub async fn list(ex: Ex<'_>) -> Result<Vec<LocationRow>> {
    run!(ex, |e| sqlx::query_as(
        "SELECT id, name, description, sort_order, created_at FROM server_locations ORDER BY sort_order, name"
    )
    .fetch_all(e)
    .await)
    .map_err(StoreError::from)
}

pub async fn find(ex: Ex<'_>, id: i64) -> Result<LocationRow> {
    run!(ex, |e| sqlx::query_as(
        "SELECT id, name, description, sort_order, created_at FROM server_locations WHERE id = $1"
    )
    .bind(id)
    .fetch_one(e)
    .await)
    .map_err(StoreError::from)
}

pub async fn update(
    ex: Ex<'_>,
    id: i64,
    name: &str,
    description: &str,
    sort_order: i64,
) -> Result<()> {
    let n = affected!(ex, |e| sqlx::query(
        "UPDATE server_locations SET name = $2, description = $3, sort_order = $4 WHERE id = $1"
    )
    .bind(id)
    .bind(name)
    .bind(description)
    .bind(sort_order)
    .execute(e)
    .await)?;
    if n == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

/// Deletes a location; its servers keep running with no location.
pub async fn delete(ex: Ex<'_>, id: i64) -> Result<()> {
    let n = affected!(ex, |e| sqlx::query(
        "DELETE FROM server_locations WHERE id = $1"
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
