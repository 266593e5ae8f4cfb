use super::auth::{ApiCaller, Authorized, need};
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
/// invalid (422 naming it). Values are JSON strings; a yes/no setting also takes `true`/`false`
/// and a whole-number setting a JSON number, but nothing else is turned into text.
#[utoipa::path(patch, path = "/api/v1/settings", request_body(content = Object, description = "Keys and their new values as strings, e.g. {\"reminders.days_prior\": \"7,3,1\"}; booleans and whole numbers may also be JSON true/false and numbers"),
    responses((status = 200, body = [SettingOut]), (status = 403, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn update(
    State(st): State<WebState>,
    caller: Authorized<need::SettingsWrite>,
    Json(body): Json<BTreeMap<String, serde_json::Value>>,
) -> Result<Json<Vec<SettingOut>>, ApiError> {
    let changes = body
        .into_iter()
        .map(|(k, v)| as_text(&k, v).map(|s| (k, s)))
        .collect::<Result<Vec<_>, _>>()?;
    st.app.set_settings(&caller.actor(), &changes).await?;
    list(State(st), caller.0).await
}

/// A setting's value as the text the settings registry validates. Only a setting that is a
/// yes/no or a whole number takes something other than a string, so `{"general.site_name": 5}`
/// is refused instead of naming the site "5".
fn as_text(key: &str, v: serde_json::Value) -> Result<String, ApiError> {
    use boxoffice_domain::settings::Kind;
    use serde_json::Value;
    let kind = boxoffice_domain::settings::find(key).map(|d| d.kind);
    match (v, kind) {
        (Value::String(s), _) => Ok(s),
        (Value::Bool(b), Some(Kind::Bool)) => Ok(b.to_string()),
        (Value::Number(n), Some(Kind::Int { .. })) if n.is_i64() => Ok(n.to_string()),
        // An unknown key is reported by the registry, with the closest known one.
        (_, None) => Ok(String::new()),
        (other, Some(kind)) => {
            let wanted = match kind {
                Kind::Bool => "true, false or a string",
                Kind::Int { .. } => "a whole number or a string",
                _ => "a JSON string",
            };
            let got = match other {
                Value::Null => "null",
                Value::Bool(_) => "a boolean",
                Value::Number(_) => "a number",
                Value::Array(_) => "an array",
                Value::Object(_) => "an object",
                Value::String(_) => "a string",
            };
            Err(ApiError {
                field: Some("value"),
                ..ApiError::new(
                    axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid",
                    format!("{key}: expected {wanted}, got {got}; nothing was changed"),
                )
            })
        }
    }
}
