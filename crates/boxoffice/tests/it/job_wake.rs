//! A queued job wakes an idle worker at once instead of at its next poll: in this instance, and
//! on PostgreSQL in every instance sharing the database (LISTEN/NOTIFY). The workers here poll
//! once a day, so only the wake can run the job.

use crate::helpers::*;
use boxoffice_app::App;
use boxoffice_app::queue::JobSpec;
use boxoffice_jobs::{JobError, Registry, Runner, RunnerOptions, registry_with_builtins};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

const A_DAY: Duration = Duration::from_secs(86_400);

/// A registry whose `test.ping` job reports its payload's `n`.
fn pinging() -> (Registry, mpsc::UnboundedReceiver<i64>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let mut r = registry_with_builtins();
    r.handle("test.ping", move |_app, ctx| {
        let tx = tx.clone();
        async move {
            let _ = tx.send(ctx.payload["n"].as_i64().unwrap_or(-1));
            Ok::<(), JobError>(())
        }
    });
    (r, rx)
}

/// Starts a worker that polls once a day and waits until it is idle; returns its stop switch.
async fn idle_worker(app: &App, registry: Registry) -> tokio::sync::watch::Sender<bool> {
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let runner = Runner::new(
        app.clone(),
        Arc::new(registry),
        RunnerOptions {
            poll_interval: A_DAY,
            scheduler: false,
            ..RunnerOptions::default()
        },
    );
    tokio::spawn(runner.run_forever(stop_rx));
    while app.metrics.counter("boxoffice_job_worker_idle_total", "") == 0
        || (app.db.backend() == boxoffice_store::Backend::Postgres
            && !app.queue_wake.hears_other_instances())
    {
        tokio::task::yield_now().await;
    }
    stop
}

async fn ping(app: &App, n: i64) {
    let mut tx = app.db.begin().await.expect("begin");
    app.enqueue(tx.ex(), JobSpec::new("test.ping", json!({ "n": n })))
        .await
        .expect("enqueue");
    tx.commit().await.expect("commit");
}

/// The wake must come long before the poll; this bound only keeps a broken wake from hanging
/// the suite for a day.
async fn ran(rx: &mut mpsc::UnboundedReceiver<i64>) -> i64 {
    tokio::time::timeout(Duration::from_secs(30), rx.recv())
        .await
        .expect("the idle worker was not woken by the enqueue (it polls once a day)")
        .expect("a ping")
}

#[tokio::test]
async fn a_queued_job_wakes_an_idle_worker_without_waiting_for_its_poll() {
    let t = spawn_app().await;
    let (registry, mut pings) = pinging();
    let stop = idle_worker(&t.app, registry).await;
    ping(&t.app, 1).await;
    assert_eq!(ran(&mut pings).await, 1);
    // Idle again, and woken again.
    ping(&t.app, 2).await;
    assert_eq!(ran(&mut pings).await, 2);
    assert_eq!(
        t.app
            .metrics
            .counter("boxoffice_job_worker_wakes_total", "by=\"poll\""),
        0
    );
    let _ = stop.send(true);
}

#[tokio::test]
async fn on_postgres_a_job_queued_by_one_instance_wakes_the_idle_worker_of_another() {
    let Some(db) = boxoffice_store::testing::postgres()
        .await
        .expect("postgres")
    else {
        eprintln!("skipped: set TEST_DATABASE_URL to run the cross-instance wake test");
        return;
    };
    let url = db.url.clone();
    let a = spawn_app_on(db).await;
    let dir = temp_dir();
    let cfg = test_config(&url, &dir);
    let b = boxoffice::startup::build_app(&cfg, Arc::new(a.clock.clone()))
        .await
        .expect("second instance");
    let (registry, mut pings) = pinging();
    let stop = idle_worker(&b, registry).await;
    // Instance A has no worker; only B's can run it, and B hears of it only through PostgreSQL.
    ping(&a.app, 7).await;
    assert_eq!(ran(&mut pings).await, 7);
    let _ = stop.send(true);
}
