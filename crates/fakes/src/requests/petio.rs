//! Petio fake (ref §4.3). The administrator logs in at `POST /api/login` (a refused login is
//! still HTTP 200, `loggedIn: false`); the JWT is accepted as `Authorization: Bearer` or the
//! `petio_jwt` cookie. No token answers 401, a non-admin 403. A duplicate custom user is HTTP
//! 200 with `{"error"}`; deleting a non-custom (Plex) user answers 401.

use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
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
pub struct PetioUser {
    /// Mongo `_id`.
    pub oid: String,
    /// Caller-chosen `id` (Plex id for Plex users).
    pub id: String,
    pub username: String,
    pub email: String,
    pub role: String,
    /// Profile `_id`, if any.
    pub profile: Option<String>,
    pub disabled: bool,
    pub custom: bool,
    #[serde(default, skip_serializing)]
    pub password: String,
}

#[derive(Debug, Clone, Serialize)]
struct Profile {
    oid: String,
    name: String,
    quota: i64,
    default: bool,
}

#[derive(Debug, Default, Serialize)]
struct PetioState {
    admin_email: String,
    admin_password: String,
    /// Valid JWTs (a logout or key rotation clears them).
    tokens: Vec<String>,
    next: u64,
    users: Vec<PetioUser>,
    profiles: Vec<Profile>,
}

impl PetioState {
    fn oid(&mut self) -> String {
        self.next += 1;
        format!("{:024x}", 0x6000_0000_0000u64 + self.next)
    }
}

type Shared = Arc<Mutex<PetioState>>;

#[derive(Debug)]
pub struct PetioFake {
    running: Running,
    core: Arc<Core>,
    state: Shared,
}

request_fake_api!(PetioFake);

impl PetioFake {
    pub async fn start() -> crate::Result<Self> {
        let mut st = PetioState {
            admin_email: "admin@example.com".into(),
            admin_password: next_secret("petio"),
            ..PetioState::default()
        };
        let oid = st.oid();
        st.users.push(PetioUser {
            oid,
            id: "1".into(),
            username: "admin".into(),
            email: st.admin_email.clone(),
            role: "admin".into(),
            profile: None,
            disabled: false,
            custom: true,
            password: st.admin_password.clone(),
        });
        let oid = st.oid();
        st.profiles.push(Profile {
            oid,
            name: "Default".into(),
            quota: 0,
            default: true,
        });
        let state = Arc::new(Mutex::new(st));
        let (provider, table) = routes(state.clone());
        let core = Core::new(Flavor::Petio, table);
        let app = control::assemble(provider, control_routes(state.clone()), core.clone());
        Ok(PetioFake {
            running: serve(app).await?,
            core,
            state,
        })
    }

    pub fn admin_email(&self) -> String {
        lock(&self.state).admin_email.clone()
    }

    pub fn admin_password(&self) -> String {
        lock(&self.state).admin_password.clone()
    }

    pub fn users(&self) -> Vec<PetioUser> {
        lock(&self.state).users.clone()
    }

    pub fn user_by_email(&self, email: &str) -> Option<PetioUser> {
        lock(&self.state)
            .users
            .iter()
            .find(|u| u.email.eq_ignore_ascii_case(email))
            .cloned()
    }

    /// Adds a profile; returns its `_id`.
    pub fn add_profile(&self, name: &str, quota: i64) -> String {
        let mut st = lock(&self.state);
        let oid = st.oid();
        st.profiles.push(Profile {
            oid: oid.clone(),
            name: name.into(),
            quota,
            default: false,
        });
        oid
    }

    /// The name of a user's profile.
    pub fn profile_name(&self, oid: &str) -> Option<String> {
        lock(&self.state)
            .profiles
            .iter()
            .find(|p| p.oid == oid)
            .map(|p| p.name.clone())
    }

    /// Invalidates every issued JWT (clients must log in again).
    pub fn expire_tokens(&self) {
        lock(&self.state).tokens.clear();
    }
}

fn dto(u: &PetioUser) -> Value {
    json!({
        "_id": u.oid, "id": u.id, "title": u.username, "username": u.username, "email": u.email,
        "role": u.role, "profile": u.profile, "disabled": u.disabled, "custom": u.custom,
        "thumb": false, "altId": "", "password": if u.password.is_empty() { Value::Null } else { json!("removed") },
    })
}

