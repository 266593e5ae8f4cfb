//! Fake of plex.tv (also answering the `clients.plex.tv` routes, ref §1.4.1): account,
//! resources, servers with global section ids, shares/invites/friends (v1 XML and v2
//! JSON), and the routes Plex removed (410, ref §1.2 P16/P22, §1.4.6).

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::control;
use crate::faults::{
    Core, EmptySectionsFlag, FaultRule, Flavor, LoggedRequest, SERVER_SECTIONS_ROUTES,
    SHARE_CREATE_ROUTES, lock, provider_error,
};
use crate::http_util::{
    header_str, json as json_resp, loose_bool, loose_i64, parse_json, query_map, wants_json, xml,
};
use crate::ids;
use crate::plex_state::{
    PlexAccount, PlexAccountSeed, PlexFriendSeed, PlexServerRec, PlexShare, PlexShareSettings,
    PlexWorld,
};
use crate::routing::{PathStyle, RouteTable, Routes};
use crate::server::{Running, serve};
use crate::xml::{El, json_to_xml_el};

pub(crate) type Shared = Arc<Mutex<PlexWorld>>;

#[derive(Clone)]
struct St {
    world: Shared,
}

/// Handle to a running plex.tv fake.
#[derive(Debug)]
pub struct PlexTvFake {
    running: Running,
    core: Arc<Core>,
    world: Shared,
}

impl PlexTvFake {
    /// Start with an owner account that has Plex Pass.
    pub async fn start() -> crate::Result<Self> {
        Self::start_with_plex_pass(true).await
    }

    pub async fn start_with_plex_pass(plex_pass: bool) -> crate::Result<Self> {
        let world: Shared = Arc::new(Mutex::new(PlexWorld::new(plex_pass)));
        let (provider, table) = provider_routes(world.clone());
        let core = Core::new(Flavor::PlexTv, table);
        let app = control::assemble(provider, control_routes(world.clone()), core.clone());
        let running = serve(app).await?;
        Ok(PlexTvFake {
            running,
            core,
            world,
        })
    }

    pub fn url(&self) -> String {
        self.running.url()
    }
    pub fn control_url(&self) -> String {
        format!("{}{}", self.url(), control::PREFIX)
    }
    /// The owner's `X-Plex-Token`.
    pub fn token(&self) -> String {
        lock(&self.world).owner.token.clone()
    }
    pub fn owner(&self) -> PlexAccount {
        lock(&self.world).owner.clone()
    }
    pub fn set_plex_pass(&self, on: bool) {
        lock(&self.world).owner.plex_pass = on;
    }
    /// Register a customer account on plex.tv (so invites by its e-mail/username resolve).
    pub fn register_account(&self, seed: PlexAccountSeed) -> PlexAccount {
        lock(&self.world).register(seed)
    }
    /// Seed an existing friend with shares on servers named in the seed.
    pub fn seed_friend(&self, seed: PlexFriendSeed) -> crate::Result<PlexAccount> {
        seed_friend(&mut lock(&self.world), seed)
    }
    /// Accept a pending share as its invitee would (ref §1.4.5 test hook).
    pub fn accept_invite(&self, share_id: i64) -> crate::Result<PlexShare> {
        lock(&self.world)
            .accept(share_id)
            .ok_or_else(|| crate::FakeError::NotFound(format!("share {share_id}")))
    }
    pub fn shares(&self) -> Vec<PlexShare> {
        lock(&self.world).shares.clone()
    }
    /// Full state as served by `GET /__control/state`.
    pub fn state(&self) -> Value {
        state_json(&lock(&self.world))
    }
    pub fn add_fault(&self, rule: FaultRule) -> u64 {
        self.core.add_fault(rule)
    }
    pub fn clear_faults(&self) {
        self.core.clear_faults()
    }
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.core.requests()
    }
    pub(crate) fn world(&self) -> Shared {
        self.world.clone()
    }
}

// ---------------------------------------------------------------------------------
// Authentication: `X-Plex-Token` header or query parameter (ref §1.1, §1.4.3).

