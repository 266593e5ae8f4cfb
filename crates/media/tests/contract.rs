//! Contract tests: every client operation against the in-process fakes of plex.tv, the
//! Plex Media Server, Jellyfin and Emby (crates/fakes), happy paths and documented
//! errors. Everything talks to 127.0.0.1 only.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use boxoffice_domain::{Clock, TestClock};
use boxoffice_fakes::{
    EmbyFake, FaultAction, FaultRule, JellyfinFake, JellyfinVersion, LoggedRequest, MbDeviceSeed,
    MbLibrarySeed, MbUserSeed, PlexAccountSeed, PlexFriendSeed, PlexLibrarySeed, PlexServerFake,
    PlexShareSettings, PlexTvFake, SessionSeed,
};
use boxoffice_media::{
    AccessPolicy, CallObserver, ClientOptions, ClockSleeper, Decision, DeviceAccess, EmbyServer,
    JellyfinServer, LibraryAccess, MediaError, MediaServer, NewUser, PlaybackState, PlexAccount,
    PlexClientId, PlexRefusal, PlexServer, PlexTvClient, RateLimit, UserRef,
};
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------
// Helpers.

#[derive(Debug, Default)]
struct Recorder(Mutex<Vec<(String, String, u16)>>);

impl CallObserver for Recorder {
    fn observe(&self, server: &str, op: &str, status: u16, secs: f64) {
        assert!(secs >= 0.0);
        if let Ok(mut v) = self.0.lock() {
            v.push((server.to_string(), op.to_string(), status));
        }
    }
}

/// Fast options: the real pacing is tested separately on a test clock.
fn fast() -> ClientOptions {
    ClientOptions {
        timeout: Duration::from_secs(5),
        rate_limit: Some(RateLimit {
            per_second: 1000.0,
            burst: 100,
        }),
        ..Default::default()
    }
}

/// Options whose sleeps advance a test clock instead of waiting.
fn on_test_clock() -> (ClientOptions, TestClock, ClockSleeper) {
    let clock = TestClock::starting_now();
    let sleeper = ClockSleeper::new(clock.clone());
    let opts = ClientOptions {
        clock: Arc::new(clock.clone()),
        sleeper: Arc::new(sleeper.clone()),
        ..fast()
    };
    (opts, clock, sleeper)
}

fn cid() -> PlexClientId {
    PlexClientId::new("boxoffice-contract-tests")
}

fn must<T>(r: Result<T, MediaError>, what: &str) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("{what}: {e}"),
    }
}

fn fake<T, E: std::fmt::Display>(r: Result<T, E>) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("fake setup: {e}"),
    }
}

fn err<T: std::fmt::Debug>(r: Result<T, MediaError>, what: &str) -> MediaError {
    match r {
        Ok(v) => panic!("{what}: expected an error, got {v:?}"),
        Err(e) => e,
    }
}

fn hits(log: &[LoggedRequest], method: &str, path: &str) -> usize {
    log.iter()
        .filter(|r| r.method == method && r.path == path)
        .count()
}

async fn control_put(url: String, body: Value) {
    boxoffice_http::install_crypto_provider();
    let r = reqwest::Client::new().put(url).json(&body).send().await;
    assert!(
        r.is_ok_and(|r| r.status().is_success()),
        "control call failed"
    );
}

struct Plex {
    tv: PlexTvFake,
    pms: PlexServerFake,
    account: Arc<PlexTvClient>,
    server: PlexServer,
    movies: i64,
    shows: i64,
}

async fn plex_with(opts: ClientOptions) -> Plex {
    let tv = fake(PlexTvFake::start().await);
    let pms = fake(PlexServerFake::start(&tv, "Cinema").await);
    let movies = fake(pms.seed_library(PlexLibrarySeed::new("Movies", "movie", 120))).global_id;
    let mut tvs = PlexLibrarySeed::new("TV Shows", "show", 10);
    tvs.episodes = Some(250);
    let shows = fake(pms.seed_library(tvs)).global_id;
    let account = Arc::new(must(
        PlexTvClient::new(&tv.url(), &tv.token(), &cid(), opts.clone()),
        "client",
    ));
    let server = must(
        PlexServer::new(
            account.clone(),
            &pms.url(),
            &pms.token(),
            pms.machine_identifier(),
            &cid(),
            opts,
        ),
        "server",
    );
    Plex {
        tv,
        pms,
        account,
        server,
        movies,
        shows,
    }
}

async fn plex() -> Plex {
    plex_with(fast()).await
}

fn customer(p: &Plex, name: &str) -> String {
    let email = format!("{name}@example.com");
    p.tv.register_account(PlexAccountSeed {
        username: name.into(),
        email: email.clone(),
        id: None,
        token: None,
        home: false,
    });
    email
}

fn share_id(u: &boxoffice_media::MediaUser) -> i64 {
    u.user_ref
        .share_id
        .as_deref()
        .and_then(|s| s.parse().ok())
        .unwrap_or(-1)
}

// ---------------------------------------------------------------------------------
// Plex: plex.tv account.

#[tokio::test]
async fn plex_account_token_and_plex_pass() {
    let p = plex().await;
    let info = must(p.account.account().await, "account");
    assert_eq!(info.id, p.tv.owner().id);
    assert_eq!(info.username, p.tv.owner().username);
    assert!(info.plex_pass);
    p.tv.set_plex_pass(false);
    assert!(!must(p.account.plex_pass().await, "plex pass"));
    // Every plex.tv call carries the client identity headers (ref §1.1).
    let log = p.tv.requests();
    let first = log.first().map(|r| r.headers.clone()).unwrap_or_default();
    for h in [
        "x-plex-token",
        "x-plex-client-identifier",
        "x-plex-product",
        "x-plex-version",
    ] {
        assert!(first.iter().any(|(k, _)| k == h), "missing {h}");
    }
}

#[tokio::test]
async fn plex_bad_token_is_a_401_with_advice() {
    let p = plex().await;
    let bad = must(
        PlexTvClient::new(&p.tv.url(), "not-a-token", &cid(), fast()),
        "client",
    );
    let e = err(bad.account().await, "bad token");
    assert!(matches!(e, MediaError::Unauthorized { .. }), "{e:?}");
    assert!(
        e.to_string().contains("Error communicating with Plex 401"),
        "{e}"
    );
    assert!(e.to_string().contains("Test Token"), "{e}");
    assert!(!e.retryable());
    // The PMS answers 401 with an HTML page (ref §1.3).
    let srv = must(
        PlexServer::new(
            p.account.clone(),
            &p.pms.url(),
            "nope",
            p.pms.machine_identifier(),
            &cid(),
            fast(),
        ),
        "server",
    );
    let e = err(srv.check().await, "bad pms token");
    assert!(matches!(e, MediaError::Unauthorized { .. }), "{e:?}");
    assert!(PlexTvClient::new(&p.tv.url(), " ", &cid(), fast()).is_err());

    // plexapi reads a 422 "Invalid token" as unauthorized too (ref §1.2 P1).
    let body = json!({"errors": [{"code": 1001, "message": "Invalid token", "status": 422}]});
    p.tv.add_fault(
        FaultRule::path(
            "/api/v2/user",
            FaultAction::Status {
                status: 422,
                body: Some(body.to_string()),
            },
        )
        .times(1),
    );
    let e = err(p.account.account().await, "422 invalid token");
    assert!(matches!(e, MediaError::Unauthorized { .. }), "{e:?}");
}