fn token_of(h: &HeaderMap) -> Option<String> {
    if let Some(b) = header_str(h, "authorization").and_then(|a| a.strip_prefix("Bearer ")) {
        return Some(b.trim().to_string());
    }
    header_str(h, "cookie")?
        .split(';')
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == "petio_jwt")
        .map(|(_, v)| v.to_string())
}

/// `authRequired` then `adminRequired` (ref §4.3).
fn admin(st: &PetioState, h: &HeaderMap) -> Result<(), Response> {
    match token_of(h) {
        Some(t) if st.tokens.contains(&t) => Ok(()),
        Some(t) if t.starts_with("user.") => Err(StatusCode::FORBIDDEN.into_response()),
        _ => Err(StatusCode::UNAUTHORIZED.into_response()),
    }
}

fn routes(state: Shared) -> (Router, RouteTable) {
    Routes::new(PathStyle::default())
        .post("/api/login", login)
        .get("/api/user/all", all)
        .get("/api/profile/all", profiles)
        .post("/api/user/create_custom", create)
        .post("/api/user/edit", edit)
        .post("/api/user/delete_user", remove)
        .with_state(state)
}

async fn login(State(s): State<Shared>, body: axum::body::Bytes) -> Response {
    let mut st = lock(&s);
    let v = http_util::parse_json(&body).unwrap_or(Value::Null);
    let name = v["user"]["username"].as_str().unwrap_or_default();
    let pass = v["user"]["password"].as_str().unwrap_or_default();
    let ok = st
        .users
        .iter()
        .find(|u| u.username == name || u.email.eq_ignore_ascii_case(name))
        .is_some_and(|u| {
            !u.disabled && u.role == "admin" && !pass.is_empty() && u.password == pass
        });
    if !ok {
        return Json(json!({"loggedIn": false, "user": false, "token": false})).into_response();
    }
    let n = st.tokens.len() + 1;
    let token = format!("eyJhbGciOiJIUzI1NiJ9.{}.{n}", next_secret("jwt"));
    st.tokens.push(token.clone());
    let user = st
        .users
        .iter()
        .find(|u| u.role == "admin")
        .map(dto)
        .unwrap_or(Value::Null);
    (
        [(
            header::SET_COOKIE,
            format!("petio_jwt={token}; Path=/; HttpOnly"),
        )],
        Json(json!({"loggedIn": true, "user": user, "token": token})),
    )
        .into_response()
}

async fn all(State(s): State<Shared>, h: HeaderMap) -> Response {
    let st = lock(&s);
    if let Err(r) = admin(&st, &h) {
        return r;
    }
    Json(st.users.iter().map(dto).collect::<Vec<_>>()).into_response()
}

async fn profiles(State(s): State<Shared>, h: HeaderMap) -> Response {
    let st = lock(&s);
    if let Err(r) = admin(&st, &h) {
        return r;
    }
    Json(
        st.profiles
            .iter()
            .map(
                |p| json!({"_id": p.oid, "name": p.name, "quota": p.quota, "isDefault": p.default}),
            )
            .collect::<Vec<_>>(),
    )
    .into_response()
}

async fn create(State(s): State<Shared>, h: HeaderMap, body: axum::body::Bytes) -> Response {
    let mut st = lock(&s);
    if let Err(r) = admin(&st, &h) {
        return r;
    }
    let v = http_util::parse_json(&body).unwrap_or(Value::Null);
    let u = &v["user"];
    if !u.is_object() {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({"error": "No user details"})),
        )
            .into_response();
    }
    let username = u["username"].as_str().unwrap_or_default().to_string();
    let email = u["email"].as_str().unwrap_or_default().to_string();
    if st
        .users
        .iter()
        .any(|x| x.username == username || x.email.eq_ignore_ascii_case(&email))
    {
        return Json(json!({"error": "User exists, please change the username or email"}))
            .into_response();
    }
    let oid = st.oid();
    let default_profile = st
        .profiles
        .iter()
        .find(|p| p.default)
        .map(|p| p.oid.clone());
    let user = PetioUser {
        oid,
        id: u["id"].as_str().unwrap_or_default().to_string(),
        username,
        email,
        role: "user".into(),
        profile: default_profile,
        disabled: false,
        custom: true,
        password: u["password"].as_str().unwrap_or_default().to_string(),
    };
    st.users.push(user.clone());
    Json(dto(&user)).into_response()
}

