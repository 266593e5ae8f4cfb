//! Deleting servers and Plex accounts, the hourly sync of every enabled server, the self-test
//! skipping disabled servers, and a Plex account's extra query parameters on plex.tv calls.

use crate::servers::{MediaTest, media_test};
use boxoffice_fakes::{FaultAction, FaultRule};
use serde_json::{Value, json};

async fn exec(m: &MediaTest, sql: &'static str, binds: &[i64]) {
    let db = &m.t.app.db;
    boxoffice_store::affected!(db.ex(), |e| {
        let mut q = sqlx::query(sql);
        for b in binds {
            q = q.bind(*b);
        }
        q.execute(e).await
    })
    .expect(sql);
}

async fn count(m: &MediaTest, sql: &'static str, bind: &str) -> i64 {
    let db = &m.t.app.db;
    let (n,): (i64,) = boxoffice_store::run!(db.ex(), |e| sqlx::query_as(sql)
        .bind(bind)
        .fetch_one(e)
        .await)
    .expect(sql);
    n
}

async fn count_libraries(m: &MediaTest, server: i64) -> i64 {
    let db = &m.t.app.db;
    let (n,): (i64,) = boxoffice_store::run!(db.ex(), |e| sqlx::query_as(
        "SELECT COUNT(*) FROM libraries WHERE server_id = $1"
    )
    .bind(server)
    .fetch_one(e)
    .await)
    .expect("count libraries");
    n
}

/// A customer with a payment and a share in `state` on the server.
async fn seed_customer_with_share(m: &MediaTest, server: i64, state: &'static str) {
    let now = m.t.app.now();
    exec(
        m,
        "INSERT INTO plans (id, name, cost_minor, currency, duration_unit, duration_count, created_at, updated_at)
         VALUES (901, 'Upkeep plan', 500, 'USD', 'months', 1, $1, $1)",
        &[now],
    )
    .await;
    exec(
        m,
        "INSERT INTO customers (id, email, email_key, created_at, updated_at)
         VALUES (901, 'keep@example.com', 'keep@example.com', $1, $1)",
        &[now],
    )
    .await;
    exec(
        m,
        "INSERT INTO payments (customer_id, plan_id, amount_minor, currency, period_from, period_to, method, transaction_id, created_at)
         VALUES (901, 901, 500, 'USD', $1, $2, 'manual', 'tx-upkeep', $1)",
        &[now, now + 86_400],
    )
    .await;
    let sql = match state {
        "active" => {
            "INSERT INTO shares (customer_id, server_id, state, created_at, updated_at) VALUES (901, $1, 'active', $2, $2)"
        }
        _ => {
            "INSERT INTO shares (customer_id, server_id, state, created_at, updated_at) VALUES (901, $1, 'removed', $2, $2)"
        }
    };
    exec(m, sql, &[server, now]).await;
}

async fn audit_has(m: &MediaTest, action: &str) -> bool {
    m.t.get_html("/admin/audit").await.contains(action)
}

