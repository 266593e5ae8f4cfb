//! Exercises every fake over real HTTP (reqwest), including each fault type and each
//! documented error status.

use std::time::{Duration, Instant};

use boxoffice_fakes::{
    EmbyFake, EmbyOptions, FaultAction, FaultRule, JellyfinFake, JellyfinVersion, MbDeviceSeed,
    MbLibrarySeed, MbUserSeed, PlexAccountSeed, PlexLibrarySeed, PlexServerFake, PlexTvFake,
    SessionSeed, World,
};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

type R = Result<(), Box<dyn std::error::Error>>;

fn client() -> Client {
    // When this crate is tested together with `boxoffice` (`cargo test -p boxoffice -p
    // boxoffice-fakes`), feature unification gives reqwest `rustls-no-provider`, and building a
    // client then needs a process-wide crypto provider. Installing one is harmless otherwise.
    let _ = rustls::crypto::ring::default_provider().install_default();
    Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

async fn plex_pair() -> (PlexTvFake, PlexServerFake) {
    let tv = PlexTvFake::start().await.expect("plex.tv");
    let pms = PlexServerFake::start(&tv, "Plex Alpha").await.expect("pms");
    for (t, k, n) in [
        ("Movies", "movie", 120),
        ("TV Shows", "show", 30),
        ("Movies 4K", "movie", 12),
    ] {
        pms.seed_library(PlexLibrarySeed::new(t, k, n))
            .expect("lib");
    }
    (tv, pms)
}

fn global_id(pms: &PlexServerFake, title: &str) -> i64 {
    pms.libraries()
        .iter()
        .find(|l| l.title == title)
        .map(|l| l.global_id)
        .expect("library")
}

// ---------------------------------------------------------------- plex.tv

#[tokio::test]
async fn plex_tv_auth_formats_and_account() -> R {
    let (tv, _pms) = plex_pair().await;
    let c = client();
    // No token: v2 JSON error envelope, v1 XML.
    let r = c
        .get(format!("{}/api/v2/user", tv.url()))
        .header("Accept", "application/json")
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let v: Value = r.json().await?;
    assert_eq!(v["errors"][0]["code"], 1001);
    let r = c
        .get(format!("{}/users/account", tv.url()))
        .header("X-Plex-Token", "wrong")
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.text().await?.contains("<errors>"));
    // Token as query parameter; JSON on request.
    let v: Value = c
        .get(format!("{}/api/v2/user", tv.url()))
        .query(&[("X-Plex-Token", tv.token())])
        .header("Accept", "application/json")
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(v["subscription"]["active"], true);
    assert_eq!(v["roles"][0], "plexpass");
    // XML by default, with plexapi's shapes.
    let x = c
        .get(format!("{}/api/v2/user", tv.url()))
        .header("X-Plex-Token", tv.token())
        .send()
        .await?
        .text()
        .await?;
    assert!(
        x.contains("<user ") && x.contains("<role id=\"plexpass\"/>"),
        "{x}"
    );
    let x = c
        .get(format!("{}/api/v2/ping", tv.url()))
        .header("X-Plex-Token", tv.token())
        .send()
        .await?
        .text()
        .await?;
    assert!(x.contains("<pong>true</pong>"));
    let x = c
        .get(format!("{}/users/account", tv.url()))
        .header("X-Plex-Token", tv.token())
        .send()
        .await?
        .text()
        .await?;
    assert!(x.contains("<subscription active=\"1\""));
    Ok(())
}

#[tokio::test]
async fn plex_resources_and_section_ids() -> R {
    let (tv, pms) = plex_pair().await;
    let c = client();
    let v: Value = c
        .get(format!("{}/api/v2/resources?includeHttps=1", tv.url()))
        .header("X-Plex-Token", tv.token())
        .header("Accept", "application/json")
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(v[0]["clientIdentifier"], pms.machine_identifier());
    assert_eq!(v[0]["connections"][0]["uri"], pms.url());
    assert_eq!(pms.machine_identifier().len(), 40);
    // XML by default, in the `resources > resource > connections > connection` shape.
    let x = c
        .get(format!("{}/api/v2/resources", tv.url()))
        .header("X-Plex-Token", tv.token())
        .send()
        .await?
        .text()
        .await?;
    assert!(
        x.contains("<resources><resource ") && x.contains("<connections><connection "),
        "{x}"
    );
    assert!(x.contains("owned=\"1\""), "{x}");
    // P8: global id differs from local key.
    let x = c
        .get(format!(
            "{}/api/servers/{}",
            tv.url(),
            pms.machine_identifier()
        ))
        .header("X-Plex-Token", tv.token())
        .send()
        .await?
        .text()
        .await?;
    let gid = global_id(&pms, "Movies");
    assert!(
        x.contains(&format!("<Section id=\"{gid}\" key=\"1\"")),
        "{x}"
    );
    // P9 JSON, then the transient empty list fault.
    let url = format!("{}/api/v2/servers/{}", tv.url(), pms.machine_identifier());
    let get = || {
        c.get(&url)
            .header("X-Plex-Token", tv.token())
            .header("Accept", "application/json")
            .send()
    };
    let v: Value = get().await?.json().await?;
    assert_eq!(v["librarySections"].as_array().map(Vec::len), Some(3));
    tv.add_fault(FaultRule::path("/api/v2/servers", FaultAction::EmptySections).times(1));
    let v: Value = get().await?.json().await?;
    assert_eq!(v["librarySections"].as_array().map(Vec::len), Some(0));
    let v: Value = get().await?.json().await?;
    assert_eq!(v["librarySections"].as_array().map(Vec::len), Some(3));
    // Unknown machine → 404.
    let r = c
        .get(format!("{}/api/servers/{}", tv.url(), "f".repeat(40)))
        .header("X-Plex-Token", tv.token())
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    Ok(())
}

