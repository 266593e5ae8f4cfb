//! The subscription lifecycle on the fakes with the test clock: manual invite, the share job,
//! hourly expiry, deletion after N days, renewal, plan change, failures and capacity.

use crate::servers::{MediaTest, media_test};
use boxoffice_app::audit::Actor;
use boxoffice_app::subscriptions::RenewInput;
use boxoffice_domain::selection::NO_CAPACITY_TEXT;
use boxoffice_fakes::{FaultAction, FaultRule};
use boxoffice_store::{Db, affected};
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::BTreeSet;

const STANDARD: i64 = 2;
const PREMIUM: i64 = 3;

pub(crate) async fn exec(db: &Db, sql: String) {
    affected!(db.ex(), |e| sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
        .execute(e)
        .await)
    .expect("sql");
}

/// Plans are written by plain SQL: the plans module belongs to another feature.
pub(crate) async fn plan(db: &Db, id: i64, name: &str, cost: i64, groups: &[i64], grace: &[i64]) {
    exec(db, format!("INSERT INTO plans (id, name, cost_minor, currency, duration_unit, duration_count, downloads, created_at, updated_at) VALUES ({id}, '{name}', {cost}, 'USD', 'days', 30, TRUE, 0, 0)")).await;
    for (g, is_grace) in groups
        .iter()
        .map(|g| (g, false))
        .chain(grace.iter().map(|g| (g, true)))
    {
        exec(db, format!("INSERT INTO plan_library_groups (plan_id, library_group_id, grace) VALUES ({id}, {g}, {is_grace})")).await;
    }
}

/// Puts libraries into groups by name and opens the server to new subscriptions.
pub(crate) async fn open_server(db: &Db, server: i64, groups: &[(&str, i64)]) {
    exec(
        db,
        format!(
            "UPDATE servers SET enabled = TRUE, allow_new_subscriptions = TRUE WHERE id = {server}"
        ),
    )
    .await;
    for (name, g) in groups {
        exec(db, format!("UPDATE libraries SET library_group_id = {g} WHERE server_id = {server} AND name = '{name}'")).await;
    }
}

pub(crate) async fn jellyfin(m: &MediaTest) -> i64 {
    let jf = m.add_jellyfin().await;
    m.t.run_pending_jobs().await;
    open_server(&m.t.app.db, jf, &[("Movies", STANDARD), ("Shows", PREMIUM)]).await;
    plan(&m.t.app.db, 1, "Basic", 1000, &[STANDARD], &[]).await;
    plan(&m.t.app.db, 2, "Premium", 2000, &[STANDARD, PREMIUM], &[]).await;
    jf
}

pub(crate) async fn invite(m: &MediaTest, body: Value) -> Value {
    let (s, v) = m.api(Method::POST, "/invites", Some(body)).await;
    assert!(s == 201 || s == 200, "{s} {v}");
    v
}

pub(crate) async fn customer(m: &MediaTest, id: i64) -> Value {
    let (s, v) = m.api(Method::GET, &format!("/customers/{id}"), None).await;
    assert_eq!(s, 200, "{v}");
    v
}

/// The folders the Jellyfin fake shares with a user, by library name; None when no such user.
fn jf_folders(m: &MediaTest, name: &str) -> Option<BTreeSet<String>> {
    let u = m.world.jellyfin.user(name)?;
    let ids: Vec<String> =
        serde_json::from_value(u.policy["EnabledFolders"].clone()).unwrap_or_default();
    let libs = m.world.jellyfin.libraries();
    Some(
        ids.iter()
            .filter_map(|id| libs.iter().find(|l| &l.id == id || &l.guid == id))
            .map(|l| l.name.clone())
            .collect(),
    )
}

fn names(v: &[&str]) -> Option<BTreeSet<String>> {
    Some(v.iter().map(|s| s.to_string()).collect())
}

pub(crate) async fn set(m: &MediaTest, key: &str, value: &str) {
    m.t.app
        .set_setting(&Actor::system(), key, value)
        .await
        .expect("setting");
}