#[tokio::test]
async fn plex_servers_and_both_library_id_kinds() {
    let p = plex().await;
    let servers = must(p.account.servers().await, "servers");
    let mine = servers
        .iter()
        .find(|s| s.machine_id == p.pms.machine_identifier());
    assert!(
        mine.is_some_and(|s| s.owned && s.name == "Cinema" && !s.uris.is_empty()),
        "{servers:?}"
    );

    let sections = must(
        p.account.sections(p.pms.machine_identifier()).await,
        "sections",
    );
    assert_eq!(sections.len(), 2);
    let libs = must(p.server.libraries().await, "libraries");
    assert_eq!(libs.len(), 2);
    for l in &libs {
        let seeded = p.pms.libraries().into_iter().find(|s| s.title == l.name);
        let Some(seeded) = seeded else {
            panic!("unknown library {l:?}")
        };
        // Access is granted by the plex.tv-global id, the PMS speaks its local key (ref §1.1).
        assert_eq!(l.id, seeded.global_id.to_string());
        assert_eq!(l.key, seeded.key.to_string());
        assert_ne!(l.id, l.key);
    }
    let movies = libs.iter().find(|l| l.kind == "movie");
    assert!(movies.is_some_and(|m| m.item_count == 120 && m.child_count.is_none()));
    let shows = libs.iter().find(|l| l.kind == "show");
    assert!(
        shows.is_some_and(|s| s.item_count == 10 && s.child_count == Some(250)),
        "{shows:?}"
    );

    let e = err(
        p.account.sections("0000unknownmachine").await,
        "unknown machine",
    );
    assert!(e.is_not_found(), "{e:?}");
    assert!(e.to_string().contains("404"), "{e}");
}

#[tokio::test]
async fn plex_identity_and_changed_machine_id() {
    let p = plex().await;
    let id = must(p.server.check().await, "check");
    assert_eq!(id.name, "Cinema");
    assert_eq!(id.id, p.pms.machine_identifier());
    assert!(!id.version.is_empty());
    assert_eq!(id.premium, Some(true));
    let moved = must(
        PlexServer::new(
            p.account.clone(),
            &p.pms.url(),
            &p.pms.token(),
            "feedface",
            &cid(),
            fast(),
        ),
        "server",
    );
    let e = err(moved.identity().await, "changed id");
    assert!(
        matches!(e, MediaError::ServerIdentityChanged { .. }),
        "{e:?}"
    );
    assert!(e.to_string().contains("machine ID"), "{e}");
}

// ---------------------------------------------------------------------------------
// Plex: invite → pending → accept → update → remove.

#[tokio::test]
async fn plex_invite_lifecycle_with_everything_off_by_default() {
    let p = plex().await;
    let email = customer(&p, "alice");
    let access = AccessPolicy::libraries([p.movies.to_string()]);
    let who = NewUser {
        name: email.clone(),
        password: None,
    };
    let u = must(p.server.create_user(&who, &access).await, "invite");
    assert!(u.pending);
    assert!(!u.downloads);
    assert_eq!(u.email.as_deref(), Some(email.as_str()));
    let sid = share_id(&u);

    // Nothing beyond the libraries was granted (ref §1.2 P12 settings).
    let share = p.tv.shares().into_iter().find(|s| s.id == sid);
    let Some(share) = share else {
        panic!("share not recorded")
    };
    assert_eq!(share.settings, PlexShareSettings::default());
    assert_eq!(share.section_ids, vec![p.movies]);
    assert!(!share.all_libraries);

    let pending = must(p.server.pending_invites().await, "pending");
    assert!(
        pending
            .iter()
            .any(|i| i.id == sid.to_string() && i.email == email),
        "{pending:?}"
    );

    fake(p.tv.accept_invite(sid));
    let users = must(p.server.users().await, "users");
    let me = users.iter().find(|x| share_id(x) == sid);
    let Some(me) = me else {
        panic!("accepted share missing: {users:?}")
    };
    assert!(!me.pending);
    assert_eq!(me.libraries, vec![p.movies.to_string()]);
    assert!(must(p.server.pending_invites().await, "pending").is_empty());

    let more = AccessPolicy {
        libraries: LibraryAccess::Only(vec![p.movies.to_string(), p.shows.to_string()]),
        downloads: true,
        ..Default::default()
    };
    must(p.server.update_access(&me.user_ref, &more).await, "update");
    let share = p.tv.shares().into_iter().find(|s| s.id == sid);
    assert!(
        share
            .as_ref()
            .is_some_and(|s| s.settings.allow_sync && !s.settings.allow_channels)
    );
    assert!(share.is_some_and(|s| s.section_ids.len() == 2));
    let users = must(p.server.users().await, "users");
    assert!(
        users
            .iter()
            .any(|x| share_id(x) == sid && x.downloads && x.libraries.len() == 2)
    );

    must(p.server.remove_user(&me.user_ref).await, "remove");
    assert!(p.tv.shares().is_empty());
    // Removing again: the share is gone (operations §5.7), reported so callers can
    // treat it as done.
    let e = err(p.server.remove_user(&me.user_ref).await, "remove twice");
    assert!(e.is_not_found(), "{e:?}");
}

#[tokio::test]
async fn plex_invite_of_unknown_email_is_pending_and_cancellable() {
    let p = plex().await;
    let who = NewUser {
        name: "nobody-yet@example.com".into(),
        password: None,
    };
    let u = must(
        p.server
            .create_user(&who, &AccessPolicy::libraries([p.shows.to_string()]))
            .await,
        "invite",
    );
    assert!(u.pending);
    let pending = must(p.account.pending_invites(None).await, "pending");
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].email, "nobody-yet@example.com");
    assert_eq!(pending[0].machine_id, p.pms.machine_identifier());
    must(p.server.cancel_invite(&pending[0].id).await, "cancel");
    assert!(p.tv.shares().is_empty());
    let e = err(p.server.cancel_invite(&pending[0].id).await, "cancel twice");
    assert!(e.is_not_found(), "{e:?}");
}

