//! What customer registration and the password reset write beside the login itself: the
//! confirmed flag, the customer a new login belongs to, and who counts as a current sharer.

use crate::{Ex, Result, StoreError, affected, run};

/// Marks the login's e-mail as confirmed (the registration link, or a password reset, proved it).
pub async fn confirm_login_email(ex: Ex<'_>, login_id: i64) -> Result<()> {
    let n = affected!(ex, |e| sqlx::query(
        "UPDATE logins SET email_confirmed = TRUE WHERE id = $1"
    )
    .bind(login_id)
    .execute(e)
    .await)?;
    if n == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

/// Ties a customer to its site login. `NotFound` when the customer already has another login.
pub async fn link_login(ex: Ex<'_>, customer_id: i64, login_id: i64, now: i64) -> Result<()> {
    let n = affected!(ex, |e| sqlx::query(
        "UPDATE customers SET login_id = $2, updated_at = $3 WHERE id = $1 AND login_id IS NULL"
    )
    .bind(customer_id)
    .bind(login_id)
    .bind(now)
    .execute(e)
    .await)?;
    if n == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

/// The customer's site login, if one is tied to it.
pub async fn login_of_customer(ex: Ex<'_>, customer_id: i64) -> Result<Option<i64>> {
    run!(ex, |e| sqlx::query_scalar::<_, Option<i64>>(
        "SELECT login_id FROM customers WHERE id = $1"
    )
    .bind(customer_id)
    .fetch_one(e)
    .await)
    .map_err(StoreError::from)
}

/// What the registration form gave about the person's media and Discord accounts.
pub struct Details<'a> {
    pub plex_email: &'a str,
    pub jellyfin_username: &'a str,
    pub emby_username: &'a str,
    pub discord_username: &'a str,
    pub discord_id: &'a str,
}

/// Fills the customer's empty identity fields from the registration form; a value already
/// recorded (an imported sharer's Plex e-mail) is kept.
pub async fn fill_details(ex: Ex<'_>, customer_id: i64, d: &Details<'_>, now: i64) -> Result<()> {
    affected!(ex, |e| {
        sqlx::query(
        "UPDATE customers SET
             plex_email = CASE WHEN plex_email = '' THEN $2 ELSE plex_email END,
             jellyfin_username = CASE WHEN jellyfin_username = '' THEN $3 ELSE jellyfin_username END,
             emby_username = CASE WHEN emby_username = '' THEN $4 ELSE emby_username END,
             discord_username = CASE WHEN discord_username = '' THEN $5 ELSE discord_username END,
             discord_id = CASE WHEN discord_id = '' THEN $6 ELSE discord_id END,
             updated_at = $7
         WHERE id = $1"
    )
    .bind(customer_id)
    .bind(d.plex_email)
    .bind(d.jellyfin_username)
    .bind(d.emby_username)
    .bind(d.discord_username)
    .bind(d.discord_id)
    .bind(now)
    .execute(e)
    .await
    })?;
    Ok(())
}

/// Whether some customer known by this e-mail (as their e-mail or their Plex e-mail, both
/// lower-cased) shares one of the servers now: a share that is not removed.
pub async fn is_current_sharer(ex: Ex<'_>, email_key: &str) -> Result<bool> {
    run!(ex, |e| sqlx::query_scalar::<_, bool>(
        "SELECT EXISTS (SELECT 1 FROM customers c JOIN shares s ON s.customer_id = c.id
             WHERE (c.email_key = $1 OR LOWER(c.plex_email) = $1) AND s.state <> 'removed')"
    )
    .bind(email_key)
    .fetch_one(e)
    .await)
    .map_err(StoreError::from)
}

/// The one customer without a site login whose Plex e-mail is this (lower-cased) address: an
/// imported sharer registering with their Plex e-mail. None when there is none or several.
pub async fn unlinked_by_plex_email(ex: Ex<'_>, email_key: &str) -> Result<Option<i64>> {
    let ids: Vec<i64> = run!(ex, |e| {
        sqlx::query_scalar::<_, i64>(
        "SELECT id FROM customers WHERE login_id IS NULL AND LOWER(plex_email) = $1 ORDER BY id LIMIT 2"
    )
    .bind(email_key)
    .fetch_all(e)
    .await
    })?;
    Ok(if ids.len() == 1 {
        ids.first().copied()
    } else {
        None
    })
}
