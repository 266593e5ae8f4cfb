//! Two real `serve` processes sharing one PostgreSQL database.

use crate::cli::bin;
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};

fn start(db_url: &str, key: &str) -> (Child, String) {
    let dir = crate::helpers::temp_dir();
    let mut child = bin()
        .args(["serve"])
        .env("BOXOFFICE_DATA_DIR", &dir)
        .env("BOXOFFICE_LISTEN", "127.0.0.1:0")
        .env("BOXOFFICE_DATABASE_URL", db_url)
        .env("BOXOFFICE_SECRET_KEY", key)
        .env("BOXOFFICE_JOBS__POLL_INTERVAL_MS", "20")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve starts");
    let mut reader = BufReader::new(child.stdout.take().expect("stdout"));
    let mut first = String::new();
    reader.read_line(&mut first).expect("listen line");
    std::thread::spawn(move || {
        let mut sink = String::new();
        while reader.read_line(&mut sink).unwrap_or(0) > 0 {
            sink.clear();
        }
    });
    (
        child,
        first
            .trim()
            .rsplit(' ')
            .next()
            .unwrap_or_default()
            .to_string(),
    )
}

#[tokio::test]
async fn two_serve_processes_on_one_postgres_database_run_each_tick_once() {
    let Some(db) = boxoffice_store::testing::postgres()
        .await
        .expect("postgres")
    else {
        eprintln!("skipped: set TEST_DATABASE_URL to run the multi-instance test");
        return;
    };
    boxoffice_store::settings::put(
        db.db.ex(),
        "jobs.sessions_purge.schedule",
        "every 1s",
        None,
        0,
    )
    .await
    .unwrap();
    let key = boxoffice_app::crypto::SecretBox::generate_key_base64().unwrap();
    let (mut a, url_a) = start(&db.url, &key);
    let (mut b, url_b) = start(&db.url, &key);
    let c = crate::helpers::client();
    assert_eq!(
        c.get(format!("{url_a}/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        c.get(format!("{url_b}/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    // Both schedulers tick every 20 ms against a one-second schedule: wait for a few seconds'
    // worth of ticks to be enqueued and run by either instance.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let jobs = loop {
        let jobs =
            boxoffice_store::jobs::list(db.db.ex(), Some("done"), Some("sessions.purge"), 1000)
                .await
                .unwrap();
        if jobs.len() >= 4 || std::time::Instant::now() > deadline {
            break jobs;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let _ = a.kill();
    let _ = b.kill();
    let _ = a.wait();
    let _ = b.wait();
    assert!(jobs.len() >= 4, "ticks ran: {}", jobs.len());
    let mut ticks: Vec<i64> = jobs
        .iter()
        .map(|j| {
            serde_json::from_str::<serde_json::Value>(&j.payload).unwrap()["tick"]
                .as_i64()
                .unwrap()
        })
        .collect();
    ticks.sort();
    let n = ticks.len();
    ticks.dedup();
    assert_eq!(ticks.len(), n, "no tick ran twice");
    for w in ticks.windows(2) {
        assert!(w[1] > w[0], "ticks move forward");
    }
}