async fn edit(State(s): State<Shared>, h: HeaderMap, body: axum::body::Bytes) -> Response {
    let mut st = lock(&s);
    if let Err(r) = admin(&st, &h) {
        return r;
    }
    let v = http_util::parse_json(&body).unwrap_or(Value::Null);
    let u = &v["user"];
    // Petio matches `user.id` against the Mongo `_id`.
    let oid = u["id"].as_str().unwrap_or_default();
    let known_profile = |p: &str| st.profiles.iter().any(|x| x.oid == p);
    let profile = match &u["profile"] {
        Value::String(p) if known_profile(p) => Some(p.clone()),
        Value::String(_) => {
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                Json(json!({"error": "Error editing user"})),
            )
                .into_response();
        }
        _ => None,
    };
    if let Some(x) = st.users.iter_mut().find(|x| x.oid == oid) {
        if let Some(e) = u["email"].as_str() {
            x.email = e.to_string();
        }
        if let Some(r) = u["role"].as_str() {
            x.role = r.to_string();
        }
        x.profile = profile;
        x.disabled = u["disabled"].as_bool().unwrap_or(false);
    }
    // findOneAndUpdate with no match still answers "User edited".
    Json(json!({"message": "User edited"})).into_response()
}

async fn remove(State(s): State<Shared>, h: HeaderMap, body: axum::body::Bytes) -> Response {
    let mut st = lock(&s);
    if let Err(r) = admin(&st, &h) {
        return r;
    }
    let v = http_util::parse_json(&body).unwrap_or(Value::Null);
    let u = &v["user"];
    if u["custom"].as_bool() != Some(true) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "Cannot delete non custom users"})),
        )
            .into_response();
    }
    let oid = u["_id"].as_str().unwrap_or_default();
    st.users.retain(|x| x.oid != oid);
    Json(json!({"message": "User deleted"})).into_response()
}

// Control API ------------------------------------------------------------------------------

fn control_routes(state: Shared) -> Router {
    Router::new()
        .route("/state", get(c_state))
        .route("/users", post(c_seed))
        .route("/users/{oid}", axum::routing::patch(c_patch))
        .route("/profiles", post(c_profile))
        .route("/tokens", axum::routing::delete(c_expire))
        .with_state(state)
}

async fn c_state(State(s): State<Shared>) -> Json<Value> {
    Json(serde_json::to_value(&*lock(&s)).unwrap_or(Value::Null))
}

/// `{"username", "email", "custom"?}`: a user Petio imported from Plex (custom false).
async fn c_seed(State(s): State<Shared>, Json(v): Json<Value>) -> Response {
    let mut st = lock(&s);
    let (Some(name), Some(email)) = (v["username"].as_str(), v["email"].as_str()) else {
        return control::bad(StatusCode::BAD_REQUEST, "username and email are required");
    };
    let oid = st.oid();
    let u = PetioUser {
        oid,
        id: v["id"].as_str().unwrap_or(name).to_string(),
        username: name.into(),
        email: email.into(),
        role: "user".into(),
        profile: None,
        disabled: false,
        custom: v["custom"].as_bool().unwrap_or(false),
        password: String::new(),
    };
    st.users.push(u.clone());
    (StatusCode::CREATED, Json(u)).into_response()
}

/// `{"disabled"?, "profile"?}`: drift made in Petio's own UI.
async fn c_patch(
    State(s): State<Shared>,
    Path(oid): Path<String>,
    Json(v): Json<Value>,
) -> Response {
    let mut st = lock(&s);
    let Some(u) = st.users.iter_mut().find(|u| u.oid == oid) else {
        return control::bad(StatusCode::NOT_FOUND, "no such user");
    };
    if let Some(d) = v["disabled"].as_bool() {
        u.disabled = d;
    }
    if let Some(p) = v.get("profile") {
        u.profile = p.as_str().map(str::to_string);
    }
    Json(u.clone()).into_response()
}

/// `{"name", "quota"?}`
async fn c_profile(State(s): State<Shared>, Json(v): Json<Value>) -> Response {
    let mut st = lock(&s);
    let Some(name) = v["name"].as_str() else {
        return control::bad(StatusCode::BAD_REQUEST, "name is required");
    };
    let oid = st.oid();
    st.profiles.push(Profile {
        oid: oid.clone(),
        name: name.into(),
        quota: v["quota"].as_i64().unwrap_or(0),
        default: false,
    });
    (StatusCode::CREATED, Json(json!({"_id": oid}))).into_response()
}

async fn c_expire(State(s): State<Shared>) -> StatusCode {
    lock(&s).tokens.clear();
    StatusCode::NO_CONTENT
}
