//! HTTP routes shared by the Jellyfin and Emby fakes; behaviour that differs between
//! the two (or between Jellyfin versions) branches on [`MbKind`] with the reference
//! section cited.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Map, Value, json};

use crate::control;
use crate::faults::lock;
use crate::http_util::{
    decode, header_str, json as json_resp, parse_json, q_get, query_all, query_map,
};
use crate::ids;
pub use crate::mb_state::{MbDeviceSeed, MbLibrarySeed, MbUserSeed};
use crate::mb_state::{MbKind, MbMessage, MbState, merge_known};
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

// Routes -------------------------------------------------------------------------------

pub(crate) fn routes(state: Shared, emby: bool) -> Router {
    let mut r = Router::new()
        .route("/System/Info/Public", get(info_public))
        .route("/System/Info", get(info))
        .route("/Users", get(list_users).post(update_user_query))
        .route("/Users/New", post(new_user))
        .route("/Users/AuthenticateByName", post(authenticate))
        .route("/Users/Password", post(password_query))
        .route(
            "/Users/{id}",
            get(get_user).delete(delete_user).post(update_user_legacy),
        )
        .route("/Users/{id}/Policy", post(set_policy))
        .route("/Users/{id}/Password", post(password_legacy))
        .route("/Library/MediaFolders", get(media_folders))
        .route("/Library/VirtualFolders", get(virtual_folders))
        .route("/Items/Counts", get(item_counts))
        .route("/Items", get(items))
        .route("/Sessions", get(sessions))
        .route("/Sessions/{id}/Playing/{command}", post(playing_command))
        .route("/Sessions/{id}/Message", post(message))
        .route("/Sessions/{id}/Command/{command}", post(general_command))
        .route("/Sessions/{id}/System/{command}", post(general_command))
        .route("/Devices", get(devices).delete(delete_devices))
        .route("/Auth/Keys", get(list_keys).post(create_key))
        .route("/Auth/Keys/{key}", axum::routing::delete(revoke_key));
    if emby {
        // Emby-only routes and POST twins of DELETE routes (ref §3.1, §3.2).
        r = r
            .route("/Users/Query", get(users_query))
            .route("/Users/{id}/Delete", post(delete_user))
            .route(
                "/Users/{id}/Connect/Link",
                post(connect_link).delete(connect_unlink),
            )
            .route("/Users/{id}/Connect/Link/Delete", post(connect_unlink))
            .route("/Library/VirtualFolders/Query", get(virtual_folders_query))
            .route("/Devices/Delete", post(delete_devices))
            .route("/Auth/Keys/{key}/Delete", post(revoke_key))
            .route("/Plugins/SecurityInfo", get(security_info));
    }
    let r = r
        .fallback(|| async { StatusCode::NOT_FOUND })
        .with_state(St { state });
    let r = if emby {
        // Documented root is `/emby`; clients also call the bare routes (ref §3.1).
        Router::new().nest("/emby", r.clone()).merge(r)
    } else {
        r
    };
    // ASP.NET (Jellyfin) and ServiceStack (Emby) match routes case-insensitively, so
    // `/users/new` works like `/Users/New`: canonicalise before routing.
    Router::new()
        .fallback_service(r)
        .layer(axum::middleware::map_request(canonical_case))
}

/// Static route segments in their canonical case.
const SEGMENTS: &[&str] = &[
    "emby",
    "System",
    "Info",
    "Public",
    "Users",
    "New",
    "AuthenticateByName",
    "Password",
    "Policy",
    "Query",
    "Delete",
    "Connect",
    "Link",
    "Library",
    "MediaFolders",
    "VirtualFolders",
    "Items",
    "Counts",
    "Sessions",
    "Playing",
    "Message",
    "Command",
    "Devices",
    "Auth",
    "Keys",
    "Plugins",
    "SecurityInfo",
];

async fn canonical_case(mut req: axum::extract::Request) -> axum::extract::Request {
    let path = req.uri().path();
    let canon: Vec<String> = path
        .split('/')
        .map(|seg| {
            SEGMENTS
                .iter()
                .find(|c| c.eq_ignore_ascii_case(seg))
                .map(|c| c.to_string())
                .unwrap_or_else(|| seg.to_string())
        })
        .collect();
    let canon = canon.join("/");
    if canon != path {
        let pq = match req.uri().query() {
            Some(q) => format!("{canon}?{q}"),
            None => canon,
        };
        if let Ok(uri) = pq.parse::<Uri>() {
            *req.uri_mut() = uri;
        }
    }
    req
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

mod control_api;
mod library;
mod sessions;
mod users;
pub(crate) use control_api::{control_routes, seed_device, state_json};
use library::*;
use sessions::*;
use users::*;
