//! Fake of a Plex Media Server linked to a [`PlexTvFake`]: identity, library sections
//! with item counts and pagination, live sessions, terminate, `/accounts`.
//! Who may access the server is read from the shared plex.tv state (ref §1).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::control;
use crate::faults::{Core, FaultRule, Flavor, LoggedRequest, lock, provider_error};
use crate::http_util::{header_str, query_map, wants_json, xml};
use crate::ids;
use crate::plex_state::{
    PlexLibrarySeed, PlexSection, PlexServerRec, PlexSession, PlexWorld, PmsPrincipal,
};
use crate::plex_tv::{PlexTvFake, Shared};
use crate::routing::{PathStyle, RouteTable, Routes};
use crate::server::{Running, serve};
use crate::sessions::{SessionSeed, StoppedSession};
use crate::xml::El;

/// PMS ≥ 1.41.7 answers 403 to shared users on owner-only routes (ref §7); we report a
/// version past that.
const PMS_VERSION: &str = "1.41.8.9834-071366d65";

#[derive(Clone)]
struct St {
    world: Shared,
    mid: String,
}

/// Handle to a running PMS fake.
#[derive(Debug)]
pub struct PlexServerFake {
    running: Running,
    core: std::sync::Arc<Core>,
    world: Shared,
    mid: String,
}

impl PlexServerFake {
    /// Start a server named `name`, owned by the plex.tv fake's account and listed in
    /// its resources (ref §1.2 P4/P8).
    pub async fn start(plex_tv: &PlexTvFake, name: &str) -> crate::Result<Self> {
        let world = plex_tv.world();
        let mid = ids::hex(40);
        {
            let mut w = lock(&world);
            let server_id = w.next_id();
            w.servers.push(PlexServerRec {
                machine_id: mid.clone(),
                server_id,
                name: name.to_string(),
                version: PMS_VERSION.to_string(),
                url: String::new(),
                sections: Vec::new(),
                sessions: Vec::new(),
                stopped: Vec::new(),
                created_at: ids::now_secs() - 86_400 * 700,
            });
        }
        let st = St {
            world: world.clone(),
            mid: mid.clone(),
        };
        let (provider, table) = provider_routes(st.clone());
        let core = Core::new(Flavor::Pms, table);
        let app = control::assemble(provider, control_routes(st), core.clone());
        let running = serve(app).await?;
        if let Some(s) = lock(&world).server_mut(&mid) {
            s.url = running.url();
        }
        Ok(PlexServerFake {
            running,
            core,
            world,
            mid,
        })
    }

