//! Discount codes (product §16), the plans each applies to, and their uses. The rules live in
//! `boxoffice_domain::discounts`; this module stores what the use cases checked.
//!
//! Recording a use runs inside a checkout's or a webhook's transaction, so nothing here relies on
//! a unique violation (which would end a PostgreSQL transaction): inserts say `ON CONFLICT DO
//! NOTHING` and report whether they wrote, and the use count is taken with one conditional update.

use crate::{Ex, Result, StoreError, affected, run};

const COLS: &str = "id, code, description, percent_off, amount_off_minor, currency, customer_email, customer_email_key, expires_at, max_uses, once_per_customer, active, used_count, created_at, updated_at";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CodeRow {
    pub id: i64,
    pub code: String,
    pub description: String,
    pub percent_off: Option<i64>,
    pub amount_off_minor: Option<i64>,
    pub currency: String,
    pub customer_email: String,
    pub customer_email_key: String,
    pub expires_at: Option<i64>,
    pub max_uses: Option<i64>,
    pub once_per_customer: bool,
    pub active: bool,
    pub used_count: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A code with the plans it applies to (empty = every plan).
#[derive(Debug, Clone)]
pub struct CodeRecord {
    pub code: CodeRow,
    pub plan_ids: Vec<i64>,
}

/// Everything an administrator sets on a code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeValues {
    pub code: String,
    pub description: String,
    pub percent_off: Option<i64>,
    pub amount_off_minor: Option<i64>,
    pub currency: String,
    pub customer_email: String,
    pub customer_email_key: String,
    pub expires_at: Option<i64>,
    pub max_uses: Option<i64>,
    pub once_per_customer: bool,
    pub active: bool,
    pub plan_ids: Vec<i64>,
}

async fn plan_links(ex: Ex<'_>, code_id: Option<i64>) -> Result<Vec<(i64, i64)>> {
    Ok(run!(ex, |e| {
        sqlx::query_as(
        "SELECT code_id, plan_id FROM discount_code_plans WHERE $1 IS NULL OR code_id = $1 ORDER BY code_id, plan_id"
    )
    .bind(code_id)
    .fetch_all(e)
    .await
    })?)
}

fn attach(rows: Vec<CodeRow>, links: &[(i64, i64)]) -> Vec<CodeRecord> {
    rows.into_iter()
        .map(|code| CodeRecord {
            plan_ids: links
                .iter()
                .filter(|(c, _)| *c == code.id)
                .map(|(_, p)| *p)
                .collect(),
            code,
        })
        .collect()
}

/// Every code, newest first.
pub async fn list(mut ex: Ex<'_>) -> Result<Vec<CodeRecord>> {
    let sql = format!("SELECT {COLS} FROM discount_codes ORDER BY created_at DESC, id DESC");
    let rows: Vec<CodeRow> = run!(ex.reborrow(), |e| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .fetch_all(e)
        .await)?;
    let links = plan_links(ex, None).await?;
    Ok(attach(rows, &links))
}

pub async fn find(mut ex: Ex<'_>, id: i64) -> Result<CodeRecord> {
    let sql = format!("SELECT {COLS} FROM discount_codes WHERE id = $1");
    let row: CodeRow = run!(ex.reborrow(), |e| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_one(e)
        .await)?;
    let links = plan_links(ex, Some(id)).await?;
    Ok(attach(vec![row], &links).remove(0))
}

/// The code spelled `code` (already normalised).
pub async fn find_by_code(mut ex: Ex<'_>, code: &str) -> Result<CodeRecord> {
    let sql = format!("SELECT {COLS} FROM discount_codes WHERE code = $1");
    let row: CodeRow = run!(ex.reborrow(), |e| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(code)
        .fetch_one(e)
        .await)?;
    let id = row.id;
    let links = plan_links(ex, Some(id)).await?;
    Ok(attach(vec![row], &links).remove(0))
}

