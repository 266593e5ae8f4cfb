//! Verified, deduplicated Stripe webhooks per second on SQLite (goal ≥ 1,000/s): the storm of
//! the storm test at 10,000 deliveries (75% unique events over ~2,400 checkouts, 20% repeats,
//! 5% refused: forged or outside the tolerance), shuffled, sent over HTTP by 8 concurrent
//! senders to a boxoffice on a SQLite file. Every delivery is answered (200 or 400) and the
//! ledger is checked against the storm's expectation before the figure is printed. Writes
//! target/bench/webhooks.json.
//!
//! Run: `cargo bench -p boxoffice --bench webhooks`.

#[path = "../tests/it/stripe_storm.rs"]
mod stripe_storm;

use boxoffice::startup::Application;
use boxoffice_app::audit::Actor;
use boxoffice_config::{Config, Secret};
use boxoffice_domain::SystemClock;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use stripe_storm::{StormCheckout, checkouts_for, signature, storm};

type Error = Box<dyn std::error::Error>;

const SECRET: &str = "whsec_bench_endpoint_secret";
const DELIVERIES: usize = 10_000;
const SENDERS: usize = 8;

async fn exec(app: &boxoffice_app::App, sql: String) -> Result<(), Error> {
    boxoffice_store::affected!(app.db.ex(), |e| sqlx::query(sqlx::AssertSqlSafe(
        sql.clone()
    ))
    .execute(e)
    .await)?;
    Ok(())
}

async fn scalar(app: &boxoffice_app::App, sql: &str) -> Result<i64, Error> {
    let sql = sql.to_string();
    Ok(boxoffice_store::run!(app.db.ex(), |e| {
        sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql.clone()))
            .fetch_one(e)
            .await
    })?)
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> Result<(), Error> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = std::env::temp_dir().join(format!("boxoffice-bench-webhooks-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let mut cfg = Config {
        listen: "127.0.0.1:0".parse()?,
        data_dir: dir.clone(),
        database_url: Some(Secret::new(format!(
            "sqlite://{}?mode=rwc",
            dir.join("bench.db").display()
        ))),
        ..Config::default()
    };
    cfg.jobs.run = false;
    let application = Application::build(&cfg, Arc::new(SystemClock), false).await?;
    let app = application.app.clone();
    let url = format!("http://{}/webhooks/stripe", application.local_addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(application.run_until(async {
        let _ = stopped.await;
    }));
    for (k, v) in [
        ("payments.stripe.enabled", "true"),
        ("payments.stripe.secret_key", "sk_test_bench"),
        ("payments.stripe.webhook_secret", SECRET),
        ("payments.stripe.api_base", "http://127.0.0.1:9"),
    ] {
        app.set_setting(&Actor::cli(), k, v).await?;
    }
    exec(&app, "INSERT INTO plans (id, name, cost_minor, currency, duration_unit, duration_count, created_at, updated_at) VALUES (1, 'Basic', 1000, 'USD', 'days', 30, 0, 0)".into()).await?;
    let n = checkouts_for(DELIVERIES) as i64;
    let mut checkouts = Vec::new();
    for i in 1..=n {
        let recurring = i % 2 == 0;
        exec(&app, format!("INSERT INTO customers (id, email, email_key, created_at, updated_at) VALUES ({i}, 'c{i}@example.com', 'c{i}@example.com', 0, 0)")).await?;
        exec(&app, format!("INSERT INTO checkouts (id, customer_id, plan_id, provider, mode, state, amount_minor, currency, gateway_ref, created_at, updated_at) VALUES ({i}, {i}, 1, 'stripe', '{}', 'open', 1000, 'USD', 'cs_storm_{i}', 0, 0)", if recurring { "recurring" } else { "one_off" })).await?;
        checkouts.push(StormCheckout { id: i, recurring });
    }
    let (deliveries, x) = storm(&checkouts, app.now(), 0xbe_9c4);
    let total = deliveries.len();
    let client = reqwest::Client::builder().no_proxy().build()?;
    let queue = Arc::new(Mutex::new(deliveries));
    let answers = Arc::new(Mutex::new((0usize, 0usize, 0usize)));
    let started = Instant::now();
    let mut senders = Vec::new();
    for _ in 0..SENDERS {
        let (queue, answers, client, url, app) = (
            queue.clone(),
            answers.clone(),
            client.clone(),
            url.clone(),
            app.clone(),
        );
        senders.push(tokio::spawn(async move {
            loop {
                let Some(d) = queue.lock().map_err(|e| e.to_string())?.pop() else {
                    return Ok::<(), String>(());
                };
                let r = client
                    .post(&url)
                    .header("Stripe-Signature", signature(&d, SECRET, app.now()))
                    .header("Content-Type", "application/json")
                    .body(d.body)
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                let mut a = answers.lock().map_err(|e| e.to_string())?;
                match r.status().as_u16() {
                    200 => a.0 += 1,
                    400 => a.1 += 1,
                    _ => a.2 += 1,
                }
            }
        }));
    }
    for s in senders {
        s.await??;
    }
    let secs = started.elapsed().as_secs_f64();
    let (ok, refused, other) = *answers.lock().map_err(|e| e.to_string())?;
    let events = scalar(&app, "SELECT COUNT(*) FROM payment_events").await? as usize;
    let payments = scalar(&app, "SELECT COUNT(*) FROM payments").await? as usize;
    let waiting = scalar(
        &app,
        "SELECT COUNT(*) FROM payment_events WHERE outcome IN ('waiting', 'unmatched')",
    )
    .await?;
    let exact = other == 0
        && refused == x.refused
        && events == x.unique_events
        && payments == x.payments
        && waiting == 0;
    let per_sec = ok as f64 / secs;
    println!(
        "{total} Stripe deliveries ({} unique events, {} repeats, {refused} refused) in {secs:.2} s: {per_sec:.0} verified deliveries/s, {:.0} unique events applied/s; ledger exact: {exact} ({payments} payments)",
        x.unique_events,
        ok - x.unique_events.min(ok),
        x.unique_events as f64 / secs,
    );
    let _ = stop.send(());
    let _ = server.await;
    let _ = std::fs::remove_dir_all(&dir);
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench");
    std::fs::create_dir_all(&out)?;
    std::fs::write(
        out.join("webhooks.json"),
        serde_json::to_string_pretty(&serde_json::json!({
            "deliveries": total,
            "unique_events": x.unique_events,
            "refused": refused,
            "seconds": secs,
            "verified_deliveries_per_sec": per_sec,
            "unique_events_per_sec": x.unique_events as f64 / secs,
            "ledger_exact": exact,
        }))?,
    )?;
    if !exact {
        return Err(format!(
            "the ledger is not exact: {events}/{} events, {payments}/{} payments, {refused}/{} refused, {other} other answers, {waiting} waiting",
            x.unique_events, x.payments, x.refused
        )
        .into());
    }
    Ok(())
}