#[tokio::test]
async fn a_server_with_users_is_not_deleted_until_they_are_moved_and_then_goes_with_its_libraries()
{
    let m = media_test().await;
    let server = m.add_jellyfin().await;
    m.t.run_pending_jobs().await;
    assert!(!m.libraries(server).await.is_empty());
    seed_customer_with_share(&m, server, "active").await;

    let page = m.t.get_html(&format!("/admin/servers/{server}")).await;
    assert!(page.contains("id=\"delete-server\""), "{page}");
    assert!(page.contains("data-confirm="), "{page}");

    let (s, v) = m
        .api(reqwest::Method::DELETE, &format!("/servers/{server}"), None)
        .await;
    assert_eq!(s, 409, "{v}");
    let msg = v["error"]["message"].as_str().unwrap_or_default();
    assert!(
        msg.contains("move its users to another server first"),
        "{v}"
    );
    let r =
        m.t.post_form(
            &format!("/admin/servers/{server}"),
            &format!("/admin/servers/{server}/delete"),
            &[],
        )
        .await;
    assert_eq!(r.status(), 409);
    let html = r.text().await.unwrap_or_default();
    assert!(
        html.contains("move its users to another server first"),
        "{html}"
    );
    let (s, _) = m
        .api(reqwest::Method::GET, &format!("/servers/{server}"), None)
        .await;
    assert_eq!(s, 200, "still there");

    exec(
        &m,
        "UPDATE shares SET state = 'removed' WHERE server_id = $1",
        &[server],
    )
    .await;
    let r =
        m.t.post_form(
            &format!("/admin/servers/{server}"),
            &format!("/admin/servers/{server}/delete"),
            &[],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(crate::helpers::location(&r), "/admin/servers?done=deleted");
    let (s, _) = m
        .api(reqwest::Method::GET, &format!("/servers/{server}"), None)
        .await;
    assert_eq!(s, 404);
    assert_eq!(count_libraries(&m, server).await, 0);
    assert_eq!(
        count(
            &m,
            "SELECT COUNT(*) FROM customers WHERE email_key = $1",
            "keep@example.com"
        )
        .await,
        1,
        "the customer stays"
    );
    assert_eq!(
        count(
            &m,
            "SELECT COUNT(*) FROM payments WHERE transaction_id = $1",
            "tx-upkeep"
        )
        .await,
        1,
        "the payment stays"
    );
    assert!(audit_has(&m, "servers.delete").await);

    // The API deletes a server without users at once.
    let (s, v) = m
        .api(
            reqwest::Method::POST,
            "/servers",
            Some(
                json!({"platform": "emby", "url": m.world.emby.url(), "api_key": m.world.emby.api_key()}),
            ),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let emby = v["id"].as_i64().expect("id");
    let (s, v) = m
        .api(reqwest::Method::DELETE, &format!("/servers/{emby}"), None)
        .await;
    assert_eq!(s, 204, "{v}");
    let (s, _) = m
        .api(reqwest::Method::DELETE, &format!("/servers/{emby}"), None)
        .await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn a_plex_account_used_by_servers_is_not_deleted_and_the_refusal_names_them() {
    let m = media_test().await;
    let account = m.add_plex_account_via_page().await;
    let alpha = &m.world.plex_servers[0];
    let (s, v) = m
        .api(
            reqwest::Method::POST,
            "/servers",
            Some(
                json!({"platform": "plex", "plex_account_id": account, "machine_id": alpha.machine_identifier(), "url": alpha.url()}),
            ),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let server = v["id"].as_i64().expect("id");
    let name = v["name"].as_str().unwrap_or_default().to_string();

    let (s, v) = m
        .api(
            reqwest::Method::DELETE,
            &format!("/plex-accounts/{account}"),
            None,
        )
        .await;
    assert_eq!(s, 409, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains(&name),
        "{v}"
    );
    let page = format!("/admin/plex-accounts/{account}");
    assert!(m.t.get_html(&page).await.contains("id=\"delete-account\""));
    let r = m.t.post_form(&page, &format!("{page}/delete"), &[]).await;
    assert_eq!(r.status(), 409);
    let html = r.text().await.unwrap_or_default();
    assert!(html.contains(&name), "{html}");

    let (s, _) = m
        .api(reqwest::Method::DELETE, &format!("/servers/{server}"), None)
        .await;
    assert_eq!(s, 204);
    let r = m.t.post_form(&page, &format!("{page}/delete"), &[]).await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        crate::helpers::location(&r),
        "/admin/plex-accounts?done=deleted"
    );
    let (s, v) = m.api(reqwest::Method::GET, "/plex-accounts", None).await;
    assert_eq!(s, 200);
    assert_eq!(v.as_array().map(Vec::len), Some(0), "{v}");
    assert!(audit_has(&m, "plex_accounts.delete").await);
}

async fn sync_jobs(m: &MediaTest, server: i64) -> i64 {
    count(
        m,
        "SELECT COUNT(*) FROM jobs WHERE kind = 'servers.sync_libraries' AND idempotency_key LIKE $1",
        &format!("server_sync:{server}:%"),
    )
    .await
}

async fn server(m: &MediaTest, id: i64) -> Value {
    let (s, v) = m
        .api(reqwest::Method::GET, &format!("/servers/{id}"), None)
        .await;
    assert_eq!(s, 200, "{v}");
    v
}

#[tokio::test]
async fn the_hourly_sync_refreshes_enabled_servers_and_one_failing_server_does_not_stop_the_others()
{
    let m = media_test().await;
    let settings = m.t.app.settings().await.expect("settings");
    assert!(settings.bool("jobs.server_sync.enabled"));
    assert_eq!(settings.get("jobs.server_sync.schedule"), "every 1h");

    let jellyfin = m.add_jellyfin().await;
    let (s, v) = m
        .api(
            reqwest::Method::POST,
            "/servers",
            Some(
                json!({"platform": "emby", "url": m.world.emby.url(), "api_key": m.world.emby.api_key()}),
            ),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let emby = v["id"].as_i64().expect("id");
    m.enable(jellyfin).await;
    m.enable(emby).await;
    m.t.run_pending_jobs().await;
    let emby_name = server(&m, emby).await["name"].clone();

    // The Emby row is stale and sorts after Jellyfin, which now fails on every call.
    exec(
        &m,
        "UPDATE servers SET name = 'zz stale', version = '0' WHERE id = $1",
        &[emby],
    )
    .await;
    m.world.jellyfin.add_fault(FaultRule::path(
        "/",
        FaultAction::Status {
            status: 500,
            body: None,
        },
    ));

    // The first tick only plans the schedule; an hour later the job is due.
    m.t.runner.tick_scheduler().await.expect("tick");
    m.t.advance_clock(time::Duration::hours(1) + time::Duration::seconds(1));
    assert!(m.t.runner.tick_scheduler().await.expect("tick") >= 1);
    let before = m.world.emby.requests().len();
    assert!(
        m.t.run_pending_jobs().await >= 2,
        "sync_all and a library sync"
    );
    assert!(m.world.emby.requests().len() > before);

    let e = server(&m, emby).await;
    assert_eq!(e["name"], emby_name, "{e}");
    assert_ne!(e["version"], json!("0"), "{e}");
    assert_eq!(e["last_error"], Value::Null, "{e}");
    let j = server(&m, jellyfin).await;
    assert!(
        j["last_error"].as_str().is_some_and(|x| !x.is_empty()),
        "{j}"
    );
    assert_eq!(sync_jobs(&m, emby).await, 1);
    assert_eq!(sync_jobs(&m, jellyfin).await, 0);

    // The same tick again queues nothing twice.
    let (_, tick) =
        boxoffice_store::run!(m.t.app.db.ex(), |e| sqlx::query_as::<_, (String, String)>(
            "SELECT idempotency_key, payload FROM jobs WHERE kind = 'servers.sync_all'"
        )
        .fetch_one(e)
        .await)
        .expect("sync_all job");
    let tick: Value = serde_json::from_str(&tick).expect("payload");
    let report =
        m.t.app
            .sync_all_servers(&tick["tick"].to_string())
            .await
            .expect("sync all");
    assert_eq!((report.refreshed, report.failed), (1, 1));
    assert_eq!(sync_jobs(&m, emby).await, 1);

    // A disabled server is left alone.
    m.world.jellyfin.clear_faults();
    let (s, _) = m
        .api(
            reqwest::Method::PATCH,
            &format!("/servers/{jellyfin}"),
            Some(json!({"enabled": false})),
        )
        .await;
    assert_eq!(s, 200);
    let calls = m.world.jellyfin.requests().len();
    let report = m.t.app.sync_all_servers("later").await.expect("sync all");
    assert_eq!((report.refreshed, report.failed), (1, 0));
    assert_eq!(m.world.jellyfin.requests().len(), calls);
    assert_eq!(sync_jobs(&m, jellyfin).await, 0);
}

#[tokio::test]
async fn the_self_test_skips_a_disabled_server_with_a_grey_row() {
    let m = media_test().await;
    let jellyfin = m.add_jellyfin().await;
    m.t.run_pending_jobs().await;
    let calls = m.world.jellyfin.requests().len();
    let r =
        m.t.post_form("/admin/self-test", "/admin/self-test/run", &[])
            .await;
    assert_eq!(r.status(), 303);
    m.t.run_pending_jobs().await;
    assert_eq!(
        m.world.jellyfin.requests().len(),
        calls,
        "a disabled server is not called"
    );
    let (s, report) = m.api(reqwest::Method::GET, "/self-test", None).await;
    assert_eq!(s, 200, "{report}");
    assert_eq!(report["failed"], json!(0), "{report}");
    let rows: Vec<&Value> = report["results"]
        .as_array()
        .map(|r| {
            r.iter()
                .filter(|x| x["target"].as_str().is_some_and(|t| t.contains("Jelly")))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(rows.len(), 1, "{report}");
    assert_eq!(rows[0]["skipped"], json!(true));
    assert_eq!(rows[0]["message"], json!("Skipped: server disabled"));
    let html = m.t.get_html("/admin/self-test").await;
    assert!(html.contains("server disabled"), "{html}");
    assert!(!html.contains("result-failed"), "{html}");

    m.enable(jellyfin).await;
    m.t.app.run_self_test("manual").await.expect("self-test");
    assert!(m.world.jellyfin.requests().len() > calls);
}

#[tokio::test]
async fn a_plex_accounts_extra_query_parameters_go_on_every_plex_tv_call() {
    let m = media_test().await;
    let (s, v) = m
        .api(
            reqwest::Method::POST,
            "/plex-accounts",
            Some(
                json!({"name": "Main", "token": m.world.plex_tv.token(), "extra_query": "a=1&b=2"}),
            ),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let account = v["id"].as_i64().expect("id");
    let (s, v) = m
        .api(
            reqwest::Method::POST,
            &format!("/plex-accounts/{account}/test"),
            None,
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = m
        .api(
            reqwest::Method::GET,
            &format!("/plex-accounts/{account}/servers"),
            None,
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let alpha = &m.world.plex_servers[0];
    let (s, v) = m
        .api(
            reqwest::Method::POST,
            "/servers",
            Some(
                json!({"platform": "plex", "plex_account_id": account, "machine_id": alpha.machine_identifier(), "url": alpha.url()}),
            ),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    m.t.run_pending_jobs().await;
    m.t.app.run_self_test("manual").await.expect("self-test");

    let log = m.world.plex_tv.requests();
    assert!(log.len() >= 4, "{log:?}");
    for r in &log {
        let q = r.query.clone().unwrap_or_default();
        let pairs: Vec<&str> = q.split('&').collect();
        assert!(
            pairs.contains(&"a=1") && pairs.contains(&"b=2"),
            "{} {} without the extra parameters: {q:?}",
            r.method,
            r.path
        );
    }
    // Calls to the server itself never carry them.
    assert!(
        alpha
            .requests()
            .iter()
            .all(|r| !r.query.clone().unwrap_or_default().contains("a=1"))
    );

    // A malformed value is refused with the field named.
    let (s, v) = m
        .api(
            reqwest::Method::POST,
            "/plex-accounts",
            Some(json!({"token": m.world.plex_tv.token(), "extra_query": "a = 1"})),
        )
        .await;
    assert_eq!(s, 422, "{v}");
    assert_eq!(v["error"]["field"], json!("extra_query"), "{v}");
}