    pub fn url(&self) -> String {
        self.running.url()
    }
    pub fn control_url(&self) -> String {
        format!("{}{}", self.url(), control::PREFIX)
    }
    /// The owner's token (valid on the PMS, as `resources` hands it out).
    pub fn token(&self) -> String {
        lock(&self.world).owner.token.clone()
    }
    pub fn machine_identifier(&self) -> &str {
        &self.mid
    }
    pub fn name(&self) -> String {
        self.rec().map(|r| r.name).unwrap_or_default()
    }
    pub fn seed_library(&self, seed: PlexLibrarySeed) -> crate::Result<PlexSection> {
        lock(&self.world)
            .add_section(&self.mid, &seed)
            .ok_or_else(|| crate::FakeError::NotFound("server".into()))
    }
    pub fn libraries(&self) -> Vec<PlexSection> {
        self.rec().map(|r| r.sections).unwrap_or_default()
    }
    /// Start a playback session; returns the `Session id` terminate needs.
    pub fn start_session(&self, seed: SessionSeed) -> crate::Result<String> {
        start_session(&mut lock(&self.world), &self.mid, seed).map_err(crate::FakeError::Invalid)
    }
    /// End a session as if the viewer stopped (not a terminate).
    pub fn end_session(&self, session_id: &str) -> bool {
        end_session(&mut lock(&self.world), &self.mid, session_id)
    }
    pub fn sessions(&self) -> Vec<PlexSession> {
        self.rec().map(|r| r.sessions).unwrap_or_default()
    }
    pub fn stopped_sessions(&self) -> Vec<StoppedSession> {
        self.rec().map(|r| r.stopped).unwrap_or_default()
    }
    pub fn state(&self) -> Value {
        state_json(&lock(&self.world), &self.mid)
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
    fn rec(&self) -> Option<PlexServerRec> {
        lock(&self.world).server(&self.mid).cloned()
    }
}

// ---------------------------------------------------------------------------------

fn start_session(w: &mut PlexWorld, mid: &str, seed: SessionSeed) -> Result<String, String> {
    // The owner always appears as `User id="1"` in PMS session XML (ref §1.1).
    let (user_id, user_title) = if seed.user == "owner"
        || seed.user.eq_ignore_ascii_case(&w.owner.username)
        || seed.user.eq_ignore_ascii_case(&w.owner.email)
    {
        (1, w.owner.username.clone())
    } else {
        let a = w
            .find_account(&seed.user)
            .ok_or_else(|| format!("unknown plex user {}", seed.user))?;
        (a.id, a.title.clone())
    };
    let session_key = w.next_id() % 1000;
    let srv = w.server_mut(mid).ok_or("no server")?;
    let sec = match &seed.library {
        Some(t) => srv
            .sections
            .iter()
            .find(|s| s.title.eq_ignore_ascii_case(t)),
        None => srv.sections.iter().find(|s| {
            s.kind
                == if seed.kind == "episode" {
                    "show"
                } else if seed.kind == "track" {
                    "artist"
                } else {
                    "movie"
                }
        }),
    };
    let (section_key, section_title) = sec
        .map(|s| (s.key, s.title.clone()))
        .unwrap_or((1, "Movies".into()));
    // The item playing is one of the library's items of the session's kind, so its
    // `ratingKey` resolves under `/library/metadata/` like any other.
    let item_type = match seed.kind.as_str() {
        "episode" => 4,
        "track" => 10,
        _ => 1,
    };
    let count = sec
        .and_then(|s| s.counts.get(&item_type).copied())
        .unwrap_or(1)
        .max(1);
    let rating_key = rating_key(section_key, item_type, session_key as u64 % count + 1);
    let session_id = ids::plex_session_id();
    srv.sessions.push(PlexSession {
        session_id: session_id.clone(),
        session_key,
        user_id,
        user_title,
        rating_key,
        section_key,
        section_title,
        started_at: ids::now_secs(),
        seed,
    });
    Ok(session_id)
}

fn end_session(w: &mut PlexWorld, mid: &str, session_id: &str) -> bool {
    let Some(srv) = w.server_mut(mid) else {
        return false;
    };
    let Some(i) = srv.sessions.iter().position(|s| s.session_id == session_id) else {
        return false;
    };
    let s = srv.sessions.remove(i);
    srv.stopped.push(StoppedSession {
        id: s.session_id,
        user: s.user_title,
        title: s.seed.title,
        by: "control".into(),
        message: None,
        at: ids::now_secs(),
    });
    true
}

/// Token from `X-Plex-Token` header or query (ref §1.1).
fn principal(st: &St, headers: &HeaderMap, uri: &Uri) -> Option<PmsPrincipal> {
    let token = header_str(headers, "x-plex-token")
        .map(str::to_string)
        .or_else(|| query_map(uri).get("X-Plex-Token").cloned())?;
    lock(&st.world).pms_principal(&st.mid, &token)
}

fn err(status: StatusCode) -> Response {
    provider_error(Flavor::Pms, "", status, "")
}

/// XML by default, `{"MediaContainer": ...}` with `Accept: application/json` (ref §1.1).
/// In JSON, item lists are `Metadata[]` whatever their XML element name.
fn reply(headers: &HeaderMap, mut el: El, metadata: bool) -> Response {
    if wants_json(headers) {
        if metadata {
            for c in &mut el.children {
                let kind = c.name.clone();
                if matches!(kind.as_str(), "Video" | "Directory" | "Track" | "Photo") {
                    c.name = "Metadata".into();
                }
            }
        }
        crate::http_util::json(StatusCode::OK, el.to_json())
    } else {
        xml(StatusCode::OK, el.to_xml())
    }
}

/// `X-Plex-Container-Start`/`-Size` from header or query (ref §1.4.8).
fn paging(headers: &HeaderMap, uri: &Uri) -> (u64, Option<u64>) {
    let q = query_map(uri);
    let get = |k: &str| {
        header_str(headers, k)
            .map(str::to_string)
            .or_else(|| q.get(k).cloned())
            .and_then(|v| v.parse::<u64>().ok())
    };
    (
        get("X-Plex-Container-Start").unwrap_or(0),
        get("X-Plex-Container-Size"),
    )
}

fn provider_routes(st: St) -> (Router, RouteTable) {
    Routes::new(PathStyle::default())
        .get("/identity", identity)
        .get("/", root)
        .get("/library", library)
        .get("/library/sections", sections)
        .get("/library/sections/{key}", section)
        .get("/library/sections/{key}/all", section_all)
        .get("/library/metadata/{rating_key}", metadata)
        .get("/status/sessions", sessions)
        .get("/status/sessions/terminate", terminate)
        .post("/status/sessions/terminate", terminate)
        .get("/transcode/sessions", transcode_sessions)
        .get("/accounts", accounts)
        .get("/myplex/account", myplex_account)
        .get("/clients", clients)
        .fallback(|| async { err(StatusCode::NOT_FOUND) })
        .with_state(st)
}

/// `/identity` answers without a token on real servers.
async fn identity(State(st): State<St>, headers: HeaderMap) -> Response {
    let el = El::new("MediaContainer")
        .a("size", 0i64)
        .a("claimed", true)
        .a("machineIdentifier", &st.mid)
        .a("version", PMS_VERSION);
    reply(&headers, el, false)
}

async fn root(State(st): State<St>, headers: HeaderMap, uri: Uri) -> Response {
    let Some(p) = principal(&st, &headers, &uri) else {
        return err(StatusCode::UNAUTHORIZED);
    };
    let w = lock(&st.world);
    let Some(srv) = w.server(&st.mid) else {
        return err(StatusCode::INTERNAL_SERVER_ERROR);
    };
    let transcodes = srv
        .sessions
        .iter()
        .filter(|s| s.seed.is_transcode())
        .count();
    let el = El::new("MediaContainer")
        .a("size", 0i64)
        .a("allowCameraUpload", true)
        .a("allowChannelAccess", true)
        .a("allowMediaDeletion", true)
        .a("allowSharing", true)
        .a("allowSync", true)
        .a("claimed", true)
        .a("friendlyName", &srv.name)
        .a("machineIdentifier", &srv.machine_id)
        .a("multiuser", true)
        .a("myPlex", true)
        .a("myPlexMappingState", "mapped")
        .a("myPlexSigninState", "ok")
        .a("myPlexSubscription", w.owner.plex_pass)
        .a("myPlexUsername", &w.owner.email)
        .a(
            "ownerFeatures",
            if w.owner.plex_pass {
                "sync,session_kick,camera_upload"
            } else {
                ""
            },
        )
        .a("platform", "Linux")
        .a("platformVersion", "6.1")
        .a("transcoderActiveVideoSessions", transcodes)
        .a("updatedAt", ids::now_secs())
        .a("version", &srv.version);
    let _ = p;
    drop(w);
    reply(&headers, el, false)
}

/// Sections a principal can see: the owner all; a friend those shared with them.
fn visible(srv: &PlexServerRec, p: &PmsPrincipal) -> Vec<PlexSection> {
    srv.sections
        .iter()
        .filter(|s| match p {
            PmsPrincipal::Owner => true,
            PmsPrincipal::Shared(sh) => sh.all_libraries || sh.section_ids.contains(&s.global_id),
        })
        .cloned()
        .collect()
}

fn dir_el(s: &PlexSection) -> El {
    let (agent, scanner) = match s.kind.as_str() {
        "show" => ("tv.plex.agents.series", "Plex TV Series"),
        "artist" => ("tv.plex.agents.music", "Plex Music"),
        "photo" => ("com.plexapp.agents.none", "Plex Photo Scanner"),
        _ => ("tv.plex.agents.movie", "Plex Movie"),
    };
    El::new("Directory")
        .a("allowSync", true)
        .a("art", "/:/resources/movie-fanart.jpg")
        .a(
            "composite",
            format!("/library/sections/{}/composite/{}", s.key, s.created_at),
        )
        .a("filters", true)
        .a("refreshing", false)
        .a("thumb", "/:/resources/movie.png")
        .a("key", s.key.to_string())
        .a("type", &s.kind)
        .a("title", &s.title)
        .a("agent", agent)
        .a("scanner", scanner)
        .a("language", "en-US")
        .a("uuid", &s.uuid)
        .a("updatedAt", ids::now_secs())
        .a("createdAt", s.created_at)
        .a("scannedAt", ids::now_secs())
        .a("content", true)
        .a("directory", true)
        .child(El::new("Location").a("id", s.key).a(
            "path",
            format!("/data/{}", s.title.to_lowercase().replace(' ', "-")),
        ))
}

async fn sections(State(st): State<St>, headers: HeaderMap, uri: Uri) -> Response {
    let Some(p) = principal(&st, &headers, &uri) else {
        return err(StatusCode::UNAUTHORIZED);
    };
    let w = lock(&st.world);
    let Some(srv) = w.server(&st.mid) else {
        return err(StatusCode::INTERNAL_SERVER_ERROR);
    };
    let dirs: Vec<El> = visible(srv, &p).iter().map(dir_el).collect();
    drop(w);
    let el = El::new("MediaContainer")
        .a("size", dirs.len())
        .a("allowSync", false)
        .a("title1", "Plex Library")
        .kids(dirs);
    reply(&headers, el, false)
}

fn find_visible(st: &St, p: &PmsPrincipal, key: &str) -> Option<PlexSection> {
    let w = lock(&st.world);
    let srv = w.server(&st.mid)?;
    visible(srv, p)
        .into_iter()
        .find(|s| s.key.to_string() == key)
}

async fn section(
    State(st): State<St>,
    headers: HeaderMap,
    uri: Uri,
    Path(key): Path<String>,
) -> Response {
    let Some(p) = principal(&st, &headers, &uri) else {
        return err(StatusCode::UNAUTHORIZED);
    };
    let Some(sec) = find_visible(&st, &p, &key) else {
        return err(StatusCode::NOT_FOUND);
    };
    let subs = [
        "all",
        "unwatched",
        "newest",
        "recentlyAdded",
        "recentlyViewed",
        "onDeck",
        "collection",
        "genre",
    ];
    let el = El::new("MediaContainer")
        .a("size", subs.len())
        .a("allowSync", false)
        .a("librarySectionID", sec.key)
        .a("librarySectionTitle", &sec.title)
        .a("librarySectionUUID", &sec.uuid)
        .a("title1", &sec.title)
        .a("viewGroup", "secondary")
        .kids(
            subs.iter()
                .map(|k| El::new("Directory").a("key", *k).a("title", *k)),
        );
    reply(&headers, el, false)
}

fn plex_type_name(t: u32) -> &'static str {
    match t {
        2 => "show",
        3 => "season",
        4 => "episode",
        8 => "artist",
        9 => "album",
        10 => "track",
        13 => "photo",
        _ => "movie",
    }
}

