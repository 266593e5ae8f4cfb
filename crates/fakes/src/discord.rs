//! Fake of the Discord REST API v10 (ref §10): the bot token check, DMs, guild text channels,
//! roles and members, role add/remove and kicks, with Discord's error bodies
//! (`{"message","code"}`), its rate-limit headers and 429 answers (`retry_after` as a float).
//! Served under `/api/v10`; the control API is under `/__control`:
//!
//! * `POST /guilds` ([`DiscordGuildSeed`]) → the guild with role ids;
//!   `POST /guilds/{id}/members` `{"username", "user_id"?, "roles"?: [names]}`;
//!   `POST /guilds/{id}/channels` `{"name"}` → `{"id"}`.
//! * `PUT /users/{id}` `{"dm_closed": true}` — the user no longer accepts DMs (403 50007).
//! * `PUT /rate_limit` ([`DiscordRateLimit`]) — per-bucket limit and window.
//! * `GET /messages`, `GET /role_log`, `GET /state`.
//! * `GET|POST|DELETE /faults` ([`DiscordFault`]), `GET|DELETE /requests`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::body::{Body, to_bytes};
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::discord_state::{
    DiscordGuild, DiscordGuildSeed, DiscordMember, DiscordMessage, DiscordRateLimit,
    DiscordRoleChange, DiscordWorld,
};
use crate::faults::{LoggedRequest, lock};
use crate::http_util::{decode, header_str, parse_json};
use crate::server::{Running, serve};

const API: &str = "/api/v10";

/// A fault the next matching requests answer with instead of being handled.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DiscordFault {
    #[serde(default)]
    pub id: u64,
    /// Path prefix after `/api/v10` (e.g. `/guilds`); `None` = every path.
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub method: Option<String>,
    /// How many more requests it fires for; `None` = until cleared.
    #[serde(default)]
    pub remaining: Option<u32>,
    pub action: DiscordFaultAction,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DiscordFaultAction {
    /// This status with Discord's generic error body (502 is "gateway unavailable").
    Status { status: u16 },
    /// 429 with `retry_after` (seconds, float), `global`, and the matching headers.
    RateLimit {
        retry_after: f64,
        #[serde(default)]
        global: bool,
    },
}

impl DiscordFault {
    pub fn next(n: u32, action: DiscordFaultAction) -> Self {
        DiscordFault {
            id: 0,
            path: None,
            method: None,
            remaining: Some(n),
            action,
        }
    }

    pub fn path(mut self, prefix: &str) -> Self {
        self.path = Some(prefix.to_string());
        self
    }

    pub fn method(mut self, m: &str) -> Self {
        self.method = Some(m.to_string());
        self
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        self.path.as_deref().is_none_or(|p| path.starts_with(p))
            && self
                .method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method))
            && self.remaining != Some(0)
    }
}

#[derive(Debug, Default)]
struct Traffic {
    faults: Vec<DiscordFault>,
    next_fault: u64,
    log: Vec<LoggedRequest>,
    /// bucket key → (requests in the window, window start).
    windows: HashMap<String, (u32, Instant)>,
}

#[derive(Debug)]
struct Inner {
    world: Mutex<DiscordWorld>,
    traffic: Mutex<Traffic>,
}

type St = Arc<Inner>;

/// Handle to a running Discord fake.
#[derive(Debug)]
pub struct DiscordFake {
    running: Running,
    inner: St,
}

impl DiscordFake {
    pub async fn start() -> crate::Result<Self> {
        let inner = Arc::new(Inner {
            world: Mutex::new(DiscordWorld::new()),
            traffic: Mutex::new(Traffic::default()),
        });
        let provider =
            provider_routes().layer(axum::middleware::from_fn_with_state(inner.clone(), gate));
        let app = Router::new()
            .nest(crate::control::PREFIX, control_routes())
            .merge(provider)
            .with_state(inner.clone());
        let running = serve(app).await?;
        Ok(DiscordFake { running, inner })
    }