#[tokio::test]
async fn plex_v2_share_lifecycle() -> R {
    let (tv, pms) = plex_pair().await;
    let cust = tv.register_account(PlexAccountSeed {
        username: "zoe".into(),
        email: "zoe@example.com".into(),
        id: None,
        token: None,
        home: false,
    });
    let c = client();
    let gid = global_id(&pms, "Movies");
    let body = json!({"machineIdentifier": pms.machine_identifier(), "invitedEmail": "zoe@example.com",
        "librarySectionIds": [gid], "settings": {"allowSync": false, "allowChannels": false}});
    let post = |b: Value| {
        c.post(format!("{}/api/v2/shared_servers", tv.url()))
            .header("X-Plex-Token", tv.token())
            .header("Accept", "application/json")
            .json(&b)
            .send()
    };
    let r = post(body.clone()).await?;
    assert_eq!(r.status(), StatusCode::CREATED);
    let share: Value = r.json().await?;
    let sid = share["id"].as_i64().ok_or("id")?;
    assert_eq!(share["accepted"], false);
    // Duplicate → 422 with the v2 errors envelope.
    let r = post(body).await?;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let e: Value = r.json().await?;
    assert!(
        e["errors"][0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("already sharing")
    );
    // Local keys are not global ids → 422.
    let r = post(json!({"machineIdentifier": pms.machine_identifier(), "invitedEmail": "new@example.com", "librarySectionIds": [1]})).await?;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // Pending list, then the customer accepts with their own token (P25).
    let pend: Value = c
        .get(format!(
            "{}/api/v2/shared_servers/invites/owned/pending",
            tv.url()
        ))
        .header("X-Plex-Token", tv.token())
        .header("Accept", "application/json")
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(pend[0]["sharedServers"][0]["id"], sid);
    let r = c
        .post(format!("{}/api/v2/shared_servers/{sid}/accept", tv.url()))
        .header("X-Plex-Token", &cust.token)
        .header("Accept", "application/json")
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::OK);
    let acc: Value = c
        .get(format!("{}/api/v2/shared_servers/owned/accepted", tv.url()))
        .header("X-Plex-Token", tv.token())
        .header("Accept", "application/json")
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(acc[0]["invitedId"], cust.id);
    assert_eq!(acc[0]["libraries"][0]["title"], "Movies");
    // The customer's token now reaches the PMS, sees only Movies, and gets 403 on sessions.
    let x = c
        .get(format!("{}/library/sections", pms.url()))
        .header("X-Plex-Token", &cust.token)
        .send()
        .await?
        .text()
        .await?;
    assert!(
        x.contains("title=\"Movies\"") && !x.contains("TV Shows"),
        "{x}"
    );
    let r = c
        .get(format!("{}/status/sessions", pms.url()))
        .header("X-Plex-Token", &cust.token)
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // Update libraries + allowSync (P19), then remove (P21) and 404 on repeat.
    let g4k = global_id(&pms, "Movies 4K");
    let r = c
        .post(format!("{}/api/v2/shared_servers/{sid}", tv.url()))
        .header("X-Plex-Token", tv.token())
        .header("Accept", "application/json")
        .json(&json!({"settings": {"allowSync": true}, "librarySectionIds": [gid, g4k]}))
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::OK);
    let st = tv.state();
    assert_eq!(st["access"][0]["libraries"], json!(["Movies", "Movies 4K"]));
    assert_eq!(st["access"][0]["allow_sync"], true);
    let del = || {
        c.delete(format!("{}/api/v2/shared_servers/{sid}", tv.url()))
            .header("X-Plex-Token", tv.token())
            .send()
    };
    assert_eq!(del().await?.status(), StatusCode::NO_CONTENT);
    assert_eq!(del().await?.status(), StatusCode::NOT_FOUND);
    Ok(())
}