/// P10: `totalSize` is the item count for `type`; items are synthesised for the page.
async fn section_all(
    State(st): State<St>,
    headers: HeaderMap,
    uri: Uri,
    Path(key): Path<String>,
) -> Response {
    let Some(p) = principal(&st, &headers, &uri) else {
        return err(StatusCode::UNAUTHORIZED);
    };
    let Some(sec) = find_visible(&st, &p, &key) else {
        return err(StatusCode::NOT_FOUND);
    };
    let q = query_map(&uri);
    let default_type = *sec.counts.keys().next().unwrap_or(&1);
    let t: u32 = q
        .get("type")
        .and_then(|v| v.parse().ok())
        .unwrap_or(default_type);
    let total = sec.counts.get(&t).copied().unwrap_or(0);
    let (start, size) = paging(&headers, &uri);
    let end = size
        .map(|n| start.saturating_add(n))
        .unwrap_or(total)
        .min(total);
    let name = plex_type_name(t);
    let items = (start.min(end)..end).map(|i| item_el(&sec, t, i + 1));
    let items: Vec<El> = items.collect();
    let el = El::new("MediaContainer")
        .a("size", items.len())
        .a("totalSize", total)
        .a("offset", start)
        .a("allowSync", true)
        .a("librarySectionID", sec.key)
        .a("librarySectionTitle", &sec.title)
        .a("librarySectionUUID", &sec.uuid)
        .a("viewGroup", name)
        .kids(items);
    reply(&headers, el, true)
}