    /// The API base a client is configured with (`…/api/v10`).
    pub fn url(&self) -> String {
        format!("{}{API}", self.running.url())
    }
    pub fn control_url(&self) -> String {
        format!("{}{}", self.running.url(), crate::control::PREFIX)
    }
    pub fn token(&self) -> String {
        lock(&self.inner.world).token.clone()
    }
    pub fn bot_id(&self) -> String {
        lock(&self.inner.world).bot_id.clone()
    }
    pub fn seed_guild(&self, seed: &DiscordGuildSeed) -> DiscordGuild {
        lock(&self.inner.world).seed_guild(seed)
    }
    /// Adds a member holding the named roles; returns their user id.
    pub fn add_member(
        &self,
        guild_id: &str,
        username: &str,
        roles: &[&str],
    ) -> crate::Result<String> {
        let roles: Vec<String> = roles.iter().map(|r| r.to_string()).collect();
        lock(&self.inner.world)
            .add_member(guild_id, username, None, &roles)
            .map(|m| m.user_id)
            .map_err(crate::FakeError::Invalid)
    }
    pub fn add_text_channel(&self, guild_id: &str, name: &str) -> crate::Result<String> {
        lock(&self.inner.world)
            .add_text_channel(guild_id, name)
            .map_err(crate::FakeError::Invalid)
    }
    pub fn set_dm_closed(&self, user_id: &str, closed: bool) {
        if let Some(u) = lock(&self.inner.world).users.get_mut(user_id) {
            u.dm_closed = closed;
        }
    }
    pub fn set_rate_limit(&self, limit: DiscordRateLimit) {
        lock(&self.inner.world).rate_limit = limit;
    }
    pub fn guild(&self, guild_id: &str) -> Option<DiscordGuild> {
        lock(&self.inner.world).guilds.get(guild_id).cloned()
    }
    pub fn guilds(&self) -> Vec<DiscordGuild> {
        lock(&self.inner.world).guilds.values().cloned().collect()
    }
    /// The guild's text channels as `{"id", "name"}`.
    pub fn channels_of(&self, guild_id: &str) -> Vec<Value> {
        lock(&self.inner.world)
            .channels
            .values()
            .filter(|c| c.guild_id.as_deref() == Some(guild_id))
            .map(|c| json!({"id": c.id, "name": c.name}))
            .collect()
    }
    pub fn role_id(&self, guild_id: &str, name: &str) -> Option<String> {
        self.guild(guild_id)?
            .roles
            .into_iter()
            .find(|r| r.name == name)
            .map(|r| r.id)
    }
    /// The member's role names, `None` when not (or no longer) in the guild.
    pub fn member_roles(&self, guild_id: &str, user_id: &str) -> Option<Vec<String>> {
        let g = self.guild(guild_id)?;
        let m = g.members.get(user_id)?;
        Some(
            m.roles
                .iter()
                .filter_map(|id| g.roles.iter().find(|r| &r.id == id))
                .map(|r| r.name.clone())
                .collect(),
        )
    }
    pub fn messages(&self) -> Vec<DiscordMessage> {
        lock(&self.inner.world).messages.clone()
    }
    pub fn role_log(&self) -> Vec<DiscordRoleChange> {
        lock(&self.inner.world).role_log.clone()
    }
    pub fn add_fault(&self, rule: DiscordFault) -> u64 {
        add_fault_to(&self.inner, rule)
    }
    pub fn requests(&self) -> Vec<LoggedRequest> {
        lock(&self.inner.traffic).log.clone()
    }
    pub fn state(&self) -> Value {
        serde_json::to_value(&*lock(&self.inner.world)).unwrap_or(Value::Null)
    }
}

fn add_fault_to(inner: &Inner, mut rule: DiscordFault) -> u64 {
    let mut t = lock(&inner.traffic);
    t.next_fault += 1;
    rule.id = t.next_fault;
    t.faults.push(rule);
    t.next_fault
}

/// Discord's error body (ref §10.1).
fn derr(status: StatusCode, code: i64, message: &str) -> Response {
    (status, Json(json!({ "message": message, "code": code }))).into_response()
}

fn too_many(retry_after: f64, global: bool, scope: &str) -> Response {
    let mut r = (
        StatusCode::TOO_MANY_REQUESTS,
        Json(json!({"message": "You are being rate limited.", "retry_after": retry_after, "global": global})),
    )
        .into_response();
    let h = r.headers_mut();
    let ceil = retry_after.ceil().max(0.0) as u64;
    set(h, "retry-after", &ceil.to_string());
    set(h, "x-ratelimit-scope", scope);
    if global {
        set(h, "x-ratelimit-global", "true");
    }
    r
}