#[tokio::test]
async fn plex_v1_share_errors_and_friends() -> R {
    let (tv, pms) = plex_pair().await;
    tv.register_account(PlexAccountSeed {
        username: "homie".into(),
        email: "home@example.com".into(),
        id: None,
        token: None,
        home: true,
    });
    let c = client();
    let gid = global_id(&pms, "TV Shows");
    let url = format!(
        "{}/api/servers/{}/shared_servers",
        tv.url(),
        pms.machine_identifier()
    );
    let post = |who: &str| {
        c.post(&url)
            .header("X-Plex-Token", tv.token())
            .json(&json!({"server_id": pms.machine_identifier(),
                "shared_server": {"library_section_ids": [gid], "invited_email": who},
                "sharing_settings": {"allowSync": "1", "allowChannels": "0"}}))
            .send()
    };
    // E-mail without a Plex account: pending invite, not an error.
    let r = post("nobody@example.com").await?;
    assert_eq!(r.status(), StatusCode::OK);
    let x = r.text().await?;
    assert!(
        x.contains("<SharedServer ") && x.contains("allowSync=\"1\""),
        "{x}"
    );
    let r = post("NOBODY@example.com").await?;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let x = r.text().await?;
    assert!(
        x.contains("<Response code=\"422\"") && x.contains("already sharing"),
        "{x}"
    );
    assert_eq!(
        post("home@example.com").await?.status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    // Server full (operations §5.4) once the limit is reached.
    c.put(format!("{}/__control/account", tv.url()))
        .json(&json!({"share_limit": 2}))
        .send()
        .await?;
    assert_eq!(
        post("another@example.com").await?.status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    // Listing (P13) shows it pending.
    let x = c
        .get(&url)
        .header("X-Plex-Token", tv.token())
        .send()
        .await?
        .text()
        .await?;
    assert!(
        x.contains("accepted=\"0\"") && x.contains("nobody@example.com"),
        "{x}"
    );
    // Removed endpoints answer 410.
    for p in [
        "/api/invites/requested",
        "/api/invites/requests",
        "/api/friends/12",
    ] {
        let r = c
            .delete(format!("{}{p}", tv.url()))
            .header("X-Plex-Token", tv.token())
            .send()
            .await?;
        assert_eq!(r.status(), StatusCode::GONE, "{p}");
        assert!(r.text().await?.contains("deprecated and removed"));
    }
    // Friends: seeded friend appears in /api/users with this machine.
    let f = tv.seed_friend(boxoffice_fakes::PlexFriendSeed {
        username: "fred".into(),
        email: "fred@example.com".into(),
        shares: [("Plex Alpha".to_string(), vec!["Movies".to_string()])]
            .into_iter()
            .collect(),
        settings: Default::default(),
        pending: false,
    });
    assert!(f.is_err(), "share limit still applies to seeded friends");
    c.put(format!("{}/__control/account", tv.url()))
        .json(&json!({"share_limit": null}))
        .send()
        .await?;
    let f = tv.seed_friend(boxoffice_fakes::PlexFriendSeed {
        username: "fred".into(),
        email: "fred@example.com".into(),
        shares: [("Plex Alpha".to_string(), vec!["Movies".to_string()])]
            .into_iter()
            .collect(),
        settings: Default::default(),
        pending: false,
    })?;
    let x = c
        .get(format!("{}/api/users", tv.url()))
        .header("X-Plex-Token", tv.token())
        .send()
        .await?
        .text()
        .await?;
    assert!(
        x.contains("username=\"fred\"") && x.contains(pms.machine_identifier()),
        "{x}"
    );
    let r = c
        .put(format!(
            "{}/api/v2/sharings/{}?allowSync=1&filterMovies=",
            tv.url(),
            f.id
        ))
        .header("X-Plex-Token", tv.token())
        .send()
        .await?;
    assert!(r.status().is_success());
    assert!(
        tv.shares()
            .iter()
            .any(|s| s.invited_id == Some(f.id) && s.settings.allow_sync)
    );
    let r = c
        .delete(format!("{}/api/v2/sharings/{}", tv.url(), f.id))
        .header("X-Plex-Token", tv.token())
        .send()
        .await?;
    assert!(r.status().is_success());
    assert!(!tv.shares().iter().any(|s| s.invited_id == Some(f.id)));
    let r = c
        .delete(format!("{}/api/v2/sharings/{}", tv.url(), f.id))
        .header("X-Plex-Token", tv.token())
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    Ok(())
}

// ---------------------------------------------------------------- PMS

#[tokio::test]
async fn pms_library_formats_and_paging() -> R {
    let (tv, pms) = plex_pair().await;
    let c = client();
    let r = c
        .get(format!("{}/library/sections", pms.url()))
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.text().await?.contains("<h1>401 Unauthorized</h1>"));
    let x = c
        .get(format!("{}/identity", pms.url()))
        .send()
        .await?
        .text()
        .await?;
    assert!(x.contains(pms.machine_identifier()));
    let v: Value = c
        .get(format!("{}/library/sections", pms.url()))
        .header("X-Plex-Token", tv.token())
        .header("Accept", "application/json")
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(v["MediaContainer"]["Directory"][1]["title"], "TV Shows");
    assert_eq!(v["MediaContainer"]["Directory"][1]["key"], "2");
    // Counts: movies via header paging, episodes via query.
    let x = c
        .get(format!("{}/library/sections/1/all?type=1", pms.url()))
        .header("X-Plex-Token", tv.token())
        .header("X-Plex-Container-Start", "0")
        .header("X-Plex-Container-Size", "0")
        .send()
        .await?
        .text()
        .await?;
    assert!(x.contains("size=\"0\" totalSize=\"120\""), "{x}");
    let v: Value = c
        .get(format!(
            "{}/library/sections/2/all?type=4&X-Plex-Container-Start=10&X-Plex-Container-Size=5",
            pms.url()
        ))
        .header("X-Plex-Token", tv.token())
        .header("Accept", "application/json")
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(v["MediaContainer"]["totalSize"], 1200);
    assert_eq!(v["MediaContainer"]["offset"], 10);
    assert_eq!(
        v["MediaContainer"]["Metadata"].as_array().map(Vec::len),
        Some(5)
    );
    let x = c
        .get(format!("{}/", pms.url()))
        .header("X-Plex-Token", tv.token())
        .send()
        .await?
        .text()
        .await?;
    assert!(x.contains("myPlexSubscription=\"1\"") && x.contains("friendlyName=\"Plex Alpha\""));
    Ok(())
}

#[tokio::test]
async fn pms_sessions_and_terminate() -> R {
    let (tv, pms) = plex_pair().await;
    let c = client();
    let mut seed = SessionSeed::new("owner", "Dune");
    seed.resolution = "4k".into();
    seed.video_decision = "transcode".into();
    let sid = pms.start_session(seed)?;
    let mut s2 = SessionSeed::new("owner", "Arrival");
    s2.local = true;
    pms.start_session(s2)?;
    let x = c
        .get(format!("{}/status/sessions", pms.url()))
        .header("X-Plex-Token", tv.token())
        .send()
        .await?
        .text()
        .await?;
    assert!(
        x.contains("size=\"2\"")
            && x.contains("videoResolution=\"4k\"")
            && x.contains("videoDecision=\"transcode\"")
    );
    assert!(
        x.contains(&format!("<Session id=\"{sid}\""))
            && x.contains("<User id=\"1\"")
            && x.contains("location=\"lan\"")
    );
    let v: Value = c
        .get(format!("{}/status/sessions", pms.url()))
        .header("X-Plex-Token", tv.token())
        .header("Accept", "application/json")
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(
        v["MediaContainer"]["Metadata"][0]["Session"][0]["id"],
        sid.as_str()
    );
    let term = |id: &str| {
        c.get(format!("{}/status/sessions/terminate", pms.url()))
            .query(&[("sessionId", id), ("reason", "Your plan allows 1 stream")])
            .header("X-Plex-Token", tv.token())
            .send()
    };
    assert_eq!(term("nope").await?.status(), StatusCode::NOT_FOUND);
    tv.set_plex_pass(false);
    assert_eq!(term(&sid).await?.status(), StatusCode::FORBIDDEN);
    tv.set_plex_pass(true);
    assert_eq!(term(&sid).await?.status(), StatusCode::OK);
    let stopped = pms.stopped_sessions();
    assert_eq!(
        stopped[0].message.as_deref(),
        Some("Your plan allows 1 stream")
    );
    assert_eq!(pms.sessions().len(), 1);
    let st: Value = c
        .get(format!("{}/__control/sessions", pms.url()))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(st["stopped"][0]["by"], "terminate");
    Ok(())
}

// ---------------------------------------------------------------- faults

#[tokio::test]
async fn faults_status_ratelimit_delay_hang_and_log() -> R {
    let (tv, pms) = plex_pair().await;
    let c = client();
    let ping = || {
        c.get(format!("{}/api/v2/ping", tv.url()))
            .header("X-Plex-Token", tv.token())
            .send()
    };
    // Next request → 503, then normal.
    let r = c
        .post(format!("{}/__control/faults", tv.url()))
        .json(&json!({"remaining": 1, "action": {"type": "status", "status": 503}}))
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(ping().await?.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(ping().await?.status(), StatusCode::OK);
    // 429 with Retry-After.
    tv.add_fault(FaultRule::next(
        1,
        FaultAction::RateLimit { retry_after: 7 },
    ));
    let r = ping().await?;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        r.headers().get("retry-after").and_then(|v| v.to_str().ok()),
        Some("7")
    );
    // Delay, path-scoped.
    pms.add_fault(FaultRule::path("/library", FaultAction::Delay { ms: 300 }).times(1));
    let t = Instant::now();
    let r = c
        .get(format!("{}/library/sections", pms.url()))
        .header("X-Plex-Token", tv.token())
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(t.elapsed() >= Duration::from_millis(300));
    // Hang → client timeout.
    pms.add_fault(FaultRule::next(1, FaultAction::Hang));
    let r = c
        .get(format!("{}/identity", pms.url()))
        .timeout(Duration::from_millis(300))
        .send()
        .await;
    assert!(r.is_err_and(|e| e.is_timeout()));
    // PMS 500 is an HTML page.
    pms.add_fault(FaultRule::next(
        1,
        FaultAction::Status {
            status: 500,
            body: None,
        },
    ));
    let r = c.get(format!("{}/identity", pms.url())).send().await?;
    assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(r.text().await?.contains("<h1>500"));
    // Forced already-shared.
    tv.add_fault(
        FaultRule::path("/api/v2/shared_servers", FaultAction::AlreadyShared)
            .method("POST")
            .times(1),
    );
    let r = c
        .post(format!("{}/api/v2/shared_servers", tv.url()))
        .header("X-Plex-Token", tv.token())
        .json(&json!({}))
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // Request log records statuses and faults; control traffic is not logged.
    let log: Value = c
        .get(format!("{}/__control/requests", tv.url()))
        .send()
        .await?
        .json()
        .await?;
    let statuses: Vec<u64> = log
        .as_array()
        .ok_or("log")?
        .iter()
        .filter_map(|e| e["status"].as_u64())
        .collect();
    assert_eq!(statuses, vec![503, 200, 429, 422]);
    assert!(tv.requests()[0].fault.is_some());
    Ok(())
}

// ---------------------------------------------------------------- Jellyfin

fn mb(token: &str) -> String {
    format!(
        "MediaBrowser Client=\"boxoffice\", Device=\"test\", DeviceId=\"dev1\", Version=\"1.0\", Token=\"{token}\""
    )
}

#[tokio::test]
async fn jellyfin_auth_by_version() -> R {
    let c = client();
    for (ver, legacy_default) in [
        (JellyfinVersion::V10_10, true),
        (JellyfinVersion::V10_11, true),
        (JellyfinVersion::V12_0, false),
    ] {
        let jf = JellyfinFake::start_version(ver, "J").await?;
        let users = format!("{}/Users", jf.url());
        assert_eq!(
            c.get(&users).send().await?.status(),
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            c.get(&users)
                .header("Authorization", mb(&jf.api_key()))
                .send()
                .await?
                .status(),
            StatusCode::OK
        );
        let legacy = c
            .get(&users)
            .header("X-Emby-Token", jf.api_key())
            .send()
            .await?
            .status();
        assert_eq!(legacy == StatusCode::OK, legacy_default, "{ver:?}");
        let q = c
            .get(&users)
            .query(&[("api_key", jf.api_key())])
            .send()
            .await?
            .status();
        assert_eq!(q == StatusCode::OK, legacy_default, "{ver:?}");
        let apikey = c
            .get(&users)
            .query(&[("ApiKey", jf.api_key())])
            .send()
            .await?
            .status();
        assert_eq!(
            apikey == StatusCode::OK,
            ver != JellyfinVersion::V10_10,
            "{ver:?}"
        );
    }
    let jf = JellyfinFake::start_version(JellyfinVersion::V10_11, "J").await?;
    jf.set_legacy_authorization(false);
    let r = c
        .get(format!("{}/Users", jf.url()))
        .header("X-Emby-Token", jf.api_key())
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    Ok(())
}

#[tokio::test]
async fn jellyfin_user_and_policy_flows() -> R {
    let jf = JellyfinFake::start().await?;
    let lib = jf.seed_library(MbLibrarySeed::new("Movies", "movies", 100));
    jf.seed_library(MbLibrarySeed::new("Shows", "tvshows", 10));
    let c = client();
    let auth = mb(&jf.api_key());
    let r = c
        .post(format!("{}/Users/New", jf.url()))
        .header("Authorization", &auth)
        .json(&json!({"Name": "ann", "Password": "pw"}))
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::OK);
    let u: Value = r.json().await?;
    let id = u["Id"].as_str().ok_or("id")?.to_string();
    assert_eq!(id.len(), 32);
    // Real defaults: downloads, all folders, transcoding ON; deletion OFF (ref §2.3).
    assert_eq!(u["Policy"]["EnableContentDownloading"], true);
    assert_eq!(u["Policy"]["EnableAllFolders"], true);
    assert_eq!(u["Policy"]["EnableContentDeletion"], false);
    assert_eq!(u["Policy"]["IsHidden"], true);
    assert_eq!(u["HasPassword"], true);
    // Duplicate name → 400 text/plain.
    let r = c
        .post(format!("{}/Users/New", jf.url()))
        .header("Authorization", &auth)
        .json(&json!({"Name": "ANN"}))
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.text().await?, "Error processing request.");
    // Unknown user → 404 "User not found" (JSON string); malformed → 400.
    let r = c
        .get(format!("{}/Users/{}", jf.url(), "a".repeat(32)))
        .header("Authorization", &auth)
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(r.text().await?, "\"User not found\"");
    let r = c
        .get(format!("{}/Users/not-a-guid", jf.url()))
        .header("Authorization", &auth)
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    // Dashed GUID accepted.
    let dashed = format!(
        "{}-{}-{}-{}-{}",
        &id[..8],
        &id[8..12],
        &id[12..16],
        &id[16..20],
        &id[20..]
    );
    let r = c
        .get(format!("{}/Users/{dashed}", jf.url()))
        .header("Authorization", &auth)
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::OK);
    // Partial policy on 10.11 → 400 ProblemDetails naming the provider ids.
    let pol = format!("{}/Users/{id}/Policy", jf.url());
    let r = c
        .post(&pol)
        .header("Authorization", &auth)
        .json(&json!({"EnableContentDownloading": false}))
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(
        r.headers()["content-type"]
            .to_str()?
            .starts_with("application/problem+json")
    );
    let e: Value = r.json().await?;
    assert!(
        e["errors"]["AuthenticationProviderId"].is_array()
            && e["errors"]["PasswordResetProviderId"].is_array()
    );
    // Full policy round trip → 204.
    let mut p = u["Policy"].clone();
    p["EnableContentDownloading"] = json!(false);
    p["EnableAllFolders"] = json!(false);
    p["EnabledFolders"] = json!([lib.id]);
    let r = c
        .post(&pol)
        .header("Authorization", &auth)
        .json(&p)
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let st = jf.state();
    let ann = st["access"]
        .as_array()
        .ok_or("access")?
        .iter()
        .find(|a| a["name"] == "ann")
        .ok_or("ann")?
        .clone();
    assert_eq!(ann["libraries"], json!(["Movies"]));
    assert_eq!(ann["EnableContentDownloading"], false);
    // Null arrays are rejected.
    let mut bad = p.clone();
    bad["EnabledFolders"] = Value::Null;
    assert_eq!(
        c.post(&pol)
            .header("Authorization", &auth)
            .json(&bad)
            .send()
            .await?
            .status(),
        StatusCode::BAD_REQUEST
    );
    // Admin cannot be disabled.
    let admin = jf.user("admin").ok_or("admin")?;
    let mut ap = admin.policy.clone();
    ap["IsDisabled"] = json!(true);
    let r = c
        .post(format!("{}/Users/{}/Policy", jf.url(), admin.id))
        .header("Authorization", &auth)
        .json(&ap)
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // Login, then disable → token revoked and session dropped.
    let login = c
        .post(format!("{}/Users/AuthenticateByName", jf.url()))
        .header(
            "Authorization",
            "MediaBrowser Client=\"app\", Device=\"tv\", DeviceId=\"d-1\", Version=\"1\"",
        )
        .json(&json!({"Username": "ann", "Pw": "pw"}))
        .send()
        .await?;
    assert_eq!(login.status(), StatusCode::OK);
    let tok = login.json::<Value>().await?["AccessToken"]
        .as_str()
        .ok_or("tok")?
        .to_string();
    let mine: Value = c
        .get(format!("{}/Sessions", jf.url()))
        .header("Authorization", mb(&tok))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(mine.as_array().map(Vec::len), Some(1));
    assert_eq!(
        c.get(format!("{}/Library/MediaFolders", jf.url()))
            .header("Authorization", mb(&tok))
            .send()
            .await?
            .status(),
        StatusCode::FORBIDDEN
    );
    p["IsDisabled"] = json!(true);
    assert_eq!(
        c.post(&pol)
            .header("Authorization", &auth)
            .json(&p)
            .send()
            .await?
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        c.get(format!("{}/Sessions", jf.url()))
            .header("Authorization", mb(&tok))
            .send()
            .await?
            .status(),
        StatusCode::UNAUTHORIZED
    );
    // Delete; second delete → 404.
    let del = || {
        c.delete(format!("{}/Users/{id}", jf.url()))
            .header("Authorization", &auth)
            .send()
    };
    assert_eq!(del().await?.status(), StatusCode::NO_CONTENT);
    assert_eq!(del().await?.status(), StatusCode::NOT_FOUND);
    Ok(())
}