/// `ratingKey` of the `index`-th (1-based) item of Plex type `t` in section `key`: unique
/// across types, so a show, its seasons and its episodes never share one.
fn rating_key(key: i64, t: u32, index: u64) -> i64 {
    key * 1_000_000_000 + i64::from(t) * 10_000_000 + index as i64
}

/// The inverse of [`rating_key`]: (section key, type, index).
fn parse_rating_key(rk: &str) -> Option<(i64, u32, u64)> {
    let rk: i64 = rk.parse().ok()?;
    let t = u32::try_from((rk % 1_000_000_000) / 10_000_000).ok()?;
    let index = u64::try_from(rk % 10_000_000).ok()?;
    Some((rk / 1_000_000_000, t, index))
}

/// The `i`-th (0-based) of `n` parts of `total` spread as evenly as possible.
fn share_of(total: u64, n: u64, i: u64) -> u64 {
    if n == 0 {
        return 0;
    }
    total / n + u64::from(i < total % n)
}

/// One library item as PMS lists it: `Video` for movies and episodes, `Directory` for
/// shows, seasons, artists and albums, `Track`, `Photo`. Parents carry `childCount` and
/// `leafCount` (python-plexapi `Show`, `Season`, `Artist`, `Album`).
fn item_el(sec: &PlexSection, t: u32, index: u64) -> El {
    let rk = rating_key(sec.key, t, index);
    let name = plex_type_name(t);
    let elem = match t {
        1 | 4 => "Video",
        10 => "Track",
        13 => "Photo",
        _ => "Directory",
    };
    let count = |x: u32| sec.counts.get(&x).copied().unwrap_or(0);
    let mut el = El::new(elem)
        .a("ratingKey", rk.to_string())
        .a("key", format!("/library/metadata/{rk}"))
        .a("guid", format!("plex://{name}/{rk:024x}"))
        .a("type", name)
        .a("title", format!("{} {index}", sec.title))
        .a("librarySectionID", sec.key)
        .a(
            "librarySectionKey",
            format!("/library/sections/{}", sec.key),
        )
        .a("librarySectionTitle", &sec.title)
        .a("index", index)
        .a("addedAt", sec.created_at + index as i64 * 3600)
        .a("updatedAt", sec.created_at + index as i64 * 3600);
    let i0 = index - 1;
    let parents = match t {
        2 => Some((count(2), count(3), count(4))),
        8 => Some((count(8), count(9), count(10))),
        _ => None,
    };
    if let Some((n, children, leaves)) = parents {
        el = el
            .a("childCount", share_of(children, n, i0))
            .a("leafCount", share_of(leaves, n, i0))
            .a("viewedLeafCount", 0i64);
    }
    match t {
        3 => {
            el = el
                .a("leafCount", share_of(count(4), count(3), i0))
                .a("viewedLeafCount", 0i64)
        }
        9 => {
            el = el
                .a("leafCount", share_of(count(10), count(9), i0))
                .a("viewedLeafCount", 0i64)
        }
        1 | 4 => el = el.a("duration", 7_200_000i64),
        _ => {}
    }
    el
}

