//! Overseerr/Jellyseerr fake (ref §4.1). A wrong or missing `X-Api-Key` answers 403 (not 401);
//! a duplicate e-mail 409 `USER_EXISTS`; create and import 201; delete 200 with the user;
//! user 1 (the owner) cannot be deleted (405). Import creates only the media users put on the
//! fake's importable list (the owner's plex.tv share list, or the Jellyfin users).

use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{next_secret, now_iso, request_fake_api};
use crate::control;
use crate::faults::{Core, Flavor, lock};
use crate::http_util::{self, header_str};
use crate::routing::{PathStyle, RouteTable, Routes};
use crate::server::{Running, serve};

/// Permission bit of the owner (`ADMIN`).
const ADMIN: i64 = 2;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct OverseerrUser {
    pub id: i64,
    pub email: String,
    pub username: String,
    #[serde(default)]
    pub plex_username: String,
    #[serde(default)]
    pub plex_id: Option<String>,
    #[serde(default)]
    pub jellyfin_user_id: Option<String>,
    /// 1 Plex, 2 local, 3 Jellyfin.
    pub user_type: i64,
    pub permissions: i64,
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub movie_quota_limit: Option<i64>,
    #[serde(default)]
    pub movie_quota_days: Option<i64>,
    #[serde(default)]
    pub tv_quota_limit: Option<i64>,
    #[serde(default)]
    pub tv_quota_days: Option<i64>,
    pub created_at: String,
}

/// A media-server user Overseerr would import (on the owner's share list).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Importable {
    id: String,
    username: String,
    #[serde(default)]
    email: String,
}

#[derive(Debug, Default, Serialize)]
struct OvState {
    api_key: String,
    next_id: i64,
    users: Vec<OverseerrUser>,
    plex: Vec<Importable>,
    jellyfin: Vec<Importable>,
}

impl OvState {
    fn add(&mut self, mut u: OverseerrUser) -> OverseerrUser {
        self.next_id += 1;
        u.id = self.next_id;
        self.users.push(u.clone());
        u
    }
}

type Shared = Arc<Mutex<OvState>>;

#[derive(Debug)]
pub struct OverseerrFake {
    running: Running,
    core: Arc<Core>,
    state: Shared,
}

request_fake_api!(OverseerrFake);

impl OverseerrFake {
    pub async fn start() -> crate::Result<Self> {
        let mut st = OvState {
            api_key: next_secret("ov"),
            ..OvState::default()
        };
        st.add(OverseerrUser {
            id: 0,
            email: "owner@example.com".into(),
            username: "owner".into(),
            plex_username: "owner".into(),
            plex_id: Some("1".into()),
            jellyfin_user_id: None,
            user_type: 1,
            permissions: ADMIN,
            password: None,
            movie_quota_limit: None,
            movie_quota_days: None,
            tv_quota_limit: None,
            tv_quota_days: None,
            created_at: now_iso(),
        });
        let state = Arc::new(Mutex::new(st));
        let (provider, table) = routes(state.clone());
        let core = Core::new(Flavor::Overseerr, table);
        let app = control::assemble(provider, control_routes(state.clone()), core.clone());
        Ok(OverseerrFake {
            running: serve(app).await?,
            core,
            state,
        })
    }

    pub fn api_key(&self) -> String {
        lock(&self.state).api_key.clone()
    }

    pub fn users(&self) -> Vec<OverseerrUser> {
        lock(&self.state).users.clone()
    }

    pub fn user_by_email(&self, email: &str) -> Option<OverseerrUser> {
        lock(&self.state)
            .users
            .iter()
            .find(|u| u.email.eq_ignore_ascii_case(email))
            .cloned()
    }

    /// Changes a user's permissions behind boxoffice's back (drift).
    pub fn set_permissions(&self, id: i64, permissions: i64) -> bool {
        let mut st = lock(&self.state);
        match st.users.iter_mut().find(|u| u.id == id) {
            Some(u) => {
                u.permissions = permissions;
                true
            }
            None => false,
        }
    }

    /// Puts a plex.tv user on the owner's share list, so import-from-plex creates them.
    pub fn add_importable_plex(&self, plex_id: &str, username: &str, email: &str) {
        lock(&self.state).plex.push(Importable {
            id: plex_id.into(),
            username: username.into(),
            email: email.into(),
        });
    }

