//! Reconciliation findings: where a server's users differ from the shares we hold, with when each
//! difference was first found. A scan replaces one server's findings at a time.

use crate::{Ex, Result, StoreError, affected, run};

const COLS: &str =
    "id, server_id, customer_id, share_id, remote_user, kind, detail, found_at, seen_at";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DriftRow {
    pub id: i64,
    pub server_id: i64,
    pub customer_id: Option<i64>,
    pub share_id: Option<i64>,
    pub remote_user: String,
    pub kind: String,
    pub detail: String,
    pub found_at: i64,
    pub seen_at: i64,
}

/// One difference found by a scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub customer_id: Option<i64>,
    pub share_id: Option<i64>,
    pub remote_user: String,
    pub kind: String,
    pub detail: String,
}

pub async fn list(ex: Ex<'_>) -> Result<Vec<DriftRow>> {
    let sql = format!("SELECT {COLS} FROM drift ORDER BY found_at, id");
    run!(ex, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .fetch_all(e)
        .await)
    .map_err(StoreError::from)
}

pub async fn list_for_server(ex: Ex<'_>, server_id: i64) -> Result<Vec<DriftRow>> {
    let sql = format!("SELECT {COLS} FROM drift WHERE server_id = $1 ORDER BY id");
    run!(ex, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(server_id)
        .fetch_all(e)
        .await)
    .map_err(StoreError::from)
}

pub async fn find(ex: Ex<'_>, id: i64) -> Result<DriftRow> {
    let sql = format!("SELECT {COLS} FROM drift WHERE id = $1");
    run!(ex, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_one(e)
        .await)
    .map_err(StoreError::from)
}

pub async fn clear_server(ex: Ex<'_>, server_id: i64) -> Result<u64> {
    Ok(affected!(ex, |e| sqlx::query(
        "DELETE FROM drift WHERE server_id = $1"
    )
    .bind(server_id)
    .execute(e)
    .await)?)
}

pub async fn insert(
    ex: Ex<'_>,
    server_id: i64,
    f: &Finding,
    found_at: i64,
    seen_at: i64,
) -> Result<()> {
    affected!(ex, |e| {
        sqlx::query(
        "INSERT INTO drift (server_id, customer_id, share_id, remote_user, kind, detail, found_at, seen_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
    )
    .bind(server_id)
    .bind(f.customer_id)
    .bind(f.share_id)
    .bind(&f.remote_user)
    .bind(&f.kind)
    .bind(&f.detail)
    .bind(found_at)
    .bind(seen_at)
    .execute(e)
    .await
    })?;
    Ok(())
}

/// The server's default plan (`plans.is_default`), for users imported from a server.
pub async fn default_plan_id(ex: Ex<'_>) -> Result<Option<i64>> {
    run!(ex, |e| sqlx::query_scalar(
        "SELECT id FROM plans WHERE is_default ORDER BY id LIMIT 1"
    )
    .fetch_optional(e)
    .await)
    .map_err(StoreError::from)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ServerLibrary {
    pub id: i64,
    pub global_id: String,
    pub remote_key: String,
    pub name: String,
    pub removed: bool,
}

/// Every library we know on a server (hidden ones too), to name what a user can reach.
pub async fn server_libraries(ex: Ex<'_>, server_id: i64) -> Result<Vec<ServerLibrary>> {
    run!(ex, |e| sqlx::query_as(
        "SELECT id, global_id, remote_key, name, removed_at IS NOT NULL AS removed FROM libraries WHERE server_id = $1 ORDER BY id"
    )
    .bind(server_id)
    .fetch_all(e)
    .await)
    .map_err(StoreError::from)
}

/// The customer a server's user belongs to: by the platform's identity column or the e-mail,
/// compared without case. Ids only, so the caller reads the row through `customers::find`.
pub async fn customer_by_identity(
    ex: Ex<'_>,
    platform: boxoffice_domain::platform::Platform,
    who: &str,
) -> Result<Option<i64>> {
    use boxoffice_domain::platform::Platform;
    // The column comes from this fixed list, never from input.
    let sql = match platform {
        Platform::Plex => {
            "SELECT id FROM customers WHERE lower(plex_email) = $1 OR lower(plex_username) = $1 OR email_key = $1 ORDER BY id LIMIT 1"
        }
        Platform::Emby => {
            "SELECT id FROM customers WHERE lower(emby_username) = $1 OR email_key = $1 ORDER BY id LIMIT 1"
        }
        Platform::Jellyfin => {
            "SELECT id FROM customers WHERE lower(jellyfin_username) = $1 OR email_key = $1 ORDER BY id LIMIT 1"
        }
    };
    let key = who.to_lowercase();
    run!(ex, |e| sqlx::query_scalar(sql)
        .bind(&key)
        .fetch_optional(e)
        .await)
    .map_err(StoreError::from)
}