#[tokio::test]
async fn jellyfin_10_8_accepts_partial_policy_with_defaults() -> R {
    let jf = JellyfinFake::start_version(JellyfinVersion::V10_8, "Old").await?;
    let u = jf.seed_user(MbUserSeed::new("bo"));
    let c = client();
    let r = c
        .post(format!("{}/Users/{}/Policy", jf.url(), u.id))
        .header("Authorization", mb(&jf.api_key()))
        .json(&json!({"EnableContentDownloading": false}))
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let u = jf.user("bo").ok_or("bo")?;
    assert_eq!(u.policy["EnableContentDownloading"], false);
    // Omitted fields take constructor defaults, not false.
    assert_eq!(u.policy["EnableRemoteAccess"], true);
    // No query-form password route before 10.9.
    let r = c
        .post(format!("{}/Users/Password?userId={}", jf.url(), u.id))
        .header("Authorization", mb(&jf.api_key()))
        .json(&json!({"NewPw": "x"}))
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    Ok(())
}

#[tokio::test]
async fn jellyfin_libraries_sessions_devices() -> R {
    let jf = JellyfinFake::start().await?;
    let mut shows = MbLibrarySeed::new("Shows", "tvshows", 20);
    shows.episodes = Some(700);
    jf.seed_library(MbLibrarySeed::new("Movies", "movies", 42));
    let sl = jf.seed_library(shows);
    let u = jf.seed_user(MbUserSeed::new("cy"));
    let c = client();
    let auth = mb(&jf.api_key());
    let mf: Value = c
        .get(format!("{}/Library/MediaFolders", jf.url()))
        .header("Authorization", &auth)
        .send()
        .await?
        .json()
        .await?;
    let vf: Value = c
        .get(format!("{}/Library/VirtualFolders", jf.url()))
        .header("Authorization", &auth)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(mf["Items"][1]["Id"], vf[1]["ItemId"]);
    let counts: Value = c
        .get(format!("{}/Items/Counts", jf.url()))
        .header("Authorization", &auth)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(
        (
            counts["MovieCount"].as_u64(),
            counts["EpisodeCount"].as_u64()
        ),
        (Some(42), Some(700))
    );
    let items: Value = c
        .get(format!(
            "{}/Items?ParentId={}&Recursive=true&IncludeItemTypes=Episode&StartIndex=690&Limit=50",
            jf.url(),
            sl.id
        ))
        .header("Authorization", &auth)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(items["TotalRecordCount"], 700);
    assert_eq!(items["Items"].as_array().map(Vec::len), Some(10));
    // Sessions: playing + stop + message; unknown → 404.
    let mut seed = SessionSeed::new("cy", "Alien");
    seed.resolution = "4k".into();
    seed.video_decision = "transcode".into();
    seed.device_id = Some("dev-cy".into());
    let sid = jf.start_session(seed)?;
    let list: Value = c
        .get(format!("{}/Sessions", jf.url()))
        .header("Authorization", &auth)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(list[0]["NowPlayingItem"]["Height"], 2160);
    assert_eq!(list[0]["PlayState"]["PlayMethod"], "Transcode");
    assert!(list[0]["TranscodingInfo"]["TranscodeReasons"].is_array());
    let r = c
        .post(format!("{}/Sessions/{sid}/Message", jf.url()))
        .header("Authorization", &auth)
        .json(&json!({"Text": "Stream limit reached", "TimeoutMs": 5000}))
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        jf.session_messages(&sid)[0].0.as_deref(),
        Some("Message from Server")
    );
    let r = c
        .post(format!("{}/Sessions/{sid}/Playing/Stop", jf.url()))
        .header("Authorization", &auth)
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        jf.stopped_sessions()[0].message.as_deref(),
        Some("Stream limit reached")
    );
    let r = c
        .post(format!(
            "{}/Sessions/{}/Playing/Stop",
            jf.url(),
            "b".repeat(32)
        ))
        .header("Authorization", &auth)
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // Devices (10.11): unknown → 404; delete logs out.
    let dev: Value = c
        .get(format!("{}/Devices", jf.url()))
        .header("Authorization", &auth)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(dev["Items"][0]["LastUserId"], u.id);
    let r = c
        .delete(format!("{}/Devices?id=nope", jf.url()))
        .header("Authorization", &auth)
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = c
        .delete(format!("{}/Devices?id=dev-cy", jf.url()))
        .header("Authorization", &auth)
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let list: Value = c
        .get(format!("{}/Sessions", jf.url()))
        .header("Authorization", &auth)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(list.as_array().map(Vec::len), Some(0));
    // 12.0: several ids, 400 when any is unknown.
    let j12 = JellyfinFake::start_version(JellyfinVersion::V12_0, "New").await?;
    j12.seed_user(MbUserSeed::new("dee"));
    j12.seed_device(MbDeviceSeed {
        user: "dee".into(),
        name: "TV".into(),
        id: Some("a1".into()),
        app_name: None,
        ip: None,
    })?;
    j12.seed_device(MbDeviceSeed {
        user: "dee".into(),
        name: "Phone".into(),
        id: Some("a2".into()),
        app_name: None,
        ip: None,
    })?;
    let a12 = mb(&j12.api_key());
    let r = c
        .delete(format!("{}/Devices?id=a1&id=zz", j12.url()))
        .header("Authorization", &a12)
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = c
        .delete(format!("{}/Devices?id=a1&id=a2", j12.url()))
        .header("Authorization", &a12)
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    // MaxActiveSessions is checked at login (403).
    let mut s = MbUserSeed::new("max");
    s.password = Some("p".into());
    s.policy = Some(json!({"MaxActiveSessions": 1}));
    jf.seed_user(s);
    jf.start_session(SessionSeed::new("max", "Heat"))?;
    let r = c
        .post(format!("{}/Users/AuthenticateByName", jf.url()))
        .header(
            "Authorization",
            "MediaBrowser Client=\"a\", Device=\"b\", DeviceId=\"c\", Version=\"1\"",
        )
        .json(&json!({"Username": "max", "Pw": "p"}))
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // Jellyfin fault bodies are text/plain.
    jf.add_fault(FaultRule::next(
        1,
        FaultAction::Status {
            status: 500,
            body: None,
        },
    ));
    let r = c
        .get(format!("{}/System/Info/Public", jf.url()))
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(r.text().await?, "Error processing request.");
    Ok(())
}

