//! HTTP routes shared by the Jellyfin and Emby fakes; behaviour that differs between
//! the two (or between Jellyfin versions) branches on [`MbKind`] with the reference
//! section cited.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde_json::{Map, Value, json};

use crate::control;
use crate::faults::lock;
use crate::http_util::{decode, header_str, json as json_resp, q_get, query_all, query_map};
use crate::ids;
pub use crate::mb_state::{MbDeviceSeed, MbLibrarySeed, MbUserSeed};
use crate::mb_state::{MbKind, MbMessage, MbState, merge_known};
use crate::routing::{PathStyle, RouteTable, Routes};
use crate::sessions::SessionSeed;

pub(crate) type Shared = Arc<Mutex<MbState>>;

#[derive(Clone)]
pub(crate) struct St {
    pub state: Shared,
}

enum Principal {
    /// API key: an administrator with no user (ref §2.1).
    ApiKey,
    User {
        id: String,
        admin: bool,
    },
}

impl Principal {
    fn admin(&self) -> bool {
        matches!(
            self,
            Principal::ApiKey | Principal::User { admin: true, .. }
        )
    }
}

// Responses ---------------------------------------------------------------------------

fn text(status: StatusCode, msg: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        msg.to_string(),
    )
        .into_response()
}

/// Jellyfin's `NotFound("User not found")` serialises the string as JSON (ref §2.2 J4).
fn user_not_found(kind: MbKind) -> Response {
    if kind.is_emby() {
        text(StatusCode::NOT_FOUND, "User not found")
    } else {
        json_resp(StatusCode::NOT_FOUND, json!("User not found"))
    }
}

/// ASP.NET ProblemDetails for model-validation failures (ref §2.4).
fn problem(errors: Value) -> Response {
    let body = json!({
        "type": "https://tools.ietf.org/html/rfc9110#section-15.5.1",
        "title": "One or more validation errors occurred.",
        "status": 400, "errors": errors, "traceId": format!("00-{}-{}-00", ids::hex(32), ids::hex(16)),
    });
    (
        StatusCode::BAD_REQUEST,
        [(
            header::CONTENT_TYPE,
            "application/problem+json; charset=utf-8",
        )],
        body.to_string(),
    )
        .into_response()
}

/// Jellyfin answers 204; Emby 204 or 200-empty depending on the switch (ref §3.3.7).
fn void(st: &MbState) -> Response {
    if st.kind.is_emby() && st.void_status == 200 {
        StatusCode::OK.into_response()
    } else {
        StatusCode::NO_CONTENT.into_response()
    }
}

/// Unhandled exceptions in production: text/plain `Error processing request.` (ref §2.4).
fn processing_error(status: StatusCode) -> Response {
    text(status, "Error processing request.")
}

// Authentication (ref §2.1 for Jellyfin, §3.1 for Emby) ----------------------------------

/// Parse `MediaBrowser Client="a", Token="b"` into (scheme, params); values URL-decoded.
fn parse_auth_header(v: &str) -> Option<(String, Vec<(String, String)>)> {
    let (scheme, rest) = v.trim().split_once(' ')?;
    let params = rest
        .split(',')
        .filter_map(|p| {
            let (k, v) = p.trim().split_once('=')?;
            Some((k.trim().to_string(), decode(v.trim().trim_matches('"'))))
        })
        .collect();
    Some((scheme.to_string(), params))
}

fn auth_param(headers: &HeaderMap, name: &str, legacy: bool) -> Option<String> {
    let mut candidates = vec![header_str(headers, "authorization")];
    if legacy {
        candidates.push(header_str(headers, "x-emby-authorization"));
    }
    for h in candidates.into_iter().flatten() {
        if let Some((scheme, params)) = parse_auth_header(h) {
            let ok = scheme.eq_ignore_ascii_case("MediaBrowser")
                || (legacy && scheme.eq_ignore_ascii_case("Emby"));
            if ok && let Some((_, v)) = params.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)) {
                return Some(v.clone());
            }
        }
    }
    None
}

fn legacy_allowed(st: &MbState) -> bool {
    match st.kind {
        MbKind::Emby => true,
        // ≤ 10.10 always; 10.11+ only while EnableLegacyAuthorization is on (ref §2.1).
        k if !k.jf_at_least(10, 11) => true,
        _ => st.legacy_auth,
    }
}

fn find_token(st: &MbState, headers: &HeaderMap, uri: &Uri) -> Option<String> {
    let legacy = legacy_allowed(st);
    let q = query_map(uri);
    auth_param(headers, "Token", legacy)
        .or_else(|| {
            legacy
                .then(|| header_str(headers, "x-emby-token").map(str::to_string))
                .flatten()
        })
        .or_else(|| {
            (legacy && !st.kind.is_emby())
                .then(|| header_str(headers, "x-mediabrowser-token").map(str::to_string))
                .flatten()
        })
        .or_else(|| {
            legacy
                .then(|| q_get(&q, "api_key").map(str::to_string))
                .flatten()
        })
        // `ApiKey=` query: Jellyfin 10.11+, not gated as legacy (ref §2.1).
        .or_else(|| {
            st.kind
                .jf_at_least(10, 11)
                .then(|| q_get(&q, "ApiKey").map(str::to_string))
                .flatten()
        })
        .filter(|t| !t.is_empty())
}

