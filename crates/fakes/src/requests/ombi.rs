//! Ombi fake (ref §4.2). Auth by header `ApiKey` (or `?apikey=`); a wrong key answers 401
//! `Invalid API Key`. Create, update and delete always answer HTTP 200 with
//! `{"successful", "errors"}`; logical failures (bad e-mail, taken e-mail, unknown user) are
//! `successful: false`.

use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{next_secret, request_fake_api};
use crate::control;
use crate::faults::{Core, Flavor, lock};
use crate::http_util::{self, header_str};
use crate::routing::{PathStyle, RouteTable, Routes};
use crate::server::{Running, serve};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct OmbiUser {
    pub id: String,
    pub user_name: String,
    pub email_address: String,
    /// Enabled role names.
    pub roles: Vec<String>,
    pub movie_request_limit: i64,
    pub episode_request_limit: i64,
    pub music_request_limit: i64,
    /// 1 local, 2 Plex, 3 Emby, 5 Jellyfin.
    pub user_type: i64,
    #[serde(default, skip_serializing)]
    pub password: String,
}

#[derive(Debug, Default, Serialize)]
struct OmbiState {
    api_key: String,
    next: u64,
    users: Vec<OmbiUser>,
}

type Shared = Arc<Mutex<OmbiState>>;

#[derive(Debug)]
pub struct OmbiFake {
    running: Running,
    core: Arc<Core>,
    state: Shared,
}

request_fake_api!(OmbiFake);

impl OmbiFake {
    pub async fn start() -> crate::Result<Self> {
        let state = Arc::new(Mutex::new(OmbiState {
            api_key: next_secret("ombi"),
            next: 0,
            users: Vec::new(),
        }));
        {
            let mut st = lock(&state);
            let id = guid(&mut st);
            st.users.push(OmbiUser {
                id,
                user_name: "admin".into(),
                email_address: "admin@example.com".into(),
                roles: vec!["Admin".into()],
                movie_request_limit: 0,
                episode_request_limit: 0,
                music_request_limit: 0,
                user_type: 1,
                password: String::new(),
            });
        }
        let (provider, table) = routes(state.clone());
        let core = Core::new(Flavor::Ombi, table);
        let app = control::assemble(provider, control_routes(state.clone()), core.clone());
        Ok(OmbiFake {
            running: serve(app).await?,
            core,
            state,
        })
    }

    pub fn api_key(&self) -> String {
        lock(&self.state).api_key.clone()
    }

    pub fn users(&self) -> Vec<OmbiUser> {
        lock(&self.state).users.clone()
    }

    pub fn user_by_email(&self, email: &str) -> Option<OmbiUser> {
        lock(&self.state)
            .users
            .iter()
            .find(|u| u.email_address.eq_ignore_ascii_case(email))
            .cloned()
    }

    /// Replaces a user's roles behind boxoffice's back (drift).
    pub fn set_roles(&self, id: &str, roles: &[&str]) -> bool {
        let mut st = lock(&self.state);
        match st.users.iter_mut().find(|u| u.id == id) {
            Some(u) => {
                u.roles = roles.iter().map(|r| r.to_string()).collect();
                true
            }
            None => false,
        }
    }
}

fn guid(st: &mut OmbiState) -> String {
    st.next += 1;
    format!("{:08x}-0000-4000-8000-{:012x}", 0x0b1u64 + st.next, st.next)
}

fn dto(u: &OmbiUser) -> Value {
    json!({
        "id": u.id, "userName": u.user_name, "alias": "", "emailAddress": u.email_address,
        "claims": u.roles.iter().map(|r| json!({"value": r, "enabled": true})).collect::<Vec<_>>(),
        "userType": u.user_type, "lastLoggedIn": null, "hasLoggedIn": false,
        "movieRequestLimit": u.movie_request_limit, "episodeRequestLimit": u.episode_request_limit,
        "musicRequestLimit": u.music_request_limit, "streamingCountry": "US",
        "userQualityProfiles": null,
    })
}

fn result(errors: &[String]) -> Response {
    Json(json!({"successful": errors.is_empty(), "errors": errors})).into_response()
}

fn auth(st: &OmbiState, h: &HeaderMap, uri: &Uri) -> Result<(), Response> {
    let q = http_util::query_map(uri);
    let given = header_str(h, "apikey").or_else(|| http_util::q_get(&q, "apikey"));
    if given == Some(st.api_key.as_str()) {
        Ok(())
    } else {
        Err((
            StatusCode::UNAUTHORIZED,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "Invalid API Key",
        )
            .into_response())
    }
}

fn routes(state: Shared) -> (Router, RouteTable) {
    Routes::new(PathStyle::default())
        .get("/api/v1/Identity/Users", list)
        .post("/api/v1/Identity", create)
        .put("/api/v1/Identity", update)
        .delete("/api/v1/Identity/{id}", remove)
        .with_state(state)
}

async fn list(State(s): State<Shared>, h: HeaderMap, uri: Uri) -> Response {
    let st = lock(&s);
    if let Err(r) = auth(&st, &h, &uri) {
        return r;
    }
    Json(st.users.iter().map(dto).collect::<Vec<_>>()).into_response()
}

