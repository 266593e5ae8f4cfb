use crate::helpers::*;
use boxoffice_app::queue::JobSpec;
use boxoffice_jobs::{JobError, Outcome, Runner, RunnerOptions};
use boxoffice_store::jobs;
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A job whose effect is recorded in the same transaction as the job's own bookkeeping would be
/// in a real handler: the effect ledger makes a re-run skip what is done.
fn registry_with_effect_job(
    hang_first: Arc<AtomicBool>,
    started: Arc<tokio::sync::Notify>,
) -> boxoffice_jobs::Registry {
    let mut r = boxoffice_jobs::registry_with_builtins();
    r.handle("test.effect", move |app, ctx| {
        let hang = hang_first.clone();
        let started = started.clone();
        async move {
            if hang.swap(false, Ordering::SeqCst) {
                started.notify_one();
                // The worker dies here: the future is dropped and never resumes.
                std::future::pending::<()>().await;
            }
            let mut tx = app
                .db
                .begin()
                .await
                .map_err(|e| JobError::Retry(e.to_string()))?;
            jobs::record_effect(tx.ex(), &format!("effect:{}", ctx.id), ctx.id, app.now())
                .await
                .map_err(|e| JobError::Retry(e.to_string()))?;
            tx.commit()
                .await
                .map_err(|e| JobError::Retry(e.to_string()))?;
            Ok(())
        }
    });
    r.handle("test.flaky", |_app, ctx| async move {
        if ctx.attempt < 3 {
            Err(JobError::Retry(format!(
                "HTTP 503 on attempt {}",
                ctx.attempt
            )))
        } else {
            Ok(())
        }
    });
    r.handle("test.always_fails", |_app, _ctx| async move {
        Err::<(), _>(JobError::Retry("HTTP 500".into()))
    });
    r
}

#[tokio::test]
async fn a_job_whose_worker_dies_mid_run_runs_again_after_its_lease_and_completes_once() {
    let t = spawn_app().await;
    let hang = Arc::new(AtomicBool::new(true));
    let started = Arc::new(tokio::sync::Notify::new());
    let registry = Arc::new(registry_with_effect_job(hang.clone(), started.clone()));
    let opts = RunnerOptions {
        lease_secs: 60,
        ..RunnerOptions::default()
    };
    let id = t
        .app
        .enqueue(t.app.db.ex(), JobSpec::new("test.effect", json!({})))
        .await
        .unwrap()
        .id();

    let doomed = Runner::new(t.app.clone(), registry.clone(), opts.clone());
    let worker = tokio::spawn(async move { doomed.run_one().await });
    // Wait (without sleeping) until the first worker's handler is mid-run, then kill the worker.
    started.notified().await;
    assert_eq!(
        jobs::find(t.app.db.ex(), id).await.unwrap().state,
        "running"
    );
    worker.abort();
    assert!(worker.await.unwrap_err().is_cancelled());

    let second = Runner::new(t.app.clone(), registry.clone(), opts);
    assert_eq!(
        second.run_pending().await.unwrap(),
        0,
        "the lease still holds"
    );
    t.advance_clock(time::Duration::seconds(61));
    assert_eq!(second.run_pending().await.unwrap(), 1);
    let job = jobs::find(t.app.db.ex(), id).await.unwrap();
    assert_eq!((job.state.as_str(), job.attempts), ("done", 2));
    assert_eq!(
        jobs::count_effects(t.app.db.ex(), "effect:").await.unwrap(),
        1,
        "applied exactly once"
    );
    assert_eq!(
        second.run_pending().await.unwrap(),
        0,
        "nothing left to run"
    );
}

