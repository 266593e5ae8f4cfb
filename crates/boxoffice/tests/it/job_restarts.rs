//! Long jobs across restarts: an import cut short again and again while it makes progress still
//! finishes; one whose job is given up says so on its page, in the API and to the administrator,
//! and Retry resumes it; a worker told to shut down stops between rows and hands the job back,
//! and a fresh worker resumes it at once. A migration whose job is given up says so the same way.

use crate::bulk_invite::{count, csv_for, jellyfin, start, status};
use crate::lifecycle::set;
use crate::migration::{add_jellyfin, basic_plan, folders, invite, movies, open};
use crate::servers::{MediaTest, media_test};
use boxoffice_app::audit::Actor;
use boxoffice_app::job_lease::Lease;
use boxoffice_app::subscriptions::MigrationInput;
use boxoffice_fakes::World;
use boxoffice_jobs::{JobError, Outcome, Runner, RunnerOptions, registry_with_builtins};
use boxoffice_store::jobs::{self, Job};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

fn emails(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("r{i:03}@example.com")).collect()
}

async fn import(m: &MediaTest, rows: usize) -> (i64, i64) {
    let server = jellyfin(m).await;
    let emails = emails(rows);
    let refs: Vec<&str> = emails.iter().map(String::as_str).collect();
    let id = start(m, &csv_for(&server, &refs)).await;
    let job = bulk_job(m, id).await;
    (id, job.id)
}

async fn bulk_job(m: &MediaTest, import: i64) -> Job {
    let all = jobs::list(m.t.app.db.ex(), None, Some("bulk_invite.run"), 100)
        .await
        .expect("jobs");
    all.into_iter()
        .find(|j| j.payload.contains(&format!("\"bulk_invite_id\":{import}")))
        .expect("the import's job")
}

async fn done_rows(m: &MediaTest, import: i64) -> i64 {
    count(
        &m.t.app.db,
        &format!("SELECT done_rows FROM bulk_invites WHERE id = {import}"),
    )
    .await
}

async fn progressed(m: &MediaTest, job: i64) -> bool {
    count(
        &m.t.app.db,
        &format!("SELECT COUNT(*) FROM jobs WHERE id = {job} AND progressed"),
    )
    .await
        == 1
}

fn runner(m: &MediaTest) -> Runner {
    Runner::new(
        m.t.app.clone(),
        Arc::new(registry_with_builtins()),
        RunnerOptions {
            lease_secs: 60,
            ..RunnerOptions::default()
        },
    )
}

#[tokio::test]
async fn an_import_whose_worker_dies_ten_times_while_making_progress_still_finishes() {
    let m = media_test().await;
    // Enough rows that ten crashes never finish the import, however many rows a doomed worker
    // gets through before it is seen to have made progress (a busy database lets it do several).
    let rows = 60;
    let (id, job) = import(&m, rows).await;
    let db = &m.t.app.db;
    let never = tokio::sync::watch::channel(false).1;
    for crash in 1..=10 {
        // A worker takes the job (over the dead one's expired lease), invites at least one row,
        // and dies with the job still held.
        let now = m.t.app.now();
        let token = format!("doomed-{crash}");
        let claimed = jobs::claim(db.ex(), now, now + 60, &token)
            .await
            .expect("claim")
            .expect("the import's job is due");
        assert_eq!(claimed.id, job, "crash {crash}");
        let app = m.t.app.clone();
        let lease = Lease::new(job, token, never.clone());
        let task = tokio::spawn(async move { app.run_bulk_invite_under(id, None, &lease).await });
        while !task.is_finished() && !progressed(&m, job).await {
            tokio::task::yield_now().await;
        }
        assert!(
            !task.is_finished(),
            "crash {crash}: the import ran out of rows"
        );
        task.abort();
        let _ = task.await;
        m.t.advance_clock(time::Duration::seconds(61));
    }
    assert!(done_rows(&m, id).await >= 10);

    let r = runner(&m);
    r.run_pending().await.expect("run");
    let j = jobs::find(db.ex(), job).await.expect("job");
    assert_eq!(
        (j.state.as_str(), j.attempts),
        ("done", 1),
        "ten restarts with progress cost no attempt: {:?}",
        j.last_error
    );
    let v = status(&m, id).await;
    assert_eq!(
        (&v["state"], &v["done_rows"], &v["remaining"]),
        (
            &Value::from("finished"),
            &Value::from(rows),
            &Value::from(0)
        )
    );
}

