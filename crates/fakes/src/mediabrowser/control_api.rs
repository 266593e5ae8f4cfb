//! Jellyfin/Emby control API: seed users/libraries/devices/sessions, settings, state.

use super::*;
use axum::routing::{get, post};

// Control API (shared by both fakes) ---------------------------------------------------------

pub(crate) fn state_json(st: &MbState) -> Value {
    let mut v = serde_json::to_value(st).unwrap_or(Value::Null);
    let access: Vec<Value> = st
        .users
        .iter()
        .map(|user| {
            let all = user.flag("EnableAllFolders");
            let enabled: Vec<String> = user.policy["EnabledFolders"]
                .as_array()
                .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect())
                .unwrap_or_default();
            let libs: Vec<String> = st
                .libraries
                .iter()
                .filter(|l| all || enabled.contains(&st.folder_policy_id(l)) || (st.kind.is_emby() && enabled.contains(&l.id)))
                .map(|l| l.name.clone())
                .collect();
            json!({"id": user.id, "name": user.name, "libraries": libs,
                   "EnableContentDownloading": user.flag("EnableContentDownloading"),
                   "IsDisabled": user.flag("IsDisabled"), "IsAdministrator": user.flag("IsAdministrator")})
        })
        .collect();
    v["access"] = Value::Array(access);
    v
}

pub(crate) fn control_routes(state: Shared) -> Router {
    Router::new()
        .route("/state", get(c_state))
        .route("/settings", axum::routing::put(c_settings))
        .route("/users", post(c_user))
        .route("/libraries", post(c_library))
        .route("/devices", post(c_device))
        .route("/sessions", post(c_start).get(c_sessions))
        .route("/sessions/{id}", axum::routing::delete(c_end))
        .with_state(St { state })
}

pub(super) async fn c_state(State(s): State<St>) -> Json<Value> {
    Json(state_json(&lock(&s.state)))
}

/// `{"legacy_authorization": bool, "void_status": 200|204}`
pub(super) async fn c_settings(State(s): State<St>, Json(v): Json<Value>) -> Response {
    let mut st = lock(&s.state);
    if let Some(b) = v.get("legacy_authorization").and_then(Value::as_bool) {
        st.legacy_auth = b;
    }
    if let Some(n) = v.get("void_status").and_then(Value::as_u64) {
        st.void_status = if n == 200 { 200 } else { 204 };
    }
    StatusCode::NO_CONTENT.into_response()
}

pub(super) async fn c_user(State(s): State<St>, Json(seed): Json<MbUserSeed>) -> Response {
    let mut st = lock(&s.state);
    let user = st.add_user(seed);
    (StatusCode::CREATED, Json(st.user_dto(&user))).into_response()
}

pub(super) async fn c_library(State(s): State<St>, Json(seed): Json<MbLibrarySeed>) -> Response {
    let lib = lock(&s.state).add_library(&seed);
    (StatusCode::CREATED, Json(lib)).into_response()
}

pub(super) async fn c_device(State(s): State<St>, Json(seed): Json<MbDeviceSeed>) -> Response {
    match seed_device(&mut lock(&s.state), seed) {
        Ok(id) => (StatusCode::CREATED, Json(json!({ "id": id }))).into_response(),
        Err(e) => control::bad(StatusCode::BAD_REQUEST, e),
    }
}

pub(crate) fn seed_device(st: &mut MbState, seed: MbDeviceSeed) -> Result<String, String> {
    let user = st
        .user_by_name_or_id(&seed.user)
        .cloned()
        .ok_or_else(|| format!("unknown user {}", seed.user))?;
    let id = seed.id.unwrap_or_else(|| ids::hex(16));
    let app = seed.app_name.unwrap_or_else(|| "Web".into());
    st.register_device(
        &user.id,
        &id,
        &seed.name,
        &app,
        seed.ip.as_deref().unwrap_or("203.0.113.20"),
    );
    Ok(id)
}

pub(super) async fn c_start(State(s): State<St>, Json(seed): Json<SessionSeed>) -> Response {
    match lock(&s.state).start_session(seed) {
        Ok(id) => (StatusCode::CREATED, Json(json!({ "id": id }))).into_response(),
        Err(e) => control::bad(StatusCode::BAD_REQUEST, e),
    }
}

pub(super) async fn c_sessions(State(s): State<St>) -> Json<Value> {
    let st = lock(&s.state);
    Json(json!({ "active": st.sessions, "stopped": st.stopped }))
}

pub(super) async fn c_end(State(s): State<St>, Path(id): Path<String>) -> StatusCode {
    let mut st = lock(&s.state);
    let before = st.sessions.len();
    st.drop_sessions("control", |x| x.id == id);
    if st.sessions.len() < before {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::NOT_FOUND
    }
}