#[tokio::test]
async fn a_new_customer_is_shared_exactly_the_plans_libraries_on_jellyfin() {
    let m = media_test().await;
    jellyfin(&m).await;
    let v = invite(
        &m,
        json!({"email": "ann@example.com", "plan_id": 1, "transaction_id": "tx-ann"}),
    )
    .await;
    assert!(v["no_capacity"].is_null(), "{v}");
    m.t.run_pending_jobs().await;
    assert_eq!(jf_folders(&m, "ann@example.com"), names(&["Movies"]));
    let u = m.world.jellyfin.user("ann@example.com").expect("user");
    assert!(!u.flag("EnableAllFolders") && u.flag("EnableContentDownloading"));

    // The same request again (a client retry) writes nothing and invites nobody twice.
    let again = invite(
        &m,
        json!({"email": "ann@example.com", "plan_id": 1, "transaction_id": "tx-ann"}),
    )
    .await;
    assert_eq!(again["replayed"], json!(true));
    m.t.run_pending_jobs().await;
    let c = customer(&m, v["customer_id"].as_i64().expect("id")).await;
    assert_eq!(c["payments"].as_array().map(Vec::len), Some(1), "{c}");
    assert_eq!(c["status"], "active");
    assert_eq!(c["shares"][0]["state"], "active", "{c}");
    assert_eq!(c["shares"][0]["applied"], json!(true));
    assert_eq!(
        m.world
            .jellyfin
            .users()
            .iter()
            .filter(|u| u.name == "ann@example.com")
            .count(),
        1
    );
    let creates = m
        .world
        .jellyfin
        .requests()
        .iter()
        .filter(|r| r.path == "/Users/New")
        .count();
    assert_eq!(creates, 1);
}

#[tokio::test]
async fn a_new_customer_is_invited_to_exactly_the_plans_libraries_on_plex() {
    let m = media_test().await;
    let server = m.add_plex_server_via_page().await;
    let alpha = &m.world.plex_servers[0];
    open_server(
        &m.t.app.db,
        server,
        &[
            ("Movies", STANDARD),
            ("TV Shows", STANDARD),
            ("Movies 4K", PREMIUM),
            ("Home Videos", 1),
        ],
    )
    .await;
    plan(&m.t.app.db, 1, "Basic", 1000, &[STANDARD], &[]).await;

    let v = invite(&m, json!({"email": "bob@example.com", "plan_id": 1})).await;
    assert_eq!(v["server_id"], json!(server), "{v}");
    m.t.run_pending_jobs().await;
    let shares: Vec<_> = m
        .world
        .plex_tv
        .shares()
        .into_iter()
        .filter(|s| s.invited_email == "bob@example.com")
        .collect();
    assert_eq!(shares.len(), 1, "{shares:?}");
    let want: BTreeSet<i64> = alpha
        .libraries()
        .into_iter()
        .filter(|l| l.title == "Movies" || l.title == "TV Shows")
        .map(|l| l.global_id)
        .collect();
    assert_eq!(
        shares[0]
            .section_ids
            .iter()
            .copied()
            .collect::<BTreeSet<_>>(),
        want
    );
    assert!(!shares[0].all_libraries && shares[0].settings.allow_sync);
    let c = customer(&m, v["customer_id"].as_i64().expect("id")).await;
    assert_eq!(c["shares"][0]["state"], "invited", "{c}");
}

#[tokio::test]
async fn an_expired_subscription_removes_every_share_and_a_renewal_restores_the_same_libraries() {
    let m = media_test().await;
    jellyfin(&m).await;
    set(&m, "media.delete_expired_after_days", "3").await;
    let v = invite(&m, json!({"email": "cy@example.com", "plan_id": 1})).await;
    let id = v["customer_id"].as_i64().expect("id");
    m.t.run_pending_jobs().await;
    let user_id = m.world.jellyfin.user("cy@example.com").expect("user").id;

    m.t.advance_clock(time::Duration::days(29));
    m.t.app.run_expiry().await.expect("expiry");
    m.t.run_pending_jobs().await;
    assert_eq!(
        jf_folders(&m, "cy@example.com"),
        names(&["Movies"]),
        "still paid"
    );

    m.t.advance_clock(time::Duration::days(1) + time::Duration::minutes(30));
    m.t.app.run_expiry().await.expect("expiry");
    m.t.run_pending_jobs().await;
    assert_eq!(
        jf_folders(&m, "cy@example.com"),
        names(&[]),
        "unshared within the hour"
    );
    let c = customer(&m, id).await;
    assert_eq!(
        (c["status"].as_str(), c["shares"][0]["state"].as_str()),
        (Some("expired"), Some("grace")),
        "{c}"
    );

    m.t.app
        .renew(&Actor::system(), id, RenewInput::default())
        .await
        .expect("renew");
    m.t.run_pending_jobs().await;
    assert_eq!(jf_folders(&m, "cy@example.com"), names(&["Movies"]));
    assert_eq!(
        m.world.jellyfin.user("cy@example.com").expect("user").id,
        user_id,
        "the same user, not a new one"
    );
    let c = customer(&m, id).await;
    assert_eq!(
        (c["status"].as_str(), c["shares"][0]["state"].as_str()),
        (Some("active"), Some("active")),
        "{c}"
    );
}