// ---------------------------------------------------------------- Emby

#[tokio::test]
async fn emby_routes_and_quirks() -> R {
    let emby = EmbyFake::start_with(EmbyOptions {
        name: "Emby One".into(),
        void_status: 204,
    })
    .await?;
    let movies = emby.seed_library(MbLibrarySeed::new("Movies", "movies", 50));
    emby.seed_library(MbLibrarySeed::new("Shows", "tvshows", 5));
    let c = client();
    let key = emby.api_key();
    // Both /emby and the root; X-Emby-Token and api_key.
    for base in [format!("{}/emby", emby.url()), emby.url()] {
        let r = c
            .get(format!("{base}/System/Info"))
            .header("X-Emby-Token", &key)
            .send()
            .await?;
        assert_eq!(r.status(), StatusCode::OK);
    }
    assert_eq!(
        c.get(format!("{}/emby/Users", emby.url()))
            .send()
            .await?
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let mf: Value = c
        .get(format!(
            "{}/emby/Library/MediaFolders?api_key={key}",
            emby.url()
        ))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(mf["Items"][0]["Id"], movies.id);
    assert!(movies.id.parse::<u64>().is_ok(), "numeric item id");
    assert_eq!(mf["Items"][0]["Guid"].as_str().map(str::len), Some(32));
    // Create ignores Password; set it via /Password.
    let r = c
        .post(format!("{}/emby/Users/New", emby.url()))
        .header("X-Emby-Token", &key)
        .json(&json!({"Name": "ivy", "Password": "ignored"}))
        .send()
        .await?;
    let u: Value = r.json().await?;
    assert_eq!(u["HasPassword"], false);
    assert_eq!(u["Policy"]["SimultaneousStreamLimit"], 0);
    let id = u["Id"].as_str().ok_or("id")?.to_string();
    let r = c
        .post(format!("{}/emby/Users/{id}/Password", emby.url()))
        .header("X-Emby-Token", &key)
        .json(&json!({"Id": id, "CurrentPw": "", "NewPw": "s3cret", "ResetPassword": false}))
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    // Policy without provider ids is fine on Emby; EnabledFolders by Guid.
    let mut p = u["Policy"].clone();
    p["EnableAllFolders"] = json!(false);
    p["EnabledFolders"] = json!([movies.guid]);
    p["SimultaneousStreamLimit"] = json!(2);
    p["EnableAllDevices"] = json!(false);
    let r = c
        .post(format!("{}/emby/Users/{id}/Policy", emby.url()))
        .header("X-Emby-Token", &key)
        .json(&p)
        .send()
        .await?;
    assert!(r.status().is_success());
    let st = emby.state();
    let ivy = st["access"]
        .as_array()
        .ok_or("access")?
        .iter()
        .find(|a| a["name"] == "ivy")
        .ok_or("ivy")?
        .clone();
    assert_eq!(ivy["libraries"], json!(["Movies"]));
    assert_eq!(
        emby.user("ivy").ok_or("ivy")?.policy["SimultaneousStreamLimit"],
        2
    );
    // EnableAllDevices off: a new device cannot log in (spec §18).
    let r = c
        .post(format!("{}/emby/Users/AuthenticateByName", emby.url()))
        .header(
            "X-Emby-Authorization",
            "Emby Client=\"a\", Device=\"b\", DeviceId=\"new-dev\", Version=\"1\"",
        )
        .json(&json!({"Username": "ivy", "Pw": "s3cret"}))
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // Users/Query pagination.
    for n in ["j1", "j2", "j3"] {
        emby.seed_user(MbUserSeed::new(n));
    }
    let q: Value = c
        .get(format!(
            "{}/emby/Users/Query?StartIndex=1&Limit=2",
            emby.url()
        ))
        .header("X-Emby-Token", &key)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(q["TotalRecordCount"], 5);
    assert_eq!(q["Items"].as_array().map(Vec::len), Some(2));
    // Sessions: message via query parameters; devices by Id; 200-mode voids.
    let mut seed = SessionSeed::new("ivy", "Up");
    seed.device_id = Some("roku-1".into());
    let sid = emby.start_session(seed)?;
    let r = c
        .post(format!(
            "{}/emby/Sessions/{sid}/Message?Text=Bye&Header=Notice&TimeoutMs=4000",
            emby.url()
        ))
        .header("X-Emby-Token", &key)
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        emby.session_messages(&sid),
        vec![(Some("Notice".to_string()), "Bye".to_string())]
    );
    let s: Value = c
        .get(format!("{}/emby/Sessions", emby.url()))
        .header("X-Emby-Token", &key)
        .send()
        .await?
        .json()
        .await?;
    assert!(s[0]["InternalDeviceId"].is_number() && s[0]["PlayState"]["PlaybackRate"] == 1);
    emby.set_void_status(200);
    let devs: Value = c
        .get(format!("{}/emby/Devices", emby.url()))
        .header("X-Emby-Token", &key)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(devs["Items"][0]["ReportedDeviceId"], "roku-1");
    let dev_id = devs["Items"][0]["Id"].as_str().ok_or("dev")?.to_string();
    let r = c
        .post(format!("{}/emby/Devices/Delete?Id={dev_id}", emby.url()))
        .header("X-Emby-Token", &key)
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(emby.stopped_sessions()[0].by, "device_deleted");
    let r = c
        .post(format!("{}/emby/Users/{id}/Delete", emby.url()))
        .header("X-Emby-Token", &key)
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::OK);
    let r = c
        .get(format!("{}/emby/Users/{id}", emby.url()))
        .header("X-Emby-Token", &key)
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // 429 fault with Retry-After on Emby too.
    emby.add_fault(
        FaultRule::path("/emby/Users", FaultAction::RateLimit { retry_after: 3 }).times(1),
    );
    let r = c
        .get(format!("{}/emby/Users", emby.url()))
        .header("X-Emby-Token", &key)
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    Ok(())
}

