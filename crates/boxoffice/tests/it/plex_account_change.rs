//! Plex bans on the fakes (operations §4.3, §4.4): a flagged customer switches to a new Plex
//! account verified on plex.tv, a customer who lost access re-invites themselves, an admin
//! re-invites a whole server, and a migration to a Plex target skips expired customers.

use crate::helpers::{client, csrf_from, location};
use crate::servers::{MediaTest, media_test};
use boxoffice_app::audit::Actor;
use boxoffice_domain::RoleKind;
use boxoffice_fakes::{JellyfinFake, PlexAccountSeed, World};
use boxoffice_store::{Db, affected};
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::BTreeSet;

const STANDARD: i64 = 2;
const PREMIUM: i64 = 3;
const PASSWORD: &str = "Cust0mer-Secret!";

async fn exec(db: &Db, sql: String) {
    affected!(db.ex(), |e| sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
        .execute(e)
        .await)
    .expect("sql");
}

/// The Basic plan (Standard group only), by plain SQL as the other lifecycle tests do.
async fn basic_plan(db: &Db) {
    exec(db, "INSERT INTO plans (id, name, cost_minor, currency, duration_unit, duration_count, downloads, created_at, updated_at) VALUES (1, 'Basic', 1000, 'USD', 'days', 30, TRUE, 0, 0)".into()).await;
    exec(db, format!("INSERT INTO plan_library_groups (plan_id, library_group_id, grace) VALUES (1, {STANDARD}, FALSE)")).await;
}

/// Opens the server with only "Movies" in the Basic plan's group.
async fn open(db: &Db, server: i64) {
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
    exec(db, format!("UPDATE libraries SET library_group_id = {STANDARD} WHERE server_id = {server} AND name = 'Movies'")).await;
}

async fn add_plex(m: &MediaTest) -> i64 {
    let server = m.add_plex_server_via_page().await;
    open(&m.t.app.db, server).await;
    server
}