#[tokio::test]
async fn an_import_whose_job_dies_without_progress_shows_stopped_tells_the_admin_and_retry_finishes_it()
 {
    let m = media_test().await;
    for (k, v) in [
        ("general.admin_email", "owner@example.com"),
        ("email.enabled", "true"),
        ("email.smtp_host", "127.0.0.1"),
        ("email.from_address", "noreply@example.com"),
    ] {
        set(&m, k, v).await;
    }
    let (id, job) = import(&m, 3).await;
    let db = &m.t.app.db;
    // Eight workers each take the job and die before finishing a row: each run is a failed
    // attempt, and the ninth claim gives the job up.
    for crash in 1..=8 {
        let now = m.t.app.now();
        let claimed = jobs::claim(db.ex(), now, now + 60, &format!("doomed-{crash}"))
            .await
            .expect("claim")
            .expect("due");
        assert_eq!((claimed.id, claimed.attempts), (job, crash));
        m.t.advance_clock(time::Duration::seconds(61));
    }
    let (ran, outcome) = runner(&m)
        .run_one()
        .await
        .expect("run")
        .expect("the job is due");
    assert_eq!(ran.id, job);
    assert!(matches!(outcome, Outcome::Dead(_)), "{outcome:?}");

    // The API says stopped, why, and where to retry.
    let v = status(&m, id).await;
    assert_eq!(v["state"], "stopped", "{v}");
    let reason = v["stop_reason"].as_str().expect("stop_reason");
    assert!(reason.contains("gave up after 8 attempts"), "{reason}");
    assert_eq!(
        v["retry_url"],
        format!("/api/v1/bulk-invites/{id}/retry-failed")
    );
    assert_eq!(v["remaining"], 3);

    // The page says so too, with a Retry button, and no longer claims to be inviting.
    let html =
        m.t.get_html(&format!("/admin/users/bulk-invite/{id}"))
            .await;
    assert!(html.contains("data-state=\"stopped\""), "{html}");
    assert!(html.contains("Stopped: gave up after 8 attempts"), "{html}");
    assert!(html.contains(">Retry</button>"), "{html}");
    assert!(!html.contains("Inviting…"), "{html}");

    // The administrator is told, once, by the import's own notice.
    let notices = count(
        db,
        &format!(
            "SELECT COUNT(*) FROM notifications WHERE dedupe_key LIKE 'bulk_invite_stopped:{id}:%' AND recipient = 'owner@example.com'"
        ),
    )
    .await;
    assert_eq!(notices, 1);

    // Retry resumes it where it stopped, and it finishes.
    let (s, v) = m
        .api(
            reqwest::Method::POST,
            &format!("/bulk-invites/{id}/retry-failed"),
            None,
        )
        .await;
    assert_eq!((s, &v["retried"]), (202, &Value::from(3)), "{v}");
    assert_eq!(status(&m, id).await["state"], "running");
    runner(&m).run_pending().await.expect("run");
    let v = status(&m, id).await;
    assert_eq!(
        (&v["state"], &v["done_rows"], &v["stop_reason"]),
        (&Value::from("finished"), &Value::from(3), &Value::from(""))
    );
    assert_eq!(
        jobs::find(db.ex(), job).await.expect("job").state,
        "done",
        "the dead job itself was retried, not a second one queued beside it"
    );
}

#[tokio::test]
async fn a_worker_told_to_shut_down_hands_the_import_back_between_rows_and_a_fresh_worker_resumes_at_once()
 {
    let m = media_test().await;
    // Enough rows that the worker is still busy when told to stop, however far a busy
    // database lets it get before the test sees two rows done.
    let rows = 60;
    let (id, job) = import(&m, rows).await;
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let worker = runner(&m).with_shutdown(stop_rx);
    let task = tokio::spawn(async move { worker.run_one().await });
    while !task.is_finished() && done_rows(&m, id).await < 2 {
        tokio::task::yield_now().await;
    }
    stop.send(true).expect("stop");
    let (ran, outcome) = task.await.expect("join").expect("run").expect("ran");
    assert_eq!((ran.id, outcome), (job, Outcome::HandedBack));

    let j = jobs::find(m.t.app.db.ex(), job).await.expect("job");
    assert_eq!(
        (j.state.as_str(), j.attempts, j.lease_until),
        ("queued", 0, None),
        "handed back, the attempt not counted"
    );
    assert!(j.run_after <= m.t.app.now(), "due at once");
    let v = status(&m, id).await;
    assert_eq!(v["state"], "paused");
    let done = v["done_rows"].as_i64().expect("done");
    assert!(
        (2..rows as i64).contains(&done),
        "stopped between rows: {done}"
    );
    let html =
        m.t.get_html(&format!("/admin/users/bulk-invite/{id}"))
            .await;
    assert!(
        html.contains("Paused: boxoffice shut down between rows"),
        "{html}"
    );

    // The next start: no lease to wait out, the clock is where it was.
    let (ran, outcome) = runner(&m)
        .run_one()
        .await
        .expect("run")
        .expect("the job is due at once");
    assert_eq!((ran.id, outcome), (job, Outcome::Done));
    let v = status(&m, id).await;
    assert_eq!(
        (&v["state"], &v["done_rows"]),
        (&Value::from("finished"), &Value::from(rows))
    );
    assert_eq!(
        jobs::find(m.t.app.db.ex(), job)
            .await
            .expect("job")
            .attempts,
        1
    );
    assert_eq!(
        count(&m.t.app.db, "SELECT COUNT(*) FROM customers").await,
        rows as i64,
        "no row done twice"
    );
}

