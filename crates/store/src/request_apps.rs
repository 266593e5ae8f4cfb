//! Request apps: what each plan grants in each app, and each customer's account there.

use crate::{Ex, Result, StoreError, affected, run};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PlanMappingRow {
    pub plan_id: i64,
    pub app: String,
    pub roles: String,
    pub movie_quota_limit: Option<i64>,
    pub movie_quota_days: Option<i64>,
    pub tv_quota_limit: Option<i64>,
    pub tv_quota_days: Option<i64>,
    pub profile: String,
    pub updated_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AccountRow {
    pub id: i64,
    pub customer_id: i64,
    pub app: String,
    pub external_id: String,
    pub username: String,
    pub state: String,
    pub last_error: String,
    pub sealed_password: String,
    pub created_at: i64,
    pub updated_at: i64,
}

const MAP_COLS: &str = "plan_id, app, roles, movie_quota_limit, movie_quota_days, tv_quota_limit, tv_quota_days, profile, updated_at";
const ACC_COLS: &str = "id, customer_id, app, external_id, username, state, last_error, sealed_password, created_at, updated_at";

pub async fn mappings_for_plan(ex: Ex<'_>, plan_id: i64) -> Result<Vec<PlanMappingRow>> {
    let sql = format!("SELECT {MAP_COLS} FROM request_app_plans WHERE plan_id = $1 ORDER BY app");
    run!(ex, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(plan_id)
        .fetch_all(e)
        .await)
    .map_err(StoreError::from)
}

pub async fn mapping(ex: Ex<'_>, plan_id: i64, app: &str) -> Result<Option<PlanMappingRow>> {
    let sql = format!("SELECT {MAP_COLS} FROM request_app_plans WHERE plan_id = $1 AND app = $2");
    run!(ex, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(plan_id)
        .bind(app)
        .fetch_optional(e)
        .await)
    .map_err(StoreError::from)
}

pub async fn put_mapping(ex: Ex<'_>, m: &PlanMappingRow) -> Result<()> {
    affected!(ex, |e| {
        sqlx::query(
        "INSERT INTO request_app_plans (plan_id, app, roles, movie_quota_limit, movie_quota_days, tv_quota_limit, tv_quota_days, profile, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (plan_id, app) DO UPDATE SET roles = excluded.roles,
           movie_quota_limit = excluded.movie_quota_limit, movie_quota_days = excluded.movie_quota_days,
           tv_quota_limit = excluded.tv_quota_limit, tv_quota_days = excluded.tv_quota_days,
           profile = excluded.profile, updated_at = excluded.updated_at"
    )
    .bind(m.plan_id)
    .bind(&m.app)
    .bind(&m.roles)
    .bind(m.movie_quota_limit)
    .bind(m.movie_quota_days)
    .bind(m.tv_quota_limit)
    .bind(m.tv_quota_days)
    .bind(&m.profile)
    .bind(m.updated_at)
    .execute(e)
    .await
    })?;
    Ok(())
}

pub async fn delete_mapping(ex: Ex<'_>, plan_id: i64, app: &str) -> Result<u64> {
    Ok(affected!(ex, |e| sqlx::query(
        "DELETE FROM request_app_plans WHERE plan_id = $1 AND app = $2"
    )
    .bind(plan_id)
    .bind(app)
    .execute(e)
    .await)?)
}

pub async fn accounts_for_customer(ex: Ex<'_>, customer_id: i64) -> Result<Vec<AccountRow>> {
    let sql =
        format!("SELECT {ACC_COLS} FROM request_app_accounts WHERE customer_id = $1 ORDER BY app");
    run!(ex, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(customer_id)
        .fetch_all(e)
        .await)
    .map_err(StoreError::from)
}

pub async fn account(ex: Ex<'_>, customer_id: i64, app: &str) -> Result<Option<AccountRow>> {
    let sql =
        format!("SELECT {ACC_COLS} FROM request_app_accounts WHERE customer_id = $1 AND app = $2");
    run!(ex, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(customer_id)
        .bind(app)
        .fetch_optional(e)
        .await)
    .map_err(StoreError::from)
}

/// What one sync learnt about an account.
#[derive(Debug, Clone)]
pub struct AccountUpdate<'a> {
    pub external_id: &'a str,
    pub username: &'a str,
    pub state: &'a str,
    pub last_error: &'a str,
    /// `None` keeps the stored one.
    pub sealed_password: Option<&'a str>,
}

pub async fn put_account(
    ex: Ex<'_>,
    customer_id: i64,
    app: &str,
    u: &AccountUpdate<'_>,
    now: i64,
) -> Result<()> {
    affected!(ex, |e| {
        sqlx::query(
        "INSERT INTO request_app_accounts (customer_id, app, external_id, username, state, last_error, sealed_password, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, COALESCE($7, ''), $8, $8)
         ON CONFLICT (customer_id, app) DO UPDATE SET external_id = excluded.external_id,
           username = excluded.username, state = excluded.state, last_error = excluded.last_error,
           sealed_password = COALESCE($7, request_app_accounts.sealed_password), updated_at = excluded.updated_at"
    )
    .bind(customer_id)
    .bind(app)
    .bind(u.external_id)
    .bind(u.username)
    .bind(u.state)
    .bind(u.last_error)
    .bind(u.sealed_password)
    .bind(now)
    .execute(e)
    .await
    })?;
    Ok(())
}

/// Records a failed attempt, keeping what is known of the account.
pub async fn put_error(
    ex: Ex<'_>,
    customer_id: i64,
    app: &str,
    error: &str,
    now: i64,
) -> Result<()> {
    affected!(ex, |e| {
        sqlx::query(
        "INSERT INTO request_app_accounts (customer_id, app, state, last_error, created_at, updated_at)
         VALUES ($1, $2, 'failed', $3, $4, $4)
         ON CONFLICT (customer_id, app) DO UPDATE SET last_error = excluded.last_error,
           state = CASE WHEN request_app_accounts.external_id = '' THEN 'failed' ELSE request_app_accounts.state END,
           updated_at = excluded.updated_at"
    )
    .bind(customer_id)
    .bind(app)
    .bind(error)
    .bind(now)
    .execute(e)
    .await
    })?;
    Ok(())
}

/// Customers the daily sync looks at: active ones on a plan that maps to any app, and every
/// one with an account not yet deleted (to disable or repair it).
pub async fn customers_to_sync(ex: Ex<'_>, now: i64) -> Result<Vec<i64>> {
    let rows: Vec<(i64,)> = run!(ex, |e| sqlx::query_as(
        "SELECT id FROM customers
          WHERE (permanent OR covered_until > $1)
            AND plan_id IN (SELECT plan_id FROM request_app_plans)
         UNION
         SELECT customer_id FROM request_app_accounts WHERE state <> 'deleted'
         ORDER BY 1"
    )
    .bind(now)
    .fetch_all(e)
    .await)?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}
