//! The Discord side of a customer: their Discord id (a `customers` column) and what the role
//! sync last did for them (`discord_members`, migration 0014).

use crate::{Ex, Result, StoreError, affected, run};

const COLS: &str = "customer_id, discord_id, roles, kicked_at, last_error, updated_at";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DiscordMemberRow {
    pub customer_id: i64,
    pub discord_id: String,
    /// JSON array of role names; read it with [`DiscordMemberRow::role_names`].
    pub roles: String,
    pub kicked_at: Option<i64>,
    pub last_error: String,
    pub updated_at: i64,
}

impl DiscordMemberRow {
    pub fn role_names(&self) -> Vec<String> {
        serde_json::from_str(&self.roles).unwrap_or_default()
    }
}

/// A customer the role sync looks at.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SyncCandidate {
    pub customer_id: i64,
    pub discord_id: String,
    pub permanent: bool,
    pub covered_until: Option<i64>,
    pub is_trial: Option<bool>,
    pub kicked_at: Option<i64>,
    pub roles: Option<String>,
}

pub async fn discord_id(ex: Ex<'_>, customer_id: i64) -> Result<String> {
    run!(ex, |e| sqlx::query_scalar::<_, String>(
        "SELECT discord_id FROM customers WHERE id = $1"
    )
    .bind(customer_id)
    .fetch_one(e)
    .await)
    .map_err(StoreError::from)
}

/// `NotFound` when there is no such customer.
pub async fn set_discord_id(
    ex: Ex<'_>,
    customer_id: i64,
    discord_id: &str,
    now: i64,
) -> Result<()> {
    let n = affected!(ex, |e| sqlx::query(
        "UPDATE customers SET discord_id = $2, updated_at = $3 WHERE id = $1"
    )
    .bind(customer_id)
    .bind(discord_id)
    .bind(now)
    .execute(e)
    .await)?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

pub async fn find(ex: Ex<'_>, customer_id: i64) -> Result<DiscordMemberRow> {
    let sql = format!("SELECT {COLS} FROM discord_members WHERE customer_id = $1");
    run!(ex, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(customer_id)
        .fetch_one(e)
        .await)
    .map_err(StoreError::from)
}

/// Records the roles held and the outcome of a sync. A new Discord id forgets an earlier kick.
pub async fn record(
    ex: Ex<'_>,
    customer_id: i64,
    discord_id: &str,
    roles: &[String],
    last_error: &str,
    now: i64,
) -> Result<()> {
    let roles = serde_json::to_string(roles).unwrap_or_else(|_| "[]".into());
    affected!(ex, |e| sqlx::query(
        "INSERT INTO discord_members (customer_id, discord_id, roles, last_error, updated_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (customer_id) DO UPDATE SET
           kicked_at = CASE WHEN discord_members.discord_id = excluded.discord_id
                            THEN discord_members.kicked_at ELSE NULL END,
           discord_id = excluded.discord_id, roles = excluded.roles,
           last_error = excluded.last_error, updated_at = excluded.updated_at"
    )
    .bind(customer_id)
    .bind(discord_id)
    .bind(&roles)
    .bind(last_error)
    .bind(now)
    .execute(e)
    .await)?;
    Ok(())
}

/// Sets (a kick) or clears (a renewal) the kick mark.
pub async fn set_kicked(
    ex: Ex<'_>,
    customer_id: i64,
    kicked_at: Option<i64>,
    now: i64,
) -> Result<()> {
    affected!(ex, |e| sqlx::query(
        "UPDATE discord_members SET kicked_at = $2, updated_at = $3 WHERE customer_id = $1"
    )
    .bind(customer_id)
    .bind(kicked_at)
    .bind(now)
    .execute(e)
    .await)?;
    Ok(())
}

/// Every customer with a Discord id who is not being deleted, with their plan's trial flag and
/// the last sync's record.
pub async fn candidates(ex: Ex<'_>) -> Result<Vec<SyncCandidate>> {
    run!(ex, |e| sqlx::query_as(
        "SELECT c.id AS customer_id, c.discord_id, c.permanent, c.covered_until,
                p.is_trial, d.kicked_at, d.roles
         FROM customers c
         LEFT JOIN plans p ON p.id = c.plan_id
         LEFT JOIN discord_members d ON d.customer_id = c.id AND d.discord_id = c.discord_id
         WHERE c.discord_id <> '' AND c.deleting_at IS NULL
         ORDER BY c.id"
    )
    .fetch_all(e)
    .await)
    .map_err(StoreError::from)
}

/// One customer as [`candidates`] reads them; `NotFound` when they have no Discord id.
pub async fn candidate(ex: Ex<'_>, customer_id: i64) -> Result<SyncCandidate> {
    run!(ex, |e| sqlx::query_as(
        "SELECT c.id AS customer_id, c.discord_id, c.permanent, c.covered_until,
                p.is_trial, d.kicked_at, d.roles
         FROM customers c
         LEFT JOIN plans p ON p.id = c.plan_id
         LEFT JOIN discord_members d ON d.customer_id = c.id AND d.discord_id = c.discord_id
         WHERE c.id = $1 AND c.discord_id <> ''"
    )
    .bind(customer_id)
    .fetch_one(e)
    .await)
    .map_err(StoreError::from)
}
