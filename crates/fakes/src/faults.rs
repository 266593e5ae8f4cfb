//! Fault injection and the request log, shared by every fake.
//!
//! A fault rule matches the next N requests (or every request while `remaining` is
//! `None`), optionally narrowed to a path prefix and a method. Rules are checked in
//! insertion order; the first match fires and its counter is decremented.
//!
//! Rules and requests are compared after the fake's path normaliser
//! ([`crate::routing::RouteTable::normalise`]), so a rule on `/Users/New` fires for
//! `/emby/Users/New` and `/users/new/` alike. A rule that could never fire is refused when
//! it is set: its path must be reachable through a route the fake serves, and an action
//! that only makes sense on some routes (`already_shared`, `empty_sections`) must be able
//! to reach one of them; it then fires on those routes only.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::routing::RouteTable;

/// Which provider a fault answer must imitate (error bodies differ, ref §1.3/§2.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flavor {
    PlexTv,
    Pms,
    Jellyfin,
    Emby,
    /// Overseerr/Jellyseerr: JSON `{status, message}` (ref §4.1).
    Overseerr,
    /// Ombi: ASP.NET's plain-text answer.
    Ombi,
    /// Petio: JSON `{error}` (ref §4.3).
    Petio,
    /// Stripe: `{"error": {type, message, code}}`.
    Stripe,
    /// PayPal REST: `{name, message, debug_id, details}`.
    PayPal,
    /// Plisio: `{"status": "error", "data": {name, message, code}}`.
    Plisio,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FaultAction {
    /// Answer with this status (typically 5xx) and the provider's error body, or
    /// `body` when given.
    Status {
        status: u16,
        #[serde(default)]
        body: Option<String>,
    },
    /// 429 with `Retry-After: <seconds>` (plex.tv's only observed throttle, ref §1.3).
    RateLimit { retry_after: u64 },
    /// Sleep, then handle the request normally.
    Delay { ms: u64 },
    /// Never answer (sleeps an hour): exercises client timeouts.
    Hang,
    /// plex.tv only: the "already sharing" refusal (v2 422 JSON, v1 XML `Response`,
    /// ref §1.2 P11/P12, §1.4.5) even when no share exists yet.
    AlreadyShared,
    /// plex.tv only: the server's library list (v1 `Section`s, v2 `librarySections`) comes
    /// back empty, the transient answer Wizarr guards against (ref §1.2 P8/P9, §1.4.9).
    EmptySections,
}

/// plex.tv routes that create a share (P11 v1, P12 v2): where `already_shared` applies.
pub(crate) const SHARE_CREATE_ROUTES: [(&str, &str); 2] = [
    ("POST", "/api/servers/{mid}/shared_servers"),
    ("POST", "/api/v2/shared_servers"),
];
/// plex.tv routes that list a server's sections (P8 v1, P9 v2): where `empty_sections` applies.
pub(crate) const SERVER_SECTIONS_ROUTES: [(&str, &str); 2] = [
    ("GET", "/api/servers/{mid}"),
    ("GET", "/api/v2/servers/{mid}"),
];

impl FaultAction {
    fn name(&self) -> &'static str {
        match self {
            FaultAction::Status { .. } => "status",
            FaultAction::RateLimit { .. } => "rate_limit",
            FaultAction::Delay { .. } => "delay",
            FaultAction::Hang => "hang",
            FaultAction::AlreadyShared => "already_shared",
            FaultAction::EmptySections => "empty_sections",
        }
    }

    /// The routes (method, template) this action can answer on; `None` = every route.
    fn only_on(&self) -> Option<&'static [(&'static str, &'static str)]> {
        match self {
            FaultAction::AlreadyShared => Some(&SHARE_CREATE_ROUTES),
            FaultAction::EmptySections => Some(&SERVER_SECTIONS_ROUTES),
            _ => None,
        }
    }
}

/// Why a fault rule was refused when it was set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FaultRefused(pub String);

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FaultRule {
    #[serde(default)]
    pub id: u64,
    /// Path prefix to match (e.g. `/api/v2/shared_servers`); `None` = every path.
    #[serde(default)]
    pub path: Option<String>,
    /// HTTP method to match (case-insensitive); `None` = any.
    #[serde(default)]
    pub method: Option<String>,
    /// How many more requests this rule fires for; `None` = until cleared.
    #[serde(default)]
    pub remaining: Option<u32>,
    pub action: FaultAction,
}

impl FaultRule {
    /// A rule firing for the next `n` requests to any path.
    pub fn next(n: u32, action: FaultAction) -> Self {
        FaultRule {
            id: 0,
            path: None,
            method: None,
            remaining: Some(n),
            action,
        }
    }