fn set(h: &mut HeaderMap, name: &'static str, v: &str) {
    if let Ok(v) = HeaderValue::from_str(v) {
        h.insert(name, v);
    }
}

/// Rate-limit bucket of a request: method + path with ids masked, except the top-level
/// resource (guild or channel id), as Discord keys its limits (ref §10.3).
fn bucket_of(method: &str, path: &str) -> (String, String) {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let mut major = String::new();
    let mut shape = Vec::new();
    for (i, s) in segs.iter().enumerate() {
        let is_id = s.bytes().all(|b| b.is_ascii_digit());
        if is_id && i == 1 && matches!(segs[0], "guilds" | "channels") {
            major = s.to_string();
            shape.push("{major}".to_string());
        } else if is_id {
            shape.push("{id}".to_string());
        } else {
            shape.push(s.to_string());
        }
    }
    // Role add and remove share one bucket on Discord.
    let m = if shape.last().is_some_and(|s| s == "{id}") && shape.iter().any(|s| s == "roles") {
        "ROLE"
    } else {
        method
    };
    let route = format!("{m} /{}", shape.join("/"));
    let bucket = format!("{:016x}", fnv(&route));
    (bucket, major)
}

fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Logs, fires faults, checks the bot token and the rate limit, and stamps the headers.
async fn gate(State(st): State<St>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let bytes = to_bytes(body, 1024 * 1024).await.unwrap_or_default();
    let method = parts.method.to_string();
    let full = parts.uri.path().to_string();
    let path = full.strip_prefix(API).unwrap_or(&full).to_string();
    let (fault, seq) = {
        let mut t = lock(&st.traffic);
        let fault = match t.faults.iter().position(|f| f.matches(&method, &path)) {
            Some(i) => {
                let a = t.faults[i].action.clone();
                if let Some(n) = t.faults[i].remaining.as_mut() {
                    *n -= 1;
                    if *n == 0 {
                        t.faults.remove(i);
                    }
                }
                Some(a)
            }
            None => None,
        };
        let seq = t.log.len() as u64 + 1;
        t.log.push(LoggedRequest {
            seq,
            method: method.clone(),
            path: full.clone(),
            query: parts.uri.query().map(str::to_string),
            headers: parts
                .headers
                .iter()
                .map(|(k, v)| {
                    let v = if k == "authorization" {
                        "(redacted)".to_string()
                    } else {
                        String::from_utf8_lossy(v.as_bytes()).into_owned()
                    };
                    (k.to_string(), v)
                })
                .collect(),
            body: String::from_utf8_lossy(&bytes).into_owned(),
            status: None,
            fault: None,
        });
        (fault, seq)
    };
    let resp = answer(&st, (parts, bytes), next, fault, (&method, &path)).await;
    if let Some(r) = lock(&st.traffic).log.iter_mut().find(|r| r.seq == seq) {
        r.status = Some(resp.status().as_u16());
    }
    resp
}

async fn answer(
    st: &St,
    (parts, bytes): (axum::http::request::Parts, axum::body::Bytes),
    next: Next,
    fault: Option<DiscordFaultAction>,
    (method, path): (&str, &str),
) -> Response {
    match fault {
        Some(DiscordFaultAction::Status { status }) => {
            let s = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
            return derr(s, 0, s.canonical_reason().unwrap_or("Error"));
        }
        Some(DiscordFaultAction::RateLimit {
            retry_after,
            global,
        }) => {
            return too_many(retry_after, global, if global { "global" } else { "user" });
        }
        None => {}
    }
    let (token, limit) = {
        let w = lock(&st.world);
        (w.token.clone(), w.rate_limit)
    };
    let auth = header_str(&parts.headers, "authorization").unwrap_or("");
    if auth.strip_prefix("Bot ") != Some(token.as_str()) {
        return derr(StatusCode::UNAUTHORIZED, 0, "401: Unauthorized");
    }
    let (bucket, major) = bucket_of(method, path);
    let key = format!("{bucket}:{major}");
    let (remaining, reset_after) = {
        let mut t = lock(&st.traffic);
        let now = Instant::now();
        let w = t.windows.entry(key).or_insert((0, now));
        if now.duration_since(w.1).as_secs_f64() >= limit.reset_after {
            *w = (0, now);
        }
        let left = limit.reset_after - now.duration_since(w.1).as_secs_f64();
        if w.0 >= limit.limit {
            return too_many((left * 1000.0).ceil() / 1000.0, false, "user");
        }
        w.0 += 1;
        (limit.limit - w.0, left)
    };
    let mut resp = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    let h = resp.headers_mut();
    set(h, "x-ratelimit-limit", &limit.limit.to_string());
    set(h, "x-ratelimit-remaining", &remaining.to_string());
    set(h, "x-ratelimit-reset-after", &format!("{reset_after:.3}"));
    let reset = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
        + reset_after;
    set(h, "x-ratelimit-reset", &format!("{reset:.3}"));
    set(h, "x-ratelimit-bucket", &bucket);
    resp
}