/// `GET /library`: the library root (python-plexapi `Library`, key `/library`). Only the
/// owner may read it; plexapi falls back to `/library/sections/` for shared users.
async fn library(State(st): State<St>, headers: HeaderMap, uri: Uri) -> Response {
    if let Err(r) = owner_only(&st, &headers, &uri) {
        return r;
    }
    let dirs = [
        ("sections", "Library Sections"),
        ("recentlyAdded", "Recently Added Content"),
        ("onDeck", "On Deck Content"),
    ];
    let el = El::new("MediaContainer")
        .a("size", dirs.len())
        .a("allowSync", false)
        .a("art", "/:/resources/library-art.png")
        .a("content", "")
        .a("identifier", "com.plexapp.plugins.library")
        .a("mediaTagPrefix", "/system/bundle/media/flags/")
        .a("mediaTagVersion", ids::now_secs())
        .a("title1", "Plex Library")
        .a("title2", "")
        .kids(
            dirs.iter()
                .map(|(k, t)| El::new("Directory").a("key", *k).a("title", *t)),
        );
    reply(&headers, el, false)
}

/// `GET /library/metadata/{ratingKey}`: one item (python-plexapi `fetchItem`, `reload`).
async fn metadata(
    State(st): State<St>,
    headers: HeaderMap,
    uri: Uri,
    Path(rk): Path<String>,
) -> Response {
    let Some(p) = principal(&st, &headers, &uri) else {
        return err(StatusCode::UNAUTHORIZED);
    };
    let Some((key, t, index)) = parse_rating_key(&rk) else {
        return err(StatusCode::NOT_FOUND);
    };
    let Some(sec) = find_visible(&st, &p, &key.to_string()) else {
        return err(StatusCode::NOT_FOUND);
    };
    let total = sec.counts.get(&t).copied().unwrap_or(0);
    if index == 0 || index > total {
        return err(StatusCode::NOT_FOUND);
    }
    let el = El::new("MediaContainer")
        .a("size", 1i64)
        .a("allowSync", true)
        .a("identifier", "com.plexapp.plugins.library")
        .a("librarySectionID", sec.key)
        .a("librarySectionTitle", &sec.title)
        .a("librarySectionUUID", &sec.uuid)
        .child(item_el(&sec, t, index));
    reply(&headers, el, true)
}