// ---------------------------------------------------------------- World

#[tokio::test]
async fn world_seed_default_describes_everything() -> R {
    let world = World::seed_default().await?;
    let d = world.describe();
    assert_eq!(d["plex_servers"].as_array().map(Vec::len), Some(2));
    assert_eq!(d["plex_servers"][1]["name"], "Plex Beta");
    assert_eq!(d["plex_servers"][0]["libraries"][3]["title"], "Home Videos");
    assert_eq!(d["plex_tv"]["plex_pass"], true);
    assert_eq!(d["jellyfin"]["name"], "Jelly One");
    assert_eq!(d["emby"]["name"], "Emby One");
    let c = client();
    let v: Value = c
        .get(format!(
            "{}/api/v2/resources",
            d["plex_tv"]["url"].as_str().ok_or("url")?
        ))
        .header("X-Plex-Token", d["plex_tv"]["token"].as_str().ok_or("tok")?)
        .header("Accept", "application/json")
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(v.as_array().map(Vec::len), Some(2));
    let users: Value = c
        .get(format!(
            "{}/Users",
            d["jellyfin"]["url"].as_str().ok_or("url")?
        ))
        .header(
            "Authorization",
            mb(d["jellyfin"]["api_key"].as_str().ok_or("key")?),
        )
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(users.as_array().map(Vec::len), Some(3));
    let st: Value = c
        .get(format!(
            "{}/state",
            d["plex_tv"]["control"].as_str().ok_or("ctl")?
        ))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(st["access"].as_array().map(Vec::len), Some(4));
    Ok(())
}

