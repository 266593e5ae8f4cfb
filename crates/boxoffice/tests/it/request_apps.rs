//! Request apps on the fakes with the test clock: the account follows the plan at activation,
//! goes at expiry, survives a failing app without holding up the invite, and the daily sync
//! repairs drift.

use crate::servers::{MediaTest, media_test};
use boxoffice_app::audit::Actor;
use boxoffice_app::request_apps::{PlanMappingInput, RequestAppAccount};
use boxoffice_fakes::{FaultAction, FaultRule};
use boxoffice_store::{Db, affected};
use reqwest::Method;
use serde_json::{Value, json};

const REQUEST_AND_AUTO_APPROVE: i64 = 32 | 128;

async fn exec(db: &Db, sql: String) {
    affected!(db.ex(), |e| sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
        .execute(e)
        .await)
    .expect("sql");
}

/// A Jellyfin server open to subscriptions and plan 1 ("Basic") sharing its Movies.
pub(crate) async fn world_with_plan(m: &MediaTest) {
    let (s, v) = m
        .api(
            Method::POST,
            "/servers",
            Some(json!({"platform": "jellyfin", "url": m.world.jellyfin.url(), "api_key": m.world.jellyfin.api_key()})),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let server = v["id"].as_i64().expect("id");
    m.t.run_pending_jobs().await;
    let db = &m.t.app.db;
    exec(
        db,
        format!(
            "UPDATE servers SET enabled = TRUE, allow_new_subscriptions = TRUE WHERE id = {server}"
        ),
    )
    .await;
    exec(db, format!("UPDATE libraries SET library_group_id = 2 WHERE server_id = {server} AND name = 'Movies'")).await;
    exec(db, "INSERT INTO plans (id, name, cost_minor, currency, duration_unit, duration_count, downloads, created_at, updated_at) VALUES (1, 'Basic', 1000, 'USD', 'days', 30, TRUE, 0, 0)".into()).await;
    exec(
        db,
        "INSERT INTO plan_library_groups (plan_id, library_group_id, grace) VALUES (1, 2, FALSE)"
            .into(),
    )
    .await;
}

async fn set(m: &MediaTest, key: &str, value: &str) {
    m.t.app
        .set_setting(&Actor::system(), key, value)
        .await
        .expect("setting");
}

pub(crate) async fn enable_overseerr(m: &MediaTest) {
    let ov = &m.world.request_apps.overseerr;
    set(m, "requests.overseerr.url", &ov.url()).await;
    set(m, "requests.overseerr.api_key", &ov.api_key()).await;
    set(m, "requests.overseerr.enabled", "true").await;
    map(
        m,
        "overseerr",
        "REQUEST, AUTO_APPROVE",
        ("5", "7"),
        ("2", "7"),
        "",
    )
    .await;
}

async fn map(
    m: &MediaTest,
    app: &str,
    roles: &str,
    movie: (&str, &str),
    tv: (&str, &str),
    profile: &str,
) {
    m.t.app
        .set_plan_request_app(
            &Actor::system(),
            1,
            &PlanMappingInput {
                app: app.into(),
                enabled: Some("on".into()),
                roles: roles.into(),
                movie_quota_limit: movie.0.into(),
                movie_quota_days: movie.1.into(),
                tv_quota_limit: tv.0.into(),
                tv_quota_days: tv.1.into(),
                profile: profile.into(),
            },
        )
        .await
        .expect("mapping");
}

async fn invite(m: &MediaTest, email: &str) -> i64 {
    let (s, v) = m
        .api(
            Method::POST,
            "/invites",
            Some(json!({"email": email, "plan_id": 1})),
        )
        .await;
    assert!(s == 201 || s == 200, "{s} {v}");
    v["customer_id"].as_i64().expect("customer id")
}

async fn accounts(m: &MediaTest, customer: i64) -> Vec<RequestAppAccount> {
    m.t.app
        .customer_request_apps(customer)
        .await
        .expect("accounts")
}

async fn account(m: &MediaTest, customer: i64, app: &str) -> RequestAppAccount {
    accounts(m, customer)
        .await
        .into_iter()
        .find(|a| a.app == app)
        .unwrap_or_else(|| panic!("no {app} account"))
}

async fn share_state(m: &MediaTest, customer: i64) -> Value {
    let (s, v) = m
        .api(Method::GET, &format!("/customers/{customer}"), None)
        .await;
    assert_eq!(s, 200, "{v}");
    v["shares"][0]["state"].clone()
}

#[tokio::test]
async fn activation_creates_the_overseerr_account_with_the_plans_permissions_and_quota() {
    let m = media_test().await;
    world_with_plan(&m).await;
    enable_overseerr(&m).await;
    let ann = invite(&m, "ann@example.com").await;
    m.t.run_pending_jobs().await;

    let u = m
        .world
        .request_apps
        .overseerr
        .user_by_email("ann@example.com")
        .expect("account");
    assert_eq!(u.permissions, REQUEST_AND_AUTO_APPROVE);
    assert_eq!(
        (u.movie_quota_limit, u.movie_quota_days),
        (Some(5), Some(7))
    );
    assert_eq!((u.tv_quota_limit, u.tv_quota_days), (Some(2), Some(7)));
    let a = account(&m, ann, "overseerr").await;
    assert_eq!((a.state.as_str(), a.username.as_str()), ("active", "ann"));
    assert!(
        a.has_password,
        "a local account's password is kept for the customer"
    );

    // The control API sees the same account.
    let state: Value = reqwest::get(format!(
        "{}/state",
        m.world.request_apps.overseerr.control_url()
    ))
    .await
    .expect("control")
    .json()
    .await
    .expect("json");
    assert!(
        state["users"].as_array().expect("users").iter().any(
            |u| u["email"] == "ann@example.com" && u["permissions"] == REQUEST_AND_AUTO_APPROVE
        )
    );
}

#[tokio::test]
async fn expiry_disables_the_overseerr_account_and_renewal_restores_it() {
    let m = media_test().await;
    world_with_plan(&m).await;
    enable_overseerr(&m).await;
    let ann = invite(&m, "ann@example.com").await;
    m.t.run_pending_jobs().await;

    m.t.advance_clock(time::Duration::days(30) + time::Duration::minutes(5));
    m.t.app.run_expiry().await.expect("expiry");
    m.t.run_pending_jobs().await;
    let u = m
        .world
        .request_apps
        .overseerr
        .user_by_email("ann@example.com")
        .expect("kept");
    assert_eq!(
        u.permissions, 0,
        "an expired customer can no longer request"
    );
    assert_eq!(account(&m, ann, "overseerr").await.state, "disabled");

    let (s, v) = m
        .api(
            Method::POST,
            &format!("/customers/{ann}/payments"),
            Some(json!({})),
        )
        .await;
    assert!(s == 200 || s == 201, "{s} {v}");
    m.t.run_pending_jobs().await;
    let u = m
        .world
        .request_apps
        .overseerr
        .user_by_email("ann@example.com")
        .expect("kept");
    assert_eq!(u.permissions, REQUEST_AND_AUTO_APPROVE);
    assert_eq!(account(&m, ann, "overseerr").await.state, "active");
    let accounts_in_app = m
        .world
        .request_apps
        .overseerr
        .users()
        .iter()
        .filter(|u| u.email == "ann@example.com")
        .count();
    assert_eq!(accounts_in_app, 1, "renewal reuses the account");
}

#[tokio::test]
async fn with_delete_on_expiry_the_overseerr_account_is_removed() {
    let m = media_test().await;
    world_with_plan(&m).await;
    enable_overseerr(&m).await;
    set(&m, "requests.on_expiry", "delete").await;
    let bo = invite(&m, "bo@example.com").await;
    m.t.run_pending_jobs().await;
    assert!(
        m.world
            .request_apps
            .overseerr
            .user_by_email("bo@example.com")
            .is_some()
    );

    m.t.advance_clock(time::Duration::days(31));
    m.t.app.run_expiry().await.expect("expiry");
    m.t.run_pending_jobs().await;
    assert!(
        m.world
            .request_apps
            .overseerr
            .user_by_email("bo@example.com")
            .is_none()
    );
    let a = account(&m, bo, "overseerr").await;
    assert_eq!((a.state.as_str(), a.username.as_str()), ("deleted", "bo"));
}

#[tokio::test]
async fn ombi_and_petio_accounts_are_created_with_the_plans_role_and_profile() {
    let m = media_test().await;
    world_with_plan(&m).await;
    let apps = &m.world.request_apps;
    set(&m, "requests.ombi.url", &apps.ombi.url()).await;
    set(&m, "requests.ombi.api_key", &apps.ombi.api_key()).await;
    set(&m, "requests.ombi.enabled", "true").await;
    map(
        &m,
        "ombi",
        "RequestMovie,RequestTv",
        ("10", ""),
        ("", ""),
        "",
    )
    .await;
    apps.petio.add_profile("Subscribers", 20);
    set(&m, "requests.petio.url", &apps.petio.url()).await;
    set(&m, "requests.petio.email", &apps.petio.admin_email()).await;
    set(&m, "requests.petio.password", &apps.petio.admin_password()).await;
    set(&m, "requests.petio.enabled", "true").await;
    map(&m, "petio", "", ("", ""), ("", ""), "Subscribers").await;
    for (k, v) in [
        ("email.enabled", "true"),
        ("email.smtp_host", "127.0.0.1"),
        ("email.from_address", "noreply@example.com"),
    ] {
        set(&m, k, v).await;
    }

    let cy = invite(&m, "cy@example.com").await;
    m.t.run_pending_jobs().await;
    // The new local accounts' credentials are told to the customer, once per account.
    let told = boxoffice_store::notifications::log(
        m.t.app.db.ex(),
        &boxoffice_store::notifications::LogFilter {
            event: Some("request_app_account".into()),
            limit: 10,
            ..Default::default()
        },
    )
    .await
    .expect("log");
    assert!(!told.is_empty(), "a credentials notice is queued");
    assert!(told.iter().all(|n| n.recipient == "cy@example.com"));

    let o = apps
        .ombi
        .user_by_email("cy@example.com")
        .expect("ombi account");
    assert_eq!(o.roles, ["RequestMovie", "RequestTv"]);
    assert_eq!(o.movie_request_limit, 10);
    let p = apps
        .petio
        .user_by_email("cy@example.com")
        .expect("petio account");
    assert!(p.custom && !p.disabled);
    assert_eq!(
        apps.petio
            .profile_name(p.profile.as_deref().unwrap_or_default())
            .as_deref(),
        Some("Subscribers")
    );
    let states: Vec<(String, String)> = accounts(&m, cy)
        .await
        .into_iter()
        .map(|a| (a.app, a.state))
        .collect();
    assert_eq!(
        states,
        [
            ("ombi".to_string(), "active".to_string()),
            ("petio".to_string(), "active".to_string())
        ]
    );

    // Expiry takes both away (disable is the default).
    m.t.advance_clock(time::Duration::days(31));
    m.t.app.run_expiry().await.expect("expiry");
    m.t.run_pending_jobs().await;
    assert!(
        apps.ombi
            .user_by_email("cy@example.com")
            .expect("kept")
            .roles
            == ["Disabled"]
    );
    assert!(
        apps.petio
            .user_by_email("cy@example.com")
            .expect("kept")
            .disabled
    );
}

#[tokio::test]
async fn a_failing_request_app_delays_the_account_without_blocking_the_invite() {
    let m = media_test().await;
    world_with_plan(&m).await;
    enable_overseerr(&m).await;
    let ov = &m.world.request_apps.overseerr;
    ov.add_fault(FaultRule::path(
        "/api/v1/user",
        FaultAction::Status {
            status: 500,
            body: None,
        },
    ));

    let dee = invite(&m, "dee@example.com").await;
    m.t.run_pending_jobs().await;
    assert!(
        m.world.jellyfin.user("dee@example.com").is_some(),
        "the media account is made"
    );
    assert_eq!(share_state(&m, dee).await, "active");
    let a = account(&m, dee, "overseerr").await;
    assert_eq!(a.state, "failed");
    assert!(a.last_error.contains("HTTP 500"), "{}", a.last_error);
    let waiting = m.t.app.list_jobs(Some("queued"), 50).await.expect("jobs");
    let job = waiting
        .iter()
        .find(|j| j.kind == "request_apps.sync_customer")
        .expect("retrying");
    assert_eq!(job.attempts, 1);

    ov.clear_faults();
    m.t.advance_clock(time::Duration::hours(2));
    m.t.run_pending_jobs().await;
    assert_eq!(
        ov.user_by_email("dee@example.com")
            .expect("created")
            .permissions,
        REQUEST_AND_AUTO_APPROVE
    );
    let a = account(&m, dee, "overseerr").await;
    assert_eq!((a.state.as_str(), a.last_error.as_str()), ("active", ""));
}

#[tokio::test]
async fn the_daily_sync_repairs_a_permission_changed_in_overseerr() {
    let m = media_test().await;
    world_with_plan(&m).await;
    enable_overseerr(&m).await;
    invite(&m, "eve@example.com").await;
    m.t.run_pending_jobs().await;
    let ov = &m.world.request_apps.overseerr;
    let u = ov.user_by_email("eve@example.com").expect("account");
    // Someone grants 4K requests in Overseerr's own UI.
    assert!(ov.set_permissions(u.id, REQUEST_AND_AUTO_APPROVE | 1024));

    let report =
        m.t.app
            .run_request_apps_sync("2026-01-02")
            .await
            .expect("daily sync");
    assert_eq!(report.customers, 1);
    m.t.run_pending_jobs().await;
    assert_eq!(
        ov.user_by_email("eve@example.com")
            .expect("account")
            .permissions,
        REQUEST_AND_AUTO_APPROVE
    );
}

#[tokio::test]
async fn a_plan_mapping_names_the_bad_field() {
    let m = media_test().await;
    world_with_plan(&m).await;
    let bad = |roles: &str, limit: &str| PlanMappingInput {
        app: "overseerr".into(),
        enabled: Some("on".into()),
        roles: roles.into(),
        movie_quota_limit: limit.into(),
        ..PlanMappingInput::default()
    };
    let e =
        m.t.app
            .set_plan_request_app(&Actor::system(), 1, &bad("REQUEST,FLY", ""))
            .await
            .unwrap_err();
    assert!(
        e.to_string()
            .contains("\"FLY\" is not an Overseerr permission")
            || e.to_string().contains("FLY"),
        "{e}"
    );
    let e =
        m.t.app
            .set_plan_request_app(&Actor::system(), 1, &bad("REQUEST", "-3"))
            .await
            .unwrap_err();
    assert!(e.to_string().contains("movie_quota_limit"), "{e}");
    let maps = m.t.app.plan_request_apps(1).await.expect("mappings");
    assert!(maps.iter().all(|p| !p.enabled), "nothing was stored");
}

#[tokio::test]
async fn the_plan_editor_maps_permissions_and_the_customer_page_shows_the_account() {
    let m = media_test().await;
    world_with_plan(&m).await;
    let ov = &m.world.request_apps.overseerr;
    set(&m, "requests.overseerr.url", &ov.url()).await;
    set(&m, "requests.overseerr.api_key", &ov.api_key()).await;
    set(&m, "requests.overseerr.enabled", "true").await;

    let page = "/admin/plans/1/request-apps";
    let r =
        m.t.post_form(
            page,
            page,
            &[
                ("app", "overseerr"),
                ("enabled", "on"),
                ("roles", "REQUEST, TELEPORT"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.expect("body").contains("TELEPORT"));
    let r =
        m.t.post_form(
            page,
            page,
            &[
                ("app", "overseerr"),
                ("enabled", "on"),
                ("roles", "REQUEST"),
                ("movie_quota_limit", "3"),
                ("movie_quota_days", "7"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let html = m.t.get_html(page).await;
    assert!(html.contains("value=\"REQUEST\""), "{html}");

    let fay = invite(&m, "fay@example.com").await;
    m.t.run_pending_jobs().await;
    let u = ov.user_by_email("fay@example.com").expect("account");
    assert_eq!((u.permissions, u.movie_quota_limit), (32, Some(3)));

    let detail = format!("/admin/users/{fay}");
    let html = m.t.get_html(&detail).await;
    assert!(
        html.contains("id=\"request-apps\"")
            && html.contains("Overseerr")
            && html.contains("active"),
        "{html}"
    );
    assert!(
        !html.contains(&ov.api_key()),
        "the key never reaches a page"
    );

    // "Sync now" repairs drift at once.
    ov.set_permissions(u.id, 0);
    let r =
        m.t.post_form(&detail, &format!("{detail}/request-apps/sync"), &[])
            .await;
    assert_eq!(r.status(), 303);
    m.t.run_pending_jobs().await;
    assert_eq!(
        ov.user_by_email("fay@example.com")
            .expect("account")
            .permissions,
        32
    );
}
