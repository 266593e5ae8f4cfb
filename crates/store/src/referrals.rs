//! Referral codes, who referred whom, and the credits referrers earned (product §8.11). A credit
//! is unique per referred customer, so the first-payment hook can run any number of times.
//! Like the discount uses, writes here may run in a caller's transaction and never rely on a
//! unique violation.

use crate::{Ex, Result, affected, run};

/// The customer's referral code, if one was made.
pub async fn code_of(ex: Ex<'_>, customer_id: i64) -> Result<Option<String>> {
    Ok(run!(ex, |e| sqlx::query_scalar(
        "SELECT code FROM referral_codes WHERE customer_id = $1"
    )
    .bind(customer_id)
    .fetch_optional(e)
    .await)?)
}

/// Gives the customer `code` unless they have one or the code is taken; answers whether it wrote.
pub async fn insert_code(ex: Ex<'_>, customer_id: i64, code: &str, now: i64) -> Result<bool> {
    let n = affected!(ex, |e| {
        sqlx::query(
        "INSERT INTO referral_codes (customer_id, code, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING"
    )
    .bind(customer_id)
    .bind(code)
    .bind(now)
    .execute(e)
    .await
    })?;
    Ok(n == 1)
}

/// The customer whose code is `code` (normalised).
pub async fn owner_of(ex: Ex<'_>, code: &str) -> Result<Option<i64>> {
    Ok(run!(ex, |e| sqlx::query_scalar(
        "SELECT customer_id FROM referral_codes WHERE code = $1"
    )
    .bind(code)
    .fetch_optional(e)
    .await)?)
}

/// Records that `referrer` referred `referred`; a customer is referred once (the first wins).
pub async fn insert_referral(
    ex: Ex<'_>,
    referred: i64,
    referrer: i64,
    code: &str,
    now: i64,
) -> Result<bool> {
    let n = affected!(ex, |e| {
        sqlx::query(
        "INSERT INTO referrals (referred_customer_id, referrer_customer_id, code, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING"
    )
    .bind(referred)
    .bind(referrer)
    .bind(code)
    .bind(now)
    .execute(e)
    .await
    })?;
    Ok(n == 1)
}

/// Who referred `referred`, with the code used.
pub async fn referrer_of(ex: Ex<'_>, referred: i64) -> Result<Option<(i64, String)>> {
    Ok(run!(ex, |e| sqlx::query_as(
        "SELECT referrer_customer_id, code FROM referrals WHERE referred_customer_id = $1"
    )
    .bind(referred)
    .fetch_optional(e)
    .await)?)
}

/// How many customers `referrer` referred.
pub async fn referred_count(ex: Ex<'_>, referrer: i64) -> Result<i64> {
    Ok(run!(ex, |e| sqlx::query_scalar(
        "SELECT COUNT(*) FROM referrals WHERE referrer_customer_id = $1"
    )
    .bind(referrer)
    .fetch_one(e)
    .await)?)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CreditRow {
    pub id: i64,
    pub referrer_customer_id: i64,
    pub referred_customer_id: Option<i64>,
    pub trigger_reference: String,
    /// `days` or `credit`.
    pub kind: String,
    pub days: i64,
    pub amount_minor: i64,
    pub currency: String,
    /// `applied`, `pending` or `used`.
    pub state: String,
    pub bonus_payment_id: Option<i64>,
    pub used_reference: String,
    pub created_at: i64,
    pub used_at: Option<i64>,
}

const CREDIT_COLS: &str = "id, referrer_customer_id, referred_customer_id, trigger_reference, kind, days, amount_minor, currency, state, bonus_payment_id, used_reference, created_at, used_at";

pub struct NewCredit<'a> {
    pub referrer: i64,
    pub referred: i64,
    pub trigger_reference: &'a str,
    pub kind: &'a str,
    pub days: i64,
    pub amount_minor: i64,
    pub currency: &'a str,
    pub state: &'a str,
    pub now: i64,
}

/// Records a credit; `None` when the referred customer already earned one.
pub async fn insert_credit(ex: Ex<'_>, c: &NewCredit<'_>) -> Result<Option<i64>> {
    Ok(run!(ex, |e| {
        sqlx::query_scalar(
        "INSERT INTO referral_credits (referrer_customer_id, referred_customer_id, trigger_reference, kind, days, amount_minor, currency, state, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING RETURNING id"
    )
    .bind(c.referrer)
    .bind(c.referred)
    .bind(c.trigger_reference)
    .bind(c.kind)
    .bind(c.days)
    .bind(c.amount_minor)
    .bind(c.currency)
    .bind(c.state)
    .bind(c.now)
    .fetch_optional(e)
    .await
    })?)
}

