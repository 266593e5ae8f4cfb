//! Read-only queries provisioning needs about plans and library groups. The plans and library
//! group modules own writing them; these reads are kept here so provisioning does not depend on
//! their editing API.

use crate::{Ex, Result, StoreError, run};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PlanTerms {
    pub id: i64,
    pub name: String,
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
}

pub async fn plan(ex: Ex<'_>, id: i64) -> Result<PlanTerms> {
    run!(ex, |e| sqlx::query_as(
        "SELECT id, name, cost_minor, currency, duration_unit, duration_count, stream_limit, downloads,
                video_transcoding, emby_device_limit, is_trial, is_default, active FROM plans WHERE id = $1"
    )
    .bind(id)
    .fetch_one(e)
    .await)
    .map_err(StoreError::from)
}

/// The plan's library groups: granted ones (`grace = false`) or those kept after expiry.
pub async fn plan_groups(ex: Ex<'_>, plan_id: i64, grace: bool) -> Result<Vec<i64>> {
    run!(ex, |e| sqlx::query_scalar(
        "SELECT library_group_id FROM plan_library_groups WHERE plan_id = $1 AND grace = $2 ORDER BY library_group_id"
    )
    .bind(plan_id)
    .bind(grace)
    .fetch_all(e)
    .await)
    .map_err(StoreError::from)
}

pub async fn plan_targets(ex: Ex<'_>, plan_id: i64) -> Result<Vec<i64>> {
    run!(ex, |e| sqlx::query_scalar(
        "SELECT server_id FROM plan_target_servers WHERE plan_id = $1 ORDER BY server_id"
    )
    .bind(plan_id)
    .fetch_all(e)
    .await)
    .map_err(StoreError::from)
}

/// The shareable groups each server has current libraries in, as (server, group) pairs.
pub async fn server_groups(ex: Ex<'_>) -> Result<Vec<(i64, i64)>> {
    run!(ex, |e| sqlx::query_as(
        "SELECT DISTINCT l.server_id, l.library_group_id FROM libraries l
         JOIN library_groups g ON g.id = l.library_group_id
         WHERE l.removed_at IS NULL AND NOT g.is_private ORDER BY l.server_id, l.library_group_id"
    )
    .fetch_all(e)
    .await)
    .map_err(StoreError::from)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ShareableLibrary {
    pub id: i64,
    /// The id access is granted by (Plex global section id, Jellyfin/Emby folder id).
    pub global_id: String,
    pub remote_key: String,
    pub name: String,
}

/// The current libraries of a server in the given groups, never those of a private group.
pub async fn libraries_in_groups(
    ex: Ex<'_>,
    server_id: i64,
    group_ids: &[i64],
) -> Result<Vec<ShareableLibrary>> {
    let all = run!(ex, |e| sqlx::query_as::<
        _,
        (i64, String, String, String, i64),
    >(
        "SELECT l.id, l.global_id, l.remote_key, l.name, l.library_group_id FROM libraries l
         JOIN library_groups g ON g.id = l.library_group_id
         WHERE l.server_id = $1 AND l.removed_at IS NULL AND NOT g.is_private ORDER BY l.id"
    )
    .bind(server_id)
    .fetch_all(e)
    .await)?;
    // Filtered here rather than with an IN list, which the two drivers bind differently.
    Ok(all
        .into_iter()
        .filter(|r| group_ids.contains(&r.4))
        .map(|(id, global_id, remote_key, name, _)| ShareableLibrary {
            id,
            global_id,
            remote_key,
            name,
        })
        .collect())
}

/// The given libraries (ours) of a server, current or not, for applying a share.
pub async fn libraries_by_id(
    ex: Ex<'_>,
    server_id: i64,
    ids: &[i64],
) -> Result<Vec<ShareableLibrary>> {
    let all: Vec<ShareableLibrary> = run!(ex, |e| sqlx::query_as(
        "SELECT id, global_id, remote_key, name FROM libraries WHERE server_id = $1 ORDER BY id"
    )
    .bind(server_id)
    .fetch_all(e)
    .await)?;
    Ok(all.into_iter().filter(|l| ids.contains(&l.id)).collect())
}
