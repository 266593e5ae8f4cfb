//! The customer detail page and its forms (operations §6.6, §6.7; product §3.2) and the customer
//! API: edit with identity changes applied through the share job on the fakes, renew, plan change
//! with its credit note, cancel, delete (shares first) and the permissions.

use crate::helpers::{TestApp, location};
use crate::servers::{MediaTest, media_test};
use boxoffice_domain::Permission;
use boxoffice_store::{Db, affected};
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::BTreeSet;

const STANDARD: i64 = 2;
const PREMIUM: i64 = 3;
const DAY: i64 = 86_400;

async fn exec(db: &Db, sql: String) {
    affected!(db.ex(), |e| sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
        .execute(e)
        .await)
    .expect("sql");
}

/// A Jellyfin server open to subscriptions with plans 1 (Basic: Movies) and 2 (Premium: both).
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
    for (id, name, cost, groups) in [
        (1, "Basic", 1000, vec![STANDARD]),
        (2, "Premium", 2000, vec![STANDARD, PREMIUM]),
    ] {
        exec(db, format!("INSERT INTO plans (id, name, cost_minor, currency, duration_unit, duration_count, downloads, created_at, updated_at) VALUES ({id}, '{name}', {cost}, 'USD', 'days', 30, TRUE, 0, 0)")).await;
        for g in groups {
            exec(db, format!("INSERT INTO plan_library_groups (plan_id, library_group_id, grace) VALUES ({id}, {g}, FALSE)")).await;
        }
    }
    jf
}