#[tokio::test]
async fn an_expired_customer_is_deleted_from_the_server_after_the_configured_days() {
    let m = media_test().await;
    jellyfin(&m).await;
    set(&m, "media.delete_expired_after_days", "3").await;
    let v = invite(&m, json!({"email": "dee@example.com", "plan_id": 1})).await;
    let id = v["customer_id"].as_i64().expect("id");
    m.t.run_pending_jobs().await;
    m.t.advance_clock(time::Duration::days(30) + time::Duration::minutes(5));
    m.t.app.run_expiry().await.expect("expiry");
    m.t.run_pending_jobs().await;
    assert_eq!(jf_folders(&m, "dee@example.com"), names(&[]));

    m.t.advance_clock(time::Duration::days(2));
    m.t.app.run_expiry().await.expect("expiry");
    m.t.run_pending_jobs().await;
    assert!(
        m.world.jellyfin.user("dee@example.com").is_some(),
        "kept for 3 days"
    );

    m.t.advance_clock(time::Duration::days(1));
    m.t.app.run_expiry().await.expect("expiry");
    m.t.run_pending_jobs().await;
    assert!(m.world.jellyfin.user("dee@example.com").is_none());
    assert_eq!(customer(&m, id).await["shares"][0]["state"], "removed");
}

#[tokio::test]
async fn with_zero_days_an_expired_customer_is_removed_at_once() {
    let m = media_test().await;
    jellyfin(&m).await;
    invite(&m, json!({"email": "eve@example.com", "plan_id": 1})).await;
    m.t.run_pending_jobs().await;
    m.t.advance_clock(time::Duration::days(31));
    m.t.app.run_expiry().await.expect("expiry");
    m.t.run_pending_jobs().await;
    assert!(m.world.jellyfin.user("eve@example.com").is_none());
}

#[tokio::test]
async fn permanent_users_never_expire() {
    let m = media_test().await;
    jellyfin(&m).await;
    invite(
        &m,
        json!({"email": "pat@example.com", "plan_id": 1, "permanent": true}),
    )
    .await;
    m.t.run_pending_jobs().await;
    m.t.advance_clock(time::Duration::days(400));
    let report = m.t.app.run_expiry().await.expect("expiry");
    assert_eq!((report.removed, report.restricted), (0, 0));
    m.t.run_pending_jobs().await;
    assert_eq!(jf_folders(&m, "pat@example.com"), names(&["Movies"]));
}

#[tokio::test]
async fn a_plan_change_moves_the_user_to_the_new_libraries_with_the_credit_note() {
    let m = media_test().await;
    jellyfin(&m).await;
    let v = invite(&m, json!({"email": "fay@example.com", "plan_id": 1})).await;
    let id = v["customer_id"].as_i64().expect("id");
    m.t.run_pending_jobs().await;
    m.t.advance_clock(time::Duration::days(15));
    let changed =
        m.t.app
            .change_plan(&Actor::system(), id, 2)
            .await
            .expect("change");
    // Half of $10.00 unused: a $5.00 credit buys 7.5 days at $20.00 per 30 days.
    assert_eq!(changed.credit_minor, 500);
    assert!(
        changed.note.contains("Includes a credit of") && changed.note.contains("Basic"),
        "{}",
        changed.note
    );
    m.t.run_pending_jobs().await;
    assert_eq!(
        jf_folders(&m, "fay@example.com"),
        names(&["Movies", "Shows"])
    );
    let c = customer(&m, id).await;
    assert_eq!(c["plan_id"], json!(2));
    assert!(
        c["payments"][0]["notes"]
            .as_str()
            .unwrap_or_default()
            .contains("credit of"),
        "{c}"
    );
}

#[tokio::test]
async fn after_a_plan_change_no_two_coverage_periods_overlap() {
    let m = media_test().await;
    jellyfin(&m).await;
    let v = invite(&m, json!({"email": "gus@example.com", "plan_id": 1})).await;
    let id = v["customer_id"].as_i64().expect("id");
    // A renewal paid ahead: days 30 to 60 on Basic.
    m.t.app
        .renew(&Actor::system(), id, RenewInput::default())
        .await
        .expect("renew");
    m.t.advance_clock(time::Duration::days(15));
    m.t.app
        .change_plan(&Actor::system(), id, 2)
        .await
        .expect("change");
    let c = customer(&m, id).await;
    let payments = c["payments"].as_array().expect("payments");
    assert_eq!(payments.len(), 3, "nothing paid is dropped: {c}");
    let mut periods: Vec<(i64, i64)> = payments
        .iter()
        .map(|p| {
            (
                p["period_from"].as_i64().expect("from"),
                p["period_to"].as_i64().expect("to"),
            )
        })
        .collect();
    periods.sort();
    for w in periods.windows(2) {
        assert!(w[0].1 <= w[1].0, "{:?} overlaps {:?}: {c}", w[0], w[1]);
    }
    // The renewal's $10.00 buys 15 days at Premium's $20.00 per 30 days, after the new payment
    // (30 days + 7.5 days of credit): coverage runs without a gap to day 15 + 52.5.
    let day = 86_400;
    let last = periods.last().expect("last").1;
    assert_eq!(
        last - periods[1].0,
        30 * day + day * 15 / 2 + 15 * day,
        "{c}"
    );
    assert_eq!(c["covered_until"], json!(last), "{c}");
}