/// Whether another code (not `except`) is spelled `code`; checked before writing so a taken code
/// is a clear answer instead of a unique violation.
pub async fn code_taken(ex: Ex<'_>, code: &str, except: Option<i64>) -> Result<bool> {
    let n: i64 = run!(ex, |e| sqlx::query_scalar(
        "SELECT COUNT(*) FROM discount_codes WHERE code = $1 AND ($2 IS NULL OR id <> $2)"
    )
    .bind(code)
    .bind(except)
    .fetch_one(e)
    .await)?;
    Ok(n > 0)
}

async fn set_plans(mut ex: Ex<'_>, id: i64, plan_ids: &[i64]) -> Result<()> {
    affected!(ex.reborrow(), |e| sqlx::query(
        "DELETE FROM discount_code_plans WHERE code_id = $1"
    )
    .bind(id)
    .execute(e)
    .await)?;
    for p in plan_ids {
        affected!(ex.reborrow(), |e| sqlx::query(
            "INSERT INTO discount_code_plans (code_id, plan_id) VALUES ($1, $2)"
        )
        .bind(id)
        .bind(*p)
        .execute(e)
        .await)?;
    }
    Ok(())
}

pub async fn insert(mut ex: Ex<'_>, v: &CodeValues, now: i64) -> Result<i64> {
    let id: i64 = run!(ex.reborrow(), |e| {
        sqlx::query_scalar(
        "INSERT INTO discount_codes (code, description, percent_off, amount_off_minor, currency, customer_email, customer_email_key, expires_at, max_uses, once_per_customer, active, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) RETURNING id"
    )
    .bind(&v.code)
    .bind(&v.description)
    .bind(v.percent_off)
    .bind(v.amount_off_minor)
    .bind(&v.currency)
    .bind(&v.customer_email)
    .bind(&v.customer_email_key)
    .bind(v.expires_at)
    .bind(v.max_uses)
    .bind(v.once_per_customer)
    .bind(v.active)
    .bind(now)
    .fetch_one(e)
    .await
    })?;
    set_plans(ex, id, &v.plan_ids).await?;
    Ok(id)
}

/// Replaces what an administrator sets; the use count is kept.
pub async fn update(mut ex: Ex<'_>, id: i64, v: &CodeValues, now: i64) -> Result<()> {
    let n = affected!(ex.reborrow(), |e| {
        sqlx::query(
        "UPDATE discount_codes SET code = $2, description = $3, percent_off = $4, amount_off_minor = $5, currency = $6,
             customer_email = $7, customer_email_key = $8, expires_at = $9, max_uses = $10, once_per_customer = $11,
             active = $12, updated_at = $13 WHERE id = $1"
    )
    .bind(id)
    .bind(&v.code)
    .bind(&v.description)
    .bind(v.percent_off)
    .bind(v.amount_off_minor)
    .bind(&v.currency)
    .bind(&v.customer_email)
    .bind(&v.customer_email_key)
    .bind(v.expires_at)
    .bind(v.max_uses)
    .bind(v.once_per_customer)
    .bind(v.active)
    .bind(now)
    .execute(e)
    .await
    })?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    set_plans(ex, id, &v.plan_ids).await
}