#[tokio::test]
async fn a_handler_that_ignores_shutdown_is_cut_off_after_the_grace_and_its_job_handed_back() {
    let m = media_test().await;
    let mut registry = registry_with_builtins();
    let started = Arc::new(tokio::sync::Notify::new());
    let s = started.clone();
    registry.handle("test.stubborn", move |_app, _ctx| {
        let s = s.clone();
        async move {
            s.notify_one();
            std::future::pending::<()>().await;
            Ok::<(), JobError>(())
        }
    });
    let job =
        m.t.app
            .enqueue(
                m.t.app.db.ex(),
                boxoffice_app::queue::JobSpec::new("test.stubborn", serde_json::json!({})),
            )
            .await
            .expect("enqueue")
            .id();
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let worker = Runner::new(
        m.t.app.clone(),
        Arc::new(registry),
        RunnerOptions {
            shutdown_grace: Duration::from_millis(50),
            ..RunnerOptions::default()
        },
    )
    .with_shutdown(stop_rx);
    let task = tokio::spawn(async move { worker.run_one().await });
    started.notified().await;
    stop.send(true).expect("stop");
    let (_, outcome) = task.await.expect("join").expect("run").expect("ran");
    assert_eq!(outcome, Outcome::HandedBack);
    let j = jobs::find(m.t.app.db.ex(), job).await.expect("job");
    assert_eq!((j.state.as_str(), j.attempts), ("queued", 0));
}

#[tokio::test]
async fn a_migration_whose_job_is_given_up_shows_stopped_tells_the_admin_and_retry_finishes_it() {
    let m = media_test().await;
    for (k, v) in [
        ("general.admin_email", "owner@example.com"),
        ("email.enabled", "true"),
        ("email.smtp_host", "127.0.0.1"),
        ("email.from_address", "noreply@example.com"),
    ] {
        set(&m, k, v).await;
    }
    let other = World::seed_default().await.expect("second world");
    let db = &m.t.app.db;
    basic_plan(db).await;
    let source = add_jellyfin(&m, &m.world.jellyfin).await;
    open(db, source, true).await;
    let target = add_jellyfin(&m, &other.jellyfin).await;
    open(db, target, true).await;
    invite(&m, "dee@example.com", source).await;
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
    let job = jobs::list(db.ex(), None, Some("migration.run"), 10)
        .await
        .expect("jobs")
        .into_iter()
        .find(|j| j.payload.contains(&format!("\"migration_id\":{}", row.id)))
        .expect("the migration's job");
    // Eight workers each take the job and die before moving anyone; the ninth claim gives it up.
    for crash in 1..=8 {
        let now = m.t.app.now();
        let claimed = jobs::claim(db.ex(), now, now + 60, &format!("doomed-{crash}"))
            .await
            .expect("claim")
            .expect("due");
        assert_eq!((claimed.id, claimed.attempts), (job.id, crash));
        m.t.advance_clock(time::Duration::seconds(61));
    }
    let (ran, outcome) = runner(&m)
        .run_one()
        .await
        .expect("run")
        .expect("the job is due");
    assert_eq!(ran.id, job.id);
    assert!(matches!(outcome, Outcome::Dead(_)), "{outcome:?}");

    let (s, v) = m
        .api(
            reqwest::Method::GET,
            &format!("/migrations/{}", row.id),
            None,
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["state"], "stopped", "{v}");
    let reason = v["stop_reason"].as_str().expect("stop_reason");
    assert!(reason.contains("gave up after 8 attempts"), "{reason}");
    assert_eq!(
        v["retry_url"],
        format!("/api/v1/migrations/{}/retry", row.id)
    );
    assert_eq!(v["pending"], 1);

    let html = m.t.get_html(&format!("/admin/servers/{source}")).await;
    assert!(html.contains("data-state=\"stopped\""), "{html}");
    assert!(html.contains("Stopped: gave up after 8 attempts"), "{html}");
    assert!(html.contains(">Retry</button>"), "{html}");

    let notices = count(
        db,
        &format!(
            "SELECT COUNT(*) FROM notifications WHERE dedupe_key LIKE 'migration_stopped:{}:%' AND recipient = 'owner@example.com'",
            row.id
        ),
    )
    .await;
    assert_eq!(
        notices, 1,
        "the administrator is told once, by the migration's own notice"
    );

    let (s, v) = m
        .api(
            reqwest::Method::POST,
            &format!("/migrations/{}/retry", row.id),
            None,
        )
        .await;
    assert_eq!(s, 202, "{v}");
    runner(&m).run_pending().await.expect("run");
    let view = m.t.app.migration(row.id).await.expect("migration");
    assert_eq!(
        (view.row.state.as_str(), view.row.stop_reason.as_str()),
        ("done", "")
    );
    assert_eq!(view.items[0].outcome, "moved", "{:?}", view.items);
    assert_eq!(folders(&m.world.jellyfin, "dee@example.com"), None);
    assert_eq!(folders(&other.jellyfin, "dee@example.com"), movies());
    assert_eq!(
        jobs::find(db.ex(), job.id).await.expect("job").state,
        "done",
        "the dead job itself was retried, not a second one queued beside it"
    );
}
