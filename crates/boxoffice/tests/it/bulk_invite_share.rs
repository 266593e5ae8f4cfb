//! One share, one path: a bulk import applies each row's share itself and queues no share job,
//! so a worker running the queue beside it invites nobody twice, no job fails and the
//! administrator hears of no failure, on Plex and on Jellyfin. And a Plex share applied twice
//! at once anyway ends as one share, with neither apply failing.

use crate::bulk_invite::{STANDARD, count, csv_for, exec, jellyfin, seed_plans, start, status};
use crate::servers::{MediaTest, media_test};
use boxoffice_app::audit::Actor;
use boxoffice_fakes::{FaultAction, FaultRule, LoggedRequest};
use serde_json::Value;

const ROWS: usize = 7;

fn emails() -> Vec<String> {
    (1..=ROWS)
        .map(|i| format!("viewer{i}@example.com"))
        .collect()
}

/// E-mail on, so a job given up would be told to the administrator (and be seen here).
async fn admin_email_on(m: &MediaTest) {
    for (k, v) in [
        ("general.admin_email", "owner@example.com"),
        ("email.enabled", "true"),
        ("email.smtp_host", "127.0.0.1"),
        ("email.smtp_port", "9"),
        ("email.smtp_security", "none"),
        ("email.from_address", "noreply@example.com"),
    ] {
        m.t.app
            .set_setting(&Actor::system(), k, v)
            .await
            .expect("setting");
    }
}

/// The first Plex fake server, open to new subscriptions with its Movies library in the Basic
/// plan's group; answers its name.
async fn plex(m: &MediaTest) -> String {
    let id = m.add_plex_server_via_page().await;
    let db = &m.t.app.db;
    exec(
        db,
        &format!(
            "UPDATE servers SET enabled = TRUE, allow_new_subscriptions = TRUE WHERE id = {id}"
        ),
    )
    .await;
    exec(db, &format!("UPDATE libraries SET library_group_id = {STANDARD} WHERE server_id = {id} AND name = 'Movies'")).await;
    seed_plans(db).await;
    let (s, v) = m
        .api(reqwest::Method::GET, &format!("/servers/{id}"), None)
        .await;
    assert_eq!(s, 200, "{v}");
    v["name"].as_str().expect("name").to_string()
}

/// Runs the import as its job does, on one worker, while a second worker keeps taking whatever
/// else is due, as two workers of a running instance do; then empties the queue.
async fn import_beside_a_worker(m: &MediaTest, id: i64) {
    // The importing worker holds the import's job, so the other worker takes only the rest.
    let now = m.t.app.now();
    let job = boxoffice_store::jobs::claim(m.t.app.db.ex(), now, now + 3600, "importer")
        .await
        .expect("claim")
        .expect("the import's job is due");
    assert_eq!(job.kind, "bulk_invite.run");
    let app = m.t.app.clone();
    let import = tokio::spawn(async move { app.run_bulk_invite(id, None).await });
    while !import.is_finished() {
        if m.t.runner.run_one().await.expect("worker").is_none() {
            tokio::task::yield_now().await;
        }
    }
    import.await.expect("join").expect("import");
    m.t.run_pending_jobs().await;
    let v = status(m, id).await;
    assert_eq!(
        (&v["state"], &v["done_rows"], &v["failed_rows"]),
        (
            &Value::from("finished"),
            &Value::from(ROWS),
            &Value::from(0)
        ),
        "{v}"
    );
}

/// No job was given up (the dashboard's failed-job banner) and no "job failed" notice queued.
async fn no_job_failed(m: &MediaTest) {
    let db = &m.t.app.db;
    let dead = count(db, "SELECT COUNT(*) FROM jobs WHERE state = 'dead'").await;
    let errors =
        m.t.app
            .list_jobs(Some("dead"), 10)
            .await
            .expect("jobs")
            .into_iter()
            .map(|j| j.last_error.unwrap_or_default())
            .collect::<Vec<_>>();
    assert_eq!(dead, 0, "{errors:?}");
    let notices = count(
        db,
        "SELECT COUNT(*) FROM notifications WHERE event = 'job_failed'",
    )
    .await;
    assert_eq!(notices, 0, "a job-failed notice was queued");
}

fn calls<'a>(log: &'a [LoggedRequest], method: &str, path: &str) -> Vec<&'a LoggedRequest> {
    log.iter()
        .filter(|r| r.method == method && r.path == path)
        .collect()
}