    /// A rule firing for every request whose path starts with `prefix`.
    pub fn path(prefix: &str, action: FaultAction) -> Self {
        FaultRule {
            id: 0,
            path: Some(prefix.to_string()),
            method: None,
            remaining: None,
            action,
        }
    }

    pub fn times(mut self, n: u32) -> Self {
        self.remaining = Some(n);
        self
    }

    pub fn method(mut self, m: &str) -> Self {
        self.method = Some(m.to_string());
        self
    }
}

/// A rule as the fake keeps it: the path already normalised as requests are.
#[derive(Debug, Clone)]
struct Armed {
    rule: FaultRule,
    path: Option<String>,
}

impl Armed {
    fn matches(&self, method: &str, path: &str, route: Option<&str>) -> bool {
        let applies = match self.rule.action.only_on() {
            None => true,
            Some(routes) => route.is_some_and(|r| {
                routes
                    .iter()
                    .any(|(m, t)| *t == r && m.eq_ignore_ascii_case(method))
            }),
        };
        applies
            && self.path.as_deref().is_none_or(|p| path.starts_with(p))
            && self
                .rule
                .method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method))
            && self.rule.remaining != Some(0)
    }
}

/// One request as the fake saw it (provider routes only, not `/__control`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoggedRequest {
    pub seq: u64,
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub status: Option<u16>,
    pub fault: Option<FaultAction>,
}

/// Fault rules + request log of one fake.
#[derive(Debug)]
pub(crate) struct Core {
    pub flavor: Flavor,
    /// The routes the fake serves and how it reads paths.
    pub table: RouteTable,
    faults: Mutex<(u64, Vec<Armed>)>,
    log: Mutex<Vec<LoggedRequest>>,
}

/// Request extension telling a plex.tv handler to answer an empty section list.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EmptySectionsFlag;

impl Core {
    pub fn new(flavor: Flavor, table: RouteTable) -> Arc<Self> {
        Arc::new(Core {
            flavor,
            table,
            faults: Mutex::new((0, Vec::new())),
            log: Mutex::new(Vec::new()),
        })
    }

    /// Add a rule from Rust code (tests); a rule that could never fire is a bug in the
    /// test, so it panics with the reason the control API would answer.
    pub fn add_fault(&self, rule: FaultRule) -> u64 {
        match self.try_add_fault(rule) {
            Ok(id) => id,
            Err(e) => panic!("fault rule refused: {e}"),
        }
    }

    /// Add a rule unless it could never fire (see the module documentation).
    pub fn try_add_fault(&self, mut rule: FaultRule) -> Result<u64, FaultRefused> {
        let path = self.check(&rule)?;
        let mut g = lock(&self.faults);
        g.0 += 1;
        rule.id = g.0;
        g.1.push(Armed { rule, path });
        Ok(g.0)
    }

    /// The rule's normalised path, or why it could never fire.
    fn check(&self, rule: &FaultRule) -> Result<Option<String>, FaultRefused> {
        let refuse = |m: String| Err(FaultRefused(m));
        if rule.remaining == Some(0) {
            return refuse("`remaining` must be at least 1 (or null for every request)".into());
        }
        if let FaultAction::Status { status, .. } = &rule.action
            && !(400..=599).contains(status)
        {
            return refuse(format!(
                "`status` {status} is not an error status (400 to 599)"
            ));
        }
        let method = match rule.method.as_deref() {
            None => None,
            Some(m) => match axum::http::Method::from_bytes(m.to_ascii_uppercase().as_bytes()) {
                Ok(m) => Some(m.to_string()),
                Err(_) => return refuse(format!("`method` {m:?} is not an HTTP method")),
            },
        };
        let path = rule.path.as_deref().map(|p| self.table.normalise(p));
        let prefix = path.as_deref().unwrap_or("/");
        let reachable = self.table.reachable(method.as_deref(), prefix);
        let spelled = || {
            let m = method.as_deref().unwrap_or("any method");
            format!("{m} {}", rule.path.as_deref().unwrap_or("/"))
        };
        if reachable.is_empty() {
            return refuse(format!(
                "no route of this service matches {}: the rule would never fire",
                spelled()
            ));
        }
        if let Some(only) = rule.action.only_on() {
            let hit = reachable.iter().any(|r| {
                only.iter().any(|(m, t)| {
                    *t == r.template && r.method.as_ref().is_none_or(|rm| rm.as_str() == *m)
                })
            });
            if !hit {
                let routes: Vec<String> = only.iter().map(|(m, t)| format!("{m} {t}")).collect();
                return refuse(format!(
                    "`{}` applies only to {} on plex.tv; {} reaches none of them",
                    rule.action.name(),
                    routes.join(" and "),
                    spelled()
                ));
            }
        }
        Ok(path)
    }

