//! Plex accounts, servers and library sync against the in-process fakes of plex.tv, PMS,
//! Jellyfin and Emby: through the admin pages and the JSON API, with jobs run by hand.

use crate::helpers::{TestApp, location, spawn_app};
use boxoffice_fakes::{FaultAction, FaultRule, World};
use boxoffice_media::{ClockSleeper, RateLimit};
use serde_json::{Value, json};

/// A logged-in admin on a fresh app whose media clients talk to a freshly seeded fake world.
pub struct MediaTest {
    pub t: TestApp,
    pub world: World,
    pub token: String,
}

pub async fn media_test() -> MediaTest {
    let world = World::seed_default().await.expect("fakes start");
    let t = spawn_app().await;
    t.app.media.set_plex_tv_url(&world.plex_tv.url());
    t.app.discord.set_api_url(&world.discord.url());
    let clock = t.clock.clone();
    t.app.media.configure(move |o| {
        // Failures must reach the job queue (no inline retries), and pacing waits move the test
        // clock instead of sleeping.
        o.max_retries = 0;
        o.timeout = std::time::Duration::from_secs(10);
        o.rate_limit = Some(RateLimit {
            per_second: 1000.0,
            burst: 1000,
        });
        o.sleeper = std::sync::Arc::new(ClockSleeper::new(clock));
    });
    t.create_admin().await;
    t.login_admin().await;
    let token = t.admin_token().await;
    MediaTest { t, world, token }
}

impl MediaTest {
    pub async fn api(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self
            .t
            .client
            .request(method, self.t.url(&format!("/api/v1{path}")))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.expect("api request");
        let status = r.status().as_u16();
        let v = r.json().await.unwrap_or(Value::Null);
        (status, v)
    }