struct Authed {
    account: PlexAccount,
    headers: HeaderMap,
    uri: Uri,
}

impl Authed {
    fn is_owner(&self, w: &PlexWorld) -> bool {
        self.account.id == w.owner.id
    }
    fn json(&self) -> bool {
        wants_json(&self.headers)
    }
}

fn unauthorized(path: &str) -> Response {
    if path.starts_with("/api/v2") {
        provider_error(
            Flavor::PlexTv,
            path,
            StatusCode::UNAUTHORIZED,
            "User could not be authenticated",
        )
    } else {
        let body = El::new("errors")
            .child(El::new("error").text("You must be signed in or signed up before continuing."))
            .to_xml();
        xml(StatusCode::UNAUTHORIZED, body)
    }
}

impl FromRequestParts<St> for Authed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, st: &St) -> Result<Self, Self::Rejection> {
        let q = query_map(&parts.uri);
        let token = header_str(&parts.headers, "x-plex-token")
            .map(str::to_string)
            .or_else(|| q.get("X-Plex-Token").cloned());
        let account = token.and_then(|t| lock(&st.world).account_by_token(&t).cloned());
        match account {
            Some(account) => Ok(Authed {
                account,
                headers: parts.headers.clone(),
                uri: parts.uri.clone(),
            }),
            None => Err(unauthorized(parts.uri.path())),
        }
    }
}

fn v1_err(path: &str, status: StatusCode, msg: &str) -> Response {
    provider_error(Flavor::PlexTv, path, status, msg)
}

/// v2 answer: JSON with `Accept: application/json`, XML otherwise (ref §1.1).
fn v2_reply(a: &Authed, status: StatusCode, root: &str, v: Value) -> Response {
    if a.json() {
        json_resp(status, v)
    } else {
        xml(status, json_to_xml_el(root, &v).to_xml())
    }
}

fn container(w: &PlexWorld) -> El {
    El::new("MediaContainer")
        .a("friendlyName", "myPlex")
        .a("identifier", "com.plexapp.plugins.myplex")
        .a(
            "machineIdentifier",
            w.servers
                .first()
                .map(|s| s.machine_id.as_str())
                .unwrap_or(""),
        )
}

// ---------------------------------------------------------------------------------
// Routes.

fn provider_routes(world: Shared) -> (Router, RouteTable) {
    let [(_, v1_share_create), (_, v2_share_create)] = SHARE_CREATE_ROUTES;
    let [(_, v1_server), (_, v2_server_route)] = SERVER_SECTIONS_ROUTES;
    Routes::new(PathStyle::default())
        .get("/api/v2/user", v2_user)
        .get("/users/account", v1_account)
        .get("/users/account.json", v1_account_json)
        .get("/api/v2/ping", ping)
        .get("/api/v2/resources", v2_resources)
        .get("/api/resources", v1_resources)
        .get("/pms/servers.xml", v1_servers_xml)
        .get("/pms/servers", v1_servers_xml)
        .get("/devices.xml", devices_xml)
        .get(v1_server, self::v1_server)
        .get(v2_server_route, v2_server)
        .get("/api/servers/{mid}/shared_servers", v1_list_shares)
        .post(v1_share_create, v1_create_share)
        .put("/api/servers/{mid}/shared_servers/{sid}", v1_update_share)
        .delete("/api/servers/{mid}/shared_servers/{sid}", v1_delete_share)
        .post(v2_share_create, v2_create_share)
        .get("/api/v2/shared_servers/owned/accepted", v2_accepted)
        .get("/api/v2/shared_servers/invites/owned/pending", v2_pending)
        .get(
            "/api/v2/shared_servers/invites/received/pending",
            v2_received_pending,
        )
        .post("/api/v2/shared_servers/{sid}", v2_update_share)
        .delete("/api/v2/shared_servers/{sid}", v2_delete_share)
        .post("/api/v2/shared_servers/{sid}/accept", v2_accept)
        .put("/api/v2/sharings/{uid}", v2_update_friend)
        .delete("/api/v2/sharings/{uid}", v2_remove_friend)
        .get("/api/users", v1_users)
        .post("/api/users/validate", v1_validate_user)
        // GET was never observed answering: every client that reads the answer sends POST
        // (go-plex-client `CheckUsernameOrEmail`), so GET is answered as an unknown route and
        // no client can come to depend on it.
        .get("/api/users/validate", not_found)
        .get("/pms/friends/all", v1_users)
        .get("/api/home/users", v1_home_users)
        .post("/api/home/users", v1_home_add)
        .delete("/api/home/users/{id}", v1_home_remove)
        // Removed by Plex: 410 with the XML Response body (ref §1.2 P16/P17/P22/P25).
        .any("/api/friends/{id}", gone)
        .any("/api/invites/requested", gone)
        .any("/api/invites/requested/{id}", gone)
        .any("/api/invites/requests", gone)
        .any("/api/invites/requests/{id}", gone)
        .fallback(not_found)
        .with_state(St { world })
}

