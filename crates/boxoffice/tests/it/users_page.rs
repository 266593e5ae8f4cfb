//! The Users page (product §3.2) and GET /api/v1/users: search, filters, sorting, pages, the CSV
//! export and the bulk edit, with rows seeded by plain SQL.

use crate::helpers::{TestApp, location, spawn_app};
use boxoffice_domain::Permission;
use serde_json::Value;

const DAY: i64 = 86_400;

/// A customer as seeded; fields not named are empty.
#[derive(Default, Clone)]
pub struct Seed {
    pub id: i64,
    pub email: &'static str,
    pub plex_email: &'static str,
    pub plex_username: &'static str,
    pub jellyfin_username: &'static str,
    pub emby_username: &'static str,
    pub notes: &'static str,
    pub permanent: bool,
    pub plan_id: Option<i64>,
    /// Relative to now, in days; None = never paid.
    pub covered_days: Option<i64>,
    pub created_days_ago: i64,
}

pub async fn seed_plans_and_servers(t: &TestApp) {
    let now = t.app.now();
    for (id, name) in [(1i64, "Basic"), (2, "Premium")] {
        boxoffice_store::affected!(t.app.db.ex(), |e| sqlx::query(
            "INSERT INTO plans (id, name, cost_minor, currency, duration_unit, duration_count, created_at, updated_at)
             VALUES ($1, $2, 500, 'USD', 'months', 1, $3, $3)"
        )
        .bind(id)
        .bind(name)
        .bind(now)
        .execute(e)
        .await)
        .expect("plan");
    }
    for (id, name) in [(1i64, "Alpha"), (2, "Bravo")] {
        boxoffice_store::affected!(t.app.db.ex(), |e| sqlx::query(
            "INSERT INTO servers (id, platform, name, remote_id, url, api_key_enc, created_at, updated_at)
             VALUES ($1, 'jellyfin', $2, $2, 'http://x', '', $3, $3)"
        )
        .bind(id)
        .bind(name)
        .bind(now)
        .execute(e)
        .await)
        .expect("server");
    }
}

pub async fn seed_customer(t: &TestApp, s: &Seed) {
    let now = t.app.now();
    boxoffice_store::affected!(t.app.db.ex(), |e| sqlx::query(
        "INSERT INTO customers (id, email, email_key, plex_email, plex_username, jellyfin_username, emby_username,
            notes, permanent, plan_id, covered_until, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)"
    )
    .bind(s.id)
    .bind(s.email)
    .bind(s.email.to_lowercase())
    .bind(s.plex_email)
    .bind(s.plex_username)
    .bind(s.jellyfin_username)
    .bind(s.emby_username)
    .bind(s.notes)
    .bind(s.permanent)
    .bind(s.plan_id)
    .bind(s.covered_days.map(|d| now + d * DAY))
    .bind(now - s.created_days_ago * DAY)
    .execute(e)
    .await)
    .expect("customer");
}

pub async fn seed_share(t: &TestApp, customer: i64, server: i64, state: &str) {
    let now = t.app.now();
    boxoffice_store::affected!(t.app.db.ex(), |e| sqlx::query(
        "INSERT INTO shares (customer_id, server_id, state, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)"
    )
    .bind(customer)
    .bind(server)
    .bind(state)
    .bind(now)
    .execute(e)
    .await)
    .expect("share");
}

