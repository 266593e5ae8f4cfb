//! A start after the process was killed (`kill -9`, a power cut): the jobs the dead process held
//! are due at once instead of when their leases run out, their attempts not counted; leases of
//! other instances are left alone; and a second process on a data directory in use refuses to
//! start.

use crate::cli::bin;
use crate::helpers::{temp_dir, test_config, test_db};
use boxoffice::startup::Application;
use boxoffice_app::queue::JobSpec;
use boxoffice_domain::TestClock;
use boxoffice_store::jobs::{self, Job};
use serde_json::json;
use std::path::Path;
use std::sync::Arc;

const A_YEAR: i64 = 365 * 86_400;

async fn start(url: &str, dir: &Path, clock: &TestClock) -> Application {
    Application::build(&test_config(url, dir), Arc::new(clock.clone()), false)
        .await
        .expect("application starts")
}

/// Queues a job and leases it, for a year, to a worker of `instance`, as a claim does: the
/// job is running and has used one attempt.
async fn held_by(app: &Application, instance: &str, key: &str) -> Job {
    let a = &app.app;
    let id = a
        .enqueue(
            a.db.ex(),
            JobSpec::new("sessions.purge", json!({})).key(key),
        )
        .await
        .expect("enqueue")
        .id();
    let now = a.now();
    let token = jobs::instance_token(instance, "w1-dead:0123456789abcdef");
    let held = jobs::claim(a.db.ex(), now, now + A_YEAR, &token)
        .await
        .expect("claim")
        .expect("the job is due");
    assert_eq!((held.id, held.attempts), (id, 1));
    held
}

#[tokio::test]
async fn a_job_the_killed_process_held_runs_at_once_on_the_next_start_with_its_attempt_not_counted()
{
    let db = test_db().await;
    let dir = temp_dir();
    let clock = TestClock::starting_now();
    let first = start(&db.url, &dir, &clock).await;
    let me = first.instance().to_owned();
    let held = held_by(&first, &me, "killed-run").await;
    // The process dies without handing anything back; the operating system frees its lock.
    drop(first);

    let next = start(&db.url, &dir, &clock).await;
    assert_eq!(
        next.instance(),
        me,
        "the same identity on the same data directory"
    );
    let job = jobs::find(next.app.db.ex(), held.id).await.expect("job");
    assert_eq!(
        (job.state.as_str(), job.lease_until, job.attempts),
        ("queued", None, 0),
        "handed back uncounted"
    );
    assert!(job.run_after <= next.app.now(), "due now, not in a year");
    let (ran, outcome) = next
        .runner()
        .run_one()
        .await
        .expect("run")
        .expect("the job runs at once");
    assert_eq!((ran.id, ran.attempts), (held.id, 1), "the same one attempt");
    assert_eq!(outcome, boxoffice_jobs::Outcome::Done);
}

#[tokio::test]
async fn a_lease_held_by_another_instance_is_left_alone_at_start() {
    let db = test_db().await;
    let clock = TestClock::starting_now();
    let other = start(&db.url, &temp_dir(), &clock).await;
    let theirs = held_by(&other, other.instance(), "other-instance").await;

    let mine = start(&db.url, &temp_dir(), &clock).await;
    assert_ne!(mine.instance(), other.instance());
    let job = jobs::find(mine.app.db.ex(), theirs.id).await.expect("job");
    assert_eq!(
        (
            job.state.as_str(),
            job.lease_until,
            job.lease_token,
            job.attempts
        ),
        ("running", theirs.lease_until, theirs.lease_token, 1),
        "still the other instance's"
    );
    assert!(
        mine.runner().run_one().await.expect("run").is_none(),
        "nothing for this instance to run"
    );
    drop(other);
}

#[tokio::test]
async fn a_second_process_on_a_data_directory_in_use_refuses_to_start_and_says_why() {
    let running = crate::helpers::spawn_app().await;
    let out = bin()
        .args(["serve"])
        .env("BOXOFFICE_DATA_DIR", &running.data_dir)
        .env("BOXOFFICE_LISTEN", "127.0.0.1:0")
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(6), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "another boxoffice process is running on the data directory {}",
            running.data_dir.display()
        )),
        "{stderr}"
    );
}
