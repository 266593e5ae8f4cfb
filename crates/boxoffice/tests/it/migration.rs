//! Moving customers between servers (operations §4.1) on the fakes: the target gets the plan's
//! libraries, the source keeps nothing, refusals name every blocking reason, and a failing target
//! leaves the source in place until a retry completes the move.

use crate::servers::{MediaTest, media_test};
use boxoffice_app::audit::Actor;
use boxoffice_app::subscriptions::{CustomerEdit, MigrationInput};
use boxoffice_fakes::{FaultAction, FaultRule, JellyfinFake, World};
use boxoffice_store::{Db, affected};
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::BTreeSet;

const STANDARD: i64 = 2;
/// The built-in "Premium 4K" group, which the Basic plan does not use.
const PREMIUM: i64 = 3;

async fn exec(db: &Db, sql: String) {
    affected!(db.ex(), |e| sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
        .execute(e)
        .await)
    .expect("sql");
}

/// Plans by plain SQL, as in the lifecycle tests: the plans module is another feature's.
pub(crate) async fn basic_plan(db: &Db) {
    exec(db, "INSERT INTO plans (id, name, cost_minor, currency, duration_unit, duration_count, downloads, created_at, updated_at) VALUES (1, 'Basic', 1000, 'USD', 'days', 30, TRUE, 0, 0)".into()).await;
    exec(db, format!("INSERT INTO plan_library_groups (plan_id, library_group_id, grace) VALUES (1, {STANDARD}, FALSE)")).await;
}

/// Opens the server and puts its "Movies" library in the Standard group (`grouped`) and every
/// other library in Premium 4K, so only "Movies" serves the Basic plan.
pub(crate) async fn open(db: &Db, server: i64, grouped: bool) {
    exec(
        db,
        format!(
            "UPDATE servers SET enabled = TRUE, allow_new_subscriptions = TRUE WHERE id = {server}"
        ),
    )
    .await;
    exec(
        db,
        format!("UPDATE libraries SET library_group_id = {PREMIUM} WHERE server_id = {server}"),
    )
    .await;
    if grouped {
        exec(db, format!("UPDATE libraries SET library_group_id = {STANDARD} WHERE server_id = {server} AND name = 'Movies'")).await;
    }
}