    /// Adds the Jellyfin fake through the API and returns the server id.
    pub async fn add_jellyfin(&self) -> i64 {
        let (s, v) = self
            .api(
                reqwest::Method::POST,
                "/servers",
                Some(json!({"platform": "jellyfin", "url": self.world.jellyfin.url(), "api_key": self.world.jellyfin.api_key()})),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        v["id"].as_i64().expect("id")
    }

    /// Enables a server (a new one starts disabled) through the API.
    pub async fn enable(&self, server_id: i64) {
        let (s, v) = self
            .api(
                reqwest::Method::PATCH,
                &format!("/servers/{server_id}"),
                Some(json!({"enabled": true})),
            )
            .await;
        assert_eq!(s, 200, "{v}");
    }

    pub async fn libraries(&self, server_id: i64) -> Vec<Value> {
        let (s, v) = self
            .api(
                reqwest::Method::GET,
                &format!("/libraries?server_id={server_id}"),
                None,
            )
            .await;
        assert_eq!(s, 200, "{v}");
        v.as_array().cloned().unwrap_or_default()
    }

    /// Adds the Plex account through the admin page; answers its id.
    pub async fn add_plex_account_via_page(&self) -> i64 {
        let r = self
            .t
            .post_form(
                "/admin/plex-accounts",
                "/admin/plex-accounts",
                &[("name", "Main"), ("token", &self.world.plex_tv.token())],
            )
            .await;
        assert_eq!(r.status(), 303, "{}", r.text().await.unwrap_or_default());
        let loc = location(&r);
        loc.trim_start_matches("/admin/plex-accounts/")
            .split('?')
            .next()
            .and_then(|id| id.parse().ok())
            .expect("account id in the redirect")
    }

    /// Adds the Plex account, then its first fake server, through the admin pages, and runs the
    /// library sync that follows; answers the server's id.
    pub async fn add_plex_server_via_page(&self) -> i64 {
        let account = self.add_plex_account_via_page().await;
        let alpha = &self.world.plex_servers[0];
        let r = self
            .t
            .post_form(
                &format!("/admin/plex-accounts/{account}"),
                &format!("/admin/plex-accounts/{account}/servers"),
                &[
                    ("machine_id", alpha.machine_identifier()),
                    ("url", &alpha.url()),
                ],
            )
            .await;
        assert_eq!(r.status(), 303, "{}", r.text().await.unwrap_or_default());
        let server = location(&r)
            .trim_start_matches("/admin/servers/")
            .split('?')
            .next()
            .and_then(|s| s.parse().ok())
            .expect("server id");
        self.t.run_pending_jobs().await;
        server
    }
}

fn counts(libs: &[Value]) -> Vec<(String, i64)> {
    let mut v: Vec<(String, i64)> = libs
        .iter()
        .map(|l| {
            (
                l["name"].as_str().unwrap_or_default().to_string(),
                l["item_count"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn a_plex_account_added_by_token_lists_its_servers_and_an_added_server_syncs_its_libraries() {
    let m = media_test().await;
    let account = m.add_plex_account_via_page().await;
    let page =
        m.t.get_html(&format!("/admin/plex-accounts/{account}"))
            .await;
    assert!(page.contains(&m.world.plex_tv.owner().username), "{page}");

    // "Find servers" lists both of the account's servers with their addresses.
    let found =
        m.t.post_form(
            &format!("/admin/plex-accounts/{account}"),
            &format!("/admin/plex-accounts/{account}/discover"),
            &[],
        )
        .await
        .text()
        .await
        .expect("body");
    let alpha = &m.world.plex_servers[0];
    assert!(
        found.contains("Plex Alpha") && found.contains("Plex Beta"),
        "{found}"
    );
    assert!(found.contains(&alpha.url()), "{found}");

    let r =
        m.t.post_form(
            &format!("/admin/plex-accounts/{account}"),
            &format!("/admin/plex-accounts/{account}/servers"),
            &[
                ("machine_id", alpha.machine_identifier()),
                ("url", &alpha.url()),
            ],
        )
        .await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap_or_default());
    let server_path = location(&r);
    let server_id: i64 = server_path
        .trim_start_matches("/admin/servers/")
        .split('?')
        .next()
        .and_then(|s| s.parse().ok())
        .expect("server id");

    assert!(m.t.run_pending_jobs().await >= 1);
    assert_eq!(
        counts(&m.libraries(server_id).await),
        vec![
            ("Home Videos".to_string(), 57),
            ("Movies".to_string(), 1843),
            ("Movies 4K".to_string(), 402),
            ("TV Shows".to_string(), 312),
        ]
    );
    // Plex libraries carry plex.tv's global section id, the one shares are made with.
    let libs = m.libraries(server_id).await;
    let movies = libs.iter().find(|l| l["name"] == "Movies").expect("movies");
    let seeded = alpha
        .libraries()
        .into_iter()
        .find(|l| l.title == "Movies")
        .expect("seeded");
    assert_eq!(movies["global_id"], json!(seeded.global_id.to_string()));
    let html = m.t.get_html("/admin/libraries").await;
    assert!(html.contains("1843"), "{html}");

    // The new server starts disabled; its settings change through the edit form.
    let (_, s) = m
        .api(reqwest::Method::GET, &format!("/servers/{server_id}"), None)
        .await;
    assert_eq!(s["enabled"], json!(false));
    let r =
        m.t.post_form(
            &server_path,
            &format!("/admin/servers/{server_id}"),
            &[
                ("url", &alpha.url()),
                ("enabled", "true"),
                ("allow_new_subscriptions", "true"),
                ("max_users", "42"),
                ("log_activity", "true"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let (_, s) = m
        .api(reqwest::Method::GET, &format!("/servers/{server_id}"), None)
        .await;
    assert_eq!(
        (
            &s["enabled"],
            &s["allow_trial_subscriptions"],
            &s["max_users"],
            &s["log_activity"]
        ),
        (&json!(true), &json!(false), &json!(42), &json!(true))
    );
}

#[tokio::test]
async fn jellyfin_and_emby_are_added_by_url_and_api_key_and_their_libraries_synced() {
    let m = media_test().await;
    let jf = m.add_jellyfin().await;
    let (s, v) = m
        .api(
            reqwest::Method::POST,
            "/servers",
            Some(json!({"platform": "emby", "url": m.world.emby.url(), "api_key": m.world.emby.api_key()})),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let emby = v["id"].as_i64().expect("id");
    assert_eq!(v["name"], json!("Emby One"));
    m.t.run_pending_jobs().await;
    assert_eq!(
        counts(&m.libraries(jf).await),
        vec![("Movies".to_string(), 1520), ("Shows".to_string(), 286)]
    );
    let emby_libs = m.libraries(emby).await;
    assert_eq!(
        counts(&emby_libs),
        vec![("Movies".to_string(), 1377), ("Shows".to_string(), 241)]
    );
    let shows = emby_libs
        .iter()
        .find(|l| l["name"] == "Shows")
        .expect("shows");
    assert_eq!(shows["child_count"], json!(9870));

    // Adding the same server twice is refused.
    let (s, _) = m
        .api(
            reqwest::Method::POST,
            "/servers",
            Some(json!({"platform": "jellyfin", "url": m.world.jellyfin.url(), "api_key": m.world.jellyfin.api_key()})),
        )
        .await;
    assert_eq!(s, 409);
}

#[tokio::test]
async fn tokens_and_api_keys_are_stored_encrypted() {
    let m = media_test().await;
    let account = m.add_plex_account_via_page().await;
    let jf = m.add_jellyfin().await;
    let token = m.world.plex_tv.token();
    let key = m.world.jellyfin.api_key();

    let row = boxoffice_store::plex_accounts::find(m.t.app.db.ex(), account)
        .await
        .expect("row");
    assert!(!row.token_enc.contains(&token) && row.token_enc.starts_with("v1:"));
    assert_eq!(m.t.app.secrets.open(&row.token_enc).expect("opens"), token);
    let srow = boxoffice_store::servers::find(m.t.app.db.ex(), jf)
        .await
        .expect("row");
    assert!(!srow.api_key_enc.contains(&key));
    assert_eq!(m.t.app.secrets.open(&srow.api_key_enc).expect("opens"), key);

    // Neither pages nor the API ever show them.
    for path in [
        "/admin/plex-accounts",
        &format!("/admin/plex-accounts/{account}"),
        "/admin/servers",
        &format!("/admin/servers/{jf}"),
    ] {
        let html = m.t.get_html(path).await;
        assert!(!html.contains(&token) && !html.contains(&key), "{path}");
    }
    for path in ["/plex-accounts", "/servers"] {
        let (_, v) = m.api(reqwest::Method::GET, path, None).await;
        let text = v.to_string();
        assert!(!text.contains(&token) && !text.contains(&key), "{path}");
    }
}

#[tokio::test]
async fn a_refused_token_shows_the_catalogue_message_and_nothing_is_stored() {
    let m = media_test().await;
    let r =
        m.t.post_form(
            "/admin/plex-accounts",
            "/admin/plex-accounts",
            &[("name", "Bad"), ("token", "not-a-real-token")],
        )
        .await;
    assert_eq!(r.status(), 502);
    let html = r.text().await.expect("body");
    assert!(html.contains("Error communicating with Plex 401"), "{html}");
    assert!(html.contains("was refused"), "{html}");
    let (_, v) = m.api(reqwest::Method::GET, "/plex-accounts", None).await;
    assert_eq!(v, json!([]));

    // A refused Jellyfin key answers the API with the same kind of message.
    let (s, v) = m
        .api(
            reqwest::Method::POST,
            "/servers",
            Some(
                json!({"platform": "jellyfin", "url": m.world.jellyfin.url(), "api_key": "wrong"}),
            ),
        )
        .await;
    assert_eq!(s, 502, "{v}");
    assert_eq!(v["error"]["code"], json!("media_server"));
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("401"),
        "{v}"
    );
}

#[tokio::test]
async fn a_server_error_makes_the_sync_job_retry_and_succeed_without_doubling_libraries() {
    let m = media_test().await;
    let jf = m.add_jellyfin().await;
    m.t.run_pending_jobs().await;
    assert_eq!(m.libraries(jf).await.len(), 2);

    m.world.jellyfin.add_fault(
        FaultRule::path(
            "/Library/MediaFolders",
            FaultAction::Status {
                status: 503,
                body: None,
            },
        )
        .times(1),
    );
    let (s, v) = m
        .api(reqwest::Method::POST, &format!("/servers/{jf}/sync"), None)
        .await;
    assert_eq!(s, 202, "{v}");
    m.t.run_pending_jobs().await;
    let (_, server) = m
        .api(reqwest::Method::GET, &format!("/servers/{jf}"), None)
        .await;
    assert!(
        server["last_error"]
            .as_str()
            .unwrap_or_default()
            .contains("503"),
        "{server}"
    );
    let (_, jobs) = m
        .api(reqwest::Method::GET, "/jobs?state=queued", None)
        .await;
    assert_eq!(
        jobs.as_array().map(Vec::len),
        Some(1),
        "the sync waits for its retry: {jobs}"
    );

    m.t.advance_clock(time::Duration::hours(1));
    m.t.run_pending_jobs().await;
    let libs = m.libraries(jf).await;
    assert_eq!(
        counts(&libs),
        vec![("Movies".to_string(), 1520), ("Shows".to_string(), 286)]
    );
    let (_, server) = m
        .api(reqwest::Method::GET, &format!("/servers/{jf}"), None)
        .await;
    assert_eq!(server["last_error"], Value::Null);
}

#[tokio::test]
async fn server_locations_are_added_renamed_and_deleted_and_pages_need_their_permission() {
    let m = media_test().await;
    let r =
        m.t.post_form(
            "/admin/server-locations",
            "/admin/server-locations",
            &[("name", "Europe"), ("description", "Frankfurt")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let (_, locs) = m.api(reqwest::Method::GET, "/server-locations", None).await;
    let id = locs[0]["id"].as_i64().expect("id");
    let dup =
        m.t.post_form(
            "/admin/server-locations",
            "/admin/server-locations",
            &[("name", "Europe")],
        )
        .await;
    assert_eq!(dup.status(), 409);
    let r =
        m.t.post_form(
            "/admin/server-locations",
            &format!("/admin/server-locations/{id}"),
            &[("name", "EU West"), ("sort_order", "2")],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert!(
        m.t.get_html("/admin/server-locations")
            .await
            .contains("EU West")
    );
    let r =
        m.t.post_form(
            "/admin/server-locations",
            &format!("/admin/server-locations/{id}/delete"),
            &[],
        )
        .await;
    assert_eq!(r.status(), 303);
    let (_, locs) = m.api(reqwest::Method::GET, "/server-locations", None).await;
    assert_eq!(locs, json!([]));

    // Without a session the pages send you to log in; the API without a token is refused.
    let anon = crate::helpers::client();
    for path in [
        "/admin/servers",
        "/admin/plex-accounts",
        "/admin/self-test",
        "/admin/libraries",
    ] {
        let r = anon.get(m.t.url(path)).send().await.expect("request");
        assert_eq!(r.status(), 303, "{path}");
    }
    let r = anon
        .get(m.t.url("/api/v1/servers"))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 401);
}