/// Ties a days credit to the payment that carried its days.
pub async fn set_bonus_payment(ex: Ex<'_>, id: i64, payment_id: i64) -> Result<()> {
    affected!(ex, |e| sqlx::query(
        "UPDATE referral_credits SET bonus_payment_id = $2 WHERE id = $1"
    )
    .bind(id)
    .bind(payment_id)
    .execute(e)
    .await)?;
    Ok(())
}

/// The credit a referred customer earned their referrer, if any.
pub async fn credit_for_referred(ex: Ex<'_>, referred: i64) -> Result<Option<CreditRow>> {
    let sql = format!("SELECT {CREDIT_COLS} FROM referral_credits WHERE referred_customer_id = $1");
    Ok(run!(ex, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(referred)
        .fetch_optional(e)
        .await)?)
}

/// Every credit `referrer` earned, newest first.
pub async fn credits_of(ex: Ex<'_>, referrer: i64) -> Result<Vec<CreditRow>> {
    let sql = format!(
        "SELECT {CREDIT_COLS} FROM referral_credits WHERE referrer_customer_id = $1 ORDER BY created_at DESC, id DESC"
    );
    Ok(run!(ex, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(referrer)
        .fetch_all(e)
        .await)?)
}

/// Marks `referrer`'s pending credits used by `reference` and returns them (oldest first).
pub async fn use_pending(
    ex: Ex<'_>,
    referrer: i64,
    reference: &str,
    now: i64,
) -> Result<Vec<CreditRow>> {
    let sql = format!(
        "UPDATE referral_credits SET state = 'used', used_reference = $2, used_at = $3
         WHERE referrer_customer_id = $1 AND state = 'pending' RETURNING {CREDIT_COLS}"
    );
    let mut rows: Vec<CreditRow> = run!(ex, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(referrer)
        .bind(reference)
        .bind(now)
        .fetch_all(e)
        .await)?;
    rows.sort_by_key(|r| (r.created_at, r.id));
    Ok(rows)
}

/// `referrer`'s pending money credits in `currency`, oldest first.
pub async fn pending_money(ex: Ex<'_>, referrer: i64, currency: &str) -> Result<Vec<CreditRow>> {
    let sql = format!(
        "SELECT {CREDIT_COLS} FROM referral_credits WHERE referrer_customer_id = $1 \
         AND state = 'pending' AND kind = 'credit' AND UPPER(currency) = UPPER($2) \
         ORDER BY created_at, id"
    );
    Ok(run!(ex, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(referrer)
        .bind(currency)
        .fetch_all(e)
        .await)?)
}

/// Marks the credit `id` of `referrer` used by `reference` if it is still pending; answers
/// whether it was.
pub async fn use_credit(
    ex: Ex<'_>,
    referrer: i64,
    id: i64,
    reference: &str,
    now: i64,
) -> Result<bool> {
    let n = affected!(ex, |e| {
        sqlx::query(
            "UPDATE referral_credits SET state = 'used', used_reference = $3, used_at = $4 \
             WHERE id = $1 AND referrer_customer_id = $2 AND state = 'pending'",
        )
        .bind(id)
        .bind(referrer)
        .bind(reference)
        .bind(now)
        .execute(e)
        .await
    })?;
    Ok(n == 1)
}

/// Puts the credits `reference` took back to pending (a checkout that failed or expired).
pub async fn release_used(ex: Ex<'_>, reference: &str) -> Result<u64> {
    Ok(affected!(ex, |e| {
        sqlx::query(
            "UPDATE referral_credits SET state = 'pending', used_reference = '', used_at = NULL \
             WHERE state = 'used' AND used_reference = $1",
        )
        .bind(reference)
        .execute(e)
        .await
    })?)
}

/// A payment's customer, amount and currency, for the first-payment hook.
pub async fn payment_amount(ex: Ex<'_>, payment_id: i64) -> Result<Option<(i64, i64, String)>> {
    Ok(run!(ex, |e| sqlx::query_as(
        "SELECT customer_id, amount_minor, currency FROM payments WHERE id = $1"
    )
    .bind(payment_id)
    .fetch_optional(e)
    .await)?)
}
