use super::auth::ApiCaller;
use crate::{ApiError, WebState};
use axum::Json;
use axum::extract::State;
use boxoffice_domain::Permission;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Serialize, utoipa::ToSchema)]
pub struct SettingOut {
    pub key: String,
    pub section: String,
    pub label: String,
    pub help: String,
    /// bool, int, text, secret, email, url, currency, day_list, choice or schedule.
    pub kind: String,
    /// The effective value; a secret shows only "(set)" or "".
    pub value: String,
    pub is_default: bool,
}

/// Every runtime setting with its effective value. Secrets are never returned.
#[utoipa::path(get, path = "/api/v1/settings", responses((status = 200, body = [SettingOut]), (status = 403, body = crate::error::ErrorBody)))]
pub async fn list(
    State(st): State<WebState>,
    caller: ApiCaller,
) -> Result<Json<Vec<SettingOut>>, ApiError> {
    caller.require(Permission::SettingsRead)?;
    let views = st.app.settings().await?.view();
    Ok(Json(
        views
            .into_iter()
            .map(|v| SettingOut {
                key: v.key.into(),
                section: v.section.into(),
                label: v.label.into(),
                help: v.help.into(),
                kind: v.kind.into(),
                value: v.value,
                is_default: v.is_default,
            })
            .collect(),
    ))
}

/// Changes several settings at once: all are validated first, and none is stored if one is
/// invalid (422 naming it).
#[utoipa::path(patch, path = "/api/v1/settings", request_body(content = Object, description = "Keys and their new values as strings, e.g. {\"reminders.days_prior\": \"7,3,1\"}"),
    responses((status = 200, body = [SettingOut]), (status = 422, body = crate::error::ErrorBody)))]
pub async fn update(
    State(st): State<WebState>,
    caller: ApiCaller,
    Json(body): Json<BTreeMap<String, serde_json::Value>>,
) -> Result<Json<Vec<SettingOut>>, ApiError> {
    caller.require(Permission::SettingsWrite)?;
    let changes: Vec<(String, String)> = body
        .into_iter()
        .map(|(k, v)| {
            let s = match v {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            };
            (k, s)
        })
        .collect();
    st.app.set_settings(&caller.actor(), &changes).await?;
    list(State(st), caller).await
}