#[tokio::test]
async fn a_plex_import_beside_a_running_worker_invites_each_row_once_and_fails_no_job() {
    let m = media_test().await;
    let server = plex(&m).await;
    admin_email_on(&m).await;
    let emails = emails();
    let refs: Vec<&str> = emails.iter().map(String::as_str).collect();
    let id = start(&m, &csv_for(&server, &refs)).await;
    // plex.tv answering its share list slowly, as it does under load: an invite looked up at
    // the same time by two workers is missing from both lists.
    m.world
        .plex_tv
        .add_fault(FaultRule::path("/api/servers/", FaultAction::Delay { ms: 25 }).method("GET"));
    let before = m.world.plex_tv.requests().len();

    import_beside_a_worker(&m, id).await;

    no_job_failed(&m).await;
    let log = m.world.plex_tv.requests();
    let invites = calls(&log[before..], "POST", "/api/v2/shared_servers");
    assert_eq!(
        invites.len(),
        ROWS,
        "one invite per row, none refused: {:?}",
        invites.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    for e in &emails {
        let shared = m
            .world
            .plex_tv
            .shares()
            .iter()
            .filter(|s| s.invited_email.eq_ignore_ascii_case(e))
            .count();
        assert_eq!(shared, 1, "{e}");
    }
}

#[tokio::test]
async fn a_jellyfin_import_beside_a_running_worker_creates_each_user_once_without_listing_users() {
    let m = media_test().await;
    let server = jellyfin(&m).await;
    admin_email_on(&m).await;
    let emails = emails();
    let refs: Vec<&str> = emails.iter().map(String::as_str).collect();
    let id = start(&m, &csv_for(&server, &refs)).await;
    // Jellyfin creating users slowly: two creates of one name at once both get as far as it.
    m.world
        .jellyfin
        .add_fault(FaultRule::path("/Users/New", FaultAction::Delay { ms: 25 }).method("POST"));
    let before = m.world.jellyfin.requests().len();

    import_beside_a_worker(&m, id).await;

    no_job_failed(&m).await;
    let log = m.world.jellyfin.requests();
    let creates = calls(&log[before..], "POST", "/Users/New");
    assert_eq!(
        creates.len(),
        ROWS,
        "one create per row, none refused: {:?}",
        creates.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    // Finding a user by listing every user costs as much as the server has users.
    assert_eq!(calls(&log[before..], "GET", "/Users").len(), 0);
    for e in &emails {
        assert_eq!(crate::bulk_invite::jf_users(&m, e), 1, "{e}");
    }
}

#[tokio::test]
async fn a_plex_share_applied_twice_at_once_is_shared_once_and_neither_apply_fails() {
    let m = media_test().await;
    let server = plex(&m).await;
    let server_id = count(
        &m.t.app.db,
        &format!("SELECT id FROM servers WHERE name = '{server}'"),
    )
    .await;
    let (s, v) = m
        .api(
            reqwest::Method::POST,
            "/invites",
            Some(serde_json::json!({"email": "ann@example.com", "plan_id": 1, "server_id": server_id})),
        )
        .await;
    assert!(s == 200 || s == 201, "{s} {v}");
    let share = v["share_id"].as_i64().expect("share id");
    // Both applies look the invitee up before either has invited (the list answers slowly, long
    // enough for the other apply's reads on a busy PostgreSQL), so the second invite meets
    // plex.tv's "already sharing".
    m.world
        .plex_tv
        .add_fault(FaultRule::path("/api/servers/", FaultAction::Delay { ms: 250 }).method("GET"));
    let (a, b) = tokio::join!(m.t.app.apply_share(share), m.t.app.apply_share(share));
    let (a, b) = (a.expect("first apply"), b.expect("second apply"));
    assert_eq!(a, b);
    let shared: Vec<_> = m
        .world
        .plex_tv
        .shares()
        .into_iter()
        .filter(|s| s.invited_email.eq_ignore_ascii_case("ann@example.com"))
        .collect();
    assert_eq!(shared.len(), 1, "{shared:?}");
    assert!(!shared[0].all_libraries, "{shared:?}");
    let refused = m
        .world
        .plex_tv
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path == "/api/v2/shared_servers")
        .filter(|r| r.status == Some(422))
        .count();
    let log: Vec<(String, String, Option<u16>)> = m
        .world
        .plex_tv
        .requests()
        .into_iter()
        .map(|r| (r.method, r.path, r.status))
        .collect();
    assert_eq!(
        refused, 1,
        "the race this test is about did not happen: {log:?}"
    );
}