#[tokio::test]
async fn world_start_empty_starts_the_same_fakes_with_nothing_seeded() -> R {
    let world = World::start_empty().await?;
    let d = world.describe();
    assert_eq!(d["plex_servers"].as_array().map(Vec::len), Some(2));
    assert_eq!(d["plex_servers"][0]["name"], "Plex Alpha");
    assert_eq!(d["plex_servers"][0]["libraries"], json!([]));
    assert_eq!(d["jellyfin"]["libraries"], json!([]));
    assert_eq!(d["emby"]["libraries"], json!([]));
    assert!(world.plex_tv.shares().is_empty());
    // Only the built-in administrator.
    assert_eq!(world.jellyfin.users().len(), 1);
    assert_eq!(world.emby.users().len(), 1);
    assert!(world.plex_tv.url().starts_with("http://127.0.0.1:"));
    Ok(())
}

// ---------------------------------------------------------------- control API + extras

#[tokio::test]
async fn control_api_over_http_and_extras() -> R {
    let c = client();
    // plex.tv: register an account, seed a friend, invite, accept via control.
    let (tv, pms) = plex_pair().await;
    let ctl = tv.control_url();
    let r = c
        .post(format!("{ctl}/accounts"))
        .json(&json!({"username": "kim", "email": "kim@example.com"}))
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = c
        .post(format!("{ctl}/friends"))
        .json(&json!({"username": "lee", "email": "lee@example.com", "shares": {"Plex Alpha": ["Movies"]}, "pending": true}))
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::CREATED);
    let share_id = tv.shares()[0].id;
    let r = c
        .post(format!("{ctl}/invites/{share_id}/accept"))
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::OK);
    let st: Value = c.get(format!("{ctl}/state")).send().await?.json().await?;
    assert_eq!(st["access"][0]["accepted"], true);
    // PMS: seed a library and start/stop a session by HTTP.
    let pctl = pms.control_url();
    let r = c
        .post(format!("{pctl}/libraries"))
        .json(&json!({"title": "Music", "kind": "artist", "items": 10}))
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = c
        .post(format!("{pctl}/sessions"))
        .json(&json!({"user": "lee", "title": "Ep 1", "kind": "episode", "grandparent_title": "Show", "resolution": "720"}))
        .send()
        .await?;
    let id = r.json::<Value>().await?["id"]
        .as_str()
        .ok_or("id")?
        .to_string();
    let x = c
        .get(format!("{}/status/sessions", pms.url()))
        .header("X-Plex-Token", tv.token())
        .send()
        .await?
        .text()
        .await?;
    assert!(
        x.contains("grandparentTitle=\"Show\"") && x.contains("librarySectionTitle=\"TV Shows\""),
        "{x}"
    );
    assert_eq!(
        c.delete(format!("{pctl}/sessions/{id}"))
            .send()
            .await?
            .status(),
        StatusCode::NO_CONTENT
    );
    let st: Value = c.get(format!("{pctl}/state")).send().await?.json().await?;
    assert_eq!(st["shared_users"][0]["libraries"], json!(["Movies"]));
    // Plex Home: needs Plex Pass to pull an account in.
    tv.set_plex_pass(false);
    let home = |who: &str| {
        c.post(format!("{}/api/home/users", tv.url()))
            .query(&[("invitedEmail", who)])
            .header("X-Plex-Token", tv.token())
            .send()
    };
    let r = home("kim@example.com").await?;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await?.contains("requires a Plex Pass"));
    tv.set_plex_pass(true);
    assert_eq!(home("kim@example.com").await?.status(), StatusCode::OK);
    // A Home member cannot be invited (operations §5.4).
    let r = c
        .post(format!("{}/api/v2/shared_servers", tv.url()))
        .header("X-Plex-Token", tv.token())
        .json(&json!({"machineIdentifier": pms.machine_identifier(), "invitedEmail": "kim@example.com", "librarySectionIds": []}))
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // Jellyfin: control seeding by HTTP, lowercase routes, remote commands, settings.
    let jf = JellyfinFake::start().await?;
    let jctl = jf.control_url();
    c.post(format!("{jctl}/libraries"))
        .json(&json!({"name": "Movies", "collection_type": "movies", "items": 9}))
        .send()
        .await?;
    let r = c
        .post(format!("{jctl}/users"))
        .json(&json!({"name": "mo", "libraries": ["Movies"], "password": "x"}))
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = c
        .post(format!("{jctl}/sessions"))
        .json(&json!({"user": "mo", "title": "Heat", "video_decision": "copy"}))
        .send()
        .await?;
    let sid = r.json::<Value>().await?["id"]
        .as_str()
        .ok_or("sid")?
        .to_string();
    let auth = mb(&jf.api_key());
    let list: Value = c
        .get(format!("{}/sessions", jf.url()))
        .header("Authorization", &auth)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(list[0]["PlayState"]["PlayMethod"], "DirectStream");
    let r = c
        .post(format!(
            "{}/sessions/{sid}/command/DisplayContent",
            jf.url()
        ))
        .header("Authorization", &auth)
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let st: Value = c.get(format!("{jctl}/state")).send().await?.json().await?;
    assert_eq!(st["sessions"][0]["commands"], json!(["DisplayContent"]));
    assert_eq!(st["access"][1]["libraries"], json!(["Movies"]));
    assert_eq!(st["access"][1]["EnableContentDownloading"], true);
    let r = c
        .put(format!("{jctl}/settings"))
        .json(&json!({"legacy_authorization": false}))
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = c
        .get(format!("{}/Users", jf.url()))
        .query(&[("api_key", jf.api_key())])
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // Password change via the 10.9+ query route, then login with it.
    let mo = jf.user("mo").ok_or("mo")?;
    let r = c
        .post(format!("{}/Users/Password", jf.url()))
        .query(&[("userId", mo.id.as_str())])
        .header("Authorization", &auth)
        .json(&json!({"NewPw": "newpw", "CurrentPw": "", "ResetPassword": false}))
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let login = |pw: &str| {
        c.post(format!("{}/Users/AuthenticateByName", jf.url()))
            .header(
                "Authorization",
                "MediaBrowser Client=\"a\", Device=\"b\", DeviceId=\"c\", Version=\"1\"",
            )
            .json(&json!({"Username": "mo", "Pw": pw}))
            .send()
    };
    assert_eq!(login("x").await?.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(login("newpw").await?.status(), StatusCode::OK);
    // Control faults list/remove.
    let id = jf.add_fault(FaultRule::path(
        "/Users",
        FaultAction::Status {
            status: 502,
            body: Some("bad gateway".into()),
        },
    ));
    let faults: Value = c.get(format!("{jctl}/faults")).send().await?.json().await?;
    assert_eq!(faults[0]["id"], id);
    assert_eq!(
        c.get(format!("{}/Users", jf.url()))
            .header("Authorization", &auth)
            .send()
            .await?
            .status(),
        StatusCode::BAD_GATEWAY
    );
    assert_eq!(
        c.delete(format!("{jctl}/faults/{id}"))
            .send()
            .await?
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        c.get(format!("{}/Users", jf.url()))
            .header("Authorization", &auth)
            .send()
            .await?
            .status(),
        StatusCode::OK
    );
    Ok(())
}

// ---------------------------------------------------------------- fault rules and paths