pub async fn set_active(ex: Ex<'_>, id: i64, active: bool, now: i64) -> Result<()> {
    let n = affected!(ex, |e| sqlx::query(
        "UPDATE discount_codes SET active = $2, updated_at = $3 WHERE id = $1"
    )
    .bind(id)
    .bind(active)
    .bind(now)
    .execute(e)
    .await)?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// How many times `customer_id` used the code.
pub async fn customer_uses(ex: Ex<'_>, code_id: i64, customer_id: i64) -> Result<i64> {
    Ok(run!(ex, |e| sqlx::query_scalar(
        "SELECT COUNT(*) FROM discount_redemptions WHERE code_id = $1 AND customer_id = $2"
    )
    .bind(code_id)
    .bind(customer_id)
    .fetch_one(e)
    .await)?)
}

/// Counts one use if the limit (`limit`, `None` = unlimited) allows it; answers whether it did.
/// One conditional statement, so two checkouts racing for the last use cannot both get it.
pub async fn take_use(ex: Ex<'_>, code_id: i64, limit: Option<i64>, now: i64) -> Result<bool> {
    let n = affected!(ex, |e| sqlx::query(
        "UPDATE discount_codes SET used_count = used_count + 1, updated_at = $3
         WHERE id = $1 AND ($2 IS NULL OR used_count < $2)"
    )
    .bind(code_id)
    .bind(limit)
    .bind(now)
    .execute(e)
    .await)?;
    Ok(n == 1)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RedemptionRow {
    pub id: i64,
    pub code_id: i64,
    pub customer_id: i64,
    pub reference: String,
    pub plan_id: Option<i64>,
    pub price_minor: i64,
    pub discount_minor: i64,
    pub currency: String,
    pub created_at: i64,
}

const REDEMPTION_COLS: &str = "id, code_id, customer_id, reference, plan_id, price_minor, discount_minor, currency, created_at";

pub struct NewRedemption<'a> {
    pub code_id: i64,
    pub customer_id: i64,
    pub reference: &'a str,
    pub once_per_customer: bool,
    pub plan_id: i64,
    pub price_minor: i64,
    pub discount_minor: i64,
    pub currency: &'a str,
    pub now: i64,
}

/// Records a use; `None` when one already exists for this reference, or (for a once-per-customer
/// code) for this customer.
pub async fn insert_redemption(ex: Ex<'_>, r: &NewRedemption<'_>) -> Result<Option<i64>> {
    Ok(run!(ex, |e| {
        sqlx::query_scalar(
        "INSERT INTO discount_redemptions (code_id, customer_id, reference, once_per_customer, plan_id, price_minor, discount_minor, currency, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING RETURNING id"
    )
    .bind(r.code_id)
    .bind(r.customer_id)
    .bind(r.reference)
    .bind(r.once_per_customer)
    .bind(r.plan_id)
    .bind(r.price_minor)
    .bind(r.discount_minor)
    .bind(r.currency)
    .bind(r.now)
    .fetch_optional(e)
    .await
    })?)
}

/// The use recorded for `reference`, if any.
pub async fn redemption_for(
    ex: Ex<'_>,
    code_id: i64,
    reference: &str,
) -> Result<Option<RedemptionRow>> {
    let sql = format!(
        "SELECT {REDEMPTION_COLS} FROM discount_redemptions WHERE code_id = $1 AND reference = $2"
    );
    Ok(run!(ex, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(code_id)
        .bind(reference)
        .fetch_optional(e)
        .await)?)
}

/// A code's uses with each customer's e-mail, newest first.
pub async fn redemptions(ex: Ex<'_>, code_id: i64) -> Result<Vec<(RedemptionRow, String)>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        r: RedemptionRow,
        email: String,
    }
    let rows: Vec<Row> = run!(ex, |e| {
        sqlx::query_as(
        "SELECT r.id, r.code_id, r.customer_id, r.reference, r.plan_id, r.price_minor, r.discount_minor, r.currency, r.created_at, c.email
         FROM discount_redemptions r JOIN customers c ON c.id = r.customer_id
         WHERE r.code_id = $1 ORDER BY r.created_at DESC, r.id DESC"
    )
    .bind(code_id)
    .fetch_all(e)
    .await
    })?;
    Ok(rows.into_iter().map(|r| (r.r, r.email)).collect())
}

/// Takes back a use recorded in this transaction (its count could not be taken).
pub async fn delete_redemption(ex: Ex<'_>, id: i64) -> Result<()> {
    affected!(ex, |e| sqlx::query(
        "DELETE FROM discount_redemptions WHERE id = $1"
    )
    .bind(id)
    .execute(e)
    .await)?;
    Ok(())
}