/// Five customers covering every status, class, plan and server case.
pub async fn seed_five(t: &TestApp) {
    seed_plans_and_servers(t).await;
    let rows = [
        Seed {
            id: 1,
            email: "Alice@Example.com",
            plex_username: "AliceP",
            plan_id: Some(1),
            covered_days: Some(10),
            created_days_ago: 50,
            ..Seed::default()
        },
        Seed {
            id: 2,
            email: "bob@example.com",
            jellyfin_username: "Bobby",
            plan_id: Some(2),
            covered_days: Some(-3),
            created_days_ago: 40,
            notes: "Paid by Venmo",
            ..Seed::default()
        },
        Seed {
            id: 3,
            email: "carol@example.com",
            emby_username: "carolE",
            permanent: true,
            plan_id: Some(1),
            created_days_ago: 30,
            ..Seed::default()
        },
        Seed {
            id: 4,
            email: "dave@example.com",
            plex_email: "DavePlex@mail.test",
            plan_id: None,
            covered_days: None,
            created_days_ago: 20,
            ..Seed::default()
        },
        Seed {
            id: 5,
            email: "=cmd@example.com",
            plan_id: Some(2),
            covered_days: Some(100),
            created_days_ago: 10,
            notes: "-2+3",
            ..Seed::default()
        },
    ];
    for r in &rows {
        seed_customer(t, r).await;
    }
    seed_share(t, 1, 1, "active").await;
    seed_share(t, 2, 1, "removed").await;
    seed_share(t, 2, 2, "active").await;
    seed_share(t, 3, 1, "grace").await;
}

pub async fn admin_app() -> (TestApp, String) {
    let t = spawn_app().await;
    t.create_admin().await;
    t.login_admin().await;
    let token = t.admin_token().await;
    (t, token)
}