/// `GET /myplex/account`: how the server is signed in to plex.tv (python-plexapi
/// `Account`, key `/myplex/account`). Owner only.
async fn myplex_account(State(st): State<St>, headers: HeaderMap, uri: Uri) -> Response {
    if let Err(r) = owner_only(&st, &headers, &uri) {
        return r;
    }
    let w = lock(&st.world);
    let pp = w.owner.plex_pass;
    let el = El::new("MyPlex")
        .a("authToken", &w.owner.token)
        .a("username", &w.owner.email)
        .a("mappingState", "mapped")
        .a("mappingError", "")
        .a("signInState", "ok")
        .a("publicAddress", "203.0.113.1")
        .a("publicPort", 32400i64)
        .a("privateAddress", "127.0.0.1")
        .a("privatePort", 32400i64)
        .a(
            "subscriptionFeatures",
            if pp {
                "sync,session_kick,camera_upload"
            } else {
                ""
            },
        )
        .a("subscriptionActive", pp)
        .a("subscriptionState", if pp { "Active" } else { "Unknown" });
    drop(w);
    reply(&headers, el, false)
}

/// `GET /clients`: players the server can remote-control (python-plexapi `clients()`). The
/// fake's players do not advertise themselves for remote control, so the list is empty.
async fn clients(State(st): State<St>, headers: HeaderMap, uri: Uri) -> Response {
    if let Err(r) = owner_only(&st, &headers, &uri) {
        return r;
    }
    reply(&headers, El::new("MediaContainer").a("size", 0i64), false)
}

/// Owner-only routes answer 403 to shared users (PMS ≥ 1.41.7, ref §1.2 P26, §1.4.7).
fn owner_only(st: &St, headers: &HeaderMap, uri: &Uri) -> Result<(), Response> {
    match principal(st, headers, uri) {
        None => Err(err(StatusCode::UNAUTHORIZED)),
        Some(PmsPrincipal::Shared(_)) => Err(err(StatusCode::FORBIDDEN)),
        Some(PmsPrincipal::Owner) => Ok(()),
    }
}

fn transcode_el(s: &PlexSession) -> El {
    let (w_, h) = s.seed.dimensions();
    let (tw, th) = if s.seed.video_decision == "transcode" {
        (1280u32, 720u32)
    } else {
        (w_, h)
    };
    El::new("TranscodeSession")
        .a("key", format!("/transcode/sessions/{}", s.session_id))
        .a("throttled", false)
        .a("complete", false)
        .a("progress", "12.5")
        .a("size", -22i64)
        .a("speed", "2.1")
        .a("error", false)
        .a("duration", 7_200_000i64)
        .a("remaining", 300i64)
        .a("context", "streaming")
        .a("sourceVideoCodec", "hevc")
        .a("sourceAudioCodec", "eac3")
        .a("videoDecision", &s.seed.video_decision)
        .a("audioDecision", &s.seed.audio_decision)
        .a("subtitleDecision", "burn")
        .a("protocol", "hls")
        .a("container", "mpegts")
        .a(
            "videoCodec",
            if s.seed.video_decision == "transcode" {
                "h264"
            } else {
                "hevc"
            },
        )
        .a(
            "audioCodec",
            if s.seed.audio_decision == "transcode" {
                "aac"
            } else {
                "eac3"
            },
        )
        .a("audioChannels", 2i64)
        .a("width", tw)
        .a("height", th)
        .a("transcodeHwRequested", true)
        .a("transcodeHwDecoding", "vaapi")
        .a("transcodeHwEncoding", "vaapi")
        .a("transcodeHwFullPipeline", false)
        .a("timeStamp", format!("{}.0", s.started_at))
        .a("maxOffsetAvailable", "60.0")
        .a("minOffsetAvailable", "0.0")
}