/// `POST /api/users/validate?invited_email=`: whether a Plex account exists for an e-mail or
/// username. 200 `<Response code="0" status="Valid user"/>`, else 400 with a non-zero `code`
/// and `Invalid user`; clients read `code` (go-plex-client `CheckUsernameOrEmail`, ref §1.2 P30).
async fn v1_validate_user(State(st): State<St>, _a: Authed, uri: Uri) -> Response {
    let q = query_map(&uri);
    let who = q.get("invited_email").map(|s| s.trim()).unwrap_or("");
    let w = lock(&st.world);
    let exists = !who.is_empty()
        && (w.find_account(who).is_some()
            || w.owner.email.eq_ignore_ascii_case(who)
            || w.owner.username.eq_ignore_ascii_case(who));
    if exists {
        let body = El::new("Response")
            .a("code", 0i64)
            .a("status", "Valid user")
            .to_xml();
        xml(StatusCode::OK, body)
    } else {
        v1_err(uri.path(), StatusCode::BAD_REQUEST, "Invalid user")
    }
}

async fn gone(uri: Uri) -> Response {
    v1_err(
        uri.path(),
        StatusCode::GONE,
        "This endpoint was deprecated and removed",
    )
}

async fn not_found(uri: Uri) -> Response {
    v1_err(
        uri.path(),
        StatusCode::NOT_FOUND,
        "The requested resource or endpoint could not be found.",
    )
}

// P1/P2/P3 ---------------------------------------------------------------------------

fn user_json(a: &PlexAccount, owner: bool) -> Value {
    let plex_pass = a.plex_pass;
    json!({
        "id": a.id, "uuid": a.uuid, "username": a.username, "title": a.title, "email": a.email,
        "friendlyName": "", "locale": null, "confirmed": true, "emailOnlyAuth": false,
        "hasPassword": true, "protected": false,
        "thumb": format!("https://plex.tv/users/{}/avatar?c=1", a.uuid),
        "authToken": a.token, "mailingListStatus": "active", "mailingListActive": true,
        "scrobbleTypes": "", "country": "US", "restricted": false, "anonymous": null,
        "home": owner, "guest": false, "homeSize": 1, "homeAdmin": owner, "maxHomeSize": 15,
        "joinedAt": a.joined_at, "twoFactorEnabled": false, "backupCodesCreated": false,
        "subscription": {
            "active": plex_pass,
            "subscribedAt": if plex_pass { Value::from("2021-03-14 12:00:00 UTC") } else { Value::Null },
            "status": if plex_pass { "Active" } else { "Inactive" },
            "paymentService": if plex_pass { Value::from("braintree") } else { Value::Null },
            "plan": if plex_pass { Value::from("lifetime") } else { Value::Null },
            "features": if plex_pass { json!(["sync", "camera_upload", "download_certificates", "session_kick"]) } else { json!([]) },
        },
        "roles": if plex_pass { json!(["plexpass"]) } else { json!([]) },
        "entitlements": if plex_pass { json!(["all"]) } else { json!([]) },
        "profile": {"autoSelectAudio": true, "defaultAudioLanguage": "en", "defaultSubtitleLanguage": "en", "autoSelectSubtitle": 0},
        "services": [],
    })
}

