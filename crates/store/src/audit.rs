use crate::{Ex, Result, StoreError, affected, run};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuditEntry {
    pub id: i64,
    pub at: i64,
    pub actor_login_id: Option<i64>,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub detail: String,
    pub ip: String,
}

pub struct NewAudit<'a> {
    pub at: i64,
    pub actor_login_id: Option<i64>,
    /// "admin@example.com", "cli", "system", …
    pub actor: &'a str,
    pub action: &'a str,
    pub target: &'a str,
    pub detail: &'a str,
    pub ip: &'a str,
}

pub async fn record(ex: Ex<'_>, a: NewAudit<'_>) -> Result<()> {
    affected!(ex, |e| {
        sqlx::query(
        "INSERT INTO audit_log (at, actor_login_id, actor, action, target, detail, ip) VALUES ($1, $2, $3, $4, $5, $6, $7)"
    )
    .bind(a.at)
    .bind(a.actor_login_id)
    .bind(a.actor)
    .bind(a.action)
    .bind(a.target)
    .bind(a.detail)
    .bind(a.ip)
    .execute(e)
    .await
    })?;
    Ok(())
}

pub async fn recent(ex: Ex<'_>, limit: i64) -> Result<Vec<AuditEntry>> {
    run!(ex, |e| sqlx::query_as(
        "SELECT id, at, actor_login_id, actor, action, target, detail, ip FROM audit_log ORDER BY id DESC LIMIT $1"
    )
    .bind(limit)
    .fetch_all(e)
    .await)
    .map_err(StoreError::from)
}