fn session_el(s: &PlexSession) -> El {
    let seed = &s.seed;
    let (width, height) = seed.dimensions();
    let elem = match seed.kind.as_str() {
        "track" => "Track",
        _ => "Video",
    };
    let transcoding = seed.is_transcode();
    let product = seed.product.clone().unwrap_or_else(|| "Plex Web".into());
    let platform = seed.platform.clone().unwrap_or_else(|| "Chrome".into());
    let device_id = seed
        .device_id
        .clone()
        .unwrap_or_else(|| format!("{:x}", s.rating_key * 7919));
    let mut el = El::new(elem)
        .a("addedAt", s.started_at - 86_400)
        .a("duration", 7_200_000i64)
        .a("key", format!("/library/metadata/{}", s.rating_key))
        .a("librarySectionID", s.section_key.to_string())
        .a(
            "librarySectionKey",
            format!("/library/sections/{}", s.section_key),
        )
        .a("librarySectionTitle", &s.section_title)
        .a("ratingKey", s.rating_key.to_string())
        .a("sessionKey", s.session_key.to_string())
        .a("title", &seed.title)
        .a("type", &seed.kind)
        .a("viewOffset", (ids::now_secs() - s.started_at) * 1000)
        .a(
            "thumb",
            format!("/library/metadata/{}/thumb/1", s.rating_key),
        )
        .a("live", false);
    if let Some(g) = &seed.grandparent_title {
        el = el
            .a("grandparentTitle", g)
            .a("parentIndex", 1i64)
            .a("index", 1i64);
    }
    let decision = if transcoding {
        "transcode"
    } else {
        "directplay"
    };
    el.child(
        El::new("Media")
            .a("id", s.rating_key)
            .a("videoResolution", seed.plex_resolution())
            .a("width", width)
            .a("height", height)
            .a("bitrate", if height >= 2160 { 40_000i64 } else { 8_000 })
            .a("videoCodec", "hevc")
            .a("audioCodec", "eac3")
            .a("audioChannels", 6i64)
            .a("container", "mkv")
            .a("selected", true)
            .child(
                El::new("Part")
                    .a("id", s.rating_key)
                    .a("decision", decision)
                    .a("container", "mkv")
                    .a("selected", true),
            ),
    )
    .child(
        El::new("User")
            .a("id", s.user_id.to_string())
            .a("thumb", "https://plex.tv/users/avatar")
            .a("title", &s.user_title),
    )
    .child(
        El::new("Player")
            .a("address", &seed.ip)
            .a("device", &seed.device)
            .a("machineIdentifier", &device_id)
            .a("model", "")
            .a("platform", &platform)
            .a("platformVersion", "1.0")
            .a("product", &product)
            .a("profile", "Web")
            .a("remotePublicAddress", &seed.ip)
            .a("state", if seed.paused { "paused" } else { "playing" })
            .a("title", &seed.device)
            .a("vendor", "")
            .a("version", "4.145.1")
            .a("local", seed.local)
            .a("relayed", false)
            .a("secure", true)
            .a("userID", s.user_id),
    )
    .child(
        El::new("Session")
            .a("id", &s.session_id)
            .a(
                "bandwidth",
                seed.bandwidth
                    .unwrap_or(if height >= 2160 { 45_000 } else { 9_000 }),
            )
            .a("location", if seed.local { "lan" } else { "wan" }),
    )
    .kids(transcoding.then(|| transcode_el(s)))
}

async fn sessions(State(st): State<St>, headers: HeaderMap, uri: Uri) -> Response {
    if let Err(r) = owner_only(&st, &headers, &uri) {
        return r;
    }
    let w = lock(&st.world);
    let items: Vec<El> = w
        .server(&st.mid)
        .map(|s| s.sessions.iter().map(session_el).collect())
        .unwrap_or_default();
    drop(w);
    reply(
        &headers,
        El::new("MediaContainer").a("size", items.len()).kids(items),
        true,
    )
}

async fn transcode_sessions(State(st): State<St>, headers: HeaderMap, uri: Uri) -> Response {
    if let Err(r) = owner_only(&st, &headers, &uri) {
        return r;
    }
    let w = lock(&st.world);
    let items: Vec<El> = w
        .server(&st.mid)
        .map(|s| {
            s.sessions
                .iter()
                .filter(|x| x.seed.is_transcode())
                .map(transcode_el)
                .collect()
        })
        .unwrap_or_default();
    drop(w);
    reply(
        &headers,
        El::new("MediaContainer").a("size", items.len()).kids(items),
        false,
    )
}

