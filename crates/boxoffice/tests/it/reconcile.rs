//! Reconciliation on the Jellyfin fake: drift made on the server by hand shows on the Shared
//! servers page, one repair re-applies the share, and the next scan finds nothing; users no
//! customer matches are imported (default plan, or permanent) unless import is off.

use crate::servers::{MediaTest, media_test};
use boxoffice_app::audit::Actor;
use boxoffice_fakes::{MbLibrarySeed, MbUserSeed};
use boxoffice_store::{Db, StoreError, affected, customers, shares};
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::BTreeSet;

const STANDARD: i64 = 2;
const PREMIUM: i64 = 3;

async fn exec(db: &Db, sql: String) {
    affected!(db.ex(), |e| sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
        .execute(e)
        .await)
    .expect("sql");
}

/// Jellyfin added, synced and open; plan 1 grants Movies without downloads, plan 2 is the
/// default plan and grants Movies with downloads, as the seeded users have them.
async fn jellyfin(m: &MediaTest) -> i64 {
    let jf = m.add_jellyfin().await;
    m.t.run_pending_jobs().await;
    let db = &m.t.app.db;
    exec(
        db,
        format!(
            "UPDATE servers SET enabled = TRUE, allow_new_subscriptions = TRUE WHERE id = {jf}"
        ),
    )
    .await;
    for (name, g) in [("Movies", STANDARD), ("Shows", PREMIUM)] {
        exec(db, format!("UPDATE libraries SET library_group_id = {g} WHERE server_id = {jf} AND name = '{name}'")).await;
    }
    exec(db, "INSERT INTO plans (id, name, cost_minor, currency, duration_unit, duration_count, downloads, created_at, updated_at) VALUES (1, 'Basic', 1000, 'USD', 'days', 30, FALSE, 0, 0)".into()).await;
    exec(db, format!("INSERT INTO plan_library_groups (plan_id, library_group_id, grace) VALUES (1, {STANDARD}, FALSE)")).await;
    exec(db, "INSERT INTO plans (id, name, cost_minor, currency, duration_unit, duration_count, is_default, downloads, created_at, updated_at) VALUES (2, 'Default', 500, 'USD', 'days', 30, TRUE, TRUE, 0, 0)".into()).await;
    exec(db, format!("INSERT INTO plan_library_groups (plan_id, library_group_id, grace) VALUES (2, {STANDARD}, FALSE)")).await;
    jf
}

async fn set(m: &MediaTest, key: &str, value: &str) {
    m.t.app
        .set_setting(&Actor::system(), key, value)
        .await
        .expect("setting");
}

/// A scan asked for on the page, then run. Each manual scan is keyed by the second it was asked
/// in, so the clock moves first.
async fn scan(m: &MediaTest) {
    m.t.advance_clock(time::Duration::seconds(2));
    let r =
        m.t.post_form("/admin/shared-servers", "/admin/shared-servers/scan", &[])
            .await;
    assert_eq!(r.status(), 303);
    m.t.run_pending_jobs().await;
}

async fn drift(m: &MediaTest) -> Vec<Value> {
    let (s, v) = m.api(Method::GET, "/drift", None).await;
    assert_eq!(s, 200, "{v}");
    v.as_array().cloned().unwrap_or_default()
}

fn kinds_for(rows: &[Value], who: &str) -> BTreeSet<String> {
    rows.iter()
        .filter(|r| r["customer_email"] == who || r["remote_user"] == who)
        .filter_map(|r| r["kind"].as_str().map(str::to_string))
        .collect()
}

/// Changes a user's policy on the Jellyfin fake through its own API, as an admin would by hand.
async fn edit_policy(m: &MediaTest, name: &str, change: impl FnOnce(&mut Value)) {
    let user = m.world.jellyfin.user(name).expect("user");
    let auth = format!("MediaBrowser Token=\"{}\"", m.world.jellyfin.api_key());
    let url = m.world.jellyfin.url();
    let dto: Value =
        m.t.client
            .get(format!("{url}/Users/{}", user.id))
            .header("Authorization", &auth)
            .send()
            .await
            .expect("read user")
            .json()
            .await
            .expect("user json");
    let mut policy = dto["Policy"].clone();
    change(&mut policy);
    let r =
        m.t.client
            .post(format!("{url}/Users/{}/Policy", user.id))
            .header("Authorization", &auth)
            .json(&policy)
            .send()
            .await
            .expect("write policy");
    assert!(r.status().is_success(), "{}", r.status());
}

