//! Media servers (Plex, Jellyfin, Emby) and their settings. A Jellyfin/Emby API key arrives sealed.

use crate::{Ex, Result, StoreError, affected, run};
use boxoffice_domain::platform::Platform;

const COLS: &str = "id, platform, name, remote_id, url, api_key_enc, plex_account_id, location_id, enabled, allow_new_subscriptions, allow_trial_subscriptions, max_users, allow_4k_transcoding, log_activity, has_premiere, version, created_at, updated_at, last_synced_at, last_error";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ServerRow {
    pub id: i64,
    #[sqlx(try_from = "String")]
    pub platform: Platform,
    pub name: String,
    pub remote_id: String,
    pub url: String,
    pub api_key_enc: String,
    pub plex_account_id: Option<i64>,
    pub location_id: Option<i64>,
    pub enabled: bool,
    pub allow_new_subscriptions: bool,
    pub allow_trial_subscriptions: bool,
    pub max_users: i64,
    pub allow_4k_transcoding: bool,
    pub log_activity: bool,
    pub has_premiere: bool,
    pub version: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub last_synced_at: Option<i64>,
    pub last_error: Option<String>,
}

pub struct NewServer<'a> {
    pub platform: Platform,
    pub name: &'a str,
    pub remote_id: &'a str,
    pub url: &'a str,
    pub api_key_enc: &'a str,
    pub plex_account_id: Option<i64>,
    pub version: &'a str,
    pub has_premiere: bool,
    pub now: i64,
}

/// Adds a server, disabled (product §12.1: a new server is edited and enabled afterwards).
/// `Conflict` when the same server (platform + remote id) is already there.
pub async fn insert(ex: Ex<'_>, s: NewServer<'_>) -> Result<ServerRow> {
    let sql = format!(
        "INSERT INTO servers (platform, name, remote_id, url, api_key_enc, plex_account_id, version, has_premiere, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING {COLS}"
    );
    run!(ex, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(s.platform.as_str())
        .bind(s.name)
        .bind(s.remote_id)
        .bind(s.url)
        .bind(s.api_key_enc)
        .bind(s.plex_account_id)
        .bind(s.version)
        .bind(s.has_premiere)
        .bind(s.now)
        .fetch_one(e)
        .await)
    .map_err(StoreError::from)
}

pub async fn find(ex: Ex<'_>, id: i64) -> Result<ServerRow> {
    let sql = format!("SELECT {COLS} FROM servers WHERE id = $1");
    run!(ex, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_one(e)
        .await)
    .map_err(StoreError::from)
}

pub async fn list(ex: Ex<'_>) -> Result<Vec<ServerRow>> {
    let sql = format!("SELECT {COLS} FROM servers ORDER BY name, id");
    run!(ex, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .fetch_all(e)
        .await)
    .map_err(StoreError::from)
}

/// The editable settings of a server (product §12.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSettings {
    pub url: String,
    pub location_id: Option<i64>,
    pub enabled: bool,
    pub allow_new_subscriptions: bool,
    pub allow_trial_subscriptions: bool,
    pub max_users: i64,
    pub allow_4k_transcoding: bool,
    pub log_activity: bool,
    pub has_premiere: bool,
}

