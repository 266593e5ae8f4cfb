//! Customers ("users" in the admin panel). Active or expired is derived from payments; the
//! `covered_until` column is a denormalised copy of the coverage end, written in the same
//! transaction as the payments it summarises.

use crate::{Ex, Result, StoreError, affected, run};

const COLS: &str = "id, email, email_key, display_name, plex_email, jellyfin_username, emby_username, permanent, paypal_email, notes, plan_id, preferred_location_id, covered_until, deleting_at, created_at, updated_at";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CustomerRow {
    pub id: i64,
    pub email: String,
    pub email_key: String,
    pub display_name: String,
    pub plex_email: String,
    pub jellyfin_username: String,
    pub emby_username: String,
    pub permanent: bool,
    pub paypal_email: String,
    pub notes: String,
    pub plan_id: Option<i64>,
    pub preferred_location_id: Option<i64>,
    pub covered_until: Option<i64>,
    pub deleting_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

pub struct NewCustomer<'a> {
    pub email: &'a str,
    /// The normalised e-mail: one customer per address whatever its case.
    pub email_key: &'a str,
    pub plex_email: &'a str,
    pub jellyfin_username: &'a str,
    pub emby_username: &'a str,
    pub paypal_email: &'a str,
    pub permanent: bool,
    pub plan_id: Option<i64>,
    pub now: i64,
}

/// `Conflict` when a customer with this e-mail exists.
pub async fn insert(ex: Ex<'_>, c: NewCustomer<'_>) -> Result<CustomerRow> {
    let sql = format!(
        "INSERT INTO customers (email, email_key, plex_email, jellyfin_username, emby_username, paypal_email, permanent, plan_id, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING {COLS}"
    );
    run!(ex, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(c.email)
        .bind(c.email_key)
        .bind(c.plex_email)
        .bind(c.jellyfin_username)
        .bind(c.emby_username)
        .bind(c.paypal_email)
        .bind(c.permanent)
        .bind(c.plan_id)
        .bind(c.now)
        .fetch_one(e)
        .await)
    .map_err(StoreError::from)
}

pub async fn find(ex: Ex<'_>, id: i64) -> Result<CustomerRow> {
    let sql = format!("SELECT {COLS} FROM customers WHERE id = $1");
    run!(ex, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_one(e)
        .await)
    .map_err(StoreError::from)
}

pub async fn find_by_email_key(ex: Ex<'_>, key: &str) -> Result<CustomerRow> {
    let sql = format!("SELECT {COLS} FROM customers WHERE email_key = $1");
    run!(ex, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(key)
        .fetch_one(e)
        .await)
    .map_err(StoreError::from)
}

/// Writes the plan and the coverage end; call in the transaction that changed the payments.
/// Sets a customer's plan and coverage end; their linked sub-accounts (if any) follow.
pub async fn set_coverage(
    mut ex: Ex<'_>,
    id: i64,
    plan_id: Option<i64>,
    covered_until: Option<i64>,
    now: i64,
) -> Result<()> {
    let n = affected!(ex.reborrow(), |e| sqlx::query(
        "UPDATE customers SET plan_id = $2, covered_until = $3, updated_at = $4 WHERE id = $1"
    )
    .bind(id)
    .bind(plan_id)
    .bind(covered_until)
    .bind(now)
    .execute(e)
    .await)?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    crate::linked_users::follow_master(ex, id, plan_id, covered_until, now).await?;
    Ok(())
}

pub async fn set_permanent(ex: Ex<'_>, id: i64, permanent: bool, now: i64) -> Result<()> {
    affected!(ex, |e| sqlx::query(
        "UPDATE customers SET permanent = $2, updated_at = $3 WHERE id = $1"
    )
    .bind(id)
    .bind(permanent)
    .bind(now)
    .execute(e)
    .await)?;
    Ok(())
}

pub async fn mark_deleting(ex: Ex<'_>, id: i64, now: i64) -> Result<()> {
    affected!(ex, |e| sqlx::query(
        "UPDATE customers SET deleting_at = $2, updated_at = $2 WHERE id = $1"
    )
    .bind(id)
    .bind(now)
    .execute(e)
    .await)?;
    Ok(())
}

pub async fn delete(ex: Ex<'_>, id: i64) -> Result<u64> {
    Ok(affected!(ex, |e| sqlx::query(
        "DELETE FROM customers WHERE id = $1"
    )
    .bind(id)
    .execute(e)
    .await)?)
}

/// A customer's editable profile and media identities (the Users detail page, PATCH API).
pub struct Profile<'a> {
    pub email: &'a str,
    pub email_key: &'a str,
    pub display_name: &'a str,
    pub plex_email: &'a str,
    pub plex_username: &'a str,
    pub jellyfin_username: &'a str,
    pub emby_username: &'a str,
    pub paypal_email: &'a str,
    pub notes: &'a str,
    pub permanent: bool,
}

/// Rewrites the profile; `Conflict` when another customer has the e-mail, `NotFound` when gone.
pub async fn update_profile(ex: Ex<'_>, id: i64, p: &Profile<'_>, now: i64) -> Result<()> {
    let n = affected!(ex, |e| sqlx::query(
        "UPDATE customers SET email = $2, email_key = $3, display_name = $4, plex_email = $5,
             plex_username = $6, jellyfin_username = $7, emby_username = $8, paypal_email = $9,
             notes = $10, permanent = $11, updated_at = $12 WHERE id = $1"
    )
    .bind(id)
    .bind(p.email)
    .bind(p.email_key)
    .bind(p.display_name)
    .bind(p.plex_email)
    .bind(p.plex_username)
    .bind(p.jellyfin_username)
    .bind(p.emby_username)
    .bind(p.paypal_email)
    .bind(p.notes)
    .bind(p.permanent)
    .bind(now)
    .execute(e)
    .await)?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// The Plex username (not in `CustomerRow`, which the lifecycle reads by a fixed column list).
pub async fn plex_username(ex: Ex<'_>, id: i64) -> Result<String> {
    run!(ex, |e| sqlx::query_scalar::<_, String>(
        "SELECT plex_username FROM customers WHERE id = $1"
    )
    .bind(id)
    .fetch_one(e)
    .await)
    .map_err(StoreError::from)
}

/// The location the customer chose at checkout; selection prefers servers there.
pub async fn set_preferred_location(
    ex: Ex<'_>,
    id: i64,
    location_id: Option<i64>,
    now: i64,
) -> Result<()> {
    crate::affected!(ex, |e| sqlx::query(
        "UPDATE customers SET preferred_location_id = $2, updated_at = $3 WHERE id = $1"
    )
    .bind(id)
    .bind(location_id)
    .bind(now)
    .execute(e)
    .await)?;
    Ok(())
}