/// P28: needs the `Session id` (not `sessionKey`) and an owner with Plex Pass. Without
/// Plex Pass → 403 and unknown id → 404 (both UNCERTAIN in ref §9.5).
async fn terminate(State(st): State<St>, headers: HeaderMap, uri: Uri) -> Response {
    if let Err(r) = owner_only(&st, &headers, &uri) {
        return r;
    }
    let q = query_map(&uri);
    let mut w = lock(&st.world);
    if !w.owner.plex_pass {
        return err(StatusCode::FORBIDDEN);
    }
    let Some(sid) = q.get("sessionId").filter(|s| !s.is_empty()).cloned() else {
        return err(StatusCode::BAD_REQUEST);
    };
    let Some(srv) = w.server_mut(&st.mid) else {
        return err(StatusCode::INTERNAL_SERVER_ERROR);
    };
    let Some(i) = srv.sessions.iter().position(|s| s.session_id == sid) else {
        return err(StatusCode::NOT_FOUND);
    };
    let s = srv.sessions.remove(i);
    srv.stopped.push(StoppedSession {
        id: s.session_id,
        user: s.user_title,
        title: s.seed.title,
        by: "terminate".into(),
        message: q.get("reason").cloned(),
        at: ids::now_secs(),
    });
    StatusCode::OK.into_response()
}

async fn accounts(State(st): State<St>, headers: HeaderMap, uri: Uri) -> Response {
    if let Err(r) = owner_only(&st, &headers, &uri) {
        return r;
    }
    let w = lock(&st.world);
    let mut list = vec![
        El::new("Account")
            .a("id", 1i64)
            .a("key", "/accounts/1")
            .a("name", &w.owner.username),
    ];
    for sh in w
        .shares
        .iter()
        .filter(|s| s.machine_id == st.mid && s.accepted_at.is_some())
    {
        if let Some(a) = sh.invited_id.and_then(|i| w.account(i)) {
            list.push(
                El::new("Account")
                    .a("id", a.id)
                    .a("key", format!("/accounts/{}", a.id))
                    .a("name", &a.username),
            );
        }
    }
    drop(w);
    reply(
        &headers,
        El::new("MediaContainer")
            .a("size", list.len())
            .a("identifier", "com.plexapp.system.accounts")
            .kids(list),
        false,
    )
}

// Control API ------------------------------------------------------------------------

fn state_json(w: &PlexWorld, mid: &str) -> Value {
    let srv = w.server(mid);
    let users: Vec<Value> = w
        .shares
        .iter()
        .filter(|s| s.machine_id == mid)
        .map(|sh| {
            let libs: Vec<String> = srv
                .map(|s| {
                    s.sections
                        .iter()
                        .filter(|x| sh.all_libraries || sh.section_ids.contains(&x.global_id))
                        .map(|x| x.title.clone())
                        .collect()
                })
                .unwrap_or_default();
            json!({"user_id": sh.invited_id, "email": sh.invited_email, "accepted": sh.accepted_at.is_some(),
                   "libraries": libs, "allow_sync": sh.settings.allow_sync, "share_id": sh.id})
        })
        .collect();
    json!({ "server": srv, "shared_users": users, "owner_plex_pass": w.owner.plex_pass })
}

fn control_routes(st: St) -> Router {
    Router::new()
        .route("/state", get(c_state))
        .route("/libraries", post(c_library))
        .route("/sessions", post(c_start).get(c_sessions))
        .route("/sessions/{id}", delete(c_end))
        .with_state(st)
}

async fn c_state(State(st): State<St>) -> Json<Value> {
    Json(state_json(&lock(&st.world), &st.mid))
}

async fn c_library(State(st): State<St>, Json(seed): Json<PlexLibrarySeed>) -> Response {
    match lock(&st.world).add_section(&st.mid, &seed) {
        Some(s) => (StatusCode::CREATED, Json(s)).into_response(),
        None => control::bad(StatusCode::NOT_FOUND, "server"),
    }
}

async fn c_start(State(st): State<St>, Json(seed): Json<SessionSeed>) -> Response {
    match start_session(&mut lock(&st.world), &st.mid, seed) {
        Ok(id) => (StatusCode::CREATED, Json(json!({ "id": id }))).into_response(),
        Err(e) => control::bad(StatusCode::BAD_REQUEST, e),
    }
}

async fn c_sessions(State(st): State<St>) -> Json<Value> {
    let w = lock(&st.world);
    let srv = w.server(&st.mid);
    Json(json!({ "active": srv.map(|s| &s.sessions), "stopped": srv.map(|s| &s.stopped) }))
}

async fn c_end(State(st): State<St>, Path(id): Path<String>) -> StatusCode {
    if end_session(&mut lock(&st.world), &st.mid, &id) {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::NOT_FOUND
    }
}