fn provider_routes() -> Router<St> {
    Router::new()
        .route(&format!("{API}/users/@me"), get(me))
        .route(&format!("{API}/users/@me/channels"), post(open_dm))
        .route(
            &format!("{API}/channels/{{channel}}/messages"),
            post(create_message),
        )
        .route(&format!("{API}/guilds/{{guild}}/roles"), get(list_roles))
        .route(
            &format!("{API}/guilds/{{guild}}/members/{{user}}"),
            get(get_member).delete(kick),
        )
        .route(
            &format!("{API}/guilds/{{guild}}/members/{{user}}/roles/{{role}}"),
            put(add_role).delete(remove_role),
        )
        .fallback(|| async { derr(StatusCode::NOT_FOUND, 0, "404: Not Found") })
}

async fn me(State(st): State<St>) -> Response {
    let w = lock(&st.world);
    Json(json!({"id": w.bot_id, "username": "boxoffice-bot", "discriminator": "0", "bot": true, "global_name": null})).into_response()
}

fn body_json(bytes: &[u8]) -> Result<Value, Response> {
    parse_json(bytes).ok_or_else(|| {
        derr(
            StatusCode::BAD_REQUEST,
            50109,
            "The request body contains invalid JSON.",
        )
    })
}

fn invalid_form(field: &str, code: &str, message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"code": 50035, "message": "Invalid Form Body",
            "errors": {field: {"_errors": [{"code": code, "message": message}]}}})),
    )
        .into_response()
}