pub(crate) async fn add_jellyfin(m: &MediaTest, jf: &JellyfinFake) -> i64 {
    let (s, v) = m
        .api(
            Method::POST,
            "/servers",
            Some(json!({"platform": "jellyfin", "url": jf.url(), "api_key": jf.api_key()})),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    m.t.run_pending_jobs().await;
    v["id"].as_i64().expect("id")
}

pub(crate) async fn invite(m: &MediaTest, email: &str, server: i64) -> i64 {
    let (s, v) = m
        .api(
            Method::POST,
            "/invites",
            Some(json!({"email": email, "plan_id": 1, "server_id": server})),
        )
        .await;
    assert!(s == 201 || s == 200, "{s} {v}");
    m.t.run_pending_jobs().await;
    v["customer_id"].as_i64().expect("customer id")
}

pub(crate) fn folders(jf: &JellyfinFake, name: &str) -> Option<BTreeSet<String>> {
    let u = jf.user(name)?;
    let ids: Vec<String> =
        serde_json::from_value(u.policy["EnabledFolders"].clone()).unwrap_or_default();
    let libs = jf.libraries();
    Some(
        ids.iter()
            .filter_map(|id| libs.iter().find(|l| &l.id == id || &l.guid == id))
            .map(|l| l.name.clone())
            .collect(),
    )
}

pub(crate) fn movies() -> Option<BTreeSet<String>> {
    Some(BTreeSet::from(["Movies".to_string()]))
}

async fn migrate(m: &MediaTest, source: i64, target: i64) -> (u16, Value) {
    m.api(
        Method::POST,
        "/migrations",
        Some(json!({"source_server_id": source, "target_server_id": target})),
    )
    .await
}

async fn shares_of(m: &MediaTest, customer: i64) -> Value {
    let (s, v) = m
        .api(Method::GET, &format!("/customers/{customer}"), None)
        .await;
    assert_eq!(s, 200, "{v}");
    v["shares"].clone()
}

#[tokio::test]
async fn jellyfin_to_jellyfin_moves_the_libraries_and_leaves_nothing_on_the_source() {
    let m = media_test().await;
    let other = World::seed_default().await.expect("second world");
    let db = &m.t.app.db;
    basic_plan(db).await;
    let source = add_jellyfin(&m, &m.world.jellyfin).await;
    open(db, source, true).await;
    let target = add_jellyfin(&m, &other.jellyfin).await;
    open(db, target, true).await;
    let ann = invite(&m, "ann@example.com", source).await;
    assert_eq!(folders(&m.world.jellyfin, "ann@example.com"), movies());

    let (s, v) = migrate(&m, source, target).await;
    assert_eq!(s, 202, "{v}");
    m.t.run_pending_jobs().await;

    assert_eq!(folders(&m.world.jellyfin, "ann@example.com"), None);
    assert_eq!(folders(&other.jellyfin, "ann@example.com"), movies());
    let (s, v) = m
        .api(Method::GET, &format!("/migrations/{}", v["id"]), None)
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["state"], "done", "{v}");
    assert_eq!(
        (v["moved"].as_i64(), v["failed"].as_i64()),
        (Some(1), Some(0))
    );
    let shares = shares_of(&m, ann).await;
    let state_on = |server: i64| {
        shares
            .as_array()
            .and_then(|a| a.iter().find(|s| s["server_id"] == json!(server)))
            .map(|s| s["state"].clone())
    };
    assert_eq!(state_on(source), Some(json!("removed")), "{shares}");
    assert_eq!(state_on(target), Some(json!("active")), "{shares}");
    // Payments are untouched and the customer is still active.
    let (_, c) = m.api(Method::GET, &format!("/customers/{ann}"), None).await;
    assert_eq!(c["payments"].as_array().map(Vec::len), Some(1), "{c}");
    assert_eq!(c["status"], "active");

    // Running the job again (a crash replay) invites nobody twice.
    let creates = || {
        other
            .jellyfin
            .requests()
            .iter()
            .filter(|r| r.path == "/Users/New")
            .count()
    };
    let before = creates();
    let id = v["id"].as_i64().expect("id");
    m.t.app.run_migration(id).await.expect("re-run");
    assert_eq!(creates(), before);
    assert_eq!(folders(&other.jellyfin, "ann@example.com"), movies());
}

#[tokio::test]
async fn a_target_without_the_plans_groups_is_refused() {
    let m = media_test().await;
    let other = World::seed_default().await.expect("second world");
    let db = &m.t.app.db;
    basic_plan(db).await;
    let source = add_jellyfin(&m, &m.world.jellyfin).await;
    open(db, source, true).await;
    let target = add_jellyfin(&m, &other.jellyfin).await;
    open(db, target, false).await;
    invite(&m, "bea@example.com", source).await;
    let (s, v) = migrate(&m, source, target).await;
    assert_eq!(s, 422, "{v}");
    let msg = v["error"]["message"].as_str().unwrap_or_default();
    assert!(msg.contains("plan \"Basic\" cannot be served"), "{msg}");
    assert_eq!(folders(&m.world.jellyfin, "bea@example.com"), movies());
}

#[tokio::test]
async fn a_failing_target_leaves_the_source_and_a_retry_completes_the_move() {
    let m = media_test().await;
    let other = World::seed_default().await.expect("second world");
    let db = &m.t.app.db;
    basic_plan(db).await;
    let source = add_jellyfin(&m, &m.world.jellyfin).await;
    open(db, source, true).await;
    let target = add_jellyfin(&m, &other.jellyfin).await;
    open(db, target, true).await;
    invite(&m, "cy@example.com", source).await;
    other.jellyfin.add_fault(FaultRule::path(
        "/Users/New",
        FaultAction::Status {
            status: 503,
            body: None,
        },
    ));
    let row =
        m.t.app
            .start_migration(
                &Actor::system(),
                &MigrationInput {
                    source_server_id: source,
                    target_server_id: target,
                    customer_ids: None,
                },
            )
            .await
            .expect("start");
    m.t.run_pending_jobs().await;
    let view = m.t.app.migration(row.id).await.expect("migration");
    assert_eq!(view.row.state, "done");
    assert_eq!(view.items[0].outcome, "failed", "{:?}", view.items);
    assert_eq!(folders(&m.world.jellyfin, "cy@example.com"), movies());
    assert_eq!(folders(&other.jellyfin, "cy@example.com"), None);

    other.jellyfin.clear_faults();
    m.t.app
        .retry_migration(&Actor::system(), row.id)
        .await
        .expect("retry");
    m.t.run_pending_jobs().await;
    let view = m.t.app.migration(row.id).await.expect("migration");
    assert_eq!(view.items[0].outcome, "moved", "{:?}", view.items);
    assert_eq!(folders(&m.world.jellyfin, "cy@example.com"), None);
    assert_eq!(folders(&other.jellyfin, "cy@example.com"), movies());
}

