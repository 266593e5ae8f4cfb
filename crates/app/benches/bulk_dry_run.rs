//! The bulk-invite dry run of the largest accepted file: 10,000 valid rows, half of them
//! customers the database already has (20,000 customers with a payment each, 10,000 of them
//! shared on a server). Times `App::start_bulk_invite(.., dry_run = true)` as the upload page and
//! the API call it (catalogue, recorded transaction ids, validation, the customer lookups, the
//! per-row classification), and, apart, the customer lookups alone done row by row (as the dry
//! run did before) and in one statement (as it does now), and the transaction ids already
//! recorded: all of them (as before) or only the file's (as now). Prints the numbers and writes them to
//! target/bench/bulk_dry_run.json. Goal: ≤ 50 ms for the whole dry run.
//!
//! Run: `cargo bench -p boxoffice-app --bench bulk_dry_run`. With
//! BENCH_DATABASE_URL=postgres://…/empty_db it runs against that PostgreSQL database instead.

use boxoffice_app::App;
use boxoffice_app::audit::Actor;
use boxoffice_app::bulk_invite::BulkInviteStart;
use boxoffice_app::crypto::SecretBox;
use boxoffice_domain::SystemClock;
use boxoffice_store::{ConnectOptions, Db, StoreError, affected, bulk_invites, customers, shares};
use std::sync::Arc;
use std::time::{Duration, Instant};

type Error = Box<dyn std::error::Error>;

const CUSTOMERS: i64 = 20_000;
const ROWS: usize = 10_000;
const RUNS: usize = 20;

async fn exec(db: &Db, sql: String) -> Result<(), Error> {
    affected!(db.ex(), |e| sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
        .execute(e)
        .await)?;
    Ok(())
}