    /// Makes a Jellyfin user importable (Jellyseerr).
    pub fn add_importable_jellyfin(&self, user_id: &str, username: &str) {
        lock(&self.state).jellyfin.push(Importable {
            id: user_id.into(),
            username: username.into(),
            email: String::new(),
        });
    }
}

fn dto(u: &OverseerrUser) -> Value {
    json!({
        "id": u.id, "email": u.email, "username": if u.user_type == 2 { json!(u.username) } else { Value::Null },
        "plexUsername": if u.user_type == 1 { json!(u.plex_username) } else { Value::Null },
        "jellyfinUsername": if u.user_type == 3 { json!(u.username) } else { Value::Null },
        "plexId": u.plex_id.as_ref().and_then(|p| p.parse::<i64>().ok()),
        "jellyfinUserId": u.jellyfin_user_id, "userType": u.user_type, "permissions": u.permissions,
        "avatar": "/os_logo_square.png", "createdAt": u.created_at, "updatedAt": u.created_at,
        "requestCount": 0, "displayName": if u.username.is_empty() { &u.plex_username } else { &u.username },
    })
}

fn settings_dto(u: &OverseerrUser) -> Value {
    json!({
        "username": u.username, "email": u.email, "discordId": null, "locale": "", "region": null,
        "originalLanguage": null, "movieQuotaLimit": u.movie_quota_limit, "movieQuotaDays": u.movie_quota_days,
        "tvQuotaLimit": u.tv_quota_limit, "tvQuotaDays": u.tv_quota_days,
        "globalMovieQuotaDays": 7, "globalMovieQuotaLimit": 0, "globalTvQuotaLimit": 0, "globalTvQuotaDays": 7,
    })
}

fn err(status: StatusCode, message: &str) -> Response {
    http_util::json(
        status,
        json!({"status": status.as_u16(), "message": message}),
    )
}

/// Express compares the header name case-insensitively; a wrong key leaves the request
/// unauthenticated and the route answers 403 (ref §4.1).
fn auth(st: &OvState, h: &HeaderMap) -> Result<(), Response> {
    if header_str(h, "x-api-key") == Some(st.api_key.as_str()) {
        Ok(())
    } else {
        Err(http_util::json(
            StatusCode::FORBIDDEN,
            json!({"status": 403, "error": "You do not have permission to access this endpoint"}),
        ))
    }
}

fn routes(state: Shared) -> (Router, RouteTable) {
    Routes::new(PathStyle::default())
        .get("/api/v1/user", list)
        .post("/api/v1/user", create)
        .post("/api/v1/user/import-from-plex", import_plex)
        .post("/api/v1/user/import-from-jellyfin", import_jellyfin)
        .get("/api/v1/user/{id}", read)
        .put("/api/v1/user/{id}", update)
        .delete("/api/v1/user/{id}", remove)
        .get("/api/v1/user/{id}/settings/main", read_settings)
        .post("/api/v1/user/{id}/settings/main", write_settings)
        .with_state(state)
}

#[derive(Deserialize)]
struct Page {
    take: Option<usize>,
    skip: Option<usize>,
}

async fn list(State(s): State<Shared>, h: HeaderMap, Query(p): Query<Page>) -> Response {
    let st = lock(&s);
    if let Err(r) = auth(&st, &h) {
        return r;
    }
    let take = p.take.unwrap_or(10).max(1);
    let skip = p.skip.unwrap_or(0);
    let results: Vec<Value> = st.users.iter().skip(skip).take(take).map(dto).collect();
    let total = st.users.len();
    Json(json!({
        "pageInfo": {"pages": total.div_ceil(take), "pageSize": take, "results": total, "page": skip / take + 1},
        "results": results,
    }))
    .into_response()
}