fn principal(st: &MbState, headers: &HeaderMap, uri: &Uri) -> Option<Principal> {
    let token = find_token(st, headers, uri)?;
    if st.api_keys.iter().any(|k| k.token == token) {
        return Some(Principal::ApiKey);
    }
    let (uid, _) = st.tokens.get(&token)?;
    let u = st.users.iter().find(|u| &u.id == uid)?;
    Some(Principal::User {
        id: u.id.clone(),
        admin: u.flag("IsAdministrator"),
    })
}

/// Missing/invalid token → 401 empty; non-admin on an elevated route → 403 (ref §2.1).
fn require(
    st: &MbState,
    headers: &HeaderMap,
    uri: &Uri,
    admin: bool,
) -> Result<Principal, Response> {
    match principal(st, headers, uri) {
        None => Err(StatusCode::UNAUTHORIZED.into_response()),
        Some(p) if admin && !p.admin() => Err(StatusCode::FORBIDDEN.into_response()),
        Some(p) => Ok(p),
    }
}

macro_rules! guard {
    ($st:expr, $h:expr, $u:expr, $admin:expr) => {
        match require(&$st, &$h, &$u, $admin) {
            Ok(p) => p,
            Err(r) => return r,
        }
    };
}

/// A path GUID: malformed → 400 (ref §2.5.1). Emby user ids are GUID-style too.
fn path_user(st: &MbState, raw: &str) -> Result<String, Response> {
    let Some(id) = ids::normalize_guid(raw) else {
        return Err(if st.kind.is_emby() {
            user_not_found(st.kind)
        } else {
            problem(json!({ "userId": [format!("The value '{raw}' is not valid.")] }))
        });
    };
    if st.users.iter().any(|u| u.id == id) {
        Ok(id)
    } else {
        Err(user_not_found(st.kind))
    }
}

// Request and response bodies ----------------------------------------------------------------

/// Property names of the request bodies the fakes read, in the servers' spelling.
const REQUEST_NAMES: &[&str] = &[
    "Name",
    "Password",
    "Username",
    "Pw",
    "NewPw",
    "CurrentPw",
    "CurrentPassword",
    "ResetPassword",
    "Id",
    "CopyFromUserId",
    "UserCopyOptions",
    "Configuration",
    "Policy",
    "Header",
    "Text",
    "TimeoutMs",
    "Arguments",
    "Command",
    "SeekPositionTicks",
    "ControllingUserId",
    "ServerName",
    "EnableLegacyAuthorization",
];

/// Every property name a request body binds to: the request DTOs above, UserPolicy (both
/// servers) and UserConfiguration.
fn bound_names() -> &'static [String] {
    static NAMES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    NAMES.get_or_init(|| {
        let mut names: Vec<String> = REQUEST_NAMES.iter().map(|n| n.to_string()).collect();
        for v in [
            MbState::default_policy_for(MbKind::Jellyfin(10, 11)),
            MbState::default_policy_for(MbKind::Emby),
            MbState::default_configuration(),
            crate::mediabrowser::config::defaults(),
        ] {
            if let Value::Object(m) = v {
                names.extend(m.keys().cloned());
            }
        }
        names.sort();
        names.dedup();
        names
    })
}

/// Read a JSON request body as Jellyfin and Emby bind it: property names case-insensitively
/// (ASP.NET Core's web defaults, which Jellyfin keeps; `Jellyfin.Server/Extensions/
/// ApiServiceCollectionExtensions.cs` only overrides naming and converters), so `{"name":
/// ...}` fills `Name`. `None` on malformed input; an empty body is an empty object.
pub(crate) fn parse_json(body: &[u8]) -> Option<Value> {
    crate::http_util::parse_json(body).map(bind)
}

fn bind(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| {
                    let k = bound_names()
                        .iter()
                        .find(|n| n.eq_ignore_ascii_case(&k))
                        .cloned()
                        .unwrap_or(k);
                    (k, bind(v))
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(bind).collect()),
        other => other,
    }
}

/// Drop `null` properties at every depth (arrays keep their elements).
fn omit_nulls(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, omit_nulls(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(omit_nulls).collect()),
        other => other,
    }
}