async fn invite(m: &MediaTest, email: &str) -> i64 {
    let (s, v) = m
        .api(
            Method::POST,
            "/invites",
            Some(json!({"email": email, "plan_id": 1})),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    m.t.run_pending_jobs().await;
    v["customer_id"].as_i64().expect("id")
}

async fn customer(m: &MediaTest, id: i64) -> Value {
    let (s, v) = m.api(Method::GET, &format!("/customers/{id}"), None).await;
    assert_eq!(s, 200, "{v}");
    v
}

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

async fn post(t: &TestApp, id: i64, action: &str, fields: &[(&str, &str)]) -> reqwest::Response {
    t.post_form(
        &format!("/admin/users/{id}"),
        &format!("/admin/users/{id}/{action}"),
        fields,
    )
    .await
}

#[tokio::test]
async fn the_detail_page_shows_identities_payments_shares_and_events() {
    let m = media_test().await;
    jellyfin(&m).await;
    let id = invite(&m, "ann@example.com").await;
    let html = m.t.get_html(&format!("/admin/users/{id}")).await;
    assert!(html.contains("ann@example.com"), "{html}");
    assert!(html.contains("id=\"user-status\">active"), "{html}");
    assert!(
        html.contains("10.00 USD") && html.contains("manual"),
        "{html}"
    );
    assert!(html.contains("<td>active</td>"), "{html}");
    for form in [
        "profile-form",
        "renew-form",
        "plan-form",
        "cancel-form",
        "delete-form",
    ] {
        assert!(html.contains(&format!("id=\"{form}\"")), "{form}");
    }
    // The Users page rows link here instead of disabled placeholders.
    let list = m.t.get_html("/admin/users").await;
    assert!(
        list.contains(&format!("href=\"/admin/users/{id}#renew\"")),
        "{list}"
    );
    assert!(!list.contains("title=\"Editing a user comes with the user editor\""));
    assert_eq!(m.t.get("/admin/users/999999").await.status(), 404);
}

#[tokio::test]
async fn changing_the_jellyfin_username_removes_the_old_user_and_invites_the_new() {
    let m = media_test().await;
    jellyfin(&m).await;
    let id = invite(&m, "bea@example.com").await;
    assert_eq!(jf_folders(&m, "bea@example.com"), names(&["Movies"]));
    let r = post(
        &m.t,
        id,
        "profile",
        &[
            ("email", "bea@example.com"),
            ("jellyfin_username", "bea-new"),
            ("notes", "moved account"),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), format!("/admin/users/{id}?done=saved"));
    m.t.run_pending_jobs().await;
    assert!(m.world.jellyfin.user("bea@example.com").is_none());
    assert_eq!(jf_folders(&m, "bea-new"), names(&["Movies"]));
    let c = customer(&m, id).await;
    assert_eq!(c["shares"][0]["state"], "active", "{c}");
    assert_eq!(c["shares"][0]["applied"], json!(true));

    // The same through the API; a profile-only change queues no media work.
    let (s, v) = m
        .api(
            Method::PATCH,
            &format!("/customers/{id}"),
            Some(json!({"jellyfin_username": "bea-third"})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    m.t.run_pending_jobs().await;
    assert!(m.world.jellyfin.user("bea-new").is_none());
    assert_eq!(jf_folders(&m, "bea-third"), names(&["Movies"]));
    let creates = m
        .world
        .jellyfin
        .requests()
        .iter()
        .filter(|r| r.path == "/Users/New")
        .count();
    let (s, _) = m
        .api(
            Method::PATCH,
            &format!("/customers/{id}"),
            Some(json!({"notes": "only notes"})),
        )
        .await;
    assert_eq!(s, 200);
    m.t.run_pending_jobs().await;
    let after = m
        .world
        .jellyfin
        .requests()
        .iter()
        .filter(|r| r.path == "/Users/New")
        .count();
    assert_eq!(creates, after);
    // A bad e-mail is refused with its field, and nothing changes.
    let r = post(&m.t, id, "profile", &[("email", "not-an-email")]).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.expect("body").contains("id=\"user-error\""));
}

#[tokio::test]
async fn a_renewal_extends_from_the_end_of_coverage() {
    let m = media_test().await;
    jellyfin(&m).await;
    let id = invite(&m, "cy@example.com").await;
    let first = customer(&m, id).await;
    let end = first["payments"][0]["period_to"].as_i64().expect("to");
    m.t.advance_clock(time::Duration::days(10));
    // Ten idle days end the browser session.
    m.t.login_admin().await;
    let r = post(
        &m.t,
        id,
        "renew",
        &[
            ("plan_id", "1"),
            ("quantity", "2"),
            ("amount", "15.50"),
            ("transaction_id", "tx-cy-2"),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    let c = customer(&m, id).await;
    let p = &c["payments"][1];
    assert_eq!(p["period_from"].as_i64(), Some(end), "{c}");
    assert_eq!(p["period_to"].as_i64(), Some(end + 60 * DAY));
    assert_eq!(p["amount_minor"], json!(1550));
    assert_eq!(p["transaction_id"], "tx-cy-2");
    // Over the API too, from the new end.
    let (s, v) = m
        .api(
            Method::POST,
            &format!("/customers/{id}/payments"),
            Some(json!({"transaction_id": "tx-cy-3"})),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["period_from"].as_i64(), Some(end + 60 * DAY));
    let (s, _) = m
        .api(
            Method::POST,
            &format!("/customers/{id}/payments"),
            Some(json!({"quantity": 0})),
        )
        .await;
    assert_eq!(s, 422);
}

#[tokio::test]
async fn a_plan_change_shows_the_credit_note() {
    let m = media_test().await;
    jellyfin(&m).await;
    let id = invite(&m, "dot@example.com").await;
    m.t.advance_clock(time::Duration::days(15));
    m.t.login_admin().await;
    let r = post(&m.t, id, "plan", &[("plan_id", "2")]).await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.expect("body");
    assert!(html.contains("id=\"user-message\""), "{html}");
    assert!(html.contains("Includes a credit of"), "{html}");
    m.t.run_pending_jobs().await;
    assert_eq!(
        jf_folders(&m, "dot@example.com"),
        names(&["Movies", "Shows"])
    );
    // Back to Basic over the API: the answer carries the note and the credit.
    let (s, v) = m
        .api(
            Method::POST,
            &format!("/customers/{id}/plan"),
            Some(json!({"plan_id": 1})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert!(v["credit_minor"].as_i64().is_some_and(|c| c > 0), "{v}");
    assert!(
        v["note"].as_str().is_some_and(|n| n.contains("credit")),
        "{v}"
    );
}

#[tokio::test]
async fn cancel_ends_coverage_now() {
    let m = media_test().await;
    jellyfin(&m).await;
    let id = invite(&m, "eve@example.com").await;
    let r = post(&m.t, id, "cancel", &[]).await;
    assert_eq!(r.status(), 303);
    assert_eq!(customer(&m, id).await["status"], "expired");
    let id2 = invite(&m, "eve2@example.com").await;
    let (s, _) = m
        .api(Method::POST, &format!("/customers/{id2}/cancel"), None)
        .await;
    assert_eq!(s, 204);
    assert_eq!(customer(&m, id2).await["status"], "expired");
}

#[tokio::test]
async fn delete_needs_a_confirmation_and_removes_the_shares_first() {
    let m = media_test().await;
    jellyfin(&m).await;
    let id = invite(&m, "fox@example.com").await;
    // Invited before the first is deleted: SQLite reuses the highest rowid, and job keys named
    // by a reused id would answer the old (done) job.
    let id2 = invite(&m, "fox2@example.com").await;
    assert!(m.world.jellyfin.user("fox2@example.com").is_some());
    let r = post(&m.t, id, "delete", &[]).await;
    assert_eq!(r.status(), 422, "unconfirmed");
    assert!(m.world.jellyfin.user("fox@example.com").is_some());
    let r = post(&m.t, id, "delete", &[("confirm", "on")]).await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/admin/users?done=deleted");
    // Before any job ran the customer is still there, the share marked for removal.
    let c = customer(&m, id).await;
    assert_eq!(c["shares"][0]["state"], "removed", "{c}");
    assert_eq!(c["shares"][0]["applied"], json!(false));
    // The deletion job waits (retrying with backoff) until the share job has run.
    for _ in 0..8 {
        m.t.run_pending_jobs().await;
        m.t.advance_clock(time::Duration::hours(1));
    }
    assert!(m.world.jellyfin.user("fox@example.com").is_none());
    assert_eq!(
        m.api(Method::GET, &format!("/customers/{id}"), None)
            .await
            .0,
        404
    );

    let (s, _) = m
        .api(Method::DELETE, &format!("/customers/{id2}"), None)
        .await;
    assert_eq!(s, 202);
    // The deletion job waits (retrying with backoff) until the share job has run.
    for _ in 0..8 {
        m.t.run_pending_jobs().await;
        m.t.advance_clock(time::Duration::hours(1));
    }
    assert!(m.world.jellyfin.user("fox2@example.com").is_none());
    assert_eq!(
        m.api(Method::GET, &format!("/customers/{id2}"), None)
            .await
            .0,
        404
    );
}

#[tokio::test]
async fn the_forms_need_csrf_and_users_write() {
    let m = media_test().await;
    jellyfin(&m).await;
    let id = invite(&m, "gil@example.com").await;
    // No CSRF token: refused before the handler.
    let r =
        m.t.client
            .post(m.t.url(&format!("/admin/users/{id}/cancel")))
            .form(&[("x", "y")])
            .send()
            .await
            .expect("request");
    assert_eq!(r.status(), 403);
    assert_eq!(customer(&m, id).await["status"], "active");

    // A viewer (users.read only) sees the page without forms and is refused every action.
    let t = &m.t;
    let role =
        boxoffice_store::roles::create_custom(t.app.db.ex(), "Viewer", &[Permission::UsersRead], 0)
            .await
            .expect("role");
    let login = t
        .app
        .create_login(
            &boxoffice_app::audit::Actor::cli(),
            "viewer@example.com",
            "Supp0rt-pw!",
            boxoffice_domain::RoleKind::User,
        )
        .await
        .expect("login");
    boxoffice_store::logins::set_role(t.app.db.ex(), login.id, role.id)
        .await
        .expect("role set");
    // The viewer gets a browser of their own (cookie jar), next to the admin's.
    let c = crate::helpers::client();
    let get = |path: String| {
        let c = c.clone();
        let url = t.url(&path);
        async move {
            c.get(url)
                .send()
                .await
                .expect("request")
                .text()
                .await
                .expect("body")
        }
    };
    let post_as = |path: String, form_page: String, fields: Vec<(&'static str, &'static str)>| {
        let c = c.clone();
        let url = t.url(&path);
        let page = t.url(&form_page);
        async move {
            let html = c
                .get(page)
                .send()
                .await
                .expect("request")
                .text()
                .await
                .expect("body");
            let csrf = crate::helpers::csrf_from(&html);
            let mut all: Vec<(&str, String)> = fields
                .into_iter()
                .map(|(k, v)| (k, v.to_string()))
                .collect();
            all.push(("csrf", csrf));
            c.post(url).form(&all).send().await.expect("request")
        }
    };
    let r = post_as(
        "/login".into(),
        "/login".into(),
        vec![("email", "viewer@example.com"), ("password", "Supp0rt-pw!")],
    )
    .await;
    assert_eq!(r.status(), 303);
    let html = get(format!("/admin/users/{id}")).await;
    assert!(html.contains("gil@example.com"), "{html}");
    assert!(
        !html.contains("id=\"profile-form\""),
        "no write permission, no form"
    );
    for (action, fields) in [
        ("profile", vec![("email", "x@example.com")]),
        ("renew", vec![]),
        ("plan", vec![("plan_id", "2")]),
        ("cancel", vec![]),
        ("delete", vec![("confirm", "on")]),
    ] {
        let r = post_as(
            format!("/admin/users/{id}/{action}"),
            format!("/admin/users/{id}"),
            fields,
        )
        .await;
        assert_eq!(r.status(), 403, "{action}");
    }
    let v = t;
    let token = v
        .app
        .create_api_token(
            &boxoffice_app::audit::Actor::cli(),
            "viewer@example.com",
            "t",
        )
        .await
        .expect("token")
        .secret;
    let r = v
        .client
        .delete(v.url(&format!("/api/v1/customers/{id}")))
        .bearer_auth(&token)
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 403);
    assert_eq!(customer(&m, id).await["status"], "active");
}

#[tokio::test]
async fn changing_the_plex_email_removes_the_old_invite_and_invites_the_new() {
    let m = media_test().await;
    let server = m.add_plex_server_via_page().await;
    let db = &m.t.app.db;
    exec(
        db,
        format!(
            "UPDATE servers SET enabled = TRUE, allow_new_subscriptions = TRUE WHERE id = {server}"
        ),
    )
    .await;
    exec(db, format!("UPDATE libraries SET library_group_id = {STANDARD} WHERE server_id = {server} AND name = 'Movies'")).await;
    exec(db, "INSERT INTO plans (id, name, cost_minor, currency, duration_unit, duration_count, downloads, created_at, updated_at) VALUES (1, 'Basic', 1000, 'USD', 'days', 30, TRUE, 0, 0)".into()).await;
    exec(db, format!("INSERT INTO plan_library_groups (plan_id, library_group_id, grace) VALUES (1, {STANDARD}, FALSE)")).await;
    let id = invite(&m, "hal@example.com").await;
    let invited = |email: &str| {
        m.world
            .plex_tv
            .shares()
            .into_iter()
            .filter(|s| s.invited_email == email)
            .count()
    };
    assert_eq!(invited("hal@example.com"), 1);
    let r = post(
        &m.t,
        id,
        "profile",
        &[
            ("email", "hal@example.com"),
            ("plex_email", "hal.new@example.com"),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    m.t.run_pending_jobs().await;
    assert_eq!(invited("hal@example.com"), 0, "the old invite is removed");
    assert_eq!(
        invited("hal.new@example.com"),
        1,
        "the new e-mail is invited"
    );
    let c = customer(&m, id).await;
    assert_eq!(c["shares"][0]["state"], "invited", "{c}");
    assert_eq!(c["shares"][0]["applied"], json!(true));
}

#[tokio::test]
async fn a_payment_form_submitted_twice_records_one_payment() {
    let m = media_test().await;
    jellyfin(&m).await;
    let id = invite(&m, "dot@example.com").await;
    let html = m.t.get_html(&format!("/admin/users/{id}")).await;
    let csrf = crate::helpers::csrf_from(&html);
    let marker = "name=\"form_key\" value=\"";
    let key = html
        .split(marker)
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("form key rendered")
        .to_string();
    // A double click or a reload after a slow answer sends the same form again.
    for _ in 0..2 {
        let r =
            m.t.client
                .post(m.t.url(&format!("/admin/users/{id}/renew")))
                .form(&[
                    ("csrf", csrf.as_str()),
                    ("form_key", key.as_str()),
                    ("plan_id", "1"),
                    ("quantity", "1"),
                ])
                .send()
                .await
                .expect("request");
        assert_eq!(r.status(), 303);
    }
    let c = customer(&m, id).await;
    assert_eq!(
        c["payments"].as_array().map(Vec::len),
        Some(2),
        "the invite and one renewal: {c}"
    );
}

#[tokio::test]
async fn an_invite_sent_twice_at_once_with_one_transaction_id_records_one_customer_and_payment() {
    let m = media_test().await;
    jellyfin(&m).await;
    // Two callers (a retried API request, a form sent twice) race with the same transaction:
    // whichever commits second answers as the replay of the first.
    let body = json!({"email": "eve@example.com", "plan_id": 1, "transaction_id": "tx-eve-1"});
    let (a, b) = tokio::join!(
        m.api(Method::POST, "/invites", Some(body.clone())),
        m.api(Method::POST, "/invites", Some(body.clone())),
    );
    for (s, v) in [&a, &b] {
        assert!(*s == 201 || *s == 200, "{s} {v}");
    }
    assert_eq!(a.1["customer_id"], b.1["customer_id"]);
    assert_eq!(a.1["payment_id"], b.1["payment_id"]);
    let db = &m.t.app.db;
    for table in ["customers", "payments"] {
        let n = crate::bulk_invite::count(db, &format!("SELECT COUNT(*) FROM {table}")).await;
        assert_eq!(n, 1, "{table}");
    }
}