pub async fn update_settings(ex: Ex<'_>, id: i64, s: &ServerSettings, now: i64) -> Result<()> {
    let n = affected!(ex, |e| {
        sqlx::query(
        "UPDATE servers SET url = $2, location_id = $3, enabled = $4, allow_new_subscriptions = $5,
             allow_trial_subscriptions = $6, max_users = $7, allow_4k_transcoding = $8, log_activity = $9,
             has_premiere = $10, updated_at = $11
         WHERE id = $1"
    )
    .bind(id)
    .bind(&s.url)
    .bind(s.location_id)
    .bind(s.enabled)
    .bind(s.allow_new_subscriptions)
    .bind(s.allow_trial_subscriptions)
    .bind(s.max_users)
    .bind(s.allow_4k_transcoding)
    .bind(s.log_activity)
    .bind(s.has_premiere)
    .bind(now)
    .execute(e)
    .await
    })?;
    if n == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

/// A sync read the server: its name and version as it reports them now.
pub async fn record_sync_ok(
    ex: Ex<'_>,
    id: i64,
    name: &str,
    version: &str,
    now: i64,
) -> Result<()> {
    let n = affected!(ex, |e| {
        sqlx::query(
        "UPDATE servers SET name = $2, version = $3, last_synced_at = $4, last_error = NULL WHERE id = $1"
    )
    .bind(id)
    .bind(name)
    .bind(version)
    .bind(now)
    .execute(e)
    .await
    })?;
    if n == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

/// Keeps the last failure of a call to this server, for the servers page.
pub async fn record_error(ex: Ex<'_>, id: i64, message: &str) -> Result<()> {
    affected!(ex, |e| sqlx::query(
        "UPDATE servers SET last_error = $2 WHERE id = $1"
    )
    .bind(id)
    .bind(message)
    .execute(e)
    .await)?;
    Ok(())
}

/// The servers that belong to a Plex account.
pub async fn list_by_plex_account(ex: Ex<'_>, plex_account_id: i64) -> Result<Vec<ServerRow>> {
    let sql = format!("SELECT {COLS} FROM servers WHERE plex_account_id = $1 ORDER BY name, id");
    run!(ex, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(plex_account_id)
        .fetch_all(e)
        .await)
    .map_err(StoreError::from)
}

/// How many shares on this server are anything but `removed`: users who still have, or are
/// about to get, access there.
pub async fn live_share_count(ex: Ex<'_>, id: i64) -> Result<i64> {
    let (n,): (i64,) = run!(ex, |e| sqlx::query_as(
        "SELECT COUNT(*) FROM shares WHERE server_id = $1 AND state <> 'removed'"
    )
    .bind(id)
    .fetch_one(e)
    .await)?;
    Ok(n)
}

/// The periodic refresh read the server's name and version; a later failure is recorded by
/// [`record_error`]. `NotFound` when the server is gone.
pub async fn record_identity(
    ex: Ex<'_>,
    id: i64,
    name: &str,
    version: &str,
    now: i64,
) -> Result<()> {
    let n = affected!(ex, |e| {
        sqlx::query(
            "UPDATE servers SET name = $2, version = $3, updated_at = $4, last_error = NULL WHERE id = $1",
        )
        .bind(id)
        .bind(name)
        .bind(version)
        .bind(now)
        .execute(e)
        .await
    })?;
    if n == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

/// Deletes the server; its libraries, removed shares and plan targets go with it (foreign keys
/// cascade). The caller checks [`live_share_count`] first. `NotFound` when it does not exist.
pub async fn delete(mut ex: Ex<'_>, id: i64) -> Result<()> {
    affected!(ex.reborrow(), |e| sqlx::query(
        "DELETE FROM libraries WHERE server_id = $1"
    )
    .bind(id)
    .execute(e)
    .await)?;
    let n = affected!(ex, |e| sqlx::query("DELETE FROM servers WHERE id = $1")
        .bind(id)
        .execute(e)
        .await)?;
    if n == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

/// The address customers use for the server, as set; empty when it is the server's `url`.
pub async fn public_url(ex: Ex<'_>, id: i64) -> Result<String> {
    run!(ex, |e| sqlx::query_scalar::<_, String>(
        "SELECT public_url FROM servers WHERE id = $1"
    )
    .bind(id)
    .fetch_one(e)
    .await)
    .map_err(StoreError::from)
}

pub async fn set_public_url(ex: Ex<'_>, id: i64, url: &str, now: i64) -> Result<()> {
    let n = affected!(ex, |e| sqlx::query(
        "UPDATE servers SET public_url = $2, updated_at = $3 WHERE id = $1"
    )
    .bind(id)
    .bind(url)
    .bind(now)
    .execute(e)
    .await)?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}