async fn add_jellyfin(m: &MediaTest, jf: &JellyfinFake) -> i64 {
    let (s, v) = m
        .api(
            Method::POST,
            "/servers",
            Some(json!({"platform": "jellyfin", "url": jf.url(), "api_key": jf.api_key()})),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    m.t.run_pending_jobs().await;
    let id = v["id"].as_i64().expect("id");
    open(&m.t.app.db, id).await;
    id
}

async fn invite(m: &MediaTest, email: &str, server: i64) -> i64 {
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

async fn set(m: &MediaTest, key: &str, value: &str) {
    m.t.app
        .set_setting(&Actor::system(), key, value)
        .await
        .expect("setting");
}

/// Library titles plex.tv shares with `who` (e-mail or username) on any server; None when no
/// share names them.
fn plex_libraries(m: &MediaTest, who: &str) -> Option<BTreeSet<String>> {
    let state = m.world.plex_tv.state();
    let mut found = None;
    for a in state["access"].as_array().cloned().unwrap_or_default() {
        let is = |k: &str| a[k].as_str().is_some_and(|v| v.eq_ignore_ascii_case(who));
        if is("email") || is("username") {
            let libs: BTreeSet<String> = a["libraries"]
                .as_array()
                .map(|l| {
                    l.iter()
                        .filter_map(|x| x.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            found.get_or_insert_with(BTreeSet::new).extend(libs);
        }
    }
    found
}

fn shares_named(m: &MediaTest, who: &str) -> usize {
    m.world
        .plex_tv
        .shares()
        .iter()
        .filter(|s| s.invited_email.eq_ignore_ascii_case(who))
        .count()
}

fn movies() -> Option<BTreeSet<String>> {
    Some(BTreeSet::from(["Movies".to_string()]))
}

/// Removes a customer's share on plex.tv as the owner would in Plex Web.
async fn remove_on_plex(m: &MediaTest, who: &str) {
    let ids: Vec<i64> = m
        .world
        .plex_tv
        .shares()
        .iter()
        .filter(|s| s.invited_email.eq_ignore_ascii_case(who))
        .map(|s| s.id)
        .collect();
    assert!(!ids.is_empty(), "{who} has a share to remove");
    let http = client();
    for id in ids {
        let r = http
            .delete(format!(
                "{}/api/v2/shared_servers/{id}",
                m.world.plex_tv.url()
            ))
            .header("X-Plex-Token", m.world.plex_tv.token())
            .header("Accept", "application/json")
            .send()
            .await
            .expect("delete share");
        assert!(r.status().is_success(), "{}", r.status());
    }
}

/// A customer's own browser session on the site.
struct Customer {
    http: reqwest::Client,
    base: String,
}

impl Customer {
    async fn login(m: &MediaTest, email: &str) -> Customer {
        m.t.app
            .create_login(&Actor::cli(), email, PASSWORD, RoleKind::User)
            .await
            .expect("customer login");
        let c = Customer {
            http: client(),
            base: m.t.base.clone(),
        };
        let r = c
            .post(
                "/login",
                "/login",
                &[("email", email), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(r.status(), 303, "customer login");
        c
    }

    async fn page(&self, path: &str) -> String {
        self.http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("request")
            .text()
            .await
            .unwrap_or_default()
    }

    async fn post(&self, page: &str, action: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let csrf = csrf_from(&self.page(page).await);
        let mut all = fields.to_vec();
        all.push(("csrf", &csrf));
        self.http
            .post(format!("{}{action}", self.base))
            .form(&all)
            .send()
            .await
            .expect("request")
    }
}

/// The new plex.tv account Ann moves to after the ban.
fn fresh_plex_account_for_ann(m: &MediaTest) {
    m.world.plex_tv.register_account(PlexAccountSeed {
        username: "ann-fresh".into(),
        email: "ann.fresh@example.com".into(),
        id: None,
        token: None,
        home: false,
    });
}

async fn flag(m: &MediaTest, customer: i64) {
    let r =
        m.t.post_form(
            &format!("/admin/users/{customer}"),
            &format!("/admin/users/{customer}/plex-account-change"),
            &[("required", "true")],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert!(
        m.t.get_html(&format!("/admin/users/{customer}"))
            .await
            .contains("id=\"plex-change-required\"")
    );
}

#[tokio::test]
async fn a_flagged_customer_switches_to_a_new_plex_account_and_only_it_keeps_the_plans_libraries() {
    let m = media_test().await;
    basic_plan(&m.t.app.db).await;
    let plex = add_plex(&m).await;
    set(&m, "misc.plex_account_change_processing", "true").await;
    let ann = invite(&m, "ann@example.com", plex).await;
    assert_eq!(plex_libraries(&m, "ann@example.com"), movies());
    fresh_plex_account_for_ann(&m);
    let customer = Customer::login(&m, "ann@example.com").await;
    assert!(
        !customer
            .page("/account")
            .await
            .contains("id=\"plex-change-form\""),
        "no banner before the flag"
    );

    flag(&m, ann).await;
    let page = customer.page("/account").await;
    assert!(page.contains("id=\"plex-change-banner\""), "{page}");
    let r = customer
        .post(
            "/account",
            "/account/plex-account",
            &[("plex_email", "Ann.Fresh@example.com")],
        )
        .await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap_or_default());
    assert_eq!(location(&r), "/account?done=plex_changed");
    m.t.run_pending_jobs().await;

    assert_eq!(plex_libraries(&m, "ann.fresh@example.com"), movies());
    assert_eq!(plex_libraries(&m, "ann@example.com"), None);
    assert!(
        !m.t.app
            .requires_plex_account_change(ann)
            .await
            .expect("flag")
    );
    let page = customer.page("/account").await;
    assert!(!page.contains("id=\"plex-change-banner\""), "{page}");
    let (_, c) = m.api(Method::GET, &format!("/customers/{ann}"), None).await;
    assert_eq!(c["shares"][0]["applied"], json!(true), "{c}");
    let events = c["events"].to_string();
    assert!(events.contains("plex_account_changed"), "{events}");
}

#[tokio::test]
async fn an_unknown_used_or_unchanged_plex_account_is_refused_and_nothing_changes() {
    let m = media_test().await;
    basic_plan(&m.t.app.db).await;
    let plex = add_plex(&m).await;
    set(&m, "misc.plex_account_change_processing", "true").await;
    let bea = invite(&m, "bea@example.com", plex).await;
    invite(&m, "cal@example.com", plex).await;
    flag(&m, bea).await;
    let customer = Customer::login(&m, "bea@example.com").await;
    let requests_before = m.world.plex_tv.requests().len();

    let r = customer
        .post(
            "/account",
            "/account/plex-account",
            &[("plex_email", "nobody@example.com")],
        )
        .await;
    assert_eq!(r.status(), 422);
    let page = r.text().await.unwrap_or_default();
    assert!(
        page.contains("no Plex account exists for nobody@example.com"),
        "{page}"
    );
    // Only the lookup reached plex.tv; no job was queued and the share is as it was.
    assert_eq!(m.t.run_pending_jobs().await, 0);
    assert_eq!(m.world.plex_tv.requests().len(), requests_before + 1);
    assert_eq!(plex_libraries(&m, "bea@example.com"), movies());
    assert!(
        m.t.app
            .requires_plex_account_change(bea)
            .await
            .expect("flag")
    );

    for (given, why) in [
        (
            "bea@example.com",
            "this is the Plex account you already use",
        ),
        ("cal@example.com", "already used by another subscriber"),
        ("not-an-email", "is not an e-mail address"),
    ] {
        let err =
            m.t.app
                .change_plex_account(&Actor::system(), bea, given)
                .await
                .expect_err("refused");
        assert!(err.to_string().contains(why), "{given}: {err}");
    }
    assert_eq!(m.t.run_pending_jobs().await, 0);
    let d = m.t.app.customer_detail(bea).await.expect("customer");
    assert_eq!(d.customer.plex_email, "bea@example.com");

    // Guessing is slowed down: after five unknown e-mails plex.tv is not asked for a while.
    for i in 1..5 {
        let err =
            m.t.app
                .change_plex_account(&Actor::system(), bea, &format!("guess{i}@example.com"))
                .await
                .expect_err("unknown");
        assert!(err.to_string().contains("no Plex account exists"), "{err}");
    }
    let asked = m.world.plex_tv.requests().len();
    let r = customer
        .post(
            "/account",
            "/account/plex-account",
            &[("plex_email", "guess6@example.com")],
        )
        .await;
    assert_eq!(r.status(), 429);
    assert_eq!(m.world.plex_tv.requests().len(), asked);

    // With the feature off the flagged customer is told to contact the admin, with no form.
    set(&m, "misc.plex_account_change_processing", "false").await;
    let page = customer.page("/account").await;
    assert!(page.contains("id=\"plex-change-banner\""), "{page}");
    assert!(!page.contains("id=\"plex-change-form\""), "{page}");
}

#[tokio::test]
async fn re_invite_yourself_restores_a_share_removed_on_the_server_once_per_fifteen_minutes() {
    let m = media_test().await;
    basic_plan(&m.t.app.db).await;
    let plex = add_plex(&m).await;
    let dee = invite(&m, "dee@example.com", plex).await;
    let share = m
        .world
        .plex_tv
        .shares()
        .iter()
        .find(|s| s.invited_email == "dee@example.com")
        .map(|s| s.id)
        .expect("share");
    m.world.plex_tv.accept_invite(share).expect("accept");
    // The owner removes dee in Plex Web; reconciliation reports the user missing.
    remove_on_plex(&m, "dee@example.com").await;
    assert_eq!(plex_libraries(&m, "dee@example.com"), None);
    m.t.app.run_reconcile(false).await.expect("scan");

    let customer = Customer::login(&m, "dee@example.com").await;
    let page = customer.page("/account").await;
    assert!(page.contains("id=\"reinvite-form\""), "{page}");
    assert!(page.contains("once every 15 minutes"), "{page}");
    let r = customer.post("/account", "/account/reinvite", &[]).await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/account?done=reinvited");
    m.t.run_pending_jobs().await;
    assert_eq!(plex_libraries(&m, "dee@example.com"), movies());
    assert_eq!(shares_named(&m, "dee@example.com"), 1);

    // Pressed again at once: refused with when it may be pressed again, nothing sent.
    let page = customer.page("/account").await;
    assert!(page.contains("id=\"reinvite-wait\""), "{page}");
    let (s, v) = {
        let token =
            m.t.app
                .create_api_token(&Actor::cli(), "dee@example.com", "tests")
                .await
                .expect("token")
                .secret;
        let r = client()
            .post(m.t.url("/api/v1/me/reinvite"))
            .bearer_auth(token)
            .send()
            .await
            .expect("request");
        (
            r.status().as_u16(),
            r.json::<Value>().await.unwrap_or(Value::Null),
        )
    };
    assert_eq!(s, 429, "{v}");
    assert_eq!(m.t.run_pending_jobs().await, 0);
    let events = m
        .api(Method::GET, &format!("/customers/{dee}"), None)
        .await
        .1["events"]
        .to_string();
    assert!(events.contains("self_reinvite"), "{events}");
}

#[tokio::test]
async fn the_re_invite_button_is_absent_when_the_setting_is_off() {
    let m = media_test().await;
    basic_plan(&m.t.app.db).await;
    let plex = add_plex(&m).await;
    invite(&m, "eli@example.com", plex).await;
    // Never accepted: the invite counts as lost access.
    let customer = Customer::login(&m, "eli@example.com").await;
    assert!(
        customer
            .page("/account")
            .await
            .contains("id=\"reinvite-form\"")
    );
    set(&m, "misc.show_reinvite_button", "false").await;
    let page = customer.page("/account").await;
    assert!(!page.contains("id=\"reinvite"), "{page}");
    let r = customer.post("/account", "/account/reinvite", &[]).await;
    assert_eq!(r.status(), 409);
}

#[tokio::test]
async fn server_re_invite_invites_every_paid_up_customer_once() {
    let m = media_test().await;
    basic_plan(&m.t.app.db).await;
    let plex = add_plex(&m).await;
    invite(&m, "fay@example.com", plex).await;
    invite(&m, "gus@example.com", plex).await;
    let hal = invite(&m, "hal@example.com", plex).await;
    // An expired customer is not re-invited.
    m.t.app
        .cancel_subscription(&Actor::system(), hal)
        .await
        .expect("cancel");
    for who in ["fay@example.com", "gus@example.com"] {
        remove_on_plex(&m, who).await;
    }

    let confirm =
        m.t.get_html(&format!("/admin/servers/{plex}/reinvite"))
            .await;
    assert!(
        confirm.contains("<strong id=\"reinvite-count\">2</strong>"),
        "{confirm}"
    );
    assert!(confirm.contains("id=\"reinvite-warning\""), "{confirm}");
    assert!(confirm.contains("banned"), "{confirm}");
    let page = format!("/admin/servers/{plex}/reinvite");
    let r = m.t.post_form(&page, &page, &[]).await;
    assert_eq!(r.status(), 303);
    // A second click before the jobs ran is refused and queues nothing more.
    let r = m.t.post_form(&page, &page, &[]).await;
    assert_eq!(r.status(), 409);
    let body = r.text().await.unwrap_or_default();
    assert!(body.contains("still running: 2 invite(s) left"), "{body}");
    let (s, v) = m
        .api(Method::POST, &format!("/servers/{plex}/reinvite"), None)
        .await;
    assert_eq!(s, 409, "{v}");

    assert_eq!(m.t.run_pending_jobs().await, 2);
    for who in ["fay@example.com", "gus@example.com"] {
        assert_eq!(plex_libraries(&m, who), movies(), "{who}");
        assert_eq!(shares_named(&m, who), 1, "{who}");
    }
    // After the run a new one may start; users already on the server are not invited again.
    let (s, v) = m
        .api(Method::POST, &format!("/servers/{plex}/reinvite"), None)
        .await;
    assert_eq!((s, v["queued"].as_i64()), (202, Some(2)), "{v}");
    m.t.run_pending_jobs().await;
    for who in ["fay@example.com", "gus@example.com"] {
        assert_eq!(shares_named(&m, who), 1, "{who}");
    }
}

#[tokio::test]
async fn migrating_to_plex_moves_paid_up_customers_and_skips_expired_ones() {
    let m = media_test().await;
    let db = &m.t.app.db;
    basic_plan(db).await;
    let jf = add_jellyfin(&m, &m.world.jellyfin).await;
    let plex = add_plex(&m).await;
    let ivy = invite(&m, "ivy@example.com", jf).await;
    let jon = invite(&m, "jon@example.com", jf).await;
    m.t.app
        .cancel_subscription(&Actor::system(), jon)
        .await
        .expect("cancel");

    // The Users page's Migrate action opens the server's migration form for that user.
    let users = m.t.get_html("/admin/users").await;
    let link = format!("/admin/servers/{jf}?migrate_customer={ivy}#migrate-users");
    assert!(users.contains(&link), "{users}");
    let server_page =
        m.t.get_html(&format!("/admin/servers/{jf}?migrate_customer={ivy}"))
            .await;
    assert!(
        server_page.contains(&format!("name=\"customer_ids\" value=\"{ivy}\"")),
        "{server_page}"
    );

    let (s, v) = m
        .api(
            Method::POST,
            "/migrations",
            Some(json!({"source_server_id": jf, "target_server_id": plex})),
        )
        .await;
    assert_eq!(s, 202, "{v}");
    m.t.run_pending_jobs().await;
    let (_, v) = m
        .api(Method::GET, &format!("/migrations/{}", v["id"]), None)
        .await;
    assert_eq!(v["state"], "done", "{v}");
    assert_eq!(
        (
            v["moved"].as_i64(),
            v["failed"].as_i64(),
            v["skipped"].as_i64()
        ),
        (Some(1), Some(0), Some(1)),
        "{v}"
    );
    assert_eq!(plex_libraries(&m, "ivy@example.com"), movies());
    assert_eq!(plex_libraries(&m, "jon@example.com"), None);
    assert!(m.world.jellyfin.user("ivy@example.com").is_none());
}

#[tokio::test]
async fn a_large_migration_to_plex_warns_about_plex_bans_on_the_confirm_step() {
    let m = media_test().await;
    let db = &m.t.app.db;
    basic_plan(db).await;
    let jf = add_jellyfin(&m, &m.world.jellyfin).await;
    let plex = add_plex(&m).await;
    let other = World::seed_default().await.expect("second world");
    let jf2 = add_jellyfin(&m, &other.jellyfin).await;
    for i in 0..boxoffice_app::subscriptions::PLEX_BAN_WARNING_FROM {
        let (s, v) = m
            .api(
                Method::POST,
                "/invites",
                Some(json!({"email": format!("u{i}@example.com"), "plan_id": 1, "server_id": jf})),
            )
            .await;
        assert!(s == 201 || s == 200, "{s} {v}");
    }
    let confirm =
        |target: i64| format!("/admin/servers/{jf}/migrate?target_server_id={target}&scope=all");
    let to_plex = m.t.get_html(&confirm(plex)).await;
    assert!(
        to_plex.contains("id=\"migrate-plex-ban-warning\""),
        "{to_plex}"
    );
    let to_jellyfin = m.t.get_html(&confirm(jf2)).await;
    assert!(
        !to_jellyfin.contains("migrate-plex-ban-warning"),
        "{to_jellyfin}"
    );
}

#[tokio::test]
async fn bulk_edit_flags_the_filtered_users_for_a_plex_account_change() {
    let m = media_test().await;
    basic_plan(&m.t.app.db).await;
    let plex = add_plex(&m).await;
    let kim = invite(&m, "kim@example.com", plex).await;
    let lou = invite(&m, "lou@example.com", plex).await;
    let fields = [("q", "kim@"), ("set_plex_change", "on")];
    let confirm =
        m.t.post_form("/admin/users", "/admin/users/bulk", &fields)
            .await
            .text()
            .await
            .unwrap_or_default();
    assert!(
        confirm.contains("Require a Plex account change"),
        "{confirm}"
    );
    let r =
        m.t.post_form(
            "/admin/users",
            "/admin/users/bulk/apply",
            &[("q", "kim@"), ("set_plex_change", "on"), ("expected", "1")],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert!(
        m.t.app
            .requires_plex_account_change(kim)
            .await
            .expect("kim")
    );
    assert!(
        !m.t.app
            .requires_plex_account_change(lou)
            .await
            .expect("lou")
    );
    // A flagged user is left out of a server re-invite until they change account.
    let confirm =
        m.t.get_html(&format!("/admin/servers/{plex}/reinvite"))
            .await;
    assert!(
        confirm.contains("<strong id=\"reinvite-count\">1</strong>"),
        "{confirm}"
    );
    assert!(confirm.contains("id=\"reinvite-flagged\""), "{confirm}");
}

#[tokio::test]
async fn a_flagged_customer_is_paid_for_but_not_invited_to_plex_until_the_account_changes() {
    let m = media_test().await;
    basic_plan(&m.t.app.db).await;
    let plex = add_plex(&m).await;
    set(&m, "misc.plex_account_change_processing", "true").await;
    let ann = invite(&m, "ann@example.com", plex).await;
    flag(&m, ann).await;
    // Her coverage runs out: expiry removes the share as for anyone.
    m.t.advance_clock(time::Duration::days(31));
    m.t.app.run_expiry().await.expect("expiry");
    m.t.run_pending_jobs().await;
    assert_eq!(plex_libraries(&m, "ann@example.com"), None);

    // The owner records her renewal: the payment counts, but no invite goes to Plex.
    m.t.login_admin().await;
    let r =
        m.t.post_form(
            &format!("/admin/users/{ann}"),
            &format!("/admin/users/{ann}/renew"),
            &[],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        location(&r),
        format!("/admin/users/{ann}?done=renewed_awaiting_plex_change")
    );
    m.t.run_pending_jobs().await;
    assert_eq!(plex_libraries(&m, "ann@example.com"), None);
    assert_eq!(shares_named(&m, "ann@example.com"), 0);
    let page = m.t.get_html(&location(&r)).await;
    assert!(
        page.contains("must change their Plex account first"),
        "{page}"
    );
    let (_, c) = m.api(Method::GET, &format!("/customers/{ann}"), None).await;
    assert_eq!(c["payments"].as_array().map(Vec::len), Some(2), "{c}");
    assert!(
        c["events"]
            .to_string()
            .contains("awaiting_plex_account_change"),
        "{c}"
    );

    // Once she gives a new Plex account, that account is invited with the plan's libraries.
    fresh_plex_account_for_ann(&m);
    let customer = Customer::login(&m, "ann@example.com").await;
    let r = customer
        .post(
            "/account",
            "/account/plex-account",
            &[("plex_email", "ann.fresh@example.com")],
        )
        .await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap_or_default());
    m.t.run_pending_jobs().await;
    assert_eq!(plex_libraries(&m, "ann.fresh@example.com"), movies());
    assert_eq!(plex_libraries(&m, "ann@example.com"), None);
}