/// A Jellyfin server with room for everyone, the Standard libraries, the Basic plan, and the
/// existing customers with a payment each and every other one shared on the server.
async fn seed(db: &Db, now: i64) -> Result<(), Error> {
    exec(db, "INSERT INTO servers (id, platform, name, remote_id, url, enabled, allow_new_subscriptions, max_users, created_at, updated_at)
        VALUES (1, 'jellyfin', 'Jelly One', 'r1', 'http://127.0.0.1:1', TRUE, TRUE, 100000, 0, 0)".into()).await?;
    exec(db, "INSERT INTO libraries (server_id, remote_key, name, library_group_id, created_at, synced_at)
        VALUES (1, 'k1', 'Movies', 2, 0, 0)".into()).await?;
    exec(db, "INSERT INTO plans (id, name, cost_minor, currency, duration_unit, duration_count, downloads, created_at, updated_at)
        VALUES (1, 'Basic', 500, 'USD', 'days', 30, TRUE, 0, 0)".into()).await?;
    exec(
        db,
        "INSERT INTO plan_library_groups (plan_id, library_group_id, grace) VALUES (1, 2, FALSE)"
            .into(),
    )
    .await?;
    exec(db, format!("INSERT INTO customers (email, email_key, jellyfin_username, plan_id, covered_until, created_at, updated_at)
        WITH RECURSIVE n(i) AS (SELECT CAST(1 AS BIGINT) UNION ALL SELECT i + 1 FROM n WHERE i < {CUSTOMERS})
        SELECT 'User' || i || '@Example.com', 'user' || i || '@example.com', 'u' || i, 1, {now} + (i % 60) * 86400, {now}, {now} FROM n")).await?;
    exec(db, format!("INSERT INTO payments (customer_id, plan_id, amount_minor, currency, period_from, period_to, method, transaction_id, created_at)
        SELECT id, 1, 500, 'USD', {now} - 86400, covered_until, 'manual', 'tx-' || id, {now} FROM customers")).await?;
    exec(
        db,
        format!(
            "INSERT INTO shares (customer_id, server_id, state, created_at, updated_at)
        SELECT id, 1, 'active', {now}, {now} FROM customers WHERE id % 2 = 0"
        ),
    )
    .await?;
    Ok(())
}

/// Odd rows name existing customers (half of them shared already), even rows new ones.
fn file() -> Vec<u8> {
    let mut s = String::from("Email,Server Name,Plan Name,Username\n");
    for i in 1..=ROWS {
        if i % 2 == 1 {
            s.push_str(&format!("user{i}@example.com,Jelly One,Basic,u{i}\n"));
        } else {
            s.push_str(&format!("new{i}@example.com,Jelly One,Basic,n{i}\n"));
        }
    }
    s.into_bytes()
}

fn keys() -> Vec<String> {
    (1..=ROWS)
        .map(|i| {
            if i % 2 == 1 {
                format!("user{i}@example.com")
            } else {
                format!("new{i}@example.com")
            }
        })
        .collect()
}

/// The lookups as the dry run made them before: one customer, then its shares, per e-mail.
async fn row_by_row(db: &Db, keys: &[String]) -> Result<usize, Error> {
    let mut found = 0;
    for k in keys {
        match customers::find_by_email_key(db.ex(), k).await {
            Ok(c) => {
                shares::list_for_customer(db.ex(), c.id).await?;
                found += 1;
            }
            Err(StoreError::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(found)
}

struct Stats {
    min: f64,
    p50: f64,
    p95: f64,
    max: f64,
}

fn stats(mut times: Vec<Duration>) -> Stats {
    times.sort();
    let ms = |d: Duration| (d.as_secs_f64() * 1000.0 * 100.0).round() / 100.0;
    Stats {
        min: ms(times[0]),
        p50: ms(times[times.len() / 2]),
        p95: ms(times[(times.len() * 95).div_ceil(100) - 1]),
        max: ms(times[times.len() - 1]),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let dir = tempfile::tempdir()?;
    let default_url = format!("sqlite://{}/bench.db?mode=rwc", dir.path().display());
    let url = std::env::var("BENCH_DATABASE_URL").unwrap_or(default_url);
    let db = boxoffice_store::connect(&url, &ConnectOptions::default()).await?;
    db.migrate().await?;
    let key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    let app = App::new(
        db.clone(),
        Arc::new(SystemClock),
        SecretBox::from_base64(key)?,
    );
    let t = Instant::now();
    seed(&db, app.now()).await?;
    boxoffice_store::maintenance::refresh_statistics(db.ex()).await?;
    println!(
        "{}: seeded {CUSTOMERS} customers in {:.1}s",
        db.backend().name(),
        t.elapsed().as_secs_f64()
    );
    let bytes = file();
    let keys = keys();

    let mut whole = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let t = Instant::now();
        let out = app
            .start_bulk_invite(&Actor::cli(), "bench.csv", &bytes, true)
            .await?;
        whole.push(t.elapsed());
        match out {
            BulkInviteStart::DryRun { rows, .. } => assert_eq!(rows.len(), ROWS),
            other => return Err(format!("the file must be valid: {other:?}").into()),
        }
    }
    let mut batched = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let t = Instant::now();
        let found = bulk_invites::known_customers(db.ex(), &keys).await?;
        batched.push(t.elapsed());
        assert_eq!(found.len(), ROWS / 2);
    }
    let mut recorded_all = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let t = Instant::now();
        let ids = bulk_invites::recorded_transaction_ids(db.ex()).await?;
        recorded_all.push(t.elapsed());
        assert_eq!(ids.len(), usize::try_from(CUSTOMERS)?);
    }
    let file_ids = boxoffice_domain::bulk_invite::Upload::parse(&bytes)
        .map_err(|e| format!("{e:?}"))?
        .transaction_ids();
    let mut recorded_file = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let t = Instant::now();
        let ids = bulk_invites::recorded_among(db.ex(), &file_ids).await?;
        recorded_file.push(t.elapsed());
        assert!(ids.is_empty());
    }
    let mut sequential = Vec::with_capacity(5);
    for _ in 0..5 {
        let t = Instant::now();
        let found = row_by_row(&db, &keys).await?;
        sequential.push(t.elapsed());
        assert_eq!(found, ROWS / 2);
    }
    let mut doc = serde_json::Map::new();
    doc.insert("backend".into(), db.backend().name().into());
    doc.insert("rows".into(), ROWS.into());
    doc.insert("customers".into(), CUSTOMERS.into());
    for (name, s, goal) in [
        ("dry_run", stats(whole), " (target ≤ 50 ms)"),
        ("lookups_batched", stats(batched), ""),
        ("tx_ids_all_recorded", stats(recorded_all), ""),
        ("tx_ids_of_the_file", stats(recorded_file), ""),
        ("lookups_row_by_row", stats(sequential), ""),
    ] {
        println!(
            "{name:<20} min {:>7.2} ms  p50 {:>7.2} ms  p95 {:>7.2} ms  max {:>7.2} ms{goal}",
            s.min, s.p50, s.p95, s.max
        );
        doc.insert(
            name.into(),
            serde_json::json!({"min_ms": s.min, "p50_ms": s.p50, "p95_ms": s.p95, "max_ms": s.max}),
        );
    }
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench");
    std::fs::create_dir_all(&out)?;
    std::fs::write(
        out.join("bulk_dry_run.json"),
        serde_json::to_string_pretty(&serde_json::Value::Object(doc))?,
    )?;
    db.close().await;
    Ok(())
}
