use crate::{Ex, Result, StoreError, affected, run};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Login {
    pub id: i64,
    pub email: String,
    pub email_key: String,
    pub password_hash: String,
    pub role_id: i64,
    pub email_confirmed: bool,
    pub disabled: bool,
    pub created_at: i64,
    pub last_login_at: Option<i64>,
    pub password_changed_at: i64,
}

pub struct NewLogin<'a> {
    pub email: &'a str,
    pub email_key: &'a str,
    pub password_hash: &'a str,
    pub role_id: i64,
    pub email_confirmed: bool,
    pub now: i64,
}

pub async fn insert(ex: Ex<'_>, n: NewLogin<'_>) -> Result<Login> {
    run!(ex, |e| sqlx::query_as(
        "INSERT INTO logins (email, email_key, password_hash, role_id, email_confirmed, created_at, password_changed_at)
         VALUES ($1, $2, $3, $4, $5, $6, $6)
         RETURNING id, email, email_key, password_hash, role_id, email_confirmed, disabled, created_at, last_login_at, password_changed_at"
    )
    .bind(n.email)
    .bind(n.email_key)
    .bind(n.password_hash)
    .bind(n.role_id)
    .bind(n.email_confirmed)
    .bind(n.now)
    .fetch_one(e)
    .await)
    .map_err(StoreError::from)
}

pub async fn find(ex: Ex<'_>, id: i64) -> Result<Login> {
    run!(ex, |e| sqlx::query_as(
        "SELECT id, email, email_key, password_hash, role_id, email_confirmed, disabled, created_at, last_login_at, password_changed_at
         FROM logins WHERE id = $1"
    )
    .bind(id)
    .fetch_one(e)
    .await)
    .map_err(StoreError::from)
}

pub async fn find_by_email_key(ex: Ex<'_>, email_key: &str) -> Result<Login> {
    run!(ex, |e| sqlx::query_as(
        "SELECT id, email, email_key, password_hash, role_id, email_confirmed, disabled, created_at, last_login_at, password_changed_at
         FROM logins WHERE email_key = $1"
    )
    .bind(email_key)
    .fetch_one(e)
    .await)
    .map_err(StoreError::from)
}

pub async fn set_password(ex: Ex<'_>, id: i64, password_hash: &str, now: i64) -> Result<()> {
    let n = affected!(ex, |e| sqlx::query(
        "UPDATE logins SET password_hash = $1, password_changed_at = $2 WHERE id = $3"
    )
    .bind(password_hash)
    .bind(now)
    .bind(id)
    .execute(e)
    .await)?;
    if n == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

pub async fn set_role(ex: Ex<'_>, id: i64, role_id: i64) -> Result<()> {
    let n = affected!(ex, |e| sqlx::query(
        "UPDATE logins SET role_id = $1 WHERE id = $2"
    )
    .bind(role_id)
    .bind(id)
    .execute(e)
    .await)?;
    if n == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

pub async fn record_login(ex: Ex<'_>, id: i64, now: i64) -> Result<()> {
    affected!(ex, |e| sqlx::query(
        "UPDATE logins SET last_login_at = $1 WHERE id = $2"
    )
    .bind(now)
    .bind(id)
    .execute(e)
    .await)?;
    Ok(())
}

pub async fn count_administrators(ex: Ex<'_>) -> Result<i64> {
    let (n,): (i64,) = run!(ex, |e| {
        sqlx::query_as(
        "SELECT COUNT(*) FROM logins l JOIN roles r ON r.id = l.role_id WHERE r.kind = 'administrator' AND NOT l.disabled"
    )
    .fetch_one(e)
    .await
    })?;
    Ok(n)
}

pub async fn list(ex: Ex<'_>, limit: i64) -> Result<Vec<Login>> {
    run!(ex, |e| sqlx::query_as(
        "SELECT id, email, email_key, password_hash, role_id, email_confirmed, disabled, created_at, last_login_at, password_changed_at
         FROM logins ORDER BY id LIMIT $1"
    )
    .bind(limit)
    .fetch_all(e)
    .await)
    .map_err(StoreError::from)
}

/// One row of the Site logins list.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LoginSummary {
    pub id: i64,
    pub email: String,
    pub role_name: String,
    pub role_kind: String,
    pub disabled: bool,
    pub last_login_at: Option<i64>,
    /// Sessions not yet ended (some may have run out and wait for the purge).
    pub sessions: i64,
}

/// Logins whose e-mail contains `search` (all when empty), staff first, then by e-mail.
pub async fn summaries(ex: Ex<'_>, search: &str, limit: i64) -> Result<Vec<LoginSummary>> {
    let pattern = format!(
        "%{}%",
        search
            .trim()
            .to_lowercase()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    );
    run!(ex, |e| sqlx::query_as(
        "SELECT l.id, l.email, r.name AS role_name, r.kind AS role_kind, l.disabled, l.last_login_at,
                (SELECT COUNT(*) FROM login_sessions s WHERE s.login_id = l.id) AS sessions
         FROM logins l JOIN roles r ON r.id = l.role_id
         WHERE l.email_key LIKE $1 ESCAPE '\\'
         ORDER BY CASE WHEN r.kind = 'user' THEN 1 ELSE 0 END, l.email_key
         LIMIT $2"
    )
    .bind(&pattern)
    .bind(limit)
    .fetch_all(e)
    .await)
    .map_err(StoreError::from)
}

pub async fn set_disabled(ex: Ex<'_>, id: i64, disabled: bool) -> Result<()> {
    let n = affected!(ex, |e| sqlx::query(
        "UPDATE logins SET disabled = $1 WHERE id = $2"
    )
    .bind(disabled)
    .bind(id)
    .execute(e)
    .await)?;
    if n == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}