async fn open_dm(State(st): State<St>, body: axum::body::Bytes) -> Response {
    let v = match body_json(&body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Some(rid) = v["recipient_id"].as_str().map(str::to_string) else {
        return invalid_form(
            "recipient_id",
            "BASE_TYPE_REQUIRED",
            "This field is required",
        );
    };
    let mut w = lock(&st.world);
    let Some(user) = w.users.get(&rid).cloned() else {
        return derr(StatusCode::NOT_FOUND, 10013, "Unknown User");
    };
    let c = w.dm_channel(&rid);
    let last = w
        .messages
        .iter()
        .rev()
        .find(|m| m.channel_id == c.id)
        .map(|m| m.id.clone());
    Json(json!({"id": c.id, "type": 1, "last_message_id": last,
        "recipients": [{"id": user.id, "username": user.username}]}))
    .into_response()
}

async fn create_message(
    State(st): State<St>,
    Path(channel): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let v = match body_json(&body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let content = v["content"].as_str().unwrap_or("").to_string();
    if content.trim().is_empty() && v["embeds"].as_array().is_none_or(|e| e.is_empty()) {
        return derr(
            StatusCode::BAD_REQUEST,
            50006,
            "Cannot send an empty message",
        );
    }
    if content.chars().count() > 2000 {
        return invalid_form(
            "content",
            "BASE_TYPE_MAX_LENGTH",
            "Must be 2000 or fewer in length.",
        );
    }
    let mut w = lock(&st.world);
    let Some(c) = w.channels.get(&channel).cloned() else {
        return derr(StatusCode::NOT_FOUND, 10003, "Unknown Channel");
    };
    if let Some(rid) = &c.recipient_id {
        if w.users.get(rid).is_some_and(|u| u.dm_closed) {
            return derr(
                StatusCode::FORBIDDEN,
                50007,
                "Cannot send messages to this user",
            );
        }
        if !w.shares_a_guild(rid) {
            return derr(
                StatusCode::FORBIDDEN,
                50278,
                "Cannot send messages to this user due to having no mutual guilds",
            );
        }
    }
    let msg = DiscordMessage {
        id: crate::discord_state::snowflake(),
        channel_id: c.id.clone(),
        recipient_id: c.recipient_id.clone(),
        content: content.clone(),
    };
    w.messages.push(msg.clone());
    let bot = w.bot_id.clone();
    Json(
        json!({"id": msg.id, "channel_id": msg.channel_id, "content": content,
        "author": {"id": bot, "username": "boxoffice-bot", "bot": true},
        "timestamp": crate::ids::iso_now(), "embeds": [], "type": 0}),
    )
    .into_response()
}

async fn list_roles(State(st): State<St>, Path(guild): Path<String>) -> Response {
    let w = lock(&st.world);
    let Some(g) = w.guilds.get(&guild) else {
        return derr(StatusCode::NOT_FOUND, 10004, "Unknown Guild");
    };
    let roles: Vec<Value> = g
        .roles
        .iter()
        .map(|r| {
            json!({"id": r.id, "name": r.name, "position": r.position, "color": 0,
            "hoist": false, "managed": false, "mentionable": false, "permissions": "0"})
        })
        .collect();
    Json(Value::Array(roles)).into_response()
}

fn member_json(m: &DiscordMember) -> Value {
    json!({"user": {"id": m.user_id, "username": m.username}, "nick": null, "roles": m.roles,
        "joined_at": "2025-01-01T00:00:00.000000+00:00", "deaf": false, "mute": false})
}

async fn get_member(State(st): State<St>, Path((guild, user)): Path<(String, String)>) -> Response {
    let w = lock(&st.world);
    let Some(g) = w.guilds.get(&guild) else {
        return derr(StatusCode::NOT_FOUND, 10004, "Unknown Guild");
    };
    match g.members.get(&user) {
        Some(m) => Json(member_json(m)).into_response(),
        None => derr(StatusCode::NOT_FOUND, 10007, "Unknown Member"),
    }
}

fn reason(h: &HeaderMap) -> Option<String> {
    header_str(h, "x-audit-log-reason").map(decode)
}

async fn add_role(
    State(st): State<St>,
    Path((guild, user, role)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    change_role(&st, &guild, &user, &role, true, reason(&headers))
}

async fn remove_role(
    State(st): State<St>,
    Path((guild, user, role)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    change_role(&st, &guild, &user, &role, false, reason(&headers))
}

fn change_role(
    st: &St,
    guild: &str,
    user: &str,
    role: &str,
    add: bool,
    reason: Option<String>,
) -> Response {
    let mut w = lock(&st.world);
    let Some(g) = w.guilds.get_mut(guild) else {
        return derr(StatusCode::NOT_FOUND, 10004, "Unknown Guild");
    };
    let Some(r) = g.roles.iter().find(|r| r.id == role).cloned() else {
        return derr(StatusCode::NOT_FOUND, 10011, "Unknown Role");
    };
    if !g.manage_roles || r.position >= g.bot_position {
        return derr(StatusCode::FORBIDDEN, 50013, "Missing Permissions");
    }
    let Some(m) = g.members.get_mut(user) else {
        return derr(StatusCode::NOT_FOUND, 10007, "Unknown Member");
    };
    let held = m.roles.contains(&r.id);
    if add && !held {
        m.roles.push(r.id.clone());
    } else if !add && held {
        m.roles.retain(|x| x != &r.id);
    }
    // Only real changes are logged: adding a held role is a no-op on Discord too.
    if add != held {
        w.role_log.push(DiscordRoleChange {
            action: if add { "add" } else { "remove" }.into(),
            guild_id: guild.to_string(),
            user_id: user.to_string(),
            role_id: Some(r.id),
            role_name: Some(r.name),
            reason,
        });
    }
    StatusCode::NO_CONTENT.into_response()
}

async fn kick(
    State(st): State<St>,
    Path((guild, user)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let mut w = lock(&st.world);
    let Some(g) = w.guilds.get_mut(&guild) else {
        return derr(StatusCode::NOT_FOUND, 10004, "Unknown Guild");
    };
    if !g.kick_members {
        return derr(StatusCode::FORBIDDEN, 50013, "Missing Permissions");
    }
    if g.members.remove(&user).is_none() {
        return derr(StatusCode::NOT_FOUND, 10007, "Unknown Member");
    }
    w.role_log.push(DiscordRoleChange {
        action: "kick".into(),
        guild_id: guild,
        user_id: user,
        role_id: None,
        role_name: None,
        reason: reason(&headers),
    });
    StatusCode::NO_CONTENT.into_response()
}

// ---- control API ----

fn control_routes() -> Router<St> {
    Router::new()
        .route("/guilds", post(c_seed_guild))
        .route("/guilds/{guild}/members", post(c_add_member))
        .route("/guilds/{guild}/channels", post(c_add_channel))
        .route("/users/{user}", put(c_put_user))
        .route("/rate_limit", put(c_rate_limit))
        .route("/messages", get(c_messages))
        .route("/role_log", get(c_role_log))
        .route("/state", get(c_state))
        .route(
            "/faults",
            get(c_faults).post(c_add_fault).delete(c_clear_faults),
        )
        .route("/requests", get(c_requests).delete(c_clear_requests))
}

async fn c_seed_guild(State(st): State<St>, Json(seed): Json<DiscordGuildSeed>) -> Response {
    let g = lock(&st.world).seed_guild(&seed);
    (StatusCode::CREATED, Json(g)).into_response()
}

#[derive(Deserialize)]
struct MemberSeed {
    username: String,
    #[serde(default)]
    user_id: Option<String>,
    #[serde(default)]
    roles: Vec<String>,
}

async fn c_add_member(
    State(st): State<St>,
    Path(guild): Path<String>,
    Json(s): Json<MemberSeed>,
) -> Response {
    match lock(&st.world).add_member(&guild, &s.username, s.user_id.as_deref(), &s.roles) {
        Ok(m) => (StatusCode::CREATED, Json(m)).into_response(),
        Err(e) => crate::control::bad(StatusCode::BAD_REQUEST, e),
    }
}

#[derive(Deserialize)]
struct ChannelSeed {
    name: String,
}

async fn c_add_channel(
    State(st): State<St>,
    Path(guild): Path<String>,
    Json(s): Json<ChannelSeed>,
) -> Response {
    match lock(&st.world).add_text_channel(&guild, &s.name) {
        Ok(id) => (StatusCode::CREATED, Json(json!({ "id": id }))).into_response(),
        Err(e) => crate::control::bad(StatusCode::BAD_REQUEST, e),
    }
}

#[derive(Deserialize)]
struct UserPatch {
    dm_closed: bool,
}

async fn c_put_user(
    State(st): State<St>,
    Path(user): Path<String>,
    Json(p): Json<UserPatch>,
) -> Response {
    match lock(&st.world).users.get_mut(&user) {
        Some(u) => {
            u.dm_closed = p.dm_closed;
            Json(json!({"id": u.id, "dm_closed": u.dm_closed})).into_response()
        }
        None => crate::control::bad(StatusCode::NOT_FOUND, format!("no user {user}")),
    }
}

async fn c_rate_limit(State(st): State<St>, Json(l): Json<DiscordRateLimit>) -> Response {
    lock(&st.world).rate_limit = l;
    Json(l).into_response()
}

async fn c_messages(State(st): State<St>) -> Response {
    Json(lock(&st.world).messages.clone()).into_response()
}

async fn c_role_log(State(st): State<St>) -> Response {
    Json(lock(&st.world).role_log.clone()).into_response()
}

async fn c_state(State(st): State<St>) -> Response {
    Json(serde_json::to_value(&*lock(&st.world)).unwrap_or(Value::Null)).into_response()
}

async fn c_faults(State(st): State<St>) -> Response {
    Json(lock(&st.traffic).faults.clone()).into_response()
}

async fn c_add_fault(State(st): State<St>, Json(rule): Json<DiscordFault>) -> Response {
    let id = add_fault_to(&st, rule);
    (StatusCode::CREATED, Json(json!({ "id": id }))).into_response()
}

async fn c_clear_faults(State(st): State<St>) -> StatusCode {
    lock(&st.traffic).faults.clear();
    StatusCode::NO_CONTENT
}

async fn c_requests(State(st): State<St>) -> Response {
    Json(lock(&st.traffic).log.clone()).into_response()
}

async fn c_clear_requests(State(st): State<St>) -> StatusCode {
    lock(&st.traffic).log.clear();
    StatusCode::NO_CONTENT
}