async fn create(State(s): State<Shared>, h: HeaderMap, body: axum::body::Bytes) -> Response {
    let mut st = lock(&s);
    if let Err(r) = auth(&st, &h) {
        return r;
    }
    let Some(v) = http_util::parse_json(&body) else {
        return err(StatusCode::BAD_REQUEST, "Invalid JSON");
    };
    let email = v["email"].as_str().unwrap_or_default().trim().to_string();
    if email.is_empty() || !email.contains('@') {
        return err(
            StatusCode::BAD_REQUEST,
            "A valid email address is required.",
        );
    }
    if st
        .users
        .iter()
        .any(|u| u.email.eq_ignore_ascii_case(&email))
    {
        return http_util::json(
            StatusCode::CONFLICT,
            json!({"status": 409, "message": "User already exists with submitted email.", "errors": ["USER_EXISTS"]}),
        );
    }
    let password = v["password"].as_str().filter(|p| !p.is_empty());
    if password.is_none() {
        // Without a password Overseerr e-mails a generated one, which fails when e-mail
        // notifications are off (ref §4.1); the fake has none.
        return err(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Unable to send password email: email notifications are disabled.",
        );
    }
    let u = st.add(OverseerrUser {
        id: 0,
        username: v["username"].as_str().unwrap_or(&email).to_string(),
        email,
        plex_username: String::new(),
        plex_id: None,
        jellyfin_user_id: None,
        user_type: 2,
        // New users get Overseerr's default permissions (REQUEST).
        permissions: 32,
        password: password.map(str::to_string),
        movie_quota_limit: None,
        movie_quota_days: None,
        tv_quota_limit: None,
        tv_quota_days: None,
        created_at: now_iso(),
    });
    http_util::json(StatusCode::CREATED, dto(&u))
}