fn folder_names(m: &MediaTest, name: &str) -> BTreeSet<String> {
    let u = m.world.jellyfin.user(name).expect("user");
    let ids: Vec<String> =
        serde_json::from_value(u.policy["EnabledFolders"].clone()).unwrap_or_default();
    m.world
        .jellyfin
        .libraries()
        .iter()
        .filter(|l| ids.contains(&l.id) || ids.contains(&l.guid))
        .map(|l| l.name.clone())
        .collect()
}

#[tokio::test]
async fn drift_made_on_the_server_is_listed_and_one_repair_fixes_it() {
    let m = media_test().await;
    jellyfin(&m).await;
    // The seeded strangers stay out of this story: reported, not imported.
    set(&m, "media.sync_from_remote", "false").await;
    let (s, v) = m
        .api(
            Method::POST,
            "/invites",
            Some(json!({"email": "ann@example.com", "plan_id": 1, "transaction_id": "tx-ann"})),
        )
        .await;
    assert!(s == 201 || s == 200, "{s} {v}");
    m.t.run_pending_jobs().await;
    scan(&m).await;
    assert!(kinds_for(&drift(&m).await, "ann@example.com").is_empty());

    // By hand on the server: Shows shared too, downloads on, the user disabled.
    let shows = m
        .world
        .jellyfin
        .libraries()
        .into_iter()
        .find(|l| l.name == "Shows")
        .expect("Shows");
    edit_policy(&m, "ann@example.com", |p| {
        if let Some(a) = p["EnabledFolders"].as_array_mut() {
            a.push(json!(shows.id));
        }
        p["EnableContentDownloading"] = json!(true);
        p["IsDisabled"] = json!(true);
    })
    .await;
    scan(&m).await;
    let rows = drift(&m).await;
    assert_eq!(
        kinds_for(&rows, "ann@example.com"),
        ["disabled", "downloads", "extra_libraries"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        "{rows:?}"
    );
    let page = m.t.get_html("/admin/shared-servers").await;
    assert!(page.contains("ann@example.com"), "{page}");
    assert!(page.contains("Extra libraries") && page.contains("Also has Shows"));
    assert!(page.contains("Downloads on, the plan says off"));
    assert!(page.contains("Disabled on the server"));
    // The strangers are reported while import is off.
    assert!(page.contains("erin_jf") && page.contains("Unknown user"));

    // One repair re-applies the share as a whole.
    let id = rows
        .iter()
        .find(|r| r["customer_email"] == "ann@example.com")
        .and_then(|r| r["id"].as_i64())
        .expect("row id");
    let r =
        m.t.post_form(
            "/admin/shared-servers",
            &format!("/admin/shared-servers/{id}/repair"),
            &[],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert!(m.t.run_pending_jobs().await >= 1);
    let u = m.world.jellyfin.user("ann@example.com").expect("user");
    assert_eq!(
        folder_names(&m, "ann@example.com"),
        BTreeSet::from(["Movies".to_string()])
    );
    assert!(!u.flag("EnableContentDownloading") && !u.flag("IsDisabled"));
    // Until the next scan the finding stays; then it is gone.
    assert!(!kinds_for(&drift(&m).await, "ann@example.com").is_empty());
    scan(&m).await;
    assert!(kinds_for(&drift(&m).await, "ann@example.com").is_empty());
}

#[tokio::test]
async fn unknown_users_are_imported_onto_the_default_plan_or_as_permanent() {
    let m = media_test().await;
    let jf = jellyfin(&m).await;
    let report = m.t.app.run_reconcile(false).await.expect("scan");
    assert_eq!(report.imported, 2, "{report:?}");
    let erin = customers::find_by_email_key(m.t.app.db.ex(), "erin_jf")
        .await
        .expect("erin imported");
    assert_eq!(erin.plan_id, Some(2));
    assert!(!erin.permanent);
    // A default payment on the default plan keeps an imported friend's access for one period.
    let now = m.t.app.now();
    assert!(erin.covered_until.is_some_and(|u| u > now), "{erin:?}");
    assert_eq!(erin.jellyfin_username, "erin_jf");
    let share = shares::list_for_customer(m.t.app.db.ex(), erin.id)
        .await
        .expect("shares");
    assert_eq!(share.len(), 1);
    assert_eq!(share[0].server_id, jf);
    assert_eq!(share[0].state, "active");
    assert!(share[0].is_applied());
    assert_eq!(share[0].library_ids().len(), 2, "Movies and Shows");
    // The server's administrator is never a customer.
    assert!(matches!(
        customers::find_by_email_key(m.t.app.db.ex(), "admin").await,
        Err(StoreError::NotFound)
    ));

    set(&m, "media.import_as_permanent", "true").await;
    let mut seed = MbUserSeed::new("zed_jf");
    seed.libraries = Some(vec!["Movies".into()]);
    m.world.jellyfin.seed_user(seed);
    let report = m.t.app.run_reconcile(false).await.expect("scan");
    assert_eq!(report.imported, 1, "only the new user: {report:?}");
    let zed = customers::find_by_email_key(m.t.app.db.ex(), "zed_jf")
        .await
        .expect("zed imported");
    assert!(zed.permanent);
    // Erin holds Shows, which the default plan does not grant: drift, although the share was
    // recorded as she had it. Zed holds what the plan grants.
    let rows = drift(&m).await;
    assert_eq!(
        kinds_for(&rows, "erin_jf"),
        BTreeSet::from(["extra_libraries".to_string()]),
        "{rows:?}"
    );
    assert!(kinds_for(&rows, "zed_jf").is_empty(), "{rows:?}");
    m.t.advance_clock(time::Duration::days(40));
    m.t.app.run_reconcile(false).await.expect("scan");
    let rows = drift(&m).await;
    assert!(
        kinds_for(&rows, "erin_jf").contains("expired_share"),
        "{rows:?}"
    );
    assert!(kinds_for(&rows, "zed_jf").is_empty(), "permanent: {rows:?}");
}

#[tokio::test]
async fn with_sync_from_remote_off_nothing_is_imported() {
    let m = media_test().await;
    jellyfin(&m).await;
    set(&m, "media.sync_from_remote", "false").await;
    let report = m.t.app.run_reconcile(false).await.expect("scan");
    assert_eq!(report.imported, 0);
    for name in ["erin_jf", "frank_jf"] {
        assert!(matches!(
            customers::find_by_email_key(m.t.app.db.ex(), name).await,
            Err(StoreError::NotFound)
        ));
    }
    let rows = drift(&m).await;
    assert!(
        kinds_for(&rows, "erin_jf").contains("unknown_user"),
        "{rows:?}"
    );
    assert!(kinds_for(&rows, "frank_jf").contains("unknown_user"));
}

/// Runs the recurring jobs due an hour from now (the first tick only plans the schedule).
async fn scheduled_tick(m: &MediaTest) {
    m.t.runner.tick_scheduler().await.expect("tick");
    m.t.advance_clock(time::Duration::hours(1) + time::Duration::seconds(1));
    m.t.runner.tick_scheduler().await.expect("tick");
    m.t.run_pending_jobs().await;
}

#[tokio::test]
async fn the_hourly_scan_repairs_only_when_sync_shared_libraries_is_on() {
    let m = media_test().await;
    jellyfin(&m).await;
    set(&m, "media.sync_from_remote", "false").await;
    set(&m, "media.sync_shared_libraries", "false").await;
    let (s, v) = m
        .api(
            Method::POST,
            "/invites",
            Some(json!({"email": "bob@example.com", "plan_id": 1, "transaction_id": "tx-bob"})),
        )
        .await;
    assert!(s == 201 || s == 200, "{s} {v}");
    m.t.run_pending_jobs().await;
    edit_policy(&m, "bob@example.com", |p| {
        p["EnableContentDownloading"] = json!(true);
    })
    .await;

    // Off: reported, the server left as it is.
    scheduled_tick(&m).await;
    assert!(kinds_for(&drift(&m).await, "bob@example.com").contains("downloads"));
    let u = m.world.jellyfin.user("bob@example.com").expect("user");
    assert!(u.flag("EnableContentDownloading"));

    // On: the scheduled scan queues the share job, which puts the plan back.
    set(&m, "media.sync_shared_libraries", "true").await;
    scheduled_tick(&m).await;
    let u = m.world.jellyfin.user("bob@example.com").expect("user");
    assert!(!u.flag("EnableContentDownloading"));
    scan(&m).await;
    assert!(kinds_for(&drift(&m).await, "bob@example.com").is_empty());
}

#[tokio::test]
async fn an_imported_user_holding_a_4k_library_their_plan_does_not_grant_is_drift() {
    let m = media_test().await;
    m.world
        .jellyfin
        .seed_library(MbLibrarySeed::new("Movies 4K", "movies", 120));
    let jf = jellyfin(&m).await;
    // The default plan grants Standard (Movies); the 4K library is in Premium 4K.
    exec(&m.t.app.db, format!("UPDATE libraries SET library_group_id = {PREMIUM} WHERE server_id = {jf} AND name = 'Movies 4K'")).await;
    let mut seed = MbUserSeed::new("gina_jf");
    seed.libraries = Some(vec!["Movies".into(), "Movies 4K".into()]);
    m.world.jellyfin.seed_user(seed);

    scan(&m).await;
    let rows = drift(&m).await;
    let gina: Vec<&Value> = rows
        .iter()
        .filter(|r| r["remote_user"] == "gina_jf")
        .collect();
    assert_eq!(
        gina.len(),
        1,
        "reported by the scan that imports her: {rows:?}"
    );
    assert!(
        kinds_for(&rows, "frank_jf").is_empty(),
        "frank holds what the plan grants: {rows:?}"
    );
    assert_eq!(gina[0]["kind"], "extra_libraries");
    assert_eq!(gina[0]["detail"], "Also has Movies 4K");
    let page = m.t.get_html("/admin/shared-servers").await;
    assert!(
        !page.contains("Every server shares what the plans grant"),
        "{page}"
    );
    assert!(page.contains("Also has Movies 4K"), "{page}");

    // A repair takes the 4K library away: the plan's grant becomes the share.
    let r =
        m.t.post_form(
            "/admin/shared-servers",
            "/admin/shared-servers/repair-all",
            &[],
        )
        .await;
    assert_eq!(r.status(), 303);
    m.t.run_pending_jobs().await;
    assert_eq!(
        folder_names(&m, "gina_jf"),
        BTreeSet::from(["Movies".to_string()])
    );
    scan(&m).await;
    assert!(kinds_for(&drift(&m).await, "gina_jf").is_empty());
}

#[tokio::test]
async fn a_library_moved_to_another_group_offers_apply_to_existing_shares_and_applying_changes_the_server()
 {
    let m = media_test().await;
    let jf = jellyfin(&m).await;
    set(&m, "media.sync_from_remote", "false").await;
    for email in ["ann@example.com", "bea@example.com"] {
        let (s, v) = m
            .api(
                Method::POST,
                "/invites",
                Some(json!({"email": email, "plan_id": 1})),
            )
            .await;
        assert_eq!(s, 201, "{v}");
    }
    m.t.run_pending_jobs().await;
    let page = m.t.get_html("/admin/libraries").await;
    assert!(!page.contains("apply-plan-grants"), "nothing to apply yet");

    // Shows joins Standard, which plan 1 grants: moving it changes no share by itself...
    let shows = m
        .libraries(jf)
        .await
        .into_iter()
        .find(|l| l["name"] == "Shows")
        .and_then(|l| l["id"].as_i64())
        .expect("Shows");
    let r =
        m.t.post_form(
            "/admin/libraries",
            &format!("/admin/libraries/{shows}/group"),
            &[("library_group_id", &STANDARD.to_string())],
        )
        .await;
    assert_eq!(r.status(), 303);
    m.t.run_pending_jobs().await;
    assert_eq!(
        folder_names(&m, "ann@example.com"),
        BTreeSet::from(["Movies".to_string()])
    );
    // ...the scan sees the shares lack it, and the page offers to apply it.
    scan(&m).await;
    assert!(kinds_for(&drift(&m).await, "ann@example.com").contains("missing_libraries"));
    let page = m.t.get_html("/admin/libraries").await;
    assert!(page.contains("Apply to 2 existing shares"), "{page}");
    let (_, v) = m.api(Method::GET, "/shares/plan-grants", None).await;
    assert_eq!(v["out_of_step"], 2, "{v}");

    let r =
        m.t.post_form(
            "/admin/libraries",
            "/admin/libraries/apply-plan-grants",
            &[],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(m.t.run_pending_jobs().await, 2, "one share job per share");
    for email in ["ann@example.com", "bea@example.com"] {
        assert_eq!(
            folder_names(&m, email),
            BTreeSet::from(["Movies".to_string(), "Shows".to_string()]),
            "{email}"
        );
    }
    let page = m.t.get_html("/admin/libraries").await;
    assert!(!page.contains("apply-plan-grants"), "{page}");
    scan(&m).await;
    assert!(kinds_for(&drift(&m).await, "ann@example.com").is_empty());
}