#[tokio::test]
async fn a_failing_job_backs_off_then_succeeds_and_a_hopeless_one_is_parked_with_its_error() {
    let t = spawn_app().await;
    let registry = Arc::new(registry_with_effect_job(
        Arc::new(AtomicBool::new(false)),
        Arc::new(tokio::sync::Notify::new()),
    ));
    let runner = Runner::new(t.app.clone(), registry, RunnerOptions::default());
    let flaky = t
        .app
        .enqueue(t.app.db.ex(), JobSpec::new("test.flaky", json!({})))
        .await
        .unwrap()
        .id();
    let hopeless = t
        .app
        .enqueue(
            t.app.db.ex(),
            JobSpec::new("test.always_fails", json!({})).attempts(2),
        )
        .await
        .unwrap()
        .id();

    let (_, first) = runner.run_one().await.unwrap().unwrap();
    let Outcome::RetryAt(at) = first else {
        panic!("{first:?}")
    };
    assert!(at > t.app.now(), "not retried at once");
    runner.run_pending().await.unwrap();
    let mut rounds = 0;
    while jobs::find(t.app.db.ex(), flaky).await.unwrap().state != "done" {
        t.advance_clock(time::Duration::hours(7));
        runner.run_pending().await.unwrap();
        rounds += 1;
        assert!(rounds < 5);
    }
    let dead = jobs::find(t.app.db.ex(), hopeless).await.unwrap();
    assert_eq!(dead.state, "dead");
    assert_eq!(
        dead.last_error.as_deref(),
        Some("gave up after 2 attempts: HTTP 500")
    );
    let page = {
        t.create_admin().await;
        t.login_admin().await;
        t.get_html("/admin/jobs?state=dead").await
    };
    assert!(
        page.contains("gave up after 2 attempts: HTTP 500"),
        "visible with its error"
    );
    t.post_form("/admin/jobs", &format!("/admin/jobs/{hopeless}/retry"), &[])
        .await;
    assert_eq!(
        jobs::find(t.app.db.ex(), hopeless).await.unwrap().state,
        "queued"
    );
}

#[tokio::test]
async fn an_unknown_job_kind_is_parked_not_retried_forever() {
    let t = spawn_app().await;
    let id = t
        .app
        .enqueue(
            t.app.db.ex(),
            JobSpec::new("from.a.newer.version", json!({})),
        )
        .await
        .unwrap()
        .id();
    t.run_pending_jobs().await;
    let j = jobs::find(t.app.db.ex(), id).await.unwrap();
    assert_eq!(j.state, "dead");
    assert!(j.last_error.unwrap().contains("no handler"));
}

#[tokio::test]
async fn two_instances_on_one_database_run_a_recurring_job_once_per_tick() {
    let db = test_db().await;
    let url = db.url.clone();
    let a = spawn_app_on(db).await;
    // A second instance: its own process state and data directory, the same database and clock.
    let cfg = test_config(&url, &temp_dir());
    let b = boxoffice::startup::Application::build(&cfg, Arc::new(a.clock.clone()), false)
        .await
        .unwrap();
    let (ra, rb) = (a.runner.clone(), b.runner());
    ra.tick_scheduler().await.unwrap();
    rb.tick_scheduler().await.unwrap();
    let mut total = 0;
    for _ in 0..3 {
        a.advance_clock(time::Duration::hours(1));
        let (x, y) = tokio::join!(ra.tick_scheduler(), rb.tick_scheduler());
        total += x.unwrap() + y.unwrap();
    }
    let purges = jobs::list(a.app.db.ex(), None, Some("sessions.purge"), 100)
        .await
        .unwrap();
    let keys: Vec<_> = purges.iter().map(|j| j.idempotency_key.clone()).collect();
    assert_eq!(
        purges.len(),
        3,
        "one per hourly tick, not one per instance: {keys:?}"
    );
    let all = jobs::list(a.app.db.ex(), None, None, 100).await.unwrap();
    assert_eq!(
        total,
        all.len(),
        "every enqueue reported by exactly one instance"
    );
    ra.run_pending().await.unwrap();
    assert!(
        jobs::list(a.app.db.ex(), Some("done"), Some("sessions.purge"), 100)
            .await
            .unwrap()
            .len()
            == 3
    );
}

#[tokio::test]
async fn a_recurring_job_switched_off_does_not_run() {
    let t = spawn_app().await;
    t.app
        .set_setting(
            &boxoffice_app::audit::Actor::cli(),
            "jobs.sessions_purge.enabled",
            "false",
        )
        .await
        .unwrap();
    t.runner.tick_scheduler().await.unwrap();
    t.advance_clock(time::Duration::hours(2));
    t.runner.tick_scheduler().await.unwrap();
    assert!(
        jobs::list(t.app.db.ex(), None, Some("sessions.purge"), 10)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn the_session_purge_job_removes_ended_sessions() {
    let t = spawn_app().await;
    t.create_admin().await;
    t.login_admin().await;
    t.advance_clock(time::Duration::days(15));
    t.runner.tick_scheduler().await.unwrap();
    t.advance_clock(time::Duration::hours(1));
    t.runner.tick_scheduler().await.unwrap();
    t.run_pending_jobs().await;
    let login = boxoffice_store::logins::find_by_email_key(t.app.db.ex(), ADMIN_EMAIL)
        .await
        .unwrap();
    assert_eq!(
        boxoffice_store::sessions::count_for_login(t.app.db.ex(), login.id)
            .await
            .unwrap(),
        0
    );
}
