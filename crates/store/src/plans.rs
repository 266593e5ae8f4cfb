//! Plans (product §10) with the library groups they grant, the groups kept after expiry (grace)
//! and their target servers. The rules over the set of plans live in `boxoffice_domain::plans`;
//! this module only stores what the use cases validated.

use crate::{Ex, Result, StoreError, affected, run};

const COLS: &str = "id, name, description, cost_minor, currency, duration_unit, duration_count, stream_limit, downloads, video_transcoding, emby_device_limit, is_trial, is_default, active, stripe_price_id, paypal_plan_id, max_linked_accounts, sort_order, created_at, updated_at";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PlanRow {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub cost_minor: i64,
    pub currency: String,
    /// `days` or `months`.
    pub duration_unit: String,
    pub duration_count: i64,
    pub stream_limit: Option<i64>,
    pub downloads: bool,
    pub video_transcoding: bool,
    pub emby_device_limit: Option<i64>,
    pub is_trial: bool,
    pub is_default: bool,
    pub active: bool,
    pub stripe_price_id: String,
    pub paypal_plan_id: String,
    pub max_linked_accounts: i64,
    pub sort_order: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A plan with its links.
#[derive(Debug, Clone)]
pub struct PlanRecord {
    pub plan: PlanRow,
    pub library_group_ids: Vec<i64>,
    pub grace_library_group_ids: Vec<i64>,
    pub target_server_ids: Vec<i64>,
}

/// Everything an admin sets on a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanValues {
    pub name: String,
    pub description: String,
    pub cost_minor: i64,
    pub currency: String,
    pub duration_unit: String,
    pub duration_count: i64,
    pub stream_limit: Option<i64>,
    pub downloads: bool,
    pub video_transcoding: bool,
    pub emby_device_limit: Option<i64>,
    pub is_trial: bool,
    pub is_default: bool,
    pub active: bool,
    pub stripe_price_id: String,
    pub paypal_plan_id: String,
    pub max_linked_accounts: i64,
    pub sort_order: i64,
    pub library_group_ids: Vec<i64>,
    pub grace_library_group_ids: Vec<i64>,
    pub target_server_ids: Vec<i64>,
}

/// Every plan with its links, in menu order.
pub async fn list(mut ex: Ex<'_>) -> Result<Vec<PlanRecord>> {
    let sql = format!("SELECT {COLS} FROM plans ORDER BY sort_order, name, id");
    let rows: Vec<PlanRow> = run!(ex.reborrow(), |e| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .fetch_all(e)
        .await)?;
    let groups: Vec<(i64, i64, bool)> = run!(ex.reborrow(), |e| {
        sqlx::query_as(
        "SELECT plan_id, library_group_id, grace FROM plan_library_groups ORDER BY plan_id, library_group_id"
    )
    .fetch_all(e)
    .await
    })?;
    let servers: Vec<(i64, i64)> = run!(ex, |e| sqlx::query_as(
        "SELECT plan_id, server_id FROM plan_target_servers ORDER BY plan_id, server_id"
    )
    .fetch_all(e)
    .await)?;
    Ok(rows
        .into_iter()
        .map(|plan| {
            let of = |grace: bool| {
                groups
                    .iter()
                    .filter(|(p, _, g)| *p == plan.id && *g == grace)
                    .map(|(_, id, _)| *id)
                    .collect()
            };
            PlanRecord {
                library_group_ids: of(false),
                grace_library_group_ids: of(true),
                target_server_ids: servers
                    .iter()
                    .filter(|(p, _)| *p == plan.id)
                    .map(|(_, s)| *s)
                    .collect(),
                plan,
            }
        })
        .collect())
}

pub async fn find(ex: Ex<'_>, id: i64) -> Result<PlanRecord> {
    list(ex)
        .await?
        .into_iter()
        .find(|p| p.plan.id == id)
        .ok_or(StoreError::NotFound)
}

/// Adds a plan with its links. `Conflict` when the name is taken or another plan is default.
pub async fn insert(mut ex: Ex<'_>, v: &PlanValues, now: i64) -> Result<i64> {
    let (id,): (i64,) = run!(ex.reborrow(), |e| {
        sqlx::query_as(
        "INSERT INTO plans (name, description, cost_minor, currency, duration_unit, duration_count, stream_limit,
             downloads, video_transcoding, emby_device_limit, is_trial, is_default, active, stripe_price_id,
             paypal_plan_id, max_linked_accounts, sort_order, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $18) RETURNING id"
    )
    .bind(&v.name)
    .bind(&v.description)
    .bind(v.cost_minor)
    .bind(&v.currency)
    .bind(&v.duration_unit)
    .bind(v.duration_count)
    .bind(v.stream_limit)
    .bind(v.downloads)
    .bind(v.video_transcoding)
    .bind(v.emby_device_limit)
    .bind(v.is_trial)
    .bind(v.is_default)
    .bind(v.active)
    .bind(&v.stripe_price_id)
    .bind(&v.paypal_plan_id)
    .bind(v.max_linked_accounts)
    .bind(v.sort_order)
    .bind(now)
    .fetch_one(e)
    .await
    })?;
    set_links(ex, id, v).await?;
    Ok(id)
}

