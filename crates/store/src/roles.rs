use crate::{Ex, Result, StoreError, affected, run};
use boxoffice_domain::permission::{self, Permission, RoleKind};

#[derive(Debug, Clone, sqlx::FromRow)]
struct RoleRow {
    id: i64,
    name: String,
    kind: String,
    permissions: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    pub id: i64,
    pub name: String,
    pub kind: RoleKind,
    /// What the role grants: fixed for the built-ins, stored for custom roles.
    pub permissions: Vec<Permission>,
}

impl TryFrom<RoleRow> for Role {
    type Error = StoreError;
    fn try_from(r: RoleRow) -> Result<Self> {
        let kind = RoleKind::parse(&r.kind)
            .ok_or_else(|| StoreError::Corrupt(format!("role {} has kind {}", r.id, r.kind)))?;
        let stored = permission::parse_list(&r.permissions).map_err(StoreError::Corrupt)?;
        Ok(Role {
            id: r.id,
            name: r.name,
            kind,
            permissions: permission::effective_permissions(kind, &stored),
        })
    }
}

pub async fn find_builtin(ex: Ex<'_>, kind: RoleKind) -> Result<Role> {
    let row: RoleRow = run!(ex, |e| sqlx::query_as(
        "SELECT id, name, kind, permissions FROM roles WHERE kind = $1 ORDER BY id LIMIT 1"
    )
    .bind(kind.as_str())
    .fetch_one(e)
    .await)?;
    row.try_into()
}

pub async fn find(ex: Ex<'_>, id: i64) -> Result<Role> {
    let row: RoleRow = run!(ex, |e| sqlx::query_as(
        "SELECT id, name, kind, permissions FROM roles WHERE id = $1"
    )
    .bind(id)
    .fetch_one(e)
    .await)?;
    row.try_into()
}

pub async fn list(ex: Ex<'_>) -> Result<Vec<Role>> {
    let rows: Vec<RoleRow> = run!(ex, |e| sqlx::query_as(
        "SELECT id, name, kind, permissions FROM roles ORDER BY id"
    )
    .fetch_all(e)
    .await)?;
    rows.into_iter().map(Role::try_from).collect()
}

pub async fn create_custom(
    ex: Ex<'_>,
    name: &str,
    permissions: &[Permission],
    now: i64,
) -> Result<Role> {
    let row: RoleRow = run!(ex, |e| {
        sqlx::query_as(
        "INSERT INTO roles (name, kind, permissions, created_at) VALUES ($1, 'custom', $2, $3) RETURNING id, name, kind, permissions"
    )
    .bind(name)
    .bind(permission::format_list(permissions))
    .bind(now)
    .fetch_one(e)
    .await
    })?;
    row.try_into()
}

/// Changes a custom role's permissions. Built-in roles are immutable: asking for one is `NotFound`.
pub async fn set_permissions(ex: Ex<'_>, id: i64, permissions: &[Permission]) -> Result<()> {
    let n = affected!(ex, |e| sqlx::query(
        "UPDATE roles SET permissions = $1 WHERE id = $2 AND kind = 'custom'"
    )
    .bind(permission::format_list(permissions))
    .bind(id)
    .execute(e)
    .await)?;
    if n == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}