async fn api(t: &TestApp, token: &str, qs: &str) -> (u16, Value) {
    let r = t
        .client
        .get(t.url(&format!("/api/v1/users?{qs}")))
        .bearer_auth(token)
        .send()
        .await
        .expect("request");
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

async fn ids(t: &TestApp, token: &str, qs: &str) -> Vec<i64> {
    let (s, v) = api(t, token, qs).await;
    assert_eq!(s, 200, "{qs}: {v}");
    v["users"]
        .as_array()
        .expect("users")
        .iter()
        .map(|u| u["id"].as_i64().expect("id"))
        .collect()
}

#[tokio::test]
async fn search_matches_email_identities_and_notes_by_case_insensitive_prefix() {
    let (t, k) = admin_app().await;
    seed_five(&t).await;
    assert_eq!(ids(&t, &k, "q=ALI").await, vec![1]);
    assert_eq!(ids(&t, &k, "q=alicep").await, vec![1]);
    assert_eq!(ids(&t, &k, "q=bobby").await, vec![2]);
    assert_eq!(ids(&t, &k, "q=CAROLe").await, vec![3]);
    assert_eq!(ids(&t, &k, "q=daveplex%40").await, vec![4]);
    assert_eq!(ids(&t, &k, "q=paid%20by").await, vec![2]);
    assert!(ids(&t, &k, "q=zzz").await.is_empty());
    // LIKE wildcards are literal text, not patterns.
    assert!(ids(&t, &k, "q=%25").await.is_empty());
    assert!(ids(&t, &k, "q=_").await.is_empty());
    assert_eq!(
        ids(&t, &k, "q=%20%20").await.len(),
        5,
        "blank search is no search"
    );
}

#[tokio::test]
async fn each_filter_narrows_the_list() {
    let (t, k) = admin_app().await;
    seed_five(&t).await;
    assert_eq!(ids(&t, &k, "status=active").await, vec![5, 1, 3]);
    assert_eq!(ids(&t, &k, "status=expired").await, vec![2, 4]);
    assert_eq!(ids(&t, &k, "status=permanent").await, vec![3]);
    assert_eq!(ids(&t, &k, "class=permanent").await, vec![3]);
    assert_eq!(ids(&t, &k, "class=standard").await, vec![5, 1, 2, 4]);
    assert_eq!(ids(&t, &k, "plan=2").await, vec![5, 2]);
    // A removed share does not count; grace does.
    assert_eq!(ids(&t, &k, "server=1").await, vec![1, 3]);
    assert_eq!(ids(&t, &k, "server=2").await, vec![2]);
    assert_eq!(
        ids(&t, &k, "status=active&plan=1&server=1").await,
        vec![1, 3]
    );
    let (s, v) = api(&t, &k, "status=maybe").await;
    assert_eq!(s, 422);
    assert_eq!(v["error"]["field"], "status");
    let (s, _) = api(&t, &k, "plan=abc").await;
    assert_eq!(s, 422);
    let (_, v) = api(&t, &k, "q=alice").await;
    let u = &v["users"][0];
    assert_eq!(u["status"], "active");
    assert_eq!(u["plan_name"], "Basic");
    assert_eq!(u["servers"][0]["name"], "Alpha");
}

#[tokio::test]
async fn sorting_by_each_key_in_both_directions() {
    let (t, k) = admin_app().await;
    seed_five(&t).await;
    assert_eq!(ids(&t, &k, "sort=email").await, vec![5, 1, 2, 3, 4]);
    assert_eq!(
        ids(&t, &k, "sort=email&dir=desc").await,
        vec![4, 3, 2, 1, 5]
    );
    assert_eq!(ids(&t, &k, "sort=created").await, vec![1, 2, 3, 4, 5]);
    assert_eq!(
        ids(&t, &k, "sort=created&dir=desc").await,
        vec![5, 4, 3, 2, 1]
    );
    // Never paid and permanent (no coverage) sort as the oldest expiry.
    assert_eq!(ids(&t, &k, "sort=expiry").await, vec![3, 4, 2, 1, 5]);
    assert_eq!(
        ids(&t, &k, "sort=expiry&dir=desc").await,
        vec![5, 1, 2, 4, 3]
    );
    assert_eq!(ids(&t, &k, "sort=plan").await, vec![4, 1, 3, 2, 5]);
    assert_eq!(ids(&t, &k, "sort=plan&dir=desc").await, vec![5, 2, 3, 1, 4]);
    assert_eq!(api(&t, &k, "sort=name").await.0, 422);
    assert_eq!(api(&t, &k, "dir=up").await.0, 422);
}

#[tokio::test]
async fn pagination_boundaries_and_page_sizes() {
    let (t, k) = admin_app().await;
    seed_plans_and_servers(&t).await;
    const EMAILS: [&str; 26] = [
        "u00@x.test",
        "u01@x.test",
        "u02@x.test",
        "u03@x.test",
        "u04@x.test",
        "u05@x.test",
        "u06@x.test",
        "u07@x.test",
        "u08@x.test",
        "u09@x.test",
        "u10@x.test",
        "u11@x.test",
        "u12@x.test",
        "u13@x.test",
        "u14@x.test",
        "u15@x.test",
        "u16@x.test",
        "u17@x.test",
        "u18@x.test",
        "u19@x.test",
        "u20@x.test",
        "u21@x.test",
        "u22@x.test",
        "u23@x.test",
        "u24@x.test",
        "u25@x.test",
    ];
    for (i, e) in EMAILS.iter().enumerate() {
        seed_customer(
            &t,
            &Seed {
                id: i as i64 + 1,
                email: e,
                ..Seed::default()
            },
        )
        .await;
    }
    let (_, v) = api(&t, &k, "").await;
    assert_eq!(v["total"], 26);
    assert_eq!(v["per_page"], 25);
    assert_eq!(v["users"].as_array().map(Vec::len), Some(25));
    let p2 = ids(&t, &k, "page=2").await;
    assert_eq!(p2, vec![26]);
    let (_, v) = api(&t, &k, "page=3").await;
    assert_eq!(v["total"], 26, "past the end: empty page, same total");
    assert_eq!(v["users"].as_array().map(Vec::len), Some(0));
    assert_eq!(ids(&t, &k, "per_page=50").await.len(), 26);
    assert_eq!(ids(&t, &k, "per_page=100").await.len(), 26);
    assert_eq!(api(&t, &k, "per_page=30").await.0, 422);
    assert_eq!(api(&t, &k, "page=0").await.0, 422);
    assert_eq!(api(&t, &k, "page=-1").await.0, 422);
    // The page links keep filters and sort, and the last page has no "next".
    let html = t.get_html("/admin/users?sort=email&dir=desc&page=2").await;
    assert!(html.contains("page 2 of 2"), "{html}");
    assert!(!html.contains("id=\"users-next\""));
    assert!(html.contains("id=\"users-prev\""));
}

#[tokio::test]
async fn the_csv_export_has_the_filtered_set_with_formulas_neutralised() {
    let (t, _) = admin_app().await;
    seed_five(&t).await;
    let r = t.get("/admin/users/export.csv?plan=2").await;
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap_or("")
            .starts_with("text/csv")
    );
    let body = r.text().await.expect("body");
    let lines: Vec<&str> = body.lines().collect();
    assert_eq!(lines.len(), 3, "{body}");
    assert!(lines[0].starts_with("id,email,"));
    assert!(lines[1].starts_with("2,bob@example.com,"), "{body}");
    assert!(lines[2].starts_with("5,'=cmd@example.com,"), "{body}");
    assert!(lines[2].ends_with(",'-2+3"), "{body}");
    let all = t
        .get("/admin/users/export.csv")
        .await
        .text()
        .await
        .expect("body");
    assert_eq!(all.lines().count(), 6);
}