async fn v2_user(State(st): State<St>, a: Authed) -> Response {
    let owner = a.is_owner(&lock(&st.world));
    v2_reply(&a, StatusCode::OK, "user", user_json(&a.account, owner))
}

fn v1_account_el(a: &PlexAccount, owner: bool) -> El {
    let pp = a.plex_pass;
    El::new("user")
        .a("email", &a.email)
        .a("id", a.id)
        .a("uuid", &a.uuid)
        .a("joinedAt", a.joined_at)
        .a("locale", "")
        .a(
            "thumb",
            format!("https://plex.tv/users/{}/avatar?c=1", a.uuid),
        )
        .a("title", &a.title)
        .a("username", &a.username)
        .a("authenticationToken", &a.token)
        .a("authToken", &a.token)
        .a("home", owner)
        .a("restricted", false)
        .a("certificateVersion", 2i64)
        .child(
            El::new("subscription")
                .a("active", pp)
                .a("status", if pp { "Active" } else { "Inactive" })
                .a("plan", if pp { "lifetime" } else { "" })
                .child(El::new("feature").a("id", "sync")),
        )
        .child(El::new("roles").kids(pp.then(|| El::new("role").a("id", "plexpass"))))
        .child(El::new("entitlements").a("all", pp))
}

async fn v1_account(State(st): State<St>, a: Authed) -> Response {
    let owner = a.is_owner(&lock(&st.world));
    xml(StatusCode::OK, v1_account_el(&a.account, owner).to_xml())
}

async fn v1_account_json(State(st): State<St>, a: Authed) -> Response {
    let owner = a.is_owner(&lock(&st.world));
    let mut u = user_json(&a.account, owner);
    u["authentication_token"] = json!(a.account.token);
    u["subscription"]["plan"] = json!(if a.account.plex_pass { "lifetime" } else { "" });
    json_resp(StatusCode::OK, json!({ "user": u }))
}

/// P3: `<pong>true</pong>`; plexapi reads the element text.
async fn ping(a: Authed) -> Response {
    if a.json() {
        json_resp(StatusCode::OK, json!({"pong": true}))
    } else {
        xml(StatusCode::OK, El::new("pong").text("true").to_xml())
    }
}

// P4/P5 --------------------------------------------------------------------------------

fn hostport(url: &str) -> (String, i64) {
    let hp = url.trim_start_matches("http://");
    let (h, p) = hp.split_once(':').unwrap_or((hp, "32400"));
    (
        h.to_string(),
        p.trim_end_matches('/').parse().unwrap_or(32400),
    )
}

/// Resources visible to `a`: the owner's servers, or the servers shared with a friend.
fn resources_for(w: &PlexWorld, a: &PlexAccount) -> Vec<(PlexServerRec, String, bool)> {
    if a.id == w.owner.id {
        return w
            .servers
            .iter()
            .map(|s| (s.clone(), w.owner.token.clone(), true))
            .collect();
    }
    w.shares
        .iter()
        .filter(|s| s.invited_id == Some(a.id) && s.accepted_at.is_some())
        .filter_map(|sh| {
            w.server(&sh.machine_id)
                .map(|s| (s.clone(), sh.access_token.clone(), false))
        })
        .collect()
}

fn resource_json(w: &PlexWorld, s: &PlexServerRec, token: &str, owned: bool) -> Value {
    let (host, port) = hostport(&s.url);
    json!({
        "name": s.name, "product": "Plex Media Server", "productVersion": s.version,
        "platform": "Linux", "platformVersion": "6.1", "device": "PC",
        "clientIdentifier": s.machine_id, "createdAt": ids::iso_secs(s.created_at),
        "lastSeenAt": ids::iso_secs(ids::now_secs()), "provides": "server",
        "ownerId": if owned { Value::Null } else { json!(w.owner.id) },
        "sourceTitle": if owned { Value::Null } else { json!(w.owner.username) },
        "publicAddress": host, "accessToken": token, "owned": owned, "home": false,
        "synced": false, "relay": true, "presence": true, "httpsRequired": false,
        "publicAddressMatches": true, "dnsRebindingProtection": false, "natLoopbackSupported": false,
        "connections": [{"protocol": "http", "address": host, "port": port, "uri": s.url, "local": true, "relay": false, "IPv6": false}],
    })
}