#[tokio::test]
async fn a_failing_media_server_delays_a_share_but_never_loses_or_doubles_it() {
    let m = media_test().await;
    jellyfin(&m).await;
    m.world.jellyfin.add_fault(
        FaultRule::path(
            "/Users/New",
            FaultAction::Status {
                status: 503,
                body: None,
            },
        )
        .method("POST")
        .times(1),
    );
    m.world.jellyfin.add_fault(
        FaultRule::path("/Users", FaultAction::RateLimit { retry_after: 120 })
            .method("GET")
            .times(1),
    );
    let v = invite(&m, json!({"email": "gus@example.com", "plan_id": 1})).await;
    let id = v["customer_id"].as_i64().expect("id");
    m.t.run_pending_jobs().await;
    assert!(m.world.jellyfin.user("gus@example.com").is_none());
    let c = customer(&m, id).await;
    assert!(
        c["shares"][0]["last_error"].as_str().is_some(),
        "the failure is visible: {c}"
    );
    assert_eq!(c["shares"][0]["applied"], json!(false));

    for _ in 0..4 {
        m.t.advance_clock(time::Duration::hours(1));
        m.t.run_pending_jobs().await;
    }
    assert_eq!(jf_folders(&m, "gus@example.com"), names(&["Movies"]));
    assert_eq!(
        m.world
            .jellyfin
            .users()
            .iter()
            .filter(|u| u.name == "gus@example.com")
            .count(),
        1
    );
    // A user whose setup was cut short (the rate limit hit the policy read) is deleted before
    // the retry creates it again, so the server never holds a second user nor one with the
    // server's defaults: every create but the last is matched by a delete.
    let requests = m.world.jellyfin.requests();
    let ok = |method: &str, path: &dyn Fn(&str) -> bool| {
        requests
            .iter()
            .filter(|r| r.method == method && path(&r.path) && r.status.is_some_and(|s| s < 300))
            .count()
    };
    let created = ok("POST", &|p| p == "/Users/New");
    let deleted = ok("DELETE", &|p| p.starts_with("/Users/") && p != "/Users/New");
    assert_eq!(created - deleted, 1, "{requests:?}");
    let c = customer(&m, id).await;
    assert_eq!(
        (
            c["shares"][0]["state"].as_str(),
            &c["shares"][0]["last_error"]
        ),
        (Some("active"), &Value::Null),
        "{c}"
    );
}

#[tokio::test]
async fn a_paid_import_with_no_capacity_records_the_admin_event_with_the_references_text() {
    let m = media_test().await;
    let jf = jellyfin(&m).await;
    exec(
        &m.t.app.db,
        format!("UPDATE servers SET allow_new_subscriptions = FALSE WHERE id = {jf}"),
    )
    .await;
    let v = invite(
        &m,
        json!({"email": "hal@example.com", "plan_id": 1, "transaction_id": "PAYID-HAL", "wait_for_server": true}),
    )
    .await;
    let text = format!("{NO_CAPACITY_TEXT} Basic");
    assert_eq!(v["no_capacity"], json!(text), "{v}");
    let c = customer(&m, v["customer_id"].as_i64().expect("id")).await;
    assert_eq!(
        c["shares"].as_array().map(Vec::len),
        Some(0),
        "left without a share: {c}"
    );
    assert_eq!(c["status"], "active", "the payment stands");
    assert_eq!(c["events"][0]["message"], json!(text));
    assert_eq!(c["events"][0]["kind"], "no_capacity");
}

#[tokio::test]
async fn deleting_a_customer_removes_their_shares_first() {
    let m = media_test().await;
    jellyfin(&m).await;
    let v = invite(&m, json!({"email": "ida@example.com", "plan_id": 1})).await;
    let id = v["customer_id"].as_i64().expect("id");
    m.t.run_pending_jobs().await;
    m.t.app
        .delete_customer(&Actor::system(), id)
        .await
        .expect("delete");
    for _ in 0..3 {
        m.t.run_pending_jobs().await;
        m.t.advance_clock(time::Duration::minutes(10));
    }
    assert!(m.world.jellyfin.user("ida@example.com").is_none());
    let (s, _) = m.api(Method::GET, &format!("/customers/{id}"), None).await;
    assert_eq!(s, 404);
}