/// The notes, plan and permanent flag of every customer, by id.
async fn snapshot(t: &TestApp, token: &str) -> Vec<(i64, Option<i64>, bool, String)> {
    let (_, v) = api(t, token, "sort=created&per_page=100").await;
    v["users"]
        .as_array()
        .expect("users")
        .iter()
        .map(|u| {
            (
                u["id"].as_i64().unwrap_or(0),
                u["plan_id"].as_i64(),
                u["permanent"].as_bool().unwrap_or(false),
                u["notes"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn bulk_edit_shows_the_count_then_changes_exactly_the_filtered_rows() {
    let (t, k) = admin_app().await;
    seed_five(&t).await;
    let before = snapshot(&t, &k).await;
    let fields = [
        ("status", "expired"),
        ("set_plan", "1"),
        ("set_permanent", "on"),
        ("add_note", "moved in bulk"),
    ];
    let r = t
        .post_form("/admin/users?status=expired", "/admin/users/bulk", &fields)
        .await;
    assert_eq!(r.status(), 200);
    let confirm = r.text().await.expect("body");
    assert!(confirm.contains("id=\"bulk-count\">2<"), "{confirm}");
    assert_eq!(
        snapshot(&t, &k).await,
        before,
        "the review step changes nothing"
    );

    let mut apply = fields.to_vec();
    apply.push(("expected", "2"));
    let r = t
        .post_form("/admin/users", "/admin/users/bulk/apply", &apply)
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/admin/users?status=expired&done=bulk");
    let after = snapshot(&t, &k).await;
    for (b, a) in before.iter().zip(&after) {
        if b.0 == 2 || b.0 == 4 {
            assert_eq!(a.1, Some(1));
            assert!(a.2);
            let want = if b.3.is_empty() {
                "moved in bulk".to_string()
            } else {
                format!("{}\nmoved in bulk", b.3)
            };
            assert_eq!(a.3, want);
        } else {
            assert_eq!(a, b, "row {} is outside the filter", b.0);
        }
    }
    let audit = t.app.recent_audit(5).await.expect("audit");
    assert!(
        audit
            .iter()
            .any(|a| a.action == "users.bulk_edit" && a.target == "2 users"),
        "{audit:?}"
    );
}

#[tokio::test]
async fn bulk_edit_refuses_invalid_input_and_a_stale_count_without_changing_anything() {
    let (t, k) = admin_app().await;
    seed_five(&t).await;
    let before = snapshot(&t, &k).await;
    let cases: [&[(&str, &str)]; 5] = [
        &[("set_plan", "99"), ("expected", "5")],
        &[("set_plan", "abc")],
        &[("set_permanent", "maybe")],
        &[("expected", "5")],
        &[("status", "bogus"), ("add_note", "x")],
    ];
    for f in cases {
        let r = t
            .post_form("/admin/users", "/admin/users/bulk/apply", f)
            .await;
        assert_eq!(r.status(), 422, "{f:?}");
    }
    // The selection grew between the review and the apply: nothing is written, the new count shown.
    let r = t
        .post_form(
            "/admin/users",
            "/admin/users/bulk/apply",
            &[("status", "expired"), ("add_note", "x"), ("expected", "1")],
        )
        .await;
    assert_eq!(r.status(), 409);
    assert!(
        r.text()
            .await
            .expect("body")
            .contains("id=\"bulk-count\">2<")
    );
    assert_eq!(snapshot(&t, &k).await, before);
}

#[tokio::test]
async fn the_users_page_renders_rows_filters_and_the_row_menu() {
    let (t, _) = admin_app().await;
    seed_five(&t).await;
    let html = t.get_html("/admin/users?status=active&sort=expiry").await;
    assert!(html.contains("<strong>3</strong> users"), "{html}");
    assert!(html.contains("Alice@Example.com") && html.contains("AliceP"));
    assert!(!html.contains("bob@example.com"));
    assert!(html.contains("Alpha"));
    assert!(
        html.contains("href=\"/admin/users/1#renew\">Invite / renew"),
        "{html}"
    );
    assert!(html.contains("id=\"bulk-edit\""));
    assert!(html.contains("href=\"/admin/users/export.csv?status=active\""));
    // The seeded "=cmd" e-mail is escaped text, not markup; a bad parameter shows a message.
    let bad = t.get_html("/admin/users?sort=%3Cscript%3E").await;
    assert!(bad.contains("id=\"users-error\"") && !bad.contains("<script>"));
}

#[tokio::test]
async fn users_need_their_permissions_on_the_page_the_export_the_bulk_edit_and_the_api() {
    let t = spawn_app().await;
    seed_five(&t).await;
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
    t.login("viewer@example.com", "Supp0rt-pw!").await;
    let html = t.get_html("/admin/users").await;
    assert!(html.contains("alice@example.com") || html.contains("Alice@Example.com"));
    assert!(
        !html.contains("id=\"bulk-edit\""),
        "no write permission, no form"
    );
    assert_eq!(t.get("/admin/users/export.csv").await.status(), 200);
    let r = t
        .post_form(
            "/admin/users",
            "/admin/users/bulk/apply",
            &[("add_note", "x")],
        )
        .await;
    assert_eq!(r.status(), 403);

    // A customer login (no staff role) gets nothing.
    let other = spawn_app().await;
    other
        .app
        .create_login(
            &boxoffice_app::audit::Actor::cli(),
            "customer@example.com",
            "Cust0mer-pw!",
            boxoffice_domain::RoleKind::User,
        )
        .await
        .expect("login");
    other.login("customer@example.com", "Cust0mer-pw!").await;
    assert_eq!(other.get("/admin/users").await.status(), 403);
    assert_eq!(other.get("/admin/users/export.csv").await.status(), 403);
    let token = other
        .app
        .create_api_token(
            &boxoffice_app::audit::Actor::cli(),
            "customer@example.com",
            "t",
        )
        .await;
    if let Ok(tok) = token {
        assert_eq!(api(&other, &tok.secret, "").await.0, 403);
    }
    assert_eq!(
        other
            .client
            .get(other.url("/api/v1/users"))
            .send()
            .await
            .expect("req")
            .status(),
        401
    );
}

/// Follows `next_cursor` from the first page to the end, then `prev_cursor` back.
async fn walk(t: &TestApp, token: &str, qs: &str) -> (Vec<i64>, Vec<i64>) {
    let mut pages: Vec<Vec<i64>> = Vec::new();
    let mut cursor: Option<String> = None;
    let last = loop {
        let q = match &cursor {
            Some(c) => format!("{qs}&after={c}"),
            None => qs.to_string(),
        };
        let (s, v) = api(t, token, &q).await;
        assert_eq!(s, 200, "{q}: {v}");
        let page: Vec<i64> = v["users"]
            .as_array()
            .expect("users")
            .iter()
            .map(|u| u["id"].as_i64().expect("id"))
            .collect();
        pages.push(page);
        cursor = v["next_cursor"].as_str().map(str::to_string);
        if cursor.is_none() {
            break v;
        }
        assert!(pages.len() < 50, "no end");
    };
    let forward: Vec<i64> = pages.concat();
    let mut back: Vec<Vec<i64>> = vec![pages.last().cloned().unwrap_or_default()];
    let mut before = last["prev_cursor"].as_str().map(str::to_string);
    while let Some(c) = before {
        let (s, v) = api(t, token, &format!("{qs}&before={c}")).await;
        assert_eq!(s, 200, "{v}");
        back.push(
            v["users"]
                .as_array()
                .expect("users")
                .iter()
                .map(|u| u["id"].as_i64().expect("id"))
                .collect(),
        );
        before = v["prev_cursor"].as_str().map(str::to_string);
        assert!(back.len() < 50, "no start");
    }
    back.reverse();
    (forward, back.concat())
}

#[tokio::test]
async fn keyset_pages_walk_every_sort_both_ways_without_gaps_or_overlaps() {
    let (t, k) = admin_app().await;
    seed_plans_and_servers(&t).await;
    // 60 customers with ties on every key and some never paid (NULL expiry) or without a plan.
    const EMAILS: [&str; 6] = [
        "a@x.test", "b@x.test", "c@x.test", "d@x.test", "e@x.test", "f@x.test",
    ];
    for i in 0..60i64 {
        let email: &'static str =
            Box::leak(format!("{}{i:02}", EMAILS[(i % 6) as usize]).into_boxed_str());
        seed_customer(
            &t,
            &Seed {
                id: i + 1,
                email,
                plan_id: if i % 4 == 0 { None } else { Some(1 + i % 2) },
                covered_days: if i % 5 == 0 { None } else { Some(i % 3 - 1) },
                created_days_ago: i % 7,
                ..Seed::default()
            },
        )
        .await;
    }
    for sort in ["email", "created", "expiry", "plan"] {
        for dir in ["asc", "desc"] {
            let qs = format!("sort={sort}&dir={dir}&per_page=25");
            let all = ids(&t, &k, &format!("sort={sort}&dir={dir}&per_page=100")).await;
            assert_eq!(all.len(), 60);
            let (forward, back) = walk(&t, &k, &qs).await;
            assert_eq!(forward, all, "{qs} forward");
            assert_eq!(back, all, "{qs} backward");
        }
    }
    // The total stays with every page; a cursor for another sort is refused.
    let (_, v) = api(&t, &k, "sort=email&per_page=25").await;
    assert_eq!(v["total"], 60);
    let c = v["next_cursor"].as_str().expect("cursor").to_string();
    let (_, v2) = api(&t, &k, &format!("sort=email&per_page=25&after={c}")).await;
    assert_eq!(v2["total"], 60);
    assert_eq!(api(&t, &k, &format!("sort=created&after={c}")).await.0, 422);
    assert_eq!(api(&t, &k, "after=nothex").await.0, 422);
    // The page's links carry the cursors.
    let html = t.get_html("/admin/users?sort=email&per_page=25").await;
    assert!(html.contains(&format!("after={c}")), "{html}");
    assert!(!html.contains("id=\"users-prev\""));
    let html = t
        .get_html(&format!(
            "/admin/users?sort=email&per_page=25&page=2&after={c}"
        ))
        .await;
    assert!(
        html.contains("page 2 of 3") && html.contains("before="),
        "{html}"
    );
}