async fn post_fault(
    c: &Client,
    control: &str,
    rule: Value,
) -> Result<(u16, Value), reqwest::Error> {
    let r = c
        .post(format!("{control}/faults"))
        .json(&rule)
        .send()
        .await?;
    let status = r.status().as_u16();
    Ok((status, r.json().await.unwrap_or(Value::Null)))
}

#[tokio::test]
async fn a_fault_rule_that_could_never_fire_is_refused_with_the_reason() -> R {
    let (tv, _pms) = plex_pair().await;
    let emby = EmbyFake::start().await?;
    let c = client();
    for (control, rule, why) in [
        (
            emby.control_url(),
            json!({"path": "/Userz/New", "action": {"type": "status", "status": 503}}),
            "no route",
        ),
        (
            emby.control_url(),
            json!({"path": "/System/Info", "method": "DELETE", "action": {"type": "status", "status": 503}}),
            "no route",
        ),
        (
            emby.control_url(),
            json!({"action": {"type": "already_shared"}}),
            "applies only to",
        ),
        (
            tv.control_url(),
            json!({"path": "/api/v2/user", "action": {"type": "empty_sections"}}),
            "applies only to",
        ),
        (
            tv.control_url(),
            json!({"remaining": 0, "action": {"type": "hang"}}),
            "remaining",
        ),
        (
            tv.control_url(),
            json!({"action": {"type": "status", "status": 200}}),
            "not an error status",
        ),
    ] {
        let (status, v) = post_fault(&c, &control, rule.clone()).await?;
        assert_eq!(status, 422, "{rule} → {v}");
        let msg = v["error"].as_str().unwrap_or_default();
        assert!(msg.contains(why), "{rule} → {msg}");
    }
    let faults: Value = c
        .get(format!("{}/faults", emby.control_url()))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(faults, json!([]), "nothing was added");
    Ok(())
}

#[tokio::test]
async fn an_emby_rule_matches_its_route_under_either_root_in_any_case() -> R {
    let emby = EmbyFake::start().await?;
    let c = client();
    for (rule_path, request_path) in [
        ("/Users/New", "/emby/Users/New"),
        ("/emby/Users/New", "/Users/New"),
        ("/users/new/", "/EMBY/users/NEW"),
    ] {
        let (status, _) = post_fault(
            &c,
            &emby.control_url(),
            json!({"path": rule_path, "method": "POST", "remaining": 1,
                   "action": {"type": "status", "status": 503}}),
        )
        .await?;
        assert_eq!(status, 201);
        let r = c
            .post(format!("{}{request_path}", emby.url()))
            .header("X-Emby-Token", emby.api_key())
            .json(&json!({"Name": format!("u{}", rule_path.len())}))
            .send()
            .await?;
        assert_eq!(r.status().as_u16(), 503, "{rule_path} on {request_path}");
    }
    let log = emby.requests();
    assert_eq!(
        log[0].path, "/emby/Users/New",
        "the log keeps the path as sent"
    );
    Ok(())
}

#[tokio::test]
async fn empty_sections_fires_on_the_v1_server_route_and_waits_for_a_server_route() -> R {
    let (tv, pms) = plex_pair().await;
    let c = client();
    let v1 = format!("{}/api/servers/{}", tv.url(), pms.machine_identifier());
    let sections = |body: &str| body.matches("<Section ").count();
    tv.add_fault(FaultRule::next(1, FaultAction::EmptySections));
    // Another route first: the rule does not fire there and is not used up.
    let r = c
        .get(format!("{}/api/v2/user", tv.url()))
        .header("X-Plex-Token", tv.token())
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::OK);
    let get = || c.get(&v1).header("X-Plex-Token", tv.token()).send();
    assert_eq!(sections(&get().await?.text().await?), 0);
    assert_eq!(sections(&get().await?.text().await?), 3);
    Ok(())
}

#[tokio::test]
async fn jellyfin_reads_json_names_in_any_case_and_writes_no_nulls() -> R {
    let jf = JellyfinFake::start().await?;
    let c = client();
    let r = c
        .post(format!("{}/users/new/", jf.url()))
        .header("Authorization", mb(&jf.api_key()))
        .json(&json!({"name": "kim", "password": "pw"}))
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await?;
    assert_eq!(
        (v["Name"].as_str(), v["HasPassword"].as_bool()),
        (Some("kim"), Some(true))
    );
    assert!(
        v.get("LastLoginDate").is_none(),
        "null properties are left out: {v}"
    );
    assert!(v["Policy"].get("MaxParentalRating").is_none(), "{v}");
    // An injected 401 has no body, like Jellyfin's own.
    jf.add_fault(
        FaultRule::path(
            "/Users",
            FaultAction::Status {
                status: 401,
                body: None,
            },
        )
        .times(1),
    );
    let r = c
        .get(format!("{}/Users", jf.url()))
        .header("Authorization", mb(&jf.api_key()))
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(r.text().await?, "");
    Ok(())
}

#[tokio::test]
async fn pms_serves_the_library_root_and_every_item_by_its_own_rating_key() -> R {
    let (_tv, pms) = plex_pair().await;
    let c = client();
    let get = |path: String| {
        c.get(format!("{}{path}", pms.url()))
            .header("X-Plex-Token", pms.token())
            .header("Accept", "application/json")
            .send()
    };
    let root: Value = get("/library".into()).await?.json().await?;
    assert_eq!(root["MediaContainer"]["title1"], "Plex Library");
    let shows = pms
        .libraries()
        .iter()
        .find(|l| l.kind == "show")
        .map(|l| l.key)
        .expect("shows");
    let page = |t: u32| {
        get(format!(
            "/library/sections/{shows}/all?type={t}&X-Plex-Container-Size=5"
        ))
    };
    let shows_page: Value = page(2).await?.json().await?;
    let eps_page: Value = page(4).await?.json().await?;
    let keys = |v: &Value| -> Vec<String> {
        v["MediaContainer"]["Metadata"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|m| m["ratingKey"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let (show_keys, ep_keys) = (keys(&shows_page), keys(&eps_page));
    assert!(!show_keys.is_empty() && show_keys.iter().all(|k| !ep_keys.contains(k)));
    let first = &shows_page["MediaContainer"]["Metadata"][0];
    assert!(
        first["childCount"].as_u64() > Some(0) && first["leafCount"].as_u64() > Some(0),
        "{first}"
    );
    let item: Value = get(format!("/library/metadata/{}", show_keys[0]))
        .await?
        .json()
        .await?;
    assert_eq!(
        item["MediaContainer"]["Metadata"][0]["ratingKey"].as_str(),
        Some(show_keys[0].as_str())
    );
    assert_eq!(
        get("/library/metadata/1".into()).await?.status(),
        StatusCode::NOT_FOUND
    );
    let sections_slash = get("/library/sections/".into()).await?;
    assert_eq!(
        sections_slash.status(),
        StatusCode::OK,
        "one trailing slash is accepted"
    );
    for path in ["/myplex/account", "/clients"] {
        assert_eq!(get(path.into()).await?.status(), StatusCode::OK, "{path}");
    }
    Ok(())
}