#[tokio::test]
async fn plex_invite_input_is_checked_before_sending() {
    let p = plex().await;
    let who = NewUser {
        name: "x@example.com".into(),
        password: None,
    };
    // An empty list would share every library on plex.tv (ref §1.2 P12).
    let e = err(
        p.server.create_user(&who, &AccessPolicy::default()).await,
        "no libraries",
    );
    assert!(matches!(e, MediaError::InvalidInput { .. }), "{e:?}");
    let e = err(
        p.server
            .update_access(&UserRef::user("5"), &AccessPolicy::libraries(["1"]))
            .await,
        "no share id",
    );
    assert!(matches!(e, MediaError::InvalidInput { .. }), "{e:?}");
    assert!(p.tv.requests().iter().all(|r| r.method != "POST"));
}

#[tokio::test]
async fn plex_422_causes_are_told_apart() {
    let p = plex().await;
    let mid = p.pms.machine_identifier().to_string();
    let libs = AccessPolicy::libraries([p.movies.to_string()]);

    // Already shared (ref §1.2 P12, §1.4.5).
    let bob = customer(&p, "bob");
    must(p.account.invite(&mid, &bob, &libs).await, "first invite");
    let e = err(p.account.invite(&mid, &bob, &libs).await, "second invite");
    assert!(
        matches!(
            e,
            MediaError::PlexRefused {
                reason: PlexRefusal::AlreadyShared,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(
        e.to_string().contains("HTTP 422 Unprocessable Entity"),
        "{e}"
    );

    // Libraries out of date: a global id that no longer exists.
    let carol = customer(&p, "carol");
    let e = err(
        p.account
            .invite(&mid, &carol, &AccessPolicy::libraries(["999999"]))
            .await,
        "stale library",
    );
    assert!(
        matches!(
            e,
            MediaError::PlexRefused {
                reason: PlexRefusal::LibrariesOutOfDate,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("server sync"), "{e}");

    // Machine id changed: plex.tv no longer knows the machine.
    let e = err(
        p.account.invite("deadbeef", &carol, &libs).await,
        "unknown machine",
    );
    assert!(
        matches!(
            e,
            MediaError::PlexRefused {
                reason: PlexRefusal::MachineIdChanged,
                ..
            }
        ),
        "{e:?}"
    );

    // Already in the admin's Plex Home.
    p.tv.register_account(PlexAccountSeed {
        username: "kid".into(),
        email: "kid@example.com".into(),
        id: None,
        token: None,
        home: true,
    });
    let e = err(
        p.account.invite(&mid, "kid@example.com", &libs).await,
        "home member",
    );
    assert!(
        matches!(
            e,
            MediaError::PlexRefused {
                reason: PlexRefusal::AlreadyInHome,
                ..
            }
        ),
        "{e:?}"
    );

    // Unknown username (not an e-mail).
    let e = err(
        p.account.invite(&mid, "no-such-user", &libs).await,
        "unknown username",
    );
    assert!(
        matches!(
            e,
            MediaError::PlexRefused {
                reason: PlexRefusal::UnknownUser,
                ..
            }
        ),
        "{e:?}"
    );

    // Server full: friends plus Home users at the limit (operations §5.4).
    control_put(
        format!("{}/account", p.tv.control_url()),
        json!({ "share_limit": 2 }),
    )
    .await;
    let e = err(p.account.invite(&mid, &carol, &libs).await, "server full");
    assert!(
        matches!(
            e,
            MediaError::PlexRefused {
                reason: PlexRefusal::ServerFull,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("99 users"), "{e}");
    assert!(!e.retryable());
}

#[tokio::test]
async fn plex_update_and_remove_unknown_share_are_404() {
    let p = plex().await;
    let ghost = UserRef::plex_share("424242", "1");
    let e = err(
        p.server
            .update_access(&ghost, &AccessPolicy::libraries([p.movies.to_string()]))
            .await,
        "update",
    );
    assert!(e.is_not_found(), "{e:?}");
    assert!(
        e.to_string()
            .contains("Response status code does not indicate success: 404"),
        "{e}"
    );
    let e = err(p.account.remove_friend("424242").await, "remove friend");
    assert!(e.is_not_found(), "{e:?}");
}

#[tokio::test]
async fn plex_friend_removal_and_headcount() {
    let p = plex().await;
    let mut shares = BTreeMap::new();
    shares.insert("Cinema".to_string(), vec!["Movies".to_string()]);
    let friend = fake(p.tv.seed_friend(PlexFriendSeed {
        username: "dave".into(),
        email: "dave@example.com".into(),
        shares,
        settings: PlexShareSettings::default(),
        pending: false,
    }));
    p.tv.register_account(PlexAccountSeed {
        username: "kid".into(),
        email: "kid@example.com".into(),
        id: None,
        token: None,
        home: true,
    });
    let mid = p.pms.machine_identifier().to_string();
    must(
        p.account
            .invite(
                &mid,
                "pending@example.com",
                &AccessPolicy::libraries([p.movies.to_string()]),
            )
            .await,
        "invite",
    );
    let hc = must(p.account.headcount(&mid).await, "headcount");
    assert_eq!((hc.shared, hc.home, hc.total()), (2, 1, 3));
    assert!(!hc.is_full());

    must(
        p.account.remove_friend(&friend.id.to_string()).await,
        "remove friend",
    );
    assert!(
        p.tv.shares()
            .iter()
            .all(|s| s.invited_id != Some(friend.id))
    );
    let hc = must(p.account.headcount(&mid).await, "headcount");
    assert_eq!(hc.shared, 1);
}

#[tokio::test]
async fn plex_account_lookup_posts_to_validate_and_reads_the_code() {
    let p = plex().await;
    let email = customer(&p, "erin");
    assert!(must(p.account.user_exists(&email).await, "known e-mail"));
    assert!(must(p.account.user_exists("erin").await, "known username"));
    assert!(!must(
        p.account.user_exists("nobody@example.com").await,
        "unknown e-mail"
    ));
    let log = p.tv.requests();
    // Public clients send POST (go-plex-client `CheckUsernameOrEmail`); the fake answers GET
    // as an unknown route, so a client that sent GET would read every account as missing.
    assert_eq!(hits(&log, "POST", "/api/users/validate"), 3);
    assert_eq!(hits(&log, "GET", "/api/users/validate"), 0);
}

#[tokio::test]
async fn plex_sessions_and_stopping_them() {
    let p = plex().await;
    let email = customer(&p, "erin");
    let u = must(
        p.account
            .invite(
                p.pms.machine_identifier(),
                &email,
                &AccessPolicy::libraries([p.movies.to_string()]),
            )
            .await,
        "invite",
    );
    fake(p.tv.accept_invite(share_id(&u)));
    let mut seed = SessionSeed::new("erin", "Heat");
    seed.resolution = "4k".into();
    seed.video_decision = "transcode".into();
    seed.audio_decision = "copy".into();
    seed.paused = true;
    seed.device = "Shield".into();
    seed.ip = "198.51.100.7".into();
    let sid = fake(p.pms.start_session(seed));
    let mut lan = SessionSeed::new("owner", "Alien");
    lan.local = true;
    fake(p.pms.start_session(lan));

    let sessions = must(p.server.sessions().await, "sessions");
    assert_eq!(sessions.len(), 2);
    let s = sessions.iter().find(|s| s.id == sid);
    let Some(s) = s else {
        panic!("session missing: {sessions:?}")
    };
    assert_eq!(s.user_name, "erin");
    assert_eq!(s.device, "Shield");
    assert_eq!(s.ip, "198.51.100.7");
    assert!(!s.local);
    assert_eq!(s.state, PlaybackState::Paused);
    assert_eq!(s.title, "Heat");
    assert_eq!(s.resolution, "4k");
    assert_eq!(s.video_decision, Decision::Transcode);
    assert_eq!(s.audio_decision, Decision::Copy);
    let owner = sessions.iter().find(|s| s.title == "Alien");
    // The owner is always user id 1 in PMS session XML (ref §1.1).
    assert!(
        owner.is_some_and(|o| o.local
            && o.user_id == "1"
            && o.video_decision == Decision::DirectPlay)
    );

    must(
        p.server
            .stop_session(&sid, "Your plan allows one stream")
            .await,
        "stop",
    );
    let stopped = p.pms.stopped_sessions();
    assert!(stopped.iter().any(|x| x.id == sid
        && x.by == "terminate"
        && x.message.as_deref() == Some("Your plan allows one stream")));
    let e = err(
        p.server.stop_session(&sid, "again").await,
        "unknown session",
    );
    assert!(e.is_not_found(), "{e:?}");

    p.tv.set_plex_pass(false);
    let other = sessions
        .iter()
        .find(|s| s.title == "Alien")
        .map(|s| s.id.clone())
        .unwrap_or_default();
    let e = err(p.server.stop_session(&other, "bye").await, "no plex pass");
    assert!(matches!(e, MediaError::PlexPassRequired { .. }), "{e:?}");
    assert!(e.to_string().contains("Plex Pass"), "{e}");
}

#[tokio::test]
async fn plex_has_no_disable_password_or_devices() {
    let p = plex().await;
    let r = UserRef::plex_share("1", "2");
    for e in [
        err(p.server.set_enabled(&r, false).await, "disable"),
        err(p.server.set_password(&r, "pw").await, "password"),
        err(p.server.delete_device("d").await, "device"),
        err(
            p.server.set_device_access(&r, &DeviceAccess::All).await,
            "devices",
        ),
        err(p.server.check_connect_link("x").await, "connect"),
    ] {
        assert!(matches!(e, MediaError::Unsupported { .. }), "{e:?}");
    }
    assert!(matches!(
        p.server.devices().await,
        Err(MediaError::Unsupported { .. })
    ));
}

// ---------------------------------------------------------------------------------
// Politeness: pacing, 429, retries, timeouts, tracing/metrics.

#[tokio::test]
async fn plex_invites_are_paced_by_the_token_bucket_on_a_test_clock() {
    let (mut opts, clock, sleeper) = on_test_clock();
    let rate = 2.0;
    let burst = 1;
    opts.rate_limit = Some(RateLimit {
        per_second: rate,
        burst,
    });
    let p = plex_with(opts).await;
    let n = 6;
    let emails: Vec<String> = (0..n).map(|i| customer(&p, &format!("paced{i}"))).collect();
    let t0 = clock.now();
    // Concurrent callers still go one at a time through the bucket.
    let mut tasks = tokio::task::JoinSet::new();
    for email in emails {
        let acct = p.account.clone();
        let mid = p.pms.machine_identifier().to_string();
        let libs = AccessPolicy::libraries([p.movies.to_string()]);
        tasks.spawn(async move { acct.invite(&mid, &email, &libs).await });
    }
    while let Some(r) = tasks.join_next().await {
        assert!(r.is_ok_and(|x| x.is_ok()), "an invite failed");
    }
    let took = (clock.now() - t0).as_seconds_f64();
    let floor = f64::from(n - burst) / rate;
    assert!(
        took >= floor - 1e-6,
        "{n} invites at {rate}/s took {took}s on the test clock, want ≥ {floor}s"
    );
    assert!(!sleeper.waits().is_empty());
    assert_eq!(
        hits(&p.tv.requests(), "POST", "/api/v2/shared_servers"),
        n as usize
    );
}

#[tokio::test]
async fn plex_429_retry_after_is_waited_out_not_hammered() {
    let (opts, clock, sleeper) = on_test_clock();
    let p = plex_with(opts).await;
    p.tv.add_fault(
        FaultRule::path("/api/v2/user", FaultAction::RateLimit { retry_after: 7 }).times(1),
    );
    let t0 = clock.now();
    must(p.account.account().await, "account after 429");
    let log = p.tv.requests();
    // Exactly one retry, after the full Retry-After.
    assert_eq!(hits(&log, "GET", "/api/v2/user"), 2, "{log:?}");
    assert!(
        sleeper.waits().contains(&Duration::from_secs(7)),
        "{:?}",
        sleeper.waits()
    );
    assert!((clock.now() - t0).as_seconds_f64() >= 7.0);

    // A wait longer than we are willing to block: fail at once with the wait, one request.
    p.tv.add_fault(FaultRule::path(
        "/api/v2/resources",
        FaultAction::RateLimit { retry_after: 3600 },
    ));
    let e = err(p.account.servers().await, "long 429");
    assert!(matches!(e, MediaError::RateLimited { .. }), "{e:?}");
    assert_eq!(e.retry_after(), Some(Duration::from_secs(3600)));
    assert!(e.retryable());
    assert!(e.to_string().contains("retry after 3600s"), "{e}");
    assert_eq!(hits(&p.tv.requests(), "GET", "/api/v2/resources"), 1);
}

#[tokio::test]
async fn plex_5xx_retried_for_reads_never_for_invites() {
    let (opts, _clock, _sleeper) = on_test_clock();
    let p = plex_with(opts).await;
    p.tv.add_fault(
        FaultRule::path(
            "/api/v2/user",
            FaultAction::Status {
                status: 503,
                body: None,
            },
        )
        .times(1),
    );
    must(p.account.account().await, "read after a 503");
    assert_eq!(hits(&p.tv.requests(), "GET", "/api/v2/user"), 2);

    p.tv.add_fault(
        FaultRule::path(
            "/api/v2/shared_servers",
            FaultAction::Status {
                status: 500,
                body: None,
            },
        )
        .method("POST"),
    );
    let email = customer(&p, "frank");
    let e = err(
        p.account
            .invite(
                p.pms.machine_identifier(),
                &email,
                &AccessPolicy::libraries([p.movies.to_string()]),
            )
            .await,
        "invite 500",
    );
    assert!(
        matches!(e, MediaError::ServerError { status: 500, .. }),
        "{e:?}"
    );
    assert!(e.retryable());
    // A POST may have taken effect: not repeated inline (no double invites).
    assert_eq!(hits(&p.tv.requests(), "POST", "/api/v2/shared_servers"), 1);
}

#[tokio::test]
async fn plex_server_timeout_is_reported() {
    let opts = ClientOptions {
        timeout: Duration::from_millis(300),
        max_retries: 0,
        ..fast()
    };
    let p = plex_with(opts).await;
    p.pms
        .add_fault(FaultRule::path("/status/sessions", FaultAction::Hang));
    let e = err(p.server.sessions().await, "hang");
    assert!(matches!(e, MediaError::Timeout { .. }), "{e:?}");
    assert!(e.retryable());
    assert!(e.to_string().contains("did not answer"), "{e}");
}

#[tokio::test]
async fn every_call_is_observed_with_server_op_and_status() {
    let rec = Arc::new(Recorder::default());
    let opts = ClientOptions {
        observer: rec.clone(),
        ..fast()
    };
    let p = plex_with(opts).await;
    must(p.server.identity().await, "identity");
    let bad = must(
        PlexTvClient::new(
            &p.tv.url(),
            "bad",
            &cid(),
            ClientOptions {
                observer: rec.clone(),
                ..fast()
            },
        ),
        "c",
    );
    let _ = bad.account().await;
    let seen = rec.0.lock().map(|v| v.clone()).unwrap_or_default();
    assert!(
        seen.iter()
            .any(|(s, op, st)| s == &p.pms.url() && op == "server identity" && *st == 200),
        "{seen:?}"
    );
    assert!(
        seen.iter()
            .any(|(s, op, st)| s == "plex.tv" && op == "check token" && *st == 401),
        "{seen:?}"
    );
}

#[tokio::test]
async fn unreachable_server_is_reported() {
    let opts = ClientOptions {
        max_retries: 0,
        ..fast()
    };
    let jf = must(
        JellyfinServer::new("http://127.0.0.1:9", "key", "dev", opts),
        "client",
    );
    let e = err(jf.identity().await, "closed port");
    assert!(matches!(e, MediaError::Unreachable { .. }), "{e:?}");
    assert!(e.retryable());
}

// ---------------------------------------------------------------------------------
// Jellyfin.

struct Jf {
    fake: JellyfinFake,
    server: JellyfinServer,
    movies: String,
    shows: String,
}

async fn jellyfin_version(v: JellyfinVersion) -> Jf {
    let fake_ = fake(JellyfinFake::start_version(v, "Jelly").await);
    let movies = fake_
        .seed_library(MbLibrarySeed::new("Movies", "movies", 42))
        .id;
    let mut tv = MbLibrarySeed::new("Shows", "tvshows", 5);
    tv.episodes = Some(77);
    let shows = fake_.seed_library(tv).id;
    let server = must(
        JellyfinServer::new(&fake_.url(), &fake_.api_key(), "boxoffice-test", fast()),
        "client",
    );
    Jf {
        fake: fake_,
        server,
        movies,
        shows,
    }
}

async fn jellyfin() -> Jf {
    jellyfin_version(JellyfinVersion::default()).await
}

/// Log in as the user would (ref §2.1 AuthenticateByName): the password works.
async fn jf_login(base: &str, name: &str, pw: &str) -> u16 {
    boxoffice_http::install_crypto_provider();
    let r = reqwest::Client::new()
        .post(format!("{base}/Users/AuthenticateByName"))
        .header(
            "Authorization",
            "MediaBrowser Client=\"t\", Device=\"t\", DeviceId=\"t\", Version=\"1\"",
        )
        .json(&json!({ "Username": name, "Pw": pw }))
        .send()
        .await;
    r.map(|r| r.status().as_u16()).unwrap_or(0)
}

#[tokio::test]
async fn jellyfin_identity_and_bad_key() {
    for v in [
        JellyfinVersion::V10_8,
        JellyfinVersion::V10_11,
        JellyfinVersion::V12_0,
    ] {
        let j = jellyfin_version(v).await;
        let id = must(j.server.check().await, "check");
        assert_eq!(id.name, "Jelly");
        assert_eq!(id.id, j.fake.server_id());
        assert!(!id.version.is_empty());
        let bad = must(
            JellyfinServer::new(&j.fake.url(), "wrong", "dev", fast()),
            "client",
        );
        let e = err(bad.check().await, "bad key");
        assert!(matches!(e, MediaError::Unauthorized { .. }), "{v:?}: {e:?}");
        assert!(e.to_string().contains("API key"), "{e}");
    }
}

#[tokio::test]
async fn jellyfin_libraries_with_counts() {
    let j = jellyfin().await;
    let libs = must(j.server.libraries().await, "libraries");
    let m = libs.iter().find(|l| l.id == j.movies);
    assert!(
        m.is_some_and(|m| m.item_count == 42 && m.kind == "movies" && m.key == j.movies),
        "{libs:?}"
    );
    let s = libs.iter().find(|l| l.id == j.shows);
    assert!(
        s.is_some_and(|s| s.item_count == 5 && s.child_count == Some(77)),
        "{libs:?}"
    );
}

#[tokio::test]
async fn jellyfin_create_user_grants_only_what_the_plan_says() {
    // 12.0 accepts only the `Authorization: MediaBrowser` form (ref §2.1); 10.8 has no
    // required provider ids. The same client must work on both ends.
    for v in [
        JellyfinVersion::V10_8,
        JellyfinVersion::V10_11,
        JellyfinVersion::V12_0,
    ] {
        jellyfin_create_user_on(v).await;
    }
}

async fn jellyfin_create_user_on(v: JellyfinVersion) {
    let j = jellyfin_version(v).await;
    let access = AccessPolicy {
        stream_limit: Some(2),
        ..AccessPolicy::libraries([j.movies.clone()])
    };
    let who = NewUser {
        name: "grace".into(),
        password: Some("s3cret-pw".into()),
    };
    let u = must(j.server.create_user(&who, &access).await, "create");
    assert_eq!(u.name, "grace");
    assert_eq!(u.libraries, vec![j.movies.clone()]);
    assert!(!u.all_libraries && !u.downloads && !u.disabled && !u.is_admin);
    let Some(stored) = j.fake.user("grace") else {
        panic!("user not created")
    };
    let p = &stored.policy;
    for (k, want) in [
        ("EnableContentDownloading", false),
        ("EnableAllFolders", false),
        ("EnableVideoPlaybackTranscoding", false),
        ("EnableAudioPlaybackTranscoding", false),
        ("EnableLiveTvAccess", false),
        ("EnableLiveTvManagement", false),
        ("IsAdministrator", false),
        ("EnableRemoteAccess", true),
        ("EnableMediaPlayback", true),
    ] {
        assert_eq!(p[k], json!(want), "{k}");
    }
    assert_eq!(p["MaxActiveSessions"], json!(2));
    assert_eq!(jf_login(&j.fake.url(), "grace", "s3cret-pw").await, 200);

    let e = err(j.server.create_user(&who, &access).await, "duplicate");
    assert!(matches!(e, MediaError::UserRejected { .. }), "{e:?}");
    assert!(e.to_string().contains("grace"), "{e}");
}

#[tokio::test]
async fn jellyfin_policy_update_keeps_every_field_it_did_not_mean_to_change() {
    let j = jellyfin().await;
    let mut seed = MbUserSeed::new("heidi");
    seed.libraries = Some(vec!["Movies".into()]);
    seed.policy = Some(json!({
        "MaxParentalRating": 13,
        "BlockedTags": ["gore", "horror"],
        "AllowedTags": ["family"],
        "AccessSchedules": [{"DayOfWeek": "Sunday", "StartHour": 8.0, "EndHour": 20.0}],
        "BlockUnratedItems": ["Movie"],
        "RemoteClientBitrateLimit": 3_500_000,
        "LoginAttemptsBeforeLockout": 7,
        "SyncPlayAccess": "None",
        "EnableSharedDeviceControl": false,
        "EnableUserPreferenceAccess": false,
        "IsHidden": false,
        "ForceRemoteSourceTranscoding": true,
        "EnabledChannels": ["c1"],
        "EnableAllChannels": false,
        "EnablePlaybackRemuxing": false,
        "EnableContentDeletionFromFolders": ["x"],
        "InvalidLoginAttemptCount": 2,
    }));
    let user = j.fake.seed_user(seed);
    let before = user.policy.clone();
    let access = AccessPolicy::libraries([j.movies.clone(), j.shows.clone()]);
    must(
        j.server
            .update_access(&UserRef::user(&user.id), &access)
            .await,
        "update",
    );
    let Some(after) = j.fake.user(&user.id) else {
        panic!("user vanished")
    };
    let (Some(b), Some(a)) = (before.as_object(), after.policy.as_object()) else {
        panic!("policy not an object")
    };
    for (k, v) in b {
        if boxoffice_media::policy::MANAGED_KEYS.contains(&k.as_str()) {
            continue;
        }
        assert_eq!(a.get(k), Some(v), "field {k} changed");
    }
    assert_eq!(a.len(), b.len(), "fields added or dropped");
    let mut folders: Vec<String> = a["EnabledFolders"]
        .as_array()
        .map(|x| {
            x.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    folders.sort();
    let mut want = vec![j.movies.clone(), j.shows.clone()];
    want.sort();
    assert_eq!(folders, want);
    // The policy was read, then posted whole.
    let log = j.fake.requests();
    let post = log
        .iter()
        .find(|r| r.method == "POST" && r.path.ends_with("/Policy"));
    let body: Value = post
        .map(|r| serde_json::from_str(&r.body).unwrap_or(Value::Null))
        .unwrap_or(Value::Null);
    assert!(
        body["AuthenticationProviderId"].is_string() && body["PasswordResetProviderId"].is_string()
    );
}

#[tokio::test]
async fn jellyfin_incomplete_policy_400_is_explained() {
    let j = jellyfin().await;
    let user = j.fake.seed_user(MbUserSeed::new("ivan"));
    let body = json!({"type": "https://tools.ietf.org/html/rfc9110#section-15.5.1", "title": "One or more validation errors occurred.", "status": 400, "errors": {"AuthenticationProviderId": ["The AuthenticationProviderId field is required."]}});
    j.fake.add_fault(
        FaultRule::path(
            &format!("/Users/{}/Policy", user.id),
            FaultAction::Status {
                status: 400,
                body: Some(body.to_string()),
            },
        )
        .times(1),
    );
    let e = err(
        j.server
            .update_access(
                &UserRef::user(&user.id),
                &AccessPolicy::libraries([j.movies.clone()]),
            )
            .await,
        "400",
    );
    assert!(matches!(e, MediaError::InvalidPolicy { .. }), "{e:?}");
    assert!(e.to_string().contains("AuthenticationProviderId"), "{e}");
    assert!(!e.retryable());
}

#[tokio::test]
async fn jellyfin_disable_enable_password_and_delete() {
    let j = jellyfin().await;
    let mut seed = MbUserSeed::new("judy");
    seed.password = Some("old-pw".into());
    let user = j.fake.seed_user(seed);
    let r = UserRef::user(&user.id);
    let sid = fake(j.fake.start_session(SessionSeed::new("judy", "Up")));

    must(j.server.set_enabled(&r, false).await, "disable");
    assert!(j.fake.user(&user.id).is_some_and(|u| u.flag("IsDisabled")));
    // Disabling ends the user's sessions (ref §2.2 J9).
    assert!(j.fake.stopped_sessions().iter().any(|s| s.id == sid));
    assert!(
        must(j.server.users().await, "users")
            .iter()
            .any(|u| u.user_ref == r && u.disabled)
    );
    must(j.server.set_enabled(&r, true).await, "enable");
    assert!(j.fake.user(&user.id).is_some_and(|u| !u.flag("IsDisabled")));

    must(j.server.set_password(&r, "new-pw").await, "password");
    assert_eq!(jf_login(&j.fake.url(), "judy", "new-pw").await, 200);
    assert_eq!(jf_login(&j.fake.url(), "judy", "old-pw").await, 401);

    must(j.server.remove_user(&r).await, "delete");
    assert!(j.fake.user(&user.id).is_none());
    let e = err(j.server.remove_user(&r).await, "delete twice");
    assert!(e.is_not_found(), "{e:?}");
    let e = err(
        j.server.set_password(&r, "x").await,
        "password of a deleted user",
    );
    assert!(e.is_not_found(), "{e:?}");

    // Administrators cannot be disabled (ref §2.2 J6: 403).
    let Some(admin) = j.fake.user("admin") else {
        panic!("seeded admin missing")
    };
    let e = err(
        j.server.set_enabled(&UserRef::user(&admin.id), false).await,
        "disable admin",
    );
    assert!(matches!(e, MediaError::Forbidden { .. }), "{e:?}");
}

#[tokio::test]
async fn jellyfin_password_refusal_is_a_login_failure() {
    let j = jellyfin().await;
    let user = j.fake.seed_user(MbUserSeed::new("ken"));
    j.fake.add_fault(FaultRule::path(
        &format!("/Users/{}/Password", user.id),
        FaultAction::Status {
            status: 403,
            body: Some("\"User is not allowed to update the password.\"".into()),
        },
    ));
    let e = err(
        j.server.set_password(&UserRef::user(&user.id), "pw").await,
        "403",
    );
    assert!(
        matches!(e, MediaError::LoginFailed { status: 403, .. }),
        "{e:?}"
    );
    assert!(e.to_string().contains("not allowed"), "{e}");
    assert!(e.to_string().contains("Reset"), "{e}");
}

#[tokio::test]
async fn jellyfin_sessions_stop_with_message() {
    let j = jellyfin().await;
    j.fake.seed_user(MbUserSeed::new("leo"));
    let mut seed = SessionSeed::new("leo", "Dune");
    seed.video_decision = "transcode".into();
    seed.resolution = "4k".into();
    seed.ip = "203.0.113.5".into();
    seed.device = "iPhone".into();
    let sid = fake(j.fake.start_session(seed));
    let mut lan = SessionSeed::new("leo", "Cars");
    lan.ip = "192.168.1.30".into();
    lan.paused = true;
    fake(j.fake.start_session(lan));
    let sessions = must(j.server.sessions().await, "sessions");
    assert_eq!(sessions.len(), 2);
    let Some(s) = sessions.iter().find(|s| s.id == sid) else {
        panic!("missing session")
    };
    assert_eq!(
        (s.user_name.as_str(), s.device.as_str(), s.ip.as_str()),
        ("leo", "iPhone", "203.0.113.5")
    );
    assert!(!s.local);
    assert_eq!(s.state, PlaybackState::Playing);
    assert_eq!(s.resolution, "4k");
    assert_eq!(s.video_decision, Decision::Transcode);
    assert_eq!(s.audio_decision, Decision::Copy);
    assert!(
        sessions
            .iter()
            .any(|s| s.title == "Cars" && s.local && s.state == PlaybackState::Paused)
    );

    must(
        j.server.stop_session(&sid, "Stream limit reached").await,
        "stop",
    );
    let stopped = j.fake.stopped_sessions();
    assert!(
        stopped.iter().any(|x| x.id == sid
            && x.by == "stop_command"
            && x.message.as_deref() == Some("Stream limit reached")),
        "{stopped:?}"
    );
    let e = err(
        j.server
            .stop_session("0123456789abcdef0123456789abcdef", "x")
            .await,
        "unknown",
    );
    assert!(e.is_not_found(), "{e:?}");
}

#[tokio::test]
async fn jellyfin_devices_list_delete_and_restrict() {
    let j = jellyfin().await;
    let user = j.fake.seed_user(MbUserSeed::new("mia"));
    let dev = fake(j.fake.seed_device(MbDeviceSeed {
        user: "mia".into(),
        name: "TV".into(),
        id: None,
        app_name: None,
        ip: None,
    }));
    let devices = must(j.server.devices().await, "devices");
    let Some(d) = devices.iter().find(|d| d.id == dev) else {
        panic!("device missing: {devices:?}")
    };
    assert_eq!(d.user_name.as_deref(), Some("mia"));
    let r = UserRef::user(&user.id);
    must(
        j.server
            .set_device_access(&r, &DeviceAccess::Only(vec![dev.clone()]))
            .await,
        "restrict",
    );
    let Some(u) = j.fake.user(&user.id) else {
        panic!("user")
    };
    assert!(!u.flag("EnableAllDevices"));
    assert_eq!(u.policy["EnabledDevices"], json!([dev]));
    must(
        j.server.set_device_access(&r, &DeviceAccess::All).await,
        "allow all",
    );
    assert!(
        j.fake
            .user(&user.id)
            .is_some_and(|u| u.flag("EnableAllDevices"))
    );
    must(j.server.delete_device(&dev).await, "delete");
    assert!(
        must(j.server.devices().await, "devices")
            .iter()
            .all(|d| d.id != dev)
    );
    let e = err(j.server.delete_device(&dev).await, "delete twice");
    assert!(e.is_not_found(), "{e:?}");
    assert!(must(j.server.pending_invites().await, "pending").is_empty());
    assert!(matches!(
        j.server.check_connect_link("x").await,
        Err(MediaError::Unsupported { .. })
    ));
}

// ---------------------------------------------------------------------------------
// Emby.

struct Em {
    fake: EmbyFake,
    server: EmbyServer,
    movies_guid: String,
    movies_id: String,
}

async fn emby() -> Em {
    let fake_ = fake(EmbyFake::start().await);
    let lib = fake_.seed_library(MbLibrarySeed::new("Films", "movies", 9));
    fake_.seed_library(MbLibrarySeed::new("Series", "tvshows", 3));
    let server = must(
        EmbyServer::new(&fake_.url(), &fake_.api_key(), fast()),
        "client",
    );
    Em {
        fake: fake_,
        server,
        movies_guid: lib.guid,
        movies_id: lib.id,
    }
}

#[tokio::test]
async fn emby_identity_under_the_emby_prefix_and_bad_key() {
    let e = emby().await;
    let id = must(e.server.check().await, "check");
    assert_eq!(id.name, "Emby");
    assert_eq!(id.id, e.fake.server_id());
    assert_eq!(id.premium, Some(true));
    assert!(
        e.fake
            .requests()
            .iter()
            .all(|r| r.path.starts_with("/emby/")),
        "{:?}",
        e.fake.requests()
    );
    let bad = must(
        EmbyServer::new(&format!("{}/emby/", e.fake.url()), "wrong", fast()),
        "client",
    );
    let err_ = err(bad.check().await, "bad key");
    assert!(matches!(err_, MediaError::Unauthorized { .. }), "{err_:?}");
    // A URL already ending in /emby is not doubled.
    assert!(
        e.fake
            .requests()
            .iter()
            .all(|r| !r.path.starts_with("/emby/emby"))
    );
}

#[tokio::test]
async fn emby_libraries_use_folder_guids() {
    let e = emby().await;
    let libs = must(e.server.libraries().await, "libraries");
    let Some(f) = libs.iter().find(|l| l.name == "Films") else {
        panic!("{libs:?}")
    };
    assert_eq!(f.id, e.movies_guid);
    assert_eq!(f.key, e.movies_id);
    assert_eq!(f.item_count, 9);
}

#[tokio::test]
async fn emby_create_user_sets_password_in_a_second_call_and_policy_by_guid() {
    let e = emby().await;
    let access = AccessPolicy {
        stream_limit: Some(1),
        ..AccessPolicy::libraries([e.movies_guid.clone()])
    };
    let who = NewUser {
        name: "nina".into(),
        password: Some("pw-123".into()),
    };
    let u = must(e.server.create_user(&who, &access).await, "create");
    assert_eq!(u.libraries, vec![e.movies_guid.clone()]);
    let Some(stored) = e.fake.user("nina") else {
        panic!("not created")
    };
    assert_eq!(stored.password.as_deref(), Some("pw-123"));
    assert_eq!(stored.policy["SimultaneousStreamLimit"], json!(1));
    assert_eq!(stored.policy["EnableContentDownloading"], json!(false));
    assert_eq!(stored.policy["AllowCameraUpload"], json!(false));
    let log = e.fake.requests();
    let new = log.iter().find(|r| r.path == "/emby/Users/New");
    assert!(
        new.is_some_and(|r| !r.body.contains("pw-123")),
        "password must not go to /Users/New"
    );
    assert_eq!(
        hits(&log, "POST", &format!("/emby/Users/{}/Password", stored.id)),
        1
    );
    assert!(
        must(e.server.users().await, "users")
            .iter()
            .any(|x| x.name == "nina")
    );
    // 4.8 lists users through the paged `/Users/Query` (ref §3.2 E2).
    assert!(
        e.fake
            .requests()
            .iter()
            .any(|r| r.path == "/emby/Users/Query")
    );
}

#[tokio::test]
async fn emby_failed_password_deletes_the_half_created_user() {
    let e = emby().await;
    // First POST under /emby/Users/ is the create (let it through), the next is the password.
    e.fake
        .add_fault(FaultRule::path("/emby/Users/New", FaultAction::Delay { ms: 0 }).times(1));
    e.fake.add_fault(
        FaultRule::path(
            "/emby/Users/",
            FaultAction::Status {
                status: 400,
                body: None,
            },
        )
        .method("POST")
        .times(1),
    );
    let who = NewUser {
        name: "oscar".into(),
        password: Some("pw".into()),
    };
    let er = err(
        e.server
            .create_user(&who, &AccessPolicy::libraries([e.movies_guid.clone()]))
            .await,
        "password fails",
    );
    assert!(matches!(er, MediaError::LoginFailed { .. }), "{er:?}");
    assert!(
        e.fake.user("oscar").is_none(),
        "half-created user left behind"
    );
}

#[tokio::test]
async fn emby_disable_update_delete_and_void_200() {
    let e = emby().await;
    e.fake.set_void_status(200);
    let user = e.fake.seed_user(MbUserSeed::new("pia"));
    let r = UserRef::user(&user.id);
    must(e.server.set_enabled(&r, false).await, "disable");
    assert!(e.fake.user(&user.id).is_some_and(|u| u.flag("IsDisabled")));
    must(e.server.set_enabled(&r, true).await, "enable");
    let all = AccessPolicy {
        libraries: LibraryAccess::All,
        downloads: true,
        ..Default::default()
    };
    must(e.server.update_access(&r, &all).await, "update");
    assert!(
        e.fake
            .user(&user.id)
            .is_some_and(|u| u.flag("EnableAllFolders") && u.flag("EnableContentDownloading"))
    );
    must(e.server.set_password(&r, "fresh").await, "password");
    assert!(
        e.fake
            .user(&user.id)
            .is_some_and(|u| u.password.as_deref() == Some("fresh"))
    );
    must(e.server.remove_user(&r).await, "delete");
    let er = err(e.server.remove_user(&r).await, "delete twice");
    assert!(er.is_not_found(), "{er:?}");
}

#[tokio::test]
async fn emby_sessions_message_by_query_and_stop() {
    let e = emby().await;
    e.fake.seed_user(MbUserSeed::new("quinn"));
    let sid = fake(e.fake.start_session(SessionSeed::new("quinn", "Jaws")));
    let sessions = must(e.server.sessions().await, "sessions");
    assert!(sessions.iter().any(|s| s.id == sid
        && s.video_decision == Decision::DirectPlay
        && s.resolution == "1080"));
    must(e.server.stop_session(&sid, "Over the limit").await, "stop");
    let log = e.fake.requests();
    let msg = log
        .iter()
        .find(|r| r.path == format!("/emby/Sessions/{sid}/Message"));
    assert!(
        msg.is_some_and(|r| r.query.as_deref().is_some_and(|q| q.contains("Text=Over"))),
        "{msg:?}"
    );
    assert!(
        e.fake
            .stopped_sessions()
            .iter()
            .any(|s| s.id == sid && s.message.as_deref() == Some("Over the limit"))
    );
}

#[tokio::test]
async fn emby_devices_and_allow_all_devices() {
    let e = emby().await;
    let user = e.fake.seed_user(MbUserSeed::new("rita"));
    let reported = fake(e.fake.seed_device(MbDeviceSeed {
        user: "rita".into(),
        name: "Roku".into(),
        id: None,
        app_name: None,
        ip: None,
    }));
    let devices = must(e.server.devices().await, "devices");
    let Some(d) = devices.iter().find(|d| d.reported_id == reported) else {
        panic!("{devices:?}")
    };
    let r = UserRef::user(&user.id);
    must(
        e.server
            .set_device_access(&r, &DeviceAccess::Only(vec![d.reported_id.clone()]))
            .await,
        "restrict",
    );
    assert!(
        e.fake
            .user(&user.id)
            .is_some_and(|u| !u.flag("EnableAllDevices"))
    );
    must(e.server.delete_device(&d.id).await, "delete");
    assert!(must(e.server.devices().await, "devices").is_empty());
}

#[tokio::test]
async fn emby_connect_link_check_and_link() {
    let e = emby().await;
    let link = must(
        e.server.check_connect_link("someone@example.com").await,
        "check",
    );
    assert!(link.is_pending);
    // The throw-away user is gone again (operations §5.8).
    assert!(e.fake.user("EmbyConnectLinkTest").is_none());
    let user = e.fake.seed_user(MbUserSeed::new("sam"));
    must(
        e.server
            .link_connect(&UserRef::user(&user.id), "sam-connect")
            .await,
        "link",
    );
    let users = must(e.server.users().await, "users");
    assert!(
        users
            .iter()
            .any(|u| u.name == "sam" && u.connect_username.as_deref() == Some("sam-connect"))
    );
}

// ---------------------------------------------------------------------------------
// The trait is object-safe and one list can hold every platform.

#[tokio::test]
async fn servers_work_behind_dyn_media_server() {
    let p = plex().await;
    let j = jellyfin().await;
    let e = emby().await;
    let servers: Vec<Box<dyn MediaServer>> =
        vec![Box::new(p.server), Box::new(j.server), Box::new(e.server)];
    for s in &servers {
        let id = must(s.identity().await, "identity");
        assert!(!id.id.is_empty(), "{:?}", s.platform());
        assert!(!must(s.libraries().await, "libraries").is_empty());
    }
}