#[tokio::test]
async fn plex_to_jellyfin_needs_the_jellyfin_username_and_then_moves() {
    let m = media_test().await;
    let db = &m.t.app.db;
    basic_plan(db).await;
    let plex = m.add_plex_server_via_page().await;
    open(db, plex, true).await;
    let jf = add_jellyfin(&m, &m.world.jellyfin).await;
    open(db, jf, true).await;
    let dee = invite(&m, "dee@example.com", plex).await;
    let invited = || {
        m.world
            .plex_tv
            .shares()
            .into_iter()
            .filter(|s| s.invited_email == "dee@example.com")
            .count()
    };
    assert_eq!(invited(), 1);
    // The invite filled every identity with the e-mail; this customer has no Jellyfin one.
    let edit = |jellyfin: &str| CustomerEdit {
        jellyfin_username: Some(jellyfin.into()),
        ..CustomerEdit::default()
    };
    m.t.app
        .edit_customer(&Actor::system(), dee, &edit(""))
        .await
        .expect("edit");

    let (s, v) = migrate(&m, plex, jf).await;
    assert_eq!(s, 422, "{v}");
    let msg = v["error"]["message"].as_str().unwrap_or_default();
    assert!(
        msg.contains("needs every user's Jellyfin e-mail or username; missing for dee@example.com"),
        "{msg}"
    );
    assert_eq!(invited(), 1);

    m.t.app
        .edit_customer(&Actor::system(), dee, &edit("dee"))
        .await
        .expect("edit");
    let (s, v) = migrate(&m, plex, jf).await;
    assert_eq!(s, 202, "{v}");
    m.t.run_pending_jobs().await;
    assert_eq!(invited(), 0, "no share left on the Plex server");
    assert_eq!(folders(&m.world.jellyfin, "dee"), movies());
}

#[tokio::test]
async fn the_server_page_offers_the_migration_and_the_confirm_step_lists_the_preconditions() {
    let m = media_test().await;
    let other = World::seed_default().await.expect("second world");
    let db = &m.t.app.db;
    basic_plan(db).await;
    let source = add_jellyfin(&m, &m.world.jellyfin).await;
    open(db, source, true).await;
    let target = add_jellyfin(&m, &other.jellyfin).await;
    open(db, target, false).await;
    invite(&m, "eve@example.com", source).await;
    let page =
        m.t.get(&format!("/admin/servers/{source}"))
            .await
            .text()
            .await
            .unwrap_or_default();
    assert!(page.contains("id=\"migrate-users\""), "{page}");
    let confirm =
        m.t.get(&format!(
            "/admin/servers/{source}/migrate?target_server_id={target}&scope=all"
        ))
        .await
        .text()
        .await
        .unwrap_or_default();
    assert!(
        confirm.contains("plan &#34;Basic&#34; cannot be served")
            || confirm.contains("plan &quot;Basic&quot; cannot be served"),
        "{confirm}"
    );
    assert!(
        !confirm.contains("id=\"migrate-confirm\""),
        "no start button while blocked"
    );

    open(db, target, true).await;
    let confirm =
        m.t.get(&format!(
            "/admin/servers/{source}/migrate?target_server_id={target}&scope=all"
        ))
        .await
        .text()
        .await
        .unwrap_or_default();
    assert!(confirm.contains("id=\"migrate-ok\""), "{confirm}");
    let r =
        m.t.post_form(
            &format!("/admin/servers/{source}/migrate?target_server_id={target}&scope=all"),
            &format!("/admin/servers/{source}/migrate"),
            &[
                ("target_server_id", &target.to_string()),
                ("scope", "all"),
                ("customer_ids", ""),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    m.t.run_pending_jobs().await;
    assert_eq!(folders(&other.jellyfin, "eve@example.com"), movies());
    let page =
        m.t.get(&format!("/admin/servers/{source}"))
            .await
            .text()
            .await
            .unwrap_or_default();
    assert!(page.contains("<td>done</td>"), "{page}");
}