    pub fn faults(&self) -> Vec<FaultRule> {
        lock(&self.faults)
            .1
            .iter()
            .map(|a| a.rule.clone())
            .collect()
    }

    pub fn remove_fault(&self, id: u64) -> bool {
        let mut g = lock(&self.faults);
        let before = g.1.len();
        g.1.retain(|r| r.rule.id != id);
        g.1.len() != before
    }

    pub fn clear_faults(&self) {
        lock(&self.faults).1.clear();
    }

    pub fn requests(&self) -> Vec<LoggedRequest> {
        lock(&self.log).clone()
    }

    /// How many requests the fake has logged, without copying the log.
    pub fn request_count(&self) -> usize {
        lock(&self.log).len()
    }

    pub fn clear_requests(&self) {
        lock(&self.log).clear();
    }

    fn take_fault(&self, method: &str, path: &str, route: Option<&str>) -> Option<FaultAction> {
        let mut g = lock(&self.faults);
        let rules = &mut g.1;
        let i = rules.iter().position(|r| r.matches(method, path, route))?;
        let action = rules[i].rule.action.clone();
        if let Some(n) = rules[i].rule.remaining.as_mut() {
            *n -= 1;
            if *n == 0 {
                rules.remove(i);
            }
        }
        Some(action)
    }
}

/// Poison-tolerant lock: a panicking handler must not wedge the fake for later tests.
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The body a provider sends with an error status (ref §1.3, §2.4, §3.1).
pub(crate) fn provider_error(
    flavor: Flavor,
    path: &str,
    status: StatusCode,
    msg: &str,
) -> Response {
    let reason = status.canonical_reason().unwrap_or("Error");
    let code = status.as_u16();
    match flavor {
        Flavor::PlexTv if path.starts_with("/api/v2") => {
            let msg = if msg.is_empty() { reason } else { msg };
            let body = serde_json::json!({"errors": [{"code": plex_v2_code(code), "message": msg, "status": code}]});
            (status, axum::Json(body)).into_response()
        }
        Flavor::PlexTv => {
            let msg = if msg.is_empty() { reason } else { msg };
            let body = crate::xml::El::new("Response")
                .a("code", code as i64)
                .a("status", msg)
                .to_xml();
            (status, [(header::CONTENT_TYPE, "application/xml")], body).into_response()
        }
        Flavor::Pms => {
            let body = format!(
                "<html><head><title>{reason}</title></head><body><h1>{code} {reason}</h1></body></html>"
            );
            (status, [(header::CONTENT_TYPE, "text/html")], body).into_response()
        }
        Flavor::Overseerr => {
            let msg = if msg.is_empty() { reason } else { msg };
            let body = serde_json::json!({"status": code, "message": msg});
            (status, axum::Json(body)).into_response()
        }
        Flavor::Petio => {
            let msg = if msg.is_empty() { reason } else { msg };
            (status, axum::Json(serde_json::json!({ "error": msg }))).into_response()
        }
        Flavor::Ombi => {
            let msg = if msg.is_empty() { reason } else { msg };
            (
                status,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                msg.to_string(),
            )
                .into_response()
        }
        // Jellyfin: a missing or refused token is 401/403 with an empty body (the
        // authentication handler writes none, ref §2.1); unhandled exceptions answer text/plain
        // "Error processing request." (ExceptionMiddleware, ref §2.4).
        Flavor::Jellyfin if msg.is_empty() && matches!(code, 401 | 403) => status.into_response(),
        Flavor::Jellyfin => {
            let msg = if msg.is_empty() {
                "Error processing request."
            } else {
                msg
            };
            plain(status, msg)
        }
        // Emby answers errors as text/plain messages (chrisbenincasa/tunarr#1630 shows a 500
        // "Unrecognized Guid format." and a 403 naming the missing feature); which message a
        // given failure carries is not documented, so none is invented.
        Flavor::Emby if msg.is_empty() => status.into_response(),
        Flavor::Emby => plain(status, msg),
        Flavor::Stripe => {
            let (typ, c) = match code {
                429 => ("invalid_request_error", Some("rate_limit")),
                s if s >= 500 => ("api_error", None),
                _ => ("invalid_request_error", None),
            };
            let msg = match (code, msg) {
                (429, _) => {
                    "Too many requests hit the API too quickly. We recommend an exponential backoff of your requests."
                }
                (_, "") => reason,
                (_, m) => m,
            };
            let mut e = serde_json::json!({"type": typ, "message": msg});
            if let Some(c) = c {
                e["code"] = serde_json::json!(c);
            }
            (status, axum::Json(serde_json::json!({ "error": e }))).into_response()
        }
        Flavor::PayPal => {
            let name = match code {
                400 => "INVALID_REQUEST",
                401 => "AUTHENTICATION_FAILURE",
                403 => "NOT_AUTHORIZED",
                404 => "RESOURCE_NOT_FOUND",
                409 => "RESOURCE_CONFLICT",
                422 => "UNPROCESSABLE_ENTITY",
                429 => "RATE_LIMIT_REACHED",
                503 => "SERVICE_UNAVAILABLE",
                _ => "INTERNAL_SERVER_ERROR",
            };
            let msg = if msg.is_empty() || msg == "too_many_requests" {
                reason
            } else {
                msg
            };
            let body = serde_json::json!({"name": name, "message": msg, "debug_id": crate::ids::hex(13), "details": []});
            (status, axum::Json(body)).into_response()
        }
        Flavor::Plisio => {
            let msg = if msg.is_empty() || msg == "too_many_requests" {
                reason
            } else {
                msg
            };
            let body = serde_json::json!({"status": "error", "data": {"name": reason, "message": msg, "code": code}});
            (status, axum::Json(body)).into_response()
        }
    }
}