async fn v2_resources(State(st): State<St>, a: Authed) -> Response {
    let w = lock(&st.world);
    let list: Vec<Value> = resources_for(&w, &a.account)
        .iter()
        .map(|(s, t, o)| resource_json(&w, s, t, *o))
        .collect();
    drop(w);
    v2_reply(&a, StatusCode::OK, "resources", Value::Array(list))
}

async fn v1_resources(State(st): State<St>, a: Authed) -> Response {
    let w = lock(&st.world);
    let devices: Vec<El> = resources_for(&w, &a.account)
        .iter()
        .map(|(s, t, o)| {
            let (host, port) = hostport(&s.url);
            El::new("Device")
                .a("name", &s.name)
                .a("product", "Plex Media Server")
                .a("productVersion", &s.version)
                .a("platform", "Linux")
                .a("clientIdentifier", &s.machine_id)
                .a("createdAt", s.created_at)
                .a("lastSeenAt", ids::now_secs())
                .a("provides", "server")
                .a("owned", *o)
                .a("accessToken", t)
                .a("publicAddress", &host)
                .a("httpsRequired", false)
                .a("presence", true)
                .child(
                    El::new("Connection")
                        .a("protocol", "http")
                        .a("address", &host)
                        .a("port", port)
                        .a("uri", &s.url)
                        .a("local", true),
                )
        })
        .collect();
    let body = El::new("MediaContainer")
        .a("size", devices.len())
        .kids(devices)
        .to_xml();
    xml(StatusCode::OK, body)
}

fn v1_server_el(s: &PlexServerRec, token: &str, owned: bool) -> El {
    let (host, port) = hostport(&s.url);
    El::new("Server")
        .a("accessToken", token)
        .a("name", &s.name)
        .a("address", &host)
        .a("port", port)
        .a("version", &s.version)
        .a("scheme", "http")
        .a("host", &host)
        .a("localAddresses", &host)
        .a("machineIdentifier", &s.machine_id)
        .a("createdAt", s.created_at)
        .a("updatedAt", ids::now_secs())
        .a("owned", owned)
        .a("synced", false)
}

async fn v1_servers_xml(State(st): State<St>, a: Authed) -> Response {
    let w = lock(&st.world);
    let list: Vec<El> = resources_for(&w, &a.account)
        .iter()
        .map(|(s, t, o)| v1_server_el(s, t, *o))
        .collect();
    xml(
        StatusCode::OK,
        container(&w).a("size", list.len()).kids(list).to_xml(),
    )
}