fn import(s: &Shared, h: &HeaderMap, body: &[u8], key: &str, plex: bool) -> Response {
    let mut st = lock(s);
    if let Err(r) = auth(&st, h) {
        return r;
    }
    let Some(v) = http_util::parse_json(body) else {
        return err(StatusCode::BAD_REQUEST, "Invalid JSON");
    };
    let wanted: Option<Vec<String>> = v[key].as_array().map(|a| {
        a.iter()
            .filter_map(|x| match x {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .collect()
    });
    let pool = if plex {
        st.plex.clone()
    } else {
        st.jellyfin.clone()
    };
    let mut created = Vec::new();
    for m in pool {
        if wanted.as_ref().is_some_and(|w| !w.contains(&m.id)) {
            continue;
        }
        let exists = st.users.iter().any(|u| {
            if plex {
                u.plex_id.as_deref() == Some(m.id.as_str())
            } else {
                u.jellyfin_user_id.as_deref() == Some(m.id.as_str())
            }
        });
        if exists {
            continue;
        }
        let u = st.add(OverseerrUser {
            id: 0,
            email: if m.email.is_empty() {
                m.username.clone()
            } else {
                m.email.clone()
            },
            username: if plex {
                String::new()
            } else {
                m.username.clone()
            },
            plex_username: if plex {
                m.username.clone()
            } else {
                String::new()
            },
            plex_id: plex.then(|| m.id.clone()),
            jellyfin_user_id: (!plex).then(|| m.id.clone()),
            user_type: if plex { 1 } else { 3 },
            permissions: 32,
            password: None,
            movie_quota_limit: None,
            movie_quota_days: None,
            tv_quota_limit: None,
            tv_quota_days: None,
            created_at: now_iso(),
        });
        created.push(dto(&u));
    }
    http_util::json(StatusCode::CREATED, Value::Array(created))
}

async fn import_plex(State(s): State<Shared>, h: HeaderMap, body: axum::body::Bytes) -> Response {
    import(&s, &h, &body, "plexIds", true)
}

async fn import_jellyfin(
    State(s): State<Shared>,
    h: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    import(&s, &h, &body, "jellyfinUserIds", false)
}

fn with_user(
    s: &Shared,
    h: &HeaderMap,
    id: &str,
    f: impl FnOnce(&mut OvState, usize) -> Response,
) -> Response {
    let mut st = lock(s);
    if let Err(r) = auth(&st, h) {
        return r;
    }
    let Some(i) = id
        .parse::<i64>()
        .ok()
        .and_then(|id| st.users.iter().position(|u| u.id == id))
    else {
        return err(StatusCode::NOT_FOUND, "User not found.");
    };
    f(&mut st, i)
}

async fn read(State(s): State<Shared>, h: HeaderMap, Path(id): Path<String>) -> Response {
    with_user(&s, &h, &id, |st, i| Json(dto(&st.users[i])).into_response())
}

async fn update(
    State(s): State<Shared>,
    h: HeaderMap,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let Some(v) = http_util::parse_json(&body) else {
        return err(StatusCode::BAD_REQUEST, "Invalid JSON");
    };
    with_user(&s, &h, &id, |st, i| {
        let u = &mut st.users[i];
        if let Some(p) = v["permissions"].as_i64() {
            // The API key acts as the owner, who may grant anything except changing user 1.
            if u.id == 1 && p & ADMIN == 0 {
                return err(
                    StatusCode::FORBIDDEN,
                    "You do not have permission to modify this user",
                );
            }
            u.permissions = p;
        }
        if let Some(n) = v["username"].as_str().filter(|n| !n.is_empty()) {
            u.username = n.to_string();
        }
        Json(dto(u)).into_response()
    })
}

async fn remove(State(s): State<Shared>, h: HeaderMap, Path(id): Path<String>) -> Response {
    with_user(&s, &h, &id, |st, i| {
        if st.users[i].id == 1 {
            return err(
                StatusCode::METHOD_NOT_ALLOWED,
                "This account cannot be deleted.",
            );
        }
        let u = st.users.remove(i);
        Json(dto(&u)).into_response()
    })
}

async fn read_settings(State(s): State<Shared>, h: HeaderMap, Path(id): Path<String>) -> Response {
    with_user(&s, &h, &id, |st, i| {
        Json(settings_dto(&st.users[i])).into_response()
    })
}

async fn write_settings(
    State(s): State<Shared>,
    h: HeaderMap,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let Some(v) = http_util::parse_json(&body) else {
        return err(StatusCode::BAD_REQUEST, "Invalid JSON");
    };
    with_user(&s, &h, &id, |st, i| {
        let u = &mut st.users[i];
        let opt = |k: &str, old: Option<i64>| match v.get(k) {
            None => old,
            Some(Value::Null) => None,
            Some(x) => x.as_i64(),
        };
        u.movie_quota_limit = opt("movieQuotaLimit", u.movie_quota_limit);
        u.movie_quota_days = opt("movieQuotaDays", u.movie_quota_days);
        u.tv_quota_limit = opt("tvQuotaLimit", u.tv_quota_limit);
        u.tv_quota_days = opt("tvQuotaDays", u.tv_quota_days);
        if let Some(n) = v["username"].as_str().filter(|n| !n.is_empty()) {
            u.username = n.to_string();
        }
        Json(settings_dto(u)).into_response()
    })
}

// Control API ------------------------------------------------------------------------------

fn control_routes(state: Shared) -> Router {
    Router::new()
        .route("/state", get(c_state))
        .route("/users", post(c_seed))
        .route("/users/{id}", axum::routing::patch(c_patch))
        .route("/importable", post(c_importable))
        .with_state(state)
}

async fn c_state(State(s): State<Shared>) -> Json<Value> {
    Json(serde_json::to_value(&*lock(&s)).unwrap_or(Value::Null))
}

/// `{"email", "username", "permissions"?}`: a local user created in Overseerr directly.
async fn c_seed(State(s): State<Shared>, Json(v): Json<Value>) -> Response {
    let Some(email) = v["email"].as_str() else {
        return control::bad(StatusCode::BAD_REQUEST, "email is required");
    };
    let u = lock(&s).add(OverseerrUser {
        id: 0,
        email: email.to_string(),
        username: v["username"].as_str().unwrap_or(email).to_string(),
        plex_username: String::new(),
        plex_id: None,
        jellyfin_user_id: None,
        user_type: 2,
        permissions: v["permissions"].as_i64().unwrap_or(32),
        password: None,
        movie_quota_limit: None,
        movie_quota_days: None,
        tv_quota_limit: None,
        tv_quota_days: None,
        created_at: now_iso(),
    });
    (StatusCode::CREATED, Json(u)).into_response()
}

/// `{"permissions": N}`: drift made in Overseerr's own UI.
async fn c_patch(State(s): State<Shared>, Path(id): Path<i64>, Json(v): Json<Value>) -> Response {
    let mut st = lock(&s);
    let Some(u) = st.users.iter_mut().find(|u| u.id == id) else {
        return control::bad(StatusCode::NOT_FOUND, "no such user");
    };
    if let Some(p) = v["permissions"].as_i64() {
        u.permissions = p;
    }
    Json(u.clone()).into_response()
}

/// `{"plex": [{"id", "username", "email"}], "jellyfin": [{"id", "username"}]}`
async fn c_importable(State(s): State<Shared>, Json(v): Json<Value>) -> Response {
    let mut st = lock(&s);
    for (key, plex) in [("plex", true), ("jellyfin", false)] {
        let list: Vec<Importable> = serde_json::from_value(v[key].clone()).unwrap_or_default();
        if plex {
            st.plex.extend(list);
        } else {
            st.jellyfin.extend(list);
        }
    }
    StatusCode::NO_CONTENT.into_response()
}