/// Every answer leaves through the server's own writer:
/// * Jellyfin serialises with `DefaultIgnoreCondition = WhenWritingNull`
///   (`src/Jellyfin.Extensions/Json/JsonDefaults.cs`): null properties are omitted.
/// * Emby has no ProblemDetails: its errors are text/plain messages
///   (chrisbenincasa/tunarr#1630), so a validation failure leaves as its first message.
async fn write_as(kind: MbKind, resp: Response) -> Response {
    let ctype = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let problem_json = ctype.starts_with("application/problem+json");
    let json = ctype.starts_with("application/json");
    if !(kind.is_emby() && problem_json || !kind.is_emby() && json) {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 16 * 1024 * 1024).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let Ok(v) = serde_json::from_slice::<Value>(&bytes) else {
        return Response::from_parts(parts, axum::body::Body::from(bytes));
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    if kind.is_emby() {
        let msg = v["errors"]
            .as_object()
            .and_then(|e| e.values().next())
            .and_then(|m| m.get(0))
            .and_then(Value::as_str)
            .unwrap_or("Bad Request")
            .to_string();
        return text(parts.status, &msg);
    }
    Response::from_parts(parts, axum::body::Body::from(omit_nulls(v).to_string()))
}

// Routes -------------------------------------------------------------------------------

pub(crate) fn routes(state: Shared, emby: bool) -> (Router, RouteTable) {
    let kind = lock(&state).kind;
    // Routing ignores case on both servers (ASP.NET Core, ServiceStack); Emby's documented
    // root is `/emby` and clients also call the bare routes (ref §3.1).
    let style = PathStyle {
        optional_root: emby.then_some("/emby"),
        case_insensitive: true,
    };
    let mut r = Routes::new(style)
        .get("/System/Info/Public", info_public)
        .get("/System/Info", info)
        .get("/System/Configuration", config::get)
        .post("/System/Configuration", config::update)
        .get("/Users", list_users)
        .post("/Users", update_user_query)
        .post("/Users/New", new_user)
        .post("/Users/AuthenticateByName", authenticate)
        .post("/Users/Password", password_query)
        .get("/Users/{id}", get_user)
        .delete("/Users/{id}", delete_user)
        .post("/Users/{id}", update_user_legacy)
        .post("/Users/{id}/Policy", set_policy)
        .post("/Users/{id}/Password", password_legacy)
        .get("/Library/MediaFolders", media_folders)
        .get("/Library/VirtualFolders", virtual_folders)
        .get("/Items/Counts", item_counts)
        .get("/Items", items)
        .get("/Sessions", sessions)
        .post("/Sessions/{id}/Playing/{command}", playing_command)
        .post("/Sessions/{id}/Message", message)
        .post("/Sessions/{id}/Command", general_command_body)
        .post("/Sessions/{id}/Command/{command}", general_command)
        .post("/Sessions/{id}/System/{command}", general_command)
        .get("/Devices", devices)
        .delete("/Devices", delete_devices)
        .get("/Auth/Keys", list_keys)
        .post("/Auth/Keys", create_key)
        .delete("/Auth/Keys/{key}", revoke_key);
    if emby {
        // Emby-only routes and POST twins of DELETE routes (ref §3.1, §3.2).
        r = r
            .get("/Users/Query", users_query)
            .post("/Users/{id}/Delete", delete_user)
            .post("/Users/{id}/Connect/Link", connect_link)
            .delete("/Users/{id}/Connect/Link", connect_unlink)
            .post("/Users/{id}/Connect/Link/Delete", connect_unlink)
            .get("/Library/VirtualFolders/Query", virtual_folders_query)
            .post("/Devices/Delete", delete_devices)
            .post("/Auth/Keys/{key}/Delete", revoke_key)
            .get("/Plugins/SecurityInfo", security_info);
    }
    let (router, table) = r
        .fallback(|| async { StatusCode::NOT_FOUND })
        .with_state(St { state });
    let router = router.layer(axum::middleware::map_response(move |resp: Response| {
        write_as(kind, resp)
    }));
    (router, table)
}

async fn info_public(State(s): State<St>) -> Response {
    let st = lock(&s.state);
    let product = if st.kind.is_emby() {
        "Emby Server"
    } else {
        "Jellyfin Server"
    };
    Json(json!({
        "LocalAddress": "http://127.0.0.1:8096", "ServerName": st.server_name, "Version": st.version,
        "ProductName": product, "OperatingSystem": "Linux", "Id": st.server_id, "StartupWizardCompleted": true,
    }))
    .into_response()
}

async fn info(State(s): State<St>, h: HeaderMap, u: Uri) -> Response {
    let st = lock(&s.state);
    guard!(st, h, u, true);
    let mut v = json!({
        "LocalAddress": "http://127.0.0.1:8096", "ServerName": st.server_name, "Version": st.version,
        "ProductName": if st.kind.is_emby() { "Emby Server" } else { "Jellyfin Server" },
        "OperatingSystem": "Linux", "Id": st.server_id, "StartupWizardCompleted": true,
        "OperatingSystemDisplayName": "Linux", "HasPendingRestart": false, "IsShuttingDown": false,
        "SupportsLibraryMonitor": true, "WebSocketPortNumber": 8096, "CanSelfRestart": false,
        "HasUpdateAvailable": false, "TranscodingTempPath": "/cache/transcodes", "LogPath": "/config/log",
    });
    if st.kind.is_emby() {
        v["HardwareAccelerationRequiresPremiere"] = json!(true);
        v["WanAddress"] = json!("http://203.0.113.1:8096");
    }
    Json(v).into_response()
}

mod config;
mod control_api;
mod library;
mod sessions;
mod users;
pub(crate) use control_api::{control_routes, seed_device, state_json};
use library::*;
use sessions::*;
use users::*;
