//! plex.tv accounts that own Plex servers. The token and the proxy password arrive sealed by the
//! app; this module never sees them in the clear.

use crate::{Ex, Result, StoreError, affected, run};

const COLS: &str = "id, name, token_enc, plex_user_id, username, email, has_plex_pass, proxy_url, proxy_username, proxy_password_enc, extra_query, created_at, updated_at, last_checked_at, last_error";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PlexAccountRow {
    pub id: i64,
    pub name: String,
    pub token_enc: String,
    pub plex_user_id: String,
    pub username: String,
    pub email: String,
    pub has_plex_pass: bool,
    pub proxy_url: String,
    pub proxy_username: String,
    pub proxy_password_enc: String,
    pub extra_query: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub last_checked_at: Option<i64>,
    pub last_error: Option<String>,
}

pub struct NewPlexAccount<'a> {
    pub name: &'a str,
    pub token_enc: &'a str,
    pub plex_user_id: &'a str,
    pub username: &'a str,
    pub email: &'a str,
    pub has_plex_pass: bool,
    pub proxy_url: &'a str,
    pub proxy_username: &'a str,
    pub proxy_password_enc: &'a str,
    pub extra_query: &'a str,
    pub now: i64,
}

pub async fn insert(ex: Ex<'_>, a: NewPlexAccount<'_>) -> Result<PlexAccountRow> {
    let sql = format!(
        "INSERT INTO plex_accounts (name, token_enc, plex_user_id, username, email, has_plex_pass, proxy_url, proxy_username, proxy_password_enc, extra_query, created_at, updated_at, last_checked_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $11) RETURNING {COLS}"
    );
    run!(ex, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(a.name)
        .bind(a.token_enc)
        .bind(a.plex_user_id)
        .bind(a.username)
        .bind(a.email)
        .bind(a.has_plex_pass)
        .bind(a.proxy_url)
        .bind(a.proxy_username)
        .bind(a.proxy_password_enc)
        .bind(a.extra_query)
        .bind(a.now)
        .fetch_one(e)
        .await)
    .map_err(StoreError::from)
}

pub async fn find(ex: Ex<'_>, id: i64) -> Result<PlexAccountRow> {
    let sql = format!("SELECT {COLS} FROM plex_accounts WHERE id = $1");
    run!(ex, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_one(e)
        .await)
    .map_err(StoreError::from)
}

pub async fn list(ex: Ex<'_>) -> Result<Vec<PlexAccountRow>> {
    let sql = format!("SELECT {COLS} FROM plex_accounts ORDER BY name, id");
    run!(ex, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .fetch_all(e)
        .await)
    .map_err(StoreError::from)
}

pub struct ProxyUpdate<'a> {
    pub name: &'a str,
    pub proxy_url: &'a str,
    pub proxy_username: &'a str,
    /// None keeps the stored password; Some("") removes it.
    pub proxy_password_enc: Option<&'a str>,
    pub extra_query: &'a str,
    pub has_plex_pass: bool,
    pub now: i64,
}

/// Changes the editable settings. `NotFound` when the account does not exist.
pub async fn update_settings(ex: Ex<'_>, id: i64, u: ProxyUpdate<'_>) -> Result<()> {
    let n = affected!(ex, |e| {
        sqlx::query(
        "UPDATE plex_accounts SET name = $2, proxy_url = $3, proxy_username = $4,
             proxy_password_enc = COALESCE($5, proxy_password_enc), extra_query = $6, has_plex_pass = $7, updated_at = $8
         WHERE id = $1"
    )
    .bind(id)
    .bind(u.name)
    .bind(u.proxy_url)
    .bind(u.proxy_username)
    .bind(u.proxy_password_enc)
    .bind(u.extra_query)
    .bind(u.has_plex_pass)
    .bind(u.now)
    .execute(e)
    .await
    })?;
    if n == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

/// What a token check found: the account read back, or the failure to show.
pub enum CheckOutcome<'a> {
    Ok {
        plex_user_id: &'a str,
        username: &'a str,
        email: &'a str,
        has_plex_pass: bool,
    },
    Failed(&'a str),
}

pub async fn record_check(ex: Ex<'_>, id: i64, outcome: CheckOutcome<'_>, now: i64) -> Result<()> {
    let n = match outcome {
        CheckOutcome::Ok {
            plex_user_id,
            username,
            email,
            has_plex_pass,
        } => affected!(ex, |e| {
            sqlx::query(
            "UPDATE plex_accounts SET plex_user_id = $2, username = $3, email = $4, has_plex_pass = $5,
                 last_checked_at = $6, last_error = NULL WHERE id = $1"
        )
        .bind(id)
        .bind(plex_user_id)
        .bind(username)
        .bind(email)
        .bind(has_plex_pass)
        .bind(now)
        .execute(e)
        .await
        })?,
        CheckOutcome::Failed(message) => affected!(ex, |e| sqlx::query(
            "UPDATE plex_accounts SET last_checked_at = $2, last_error = $3 WHERE id = $1"
        )
        .bind(id)
        .bind(now)
        .bind(message)
        .execute(e)
        .await)?,
    };
    if n == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

/// Deletes the account. The caller checks first that no server uses it (the foreign key from
/// `servers` restricts it anyway). `NotFound` when it does not exist.
pub async fn delete(ex: Ex<'_>, id: i64) -> Result<()> {
    let n = affected!(ex, |e| sqlx::query(
        "DELETE FROM plex_accounts WHERE id = $1"
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
