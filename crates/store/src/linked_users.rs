//! Linked users (product §17): which customer pays for which sub-accounts. A sub's plan and
//! coverage mirror its master's, written in the same statement that sets the master's.

use crate::{Ex, Result, StoreError, affected, run};

/// One link, with what the Linked users page shows of both ends.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LinkRow {
    pub master_id: i64,
    pub master_email: String,
    pub sub_id: i64,
    pub sub_email: String,
    pub sub_plex_email: String,
    pub sub_jellyfin_username: String,
    pub sub_emby_username: String,
    pub created_at: i64,
}

const LINK_SELECT: &str = "SELECT l.master_customer_id AS master_id, m.email AS master_email,
        l.sub_customer_id AS sub_id, s.email AS sub_email, s.plex_email AS sub_plex_email,
        s.jellyfin_username AS sub_jellyfin_username, s.emby_username AS sub_emby_username,
        l.created_at
 FROM linked_users l
 JOIN customers m ON m.id = l.master_customer_id
 JOIN customers s ON s.id = l.sub_customer_id";

/// Links `sub` to `master`; a sub already linked is a conflict.
pub async fn insert(ex: Ex<'_>, master: i64, sub: i64, now: i64) -> Result<()> {
    affected!(ex, |e| {
        sqlx::query(
        "INSERT INTO linked_users (sub_customer_id, master_customer_id, created_at) VALUES ($1, $2, $3)"
    )
    .bind(sub)
    .bind(master)
    .bind(now)
    .execute(e)
    .await
    })?;
    Ok(())
}

/// Unlinks `sub`; answers whether it was linked.
pub async fn delete(ex: Ex<'_>, sub: i64) -> Result<bool> {
    let n = affected!(ex, |e| sqlx::query(
        "DELETE FROM linked_users WHERE sub_customer_id = $1"
    )
    .bind(sub)
    .execute(e)
    .await)?;
    Ok(n > 0)
}

/// The master paying for `sub`, if it is a sub-account.
pub async fn master_of(ex: Ex<'_>, sub: i64) -> Result<Option<i64>> {
    let row: Option<(i64,)> = run!(ex, |e| sqlx::query_as(
        "SELECT master_customer_id FROM linked_users WHERE sub_customer_id = $1"
    )
    .bind(sub)
    .fetch_optional(e)
    .await)?;
    Ok(row.map(|r| r.0))
}

/// The ids of `master`'s sub-accounts, oldest link first.
pub async fn sub_ids(ex: Ex<'_>, master: i64) -> Result<Vec<i64>> {
    let rows: Vec<(i64,)> = run!(ex, |e| {
        sqlx::query_as(
        "SELECT sub_customer_id FROM linked_users WHERE master_customer_id = $1 ORDER BY created_at, sub_customer_id"
    )
    .bind(master)
    .fetch_all(e)
    .await
    })?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// `master`'s links, oldest first.
pub async fn of_master(ex: Ex<'_>, master: i64) -> Result<Vec<LinkRow>> {
    let sql = format!(
        "{LINK_SELECT} WHERE l.master_customer_id = $1 ORDER BY l.created_at, l.sub_customer_id"
    );
    run!(ex, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(master)
        .fetch_all(e)
        .await)
    .map_err(StoreError::from)
}

/// Every link whose master or sub e-mail contains `search` (all when empty), by master.
pub async fn list(ex: Ex<'_>, search: &str, limit: i64) -> Result<Vec<LinkRow>> {
    let pattern = format!(
        "%{}%",
        search
            .trim()
            .to_lowercase()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    );
    let sql = format!(
        "{LINK_SELECT} WHERE m.email_key LIKE $1 ESCAPE '\\' OR s.email_key LIKE $1 ESCAPE '\\'
         ORDER BY m.email_key, l.created_at, l.sub_customer_id LIMIT $2"
    );
    run!(ex, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(&pattern)
        .bind(limit)
        .fetch_all(e)
        .await)
    .map_err(StoreError::from)
}

/// Gives every sub-account of `master` the master's plan and coverage end.
pub async fn follow_master(
    ex: Ex<'_>,
    master: i64,
    plan_id: Option<i64>,
    covered_until: Option<i64>,
    now: i64,
) -> Result<u64> {
    affected!(ex, |e| sqlx::query(
        "UPDATE customers SET plan_id = $2, covered_until = $3, updated_at = $4
         WHERE id IN (SELECT sub_customer_id FROM linked_users WHERE master_customer_id = $1)"
    )
    .bind(master)
    .bind(plan_id)
    .bind(covered_until)
    .bind(now)
    .execute(e)
    .await)
    .map_err(StoreError::from)
}

/// What a plan allows masters: its name, its sub-account maximum and whether it is a trial.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PlanAllowance {
    pub name: String,
    pub max_linked_accounts: i64,
    pub is_trial: bool,
}

pub async fn plan_allowance(ex: Ex<'_>, plan_id: i64) -> Result<PlanAllowance> {
    run!(ex, |e| sqlx::query_as(
        "SELECT name, max_linked_accounts, is_trial FROM plans WHERE id = $1"
    )
    .bind(plan_id)
    .fetch_one(e)
    .await)
    .map_err(StoreError::from)
}