/// Replaces a plan's values and links. `NotFound` when there is no such plan.
pub async fn update(mut ex: Ex<'_>, id: i64, v: &PlanValues, now: i64) -> Result<()> {
    let n = affected!(ex.reborrow(), |e| {
        sqlx::query(
        "UPDATE plans SET name = $2, description = $3, cost_minor = $4, currency = $5, duration_unit = $6,
             duration_count = $7, stream_limit = $8, downloads = $9, video_transcoding = $10,
             emby_device_limit = $11, is_trial = $12, is_default = $13, active = $14, stripe_price_id = $15,
             paypal_plan_id = $16, max_linked_accounts = $17, sort_order = $18, updated_at = $19
         WHERE id = $1"
    )
    .bind(id)
    .bind(&v.name)
    .bind(&v.description)
    .bind(v.cost_minor)
    .bind(&v.currency)
    .bind(&v.duration_unit)
    .bind(v.duration_count)
    .bind(v.stream_limit)
    .bind(v.downloads)
    .bind(v.video_transcoding)
    .bind(v.emby_device_limit)
    .bind(v.is_trial)
    .bind(v.is_default)
    .bind(v.active)
    .bind(&v.stripe_price_id)
    .bind(&v.paypal_plan_id)
    .bind(v.max_linked_accounts)
    .bind(v.sort_order)
    .bind(now)
    .execute(e)
    .await
    })?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    set_links(ex, id, v).await
}

/// Takes the default mark from every plan but `keep`, so a new default can be saved under the
/// database's one-default index.
pub async fn clear_default_except(ex: Ex<'_>, keep: Option<i64>) -> Result<()> {
    affected!(ex, |e| sqlx::query(
        "UPDATE plans SET is_default = FALSE WHERE is_default AND ($1 IS NULL OR id <> $1)"
    )
    .bind(keep)
    .execute(e)
    .await)?;
    Ok(())
}

async fn set_links(mut ex: Ex<'_>, id: i64, v: &PlanValues) -> Result<()> {
    affected!(ex.reborrow(), |e| sqlx::query(
        "DELETE FROM plan_library_groups WHERE plan_id = $1"
    )
    .bind(id)
    .execute(e)
    .await)?;
    affected!(ex.reborrow(), |e| sqlx::query(
        "DELETE FROM plan_target_servers WHERE plan_id = $1"
    )
    .bind(id)
    .execute(e)
    .await)?;
    let groups = v
        .library_group_ids
        .iter()
        .map(|g| (*g, false))
        .chain(v.grace_library_group_ids.iter().map(|g| (*g, true)));
    for (group, grace) in groups {
        affected!(ex.reborrow(), |e| sqlx::query(
            "INSERT INTO plan_library_groups (plan_id, library_group_id, grace) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING"
        )
        .bind(id)
        .bind(group)
        .bind(grace)
        .execute(e)
        .await)?;
    }
    for server in &v.target_server_ids {
        affected!(ex.reborrow(), |e| {
            sqlx::query(
            "INSERT INTO plan_target_servers (plan_id, server_id) VALUES ($1, $2) ON CONFLICT DO NOTHING"
        )
        .bind(id)
        .bind(*server)
        .execute(e)
        .await
        })?;
    }
    Ok(())
}

/// Whether any payment was made for the plan (such a plan is deactivated, never deleted).
pub async fn has_payments(ex: Ex<'_>, id: i64) -> Result<bool> {
    let (n,): (i64,) = run!(ex, |e| sqlx::query_as(
        "SELECT COUNT(*) FROM payments WHERE plan_id = $1"
    )
    .bind(id)
    .fetch_one(e)
    .await)?;
    Ok(n > 0)
}

/// Deletes a plan and its links. `NotFound` when there is no such plan.
pub async fn delete(ex: Ex<'_>, id: i64) -> Result<()> {
    let n = affected!(ex, |e| sqlx::query("DELETE FROM plans WHERE id = $1")
        .bind(id)
        .execute(e)
        .await)?;
    if n == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}
