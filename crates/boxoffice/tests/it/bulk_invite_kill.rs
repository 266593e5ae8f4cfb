//! A bulk invite whose worker is killed at random points (a seeded RNG picks how far each run
//! gets before its task is aborted, mid-row included), its lease left to expire on the test
//! clock, and the job run again until done: every row is applied exactly once, on SQLite and on
//! PostgreSQL.

use crate::bulk_invite::{count, csv_for, exec, jellyfin, start, status};
use crate::servers::media_test;
use boxoffice_app::AppError;
use serde_json::Value;
use std::collections::HashMap;

/// The size. `BOXOFFICE_BULK_KILL_ROWS` runs another.
const ROWS: usize = 1000;

fn rows() -> usize {
    std::env::var("BOXOFFICE_BULK_KILL_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(ROWS)
}

/// xorshift64*: a fixed seed gives the same kill points on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

#[tokio::test]
async fn an_import_killed_at_random_points_applies_every_row_exactly_once() {
    let m = media_test().await;
    let server = jellyfin(&m).await;
    let db = &m.t.app.db;
    exec(db, "UPDATE servers SET max_users = 5000").await;
    let rows = rows();
    let emails: Vec<String> = (0..rows).map(|i| format!("u{i:04}@example.com")).collect();
    let refs: Vec<&str> = emails.iter().map(String::as_str).collect();
    let id = start(&m, &csv_for(&server, &refs)).await;

    // The first worker claims the job and then dies with it: its lease must run out before a
    // runner takes the job again.
    let now = m.t.app.now();
    boxoffice_store::jobs::claim(db.ex(), now, now + 60, "killed-worker")
        .await
        .expect("claim")
        .expect("the bulk job is due");

    let seed = std::env::var("BOXOFFICE_BULK_KILL_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5eed_b0c5_0ff1_ce00_u64);
    let mut rng = Rng(seed);
    let mut failed_attempts = 0;
    let mut kills = 0;
    loop {
        let app = m.t.app.clone();
        let task = tokio::spawn(async move { app.run_bulk_invite(id, None).await });
        // Where the kill lands: after a random number of calls to the server (a row makes
        // three), then a random number of steps further (the test runs on one thread, and each
        // yield lets the worker go on to its next await), so it falls anywhere in a row: inside
        // the invite's transaction, between a create and its policy, before the outcome. Counted
        // in calls rather than time, a backend that needs more round trips (PostgreSQL, a new
        // connection) gets as far as a fast one.
        let calls = m.world.jellyfin.request_count() + (rng.next() % 10) as usize;
        let steps = rng.next() % 400;
        let mut taken = 0;
        while !task.is_finished() && (m.world.jellyfin.request_count() < calls || taken < steps) {
            if m.world.jellyfin.request_count() >= calls {
                taken += 1;
            }
            tokio::task::yield_now().await;
        }
        if task.is_finished() {
            match task.await.expect("join") {
                Ok(_) => break,
                // The store refused this attempt (on PostgreSQL, a row the killed worker was
                // still committing): the job runner retries a store error later, and so does
                // this loop. Nothing of the row is lost or doubled either way.
                Err(AppError::Store(e)) if failed_attempts < 20 => {
                    eprintln!("attempt failed, retried as the runner would: {e}");
                    failed_attempts += 1;
                    m.t.advance_clock(time::Duration::seconds(120));
                    continue;
                }
                Err(e) => panic!("run: {e}"),
            }
        }
        task.abort();
        let _ = task.await;
        kills += 1;
        m.t.advance_clock(time::Duration::seconds(120));
    }
    assert!(kills >= 3, "only {kills} kills: the test did not test much");
    eprintln!("{rows} rows imported across {kills} kills");

    // The lease has run out: the runner takes the job (the rows apply their shares themselves;
    // the invites queue none).
    m.t.advance_clock(time::Duration::seconds(3600));
    m.t.run_pending_jobs().await;
    let v = status(&m, id).await;
    let failed: Vec<&Value> = v["rows"]
        .as_array()
        .map(|r| r.iter().filter(|r| r["outcome"] == "failed").collect())
        .unwrap_or_default();
    assert_eq!(
        (&v["done_rows"], &v["failed_rows"], &v["remaining"]),
        (&Value::from(rows), &Value::from(0), &Value::from(0)),
        "{} {failed:?}",
        v["state"]
    );
    for table in ["customers", "payments", "shares"] {
        let n = count(db, &format!("SELECT COUNT(*) FROM {table}")).await;
        assert_eq!(n as usize, rows, "{table} after {kills} kills");
    }
    // On the server: each user exists once, and was created once.
    let mut users: HashMap<String, usize> = HashMap::new();
    for u in m.world.jellyfin.users() {
        *users.entry(u.name.clone()).or_default() += 1;
    }
    for e in &emails {
        let name = e.split('@').next().unwrap_or_default();
        assert_eq!(users.get(name), Some(&1), "{name}");
    }
    let creates = m
        .world
        .jellyfin
        .requests()
        .iter()
        // A retry after a kill past the create is refused (the name is taken) and then finds
        // the user: only accepted creates count.
        .filter(|r| r.path == "/Users/New" && r.status.is_some_and(|s| s < 300))
        .count();
    assert_eq!(
        creates, rows,
        "one user created per row after {kills} kills"
    );
}
