use crate::{Ex, Result, StoreError, affected, run};

/// A login session. The cookie holds a random id; only its hash is stored, so a leaked database
/// does not hand out live sessions.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Session {
    pub id_hash: String,
    pub login_id: i64,
    pub csrf_token: String,
    pub mfa_pending: bool,
    /// The role's permissions when the session began, kept for the record; each request reads
    /// the role itself, so a change applies at once.
    pub permissions: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
}

pub struct NewSession<'a> {
    pub id_hash: &'a str,
    pub login_id: i64,
    pub csrf_token: &'a str,
    pub mfa_pending: bool,
    pub permissions: &'a str,
    pub now: i64,
    pub expires_at: i64,
    pub ip: &'a str,
    pub user_agent: &'a str,
}

pub async fn insert(ex: Ex<'_>, s: NewSession<'_>) -> Result<()> {
    affected!(ex, |e| {
        sqlx::query(
        "INSERT INTO login_sessions (id_hash, login_id, csrf_token, mfa_pending, permissions, created_at, last_seen_at, expires_at, ip, user_agent)
         VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $8, $9)"
    )
    .bind(s.id_hash)
    .bind(s.login_id)
    .bind(s.csrf_token)
    .bind(s.mfa_pending)
    .bind(s.permissions)
    .bind(s.now)
    .bind(s.expires_at)
    .bind(s.ip)
    .bind(s.user_agent)
    .execute(e)
    .await
    })?;
    Ok(())
}

pub async fn find(ex: Ex<'_>, id_hash: &str) -> Result<Session> {
    run!(ex, |e| sqlx::query_as(
        "SELECT id_hash, login_id, csrf_token, mfa_pending, permissions, created_at, last_seen_at, expires_at
         FROM login_sessions WHERE id_hash = $1"
    )
    .bind(id_hash)
    .fetch_one(e)
    .await)
    .map_err(StoreError::from)
}

pub async fn touch(ex: Ex<'_>, id_hash: &str, now: i64) -> Result<()> {
    affected!(ex, |e| sqlx::query(
        "UPDATE login_sessions SET last_seen_at = $1 WHERE id_hash = $2"
    )
    .bind(now)
    .bind(id_hash)
    .execute(e)
    .await)?;
    Ok(())
}

/// Turns a half-open session (password given, second factor awaited) into a full one.
pub async fn complete_mfa(ex: Ex<'_>, id_hash: &str, permissions: &str) -> Result<()> {
    let n = affected!(ex, |e| {
        sqlx::query("UPDATE login_sessions SET mfa_pending = FALSE, permissions = $1 WHERE id_hash = $2 AND mfa_pending")
        .bind(permissions)
        .bind(id_hash)
        .execute(e)
        .await
    })?;
    if n == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

pub async fn delete(ex: Ex<'_>, id_hash: &str) -> Result<()> {
    affected!(ex, |e| sqlx::query(
        "DELETE FROM login_sessions WHERE id_hash = $1"
    )
    .bind(id_hash)
    .execute(e)
    .await)?;
    Ok(())
}

/// "Log out everywhere": returns how many sessions ended.
pub async fn delete_all_for_login(ex: Ex<'_>, login_id: i64) -> Result<u64> {
    Ok(affected!(ex, |e| sqlx::query(
        "DELETE FROM login_sessions WHERE login_id = $1"
    )
    .bind(login_id)
    .execute(e)
    .await)?)
}

pub async fn purge(ex: Ex<'_>, now: i64, idle_cutoff: i64) -> Result<u64> {
    Ok(affected!(ex, |e| sqlx::query(
        "DELETE FROM login_sessions WHERE expires_at <= $1 OR last_seen_at <= $2"
    )
    .bind(now)
    .bind(idle_cutoff)
    .execute(e)
    .await)?)
}

pub async fn count_for_login(ex: Ex<'_>, login_id: i64) -> Result<i64> {
    let (n,): (i64,) = run!(ex, |e| sqlx::query_as(
        "SELECT COUNT(*) FROM login_sessions WHERE login_id = $1"
    )
    .bind(login_id)
    .fetch_one(e)
    .await)?;
    Ok(n)
}