fn plain(status: StatusCode, msg: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        msg.to_string(),
    )
        .into_response()
}

/// plex.tv v2 numeric error codes: 1001 = not authenticated, 1002 = not found (ref §1.3).
fn plex_v2_code(status: u16) -> u16 {
    match status {
        401 => 1001,
        404 => 1002,
        422 => 1020,
        429 => 1003,
        s => s,
    }
}

fn already_shared(path: &str) -> Response {
    let msg = "You're already sharing this server with this user. Please edit your existing share.";
    // v2 answers 422 (ref §1.2 P12); the v1 status was not observed (ref §9.1), and the
    // operator docs call this failure "HTTP 422 Unprocessable Entity" (operations §5.4),
    // so v1 answers 422 too, with the XML `Response` body.
    provider_error(Flavor::PlexTv, path, StatusCode::UNPROCESSABLE_ENTITY, msg)
}

/// axum middleware in front of a fake's router: read the path as the real server does (the
/// router then sees the normalised path), log the request as sent, fire the first matching
/// fault, record the status.
pub(crate) async fn layer(State(core): State<Arc<Core>>, req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    let bytes = to_bytes(body, 4 * 1024 * 1024).await.unwrap_or_default();
    let method = parts.method.to_string();
    let raw_path = parts.uri.path().to_string();
    let path = core.table.normalise(&raw_path);
    let route = core
        .table
        .route_of(&method, &path)
        .map(|r| r.template.clone());
    let fault = core.take_fault(&method, &path, route.as_deref());
    let seq = {
        let mut log = lock(&core.log);
        let seq = log.len() as u64 + 1;
        log.push(LoggedRequest {
            seq,
            method: method.clone(),
            path: raw_path.clone(),
            query: parts.uri.query().map(str::to_string),
            headers: parts
                .headers
                .iter()
                .map(|(k, v)| {
                    (
                        k.to_string(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect(),
            body: String::from_utf8_lossy(&bytes).into_owned(),
            status: None,
            fault: fault.clone(),
        });
        seq
    };
    if path != raw_path {
        let pq = match parts.uri.query() {
            Some(q) => format!("{path}?{q}"),
            None => path.clone(),
        };
        if let Ok(uri) = pq.parse::<Uri>() {
            parts.uri = uri;
        }
    }
    let mut req = Request::from_parts(parts, Body::from(bytes));
    let resp = match fault {
        None => next.run(req).await,
        Some(FaultAction::Status { status, body }) => {
            let st = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            match body {
                Some(b) => (st, b).into_response(),
                None => provider_error(core.flavor, &path, st, ""),
            }
        }
        Some(FaultAction::RateLimit { retry_after }) => {
            let mut r = provider_error(
                core.flavor,
                &path,
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_requests",
            );
            if let Ok(v) = HeaderValue::from_str(&retry_after.to_string()) {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            r
        }
        Some(FaultAction::Delay { ms }) => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            next.run(req).await
        }
        Some(FaultAction::Hang) => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            StatusCode::GATEWAY_TIMEOUT.into_response()
        }
        Some(FaultAction::AlreadyShared) => already_shared(&path),
        Some(FaultAction::EmptySections) => {
            req.extensions_mut().insert(EmptySectionsFlag);
            next.run(req).await
        }
    };
    // From the end: the entry was pushed moments ago, and the log holds every request so far.
    if let Some(e) = lock(&core.log).iter_mut().rev().find(|e| e.seq == seq) {
        e.status = Some(resp.status().as_u16());
    }
    resp
}