fn roles_of(v: &Value) -> Vec<String> {
    v["claims"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|c| c["enabled"].as_bool() == Some(true))
                .filter_map(|c| c["value"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

async fn create(
    State(s): State<Shared>,
    h: HeaderMap,
    uri: Uri,
    body: axum::body::Bytes,
) -> Response {
    let mut st = lock(&s);
    if let Err(r) = auth(&st, &h, &uri) {
        return r;
    }
    let Some(v) = http_util::parse_json(&body) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let email = v["emailAddress"].as_str().unwrap_or_default().to_string();
    let name = v["userName"].as_str().unwrap_or_default().to_string();
    let password = v["password"].as_str().unwrap_or_default().to_string();
    let mut errors = Vec::new();
    if !email.contains('@') {
        errors.push(format!("The email address {email} is not a valid format"));
    } else if st
        .users
        .iter()
        .any(|u| u.email_address.eq_ignore_ascii_case(&email))
    {
        errors.push("This email has already been taken".to_string());
    }
    if st
        .users
        .iter()
        .any(|u| u.user_name.eq_ignore_ascii_case(&name))
    {
        errors.push(format!("Username '{name}' is already taken."));
    }
    if password.len() < 6 {
        errors.push("Passwords must be at least 6 characters.".to_string());
    }
    if !errors.is_empty() {
        return result(&errors);
    }
    let id = guid(&mut st);
    st.users.push(OmbiUser {
        id,
        user_name: name,
        email_address: email,
        roles: roles_of(&v),
        movie_request_limit: v["movieRequestLimit"].as_i64().unwrap_or(0),
        episode_request_limit: v["episodeRequestLimit"].as_i64().unwrap_or(0),
        music_request_limit: v["musicRequestLimit"].as_i64().unwrap_or(0),
        user_type: 1,
        password,
    });
    result(&[])
}

async fn update(
    State(s): State<Shared>,
    h: HeaderMap,
    uri: Uri,
    body: axum::body::Bytes,
) -> Response {
    let mut st = lock(&s);
    if let Err(r) = auth(&st, &h, &uri) {
        return r;
    }
    let Some(v) = http_util::parse_json(&body) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let id = v["id"].as_str().unwrap_or_default();
    let Some(u) = st.users.iter_mut().find(|u| u.id == id) else {
        return result(&["Could not find user".to_string()]);
    };
    u.roles = roles_of(&v);
    if let Some(e) = v["emailAddress"].as_str() {
        u.email_address = e.to_string();
    }
    u.movie_request_limit = v["movieRequestLimit"].as_i64().unwrap_or(0);
    u.episode_request_limit = v["episodeRequestLimit"].as_i64().unwrap_or(0);
    u.music_request_limit = v["musicRequestLimit"].as_i64().unwrap_or(0);
    result(&[])
}

async fn remove(
    State(s): State<Shared>,
    h: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
) -> Response {
    let mut st = lock(&s);
    if let Err(r) = auth(&st, &h, &uri) {
        return r;
    }
    let before = st.users.len();
    st.users.retain(|u| u.id != id);
    if st.users.len() == before {
        return result(&["Could not find user to delete.".to_string()]);
    }
    result(&[])
}

// Control API ------------------------------------------------------------------------------

fn control_routes(state: Shared) -> Router {
    Router::new()
        .route("/state", get(c_state))
        .route("/users", post(c_seed))
        .route("/users/{id}", axum::routing::patch(c_patch))
        .with_state(state)
}

async fn c_state(State(s): State<Shared>) -> Json<Value> {
    let st = lock(&s);
    Json(json!({"api_key": st.api_key, "users": st.users}))
}

/// `{"user_name", "email_address", "roles"?}`
async fn c_seed(State(s): State<Shared>, Json(v): Json<Value>) -> Response {
    let mut st = lock(&s);
    let (Some(name), Some(email)) = (v["user_name"].as_str(), v["email_address"].as_str()) else {
        return control::bad(
            StatusCode::BAD_REQUEST,
            "user_name and email_address are required",
        );
    };
    let id = guid(&mut st);
    let u = OmbiUser {
        id,
        user_name: name.into(),
        email_address: email.into(),
        roles: serde_json::from_value(v["roles"].clone()).unwrap_or_default(),
        movie_request_limit: 0,
        episode_request_limit: 0,
        music_request_limit: 0,
        user_type: v["user_type"].as_i64().unwrap_or(1),
        password: String::new(),
    };
    st.users.push(u.clone());
    (StatusCode::CREATED, Json(u)).into_response()
}

/// `{"roles": [...]}`: drift made in Ombi's own UI.
async fn c_patch(
    State(s): State<Shared>,
    Path(id): Path<String>,
    Json(v): Json<Value>,
) -> Response {
    let mut st = lock(&s);
    let Some(u) = st.users.iter_mut().find(|u| u.id == id) else {
        return control::bad(StatusCode::NOT_FOUND, "no such user");
    };
    if let Ok(r) = serde_json::from_value(v["roles"].clone()) {
        u.roles = r;
    }
    Json(u.clone()).into_response()
}
