use super::auth::ApiCaller;
use axum::Json;
use serde::Serialize;

#[derive(Serialize, utoipa::ToSchema)]
pub struct Me {
    pub login_id: i64,
    pub email: String,
    /// Permission names, e.g. `users.read`.
    pub permissions: Vec<String>,
}

/// The login behind the token and what it may do.
#[utoipa::path(get, path = "/api/v1/me", responses((status = 200, body = Me), (status = 401, body = crate::error::ErrorBody)))]
pub async fn me(caller: ApiCaller) -> Json<Me> {
    let c = caller.0;
    Json(Me {
        login_id: c.login_id,
        email: c.email,
        permissions: c.permissions.iter().map(|p| p.name().to_string()).collect(),
    })
}