/// `GET /devices.xml`: the devices signed in to the account (python-plexapi
/// `MyPlexDevice`, key `https://plex.tv/devices.xml`). The fake's account has its servers
/// and, once they have played something, the players seen in their sessions.
async fn devices_xml(State(st): State<St>, a: Authed) -> Response {
    let w = lock(&st.world);
    let mut devices: Vec<El> = resources_for(&w, &a.account)
        .iter()
        .map(|(s, t, _)| {
            let (host, _) = hostport(&s.url);
            El::new("Device")
                .a("name", &s.name)
                .a("publicAddress", &host)
                .a("product", "Plex Media Server")
                .a("productVersion", &s.version)
                .a("platform", "Linux")
                .a("platformVersion", "6.1")
                .a("device", "PC")
                .a("model", "x86_64")
                .a("vendor", "Debian")
                .a("provides", "server")
                .a("clientIdentifier", &s.machine_id)
                .a("version", &s.version)
                .a("id", s.server_id)
                .a("token", t)
                .a("createdAt", s.created_at)
                .a("lastSeenAt", ids::now_secs())
                .a("screenResolution", "")
                .a("screenDensity", "")
                .child(El::new("Connection").a("uri", &s.url))
        })
        .collect();
    if a.is_owner(&w) {
        let mut seen: Vec<String> = Vec::new();
        for sess in w.servers.iter().flat_map(|s| &s.sessions) {
            let id = sess
                .seed
                .device_id
                .clone()
                .unwrap_or_else(|| format!("{:x}", sess.rating_key * 7919));
            if seen.contains(&id) {
                continue;
            }
            devices.push(
                El::new("Device")
                    .a("name", &sess.seed.device)
                    .a("publicAddress", &sess.seed.ip)
                    .a(
                        "product",
                        sess.seed.product.as_deref().unwrap_or("Plex Web"),
                    )
                    .a("productVersion", "4.145.1")
                    .a(
                        "platform",
                        sess.seed.platform.as_deref().unwrap_or("Chrome"),
                    )
                    .a("platformVersion", "1.0")
                    .a("device", &sess.seed.device)
                    .a("model", "")
                    .a("vendor", "")
                    .a("provides", "client,player,pubsub-player")
                    .a("clientIdentifier", &id)
                    .a("version", "4.145.1")
                    .a("id", sess.session_key)
                    .a("token", "")
                    .a("createdAt", sess.started_at)
                    .a("lastSeenAt", ids::now_secs())
                    .a("screenResolution", "1920x1080")
                    .a("screenDensity", "1"),
            );
            seen.push(id);
        }
    }
    let body = El::new("MediaContainer")
        .a("publicAddress", "127.0.0.1")
        .a("size", devices.len())
        .kids(devices)
        .to_xml();
    drop(w);
    xml(StatusCode::OK, body)
}

// P8/P9 ----------------------------------------------------------------------------

async fn v1_server(
    State(st): State<St>,
    a: Authed,
    Path(mid): Path<String>,
    empty: Option<axum::Extension<EmptySectionsFlag>>,
) -> Response {
    let w = lock(&st.world);
    match w.server(&mid).filter(|_| a.is_owner(&w)) {
        // 404 when the account does not own the machine (ref §1.2 P8, status UNCERTAIN).
        None => v1_err(a.uri.path(), StatusCode::NOT_FOUND, "Not Found"),
        Some(s) => {
            // Injected fault: the transient empty list (ref §1.2 P9), here on the v1 route.
            let listed = if empty.is_some() {
                &[][..]
            } else {
                &s.sections[..]
            };
            let secs = listed.iter().map(|sec| {
                El::new("Section")
                    .a("id", sec.global_id)
                    .a("key", sec.key)
                    .a("type", &sec.kind)
                    .a("title", &sec.title)
            });
            let srv = v1_server_el(s, &w.owner.token, true).kids(secs);
            xml(
                StatusCode::OK,
                container(&w).a("size", 1usize).child(srv).to_xml(),
            )
        }
    }
}

async fn v2_server(
    State(st): State<St>,
    a: Authed,
    Path(mid): Path<String>,
    empty: Option<axum::Extension<EmptySectionsFlag>>,
) -> Response {
    let w = lock(&st.world);
    let Some(s) = w.server(&mid).filter(|_| a.is_owner(&w)) else {
        return v1_err(
            a.uri.path(),
            StatusCode::NOT_FOUND,
            "The requested resource or endpoint could not be found.",
        );
    };
    // Injected fault: the transient empty list Wizarr guards against (ref §1.2 P9).
    let sections: Vec<Value> = if empty.is_some() {
        Vec::new()
    } else {
        s.sections
            .iter()
            .map(|sec| json!({"id": sec.global_id, "key": sec.key, "title": sec.title, "type": sec.kind}))
            .collect()
    };
    let v = json!({
        "name": s.name, "machineIdentifier": s.machine_id, "version": s.version,
        "ownerId": w.owner.id, "librarySections": sections,
    });
    drop(w);
    v2_reply(&a, StatusCode::OK, "server", v)
}

mod control_api;
mod share_updates;
mod shares;
use control_api::control_routes;
pub(crate) use control_api::{seed_friend, state_json};
use share_updates::*;
use shares::*;
