//! A storm of Stripe webhooks (20% repeated, shuffled, 5% refused: forged or outside the 300 s
//! tolerance) leaves an exact ledger: every event stored once, every payment recorded once with
//! its provisioning job, every refund applied once, nothing waiting; refused deliveries get 400.
//! 1,000 deliveries here; the `webhooks` bench sends 10,000.

use crate::helpers::spawn_app;
use crate::lifecycle::exec;
use crate::stripe_storm::{Expected, StormCheckout, checkouts_for, signature, storm};
use boxoffice_app::audit::Actor;
use std::sync::{Arc, Mutex};

const SECRET: &str = "whsec_storm_endpoint_secret";

async fn scalar(db: &boxoffice_store::Db, sql: &str) -> i64 {
    let sql = sql.to_string();
    boxoffice_store::run!(db.ex(), |e| sqlx::query_scalar::<_, i64>(
        sqlx::AssertSqlSafe(sql.clone())
    )
    .fetch_one(e)
    .await)
    .expect("scalar")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_storm_of_1000_stripe_deliveries_leaves_an_exact_ledger() {
    let t = spawn_app().await;
    for (k, v) in [
        ("payments.stripe.enabled", "true"),
        ("payments.stripe.secret_key", "sk_test_storm"),
        ("payments.stripe.webhook_secret", SECRET),
        ("payments.stripe.api_base", "http://127.0.0.1:9"),
    ] {
        t.app
            .set_setting(&Actor::cli(), k, v)
            .await
            .expect("setting");
    }
    let db = &t.app.db;
    exec(db, "INSERT INTO plans (id, name, cost_minor, currency, duration_unit, duration_count, created_at, updated_at) VALUES (1, 'Basic', 1000, 'USD', 'days', 30, 0, 0)".into()).await;
    let n = checkouts_for(1000) as i64;
    let mut checkouts = Vec::new();
    for i in 1..=n {
        let recurring = i % 2 == 0;
        exec(db, format!("INSERT INTO customers (id, email, email_key, created_at, updated_at) VALUES ({i}, 'c{i}@example.com', 'c{i}@example.com', 0, 0)")).await;
        exec(db, format!("INSERT INTO checkouts (id, customer_id, plan_id, provider, mode, state, amount_minor, currency, gateway_ref, created_at, updated_at) VALUES ({i}, {i}, 1, 'stripe', '{}', 'open', 1000, 'USD', 'cs_storm_{i}', 0, 0)", if recurring { "recurring" } else { "one_off" })).await;
        checkouts.push(StormCheckout { id: i, recurring });
    }
    let (deliveries, x) = storm(&checkouts, t.app.now(), 0x5eed);
    assert!(
        (950..=1100).contains(&deliveries.len()),
        "{}",
        deliveries.len()
    );

    let queue = Arc::new(Mutex::new(deliveries));
    let statuses = Arc::new(Mutex::new(Vec::new()));
    let mut workers = Vec::new();
    for _ in 0..8 {
        let (queue, statuses) = (queue.clone(), statuses.clone());
        let (client, url, app) = (t.client.clone(), t.url("/webhooks/stripe"), t.app.clone());
        workers.push(tokio::spawn(async move {
            loop {
                let Some(d) = queue.lock().expect("queue").pop() else {
                    return;
                };
                let r = client
                    .post(&url)
                    .header("Stripe-Signature", signature(&d, SECRET, app.now()))
                    .header("Content-Type", "application/json")
                    .body(d.body.clone())
                    .send()
                    .await
                    .expect("delivery");
                statuses
                    .lock()
                    .expect("statuses")
                    .push((d.sign, r.status().as_u16()));
            }
        }));
    }
    for w in workers {
        w.await.expect("worker");
    }
    let statuses = statuses.lock().expect("statuses").clone();
    let refused = statuses.iter().filter(|(_, s)| *s == 400).count();
    let ok = statuses.iter().filter(|(_, s)| *s == 200).count();
    assert_eq!(refused, x.refused, "every forged or stale delivery refused");
    assert_eq!(ok + refused, x.deliveries, "{statuses:?}");

    let got = Expected {
        unique_events: scalar(db, "SELECT COUNT(*) FROM payment_events").await as usize,
        ignored_events: scalar(
            db,
            "SELECT COUNT(*) FROM payment_events WHERE event_type = 'customer.created' AND outcome = 'ignored'",
        )
        .await as usize,
        payments: scalar(db, "SELECT COUNT(*) FROM payments").await as usize,
        amount_minor: scalar(db, "SELECT CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT) FROM payments").await,
        refunded_minor: scalar(db, "SELECT CAST(COALESCE(SUM(refunded_minor), 0) AS BIGINT) FROM payments").await,
        subscriptions: scalar(
            db,
            "SELECT COUNT(*) FROM gateway_subscriptions WHERE state = 'active'",
        )
        .await as usize,
        refused,
        deliveries: statuses.len(),
    };
    assert_eq!(got, x);
    assert_eq!(
        scalar(
            db,
            "SELECT COUNT(*) FROM payment_events WHERE outcome IN ('waiting', 'unmatched')"
        )
        .await,
        0
    );
    assert_eq!(
        scalar(
            db,
            "SELECT COUNT(*) FROM jobs WHERE kind = 'payments.provision'"
        )
        .await as usize,
        x.payments,
        "one provisioning job per payment"
    );
    assert_eq!(
        scalar(db, "SELECT COUNT(*) FROM checkouts WHERE state = 'paid'").await,
        n,
        "every checkout paid"
    );
    // Each subscription's three invoices are three back-to-back periods.
    assert_eq!(
        scalar(db, "SELECT COUNT(*) FROM payments p JOIN payments q ON q.customer_id = p.customer_id AND q.period_from = p.period_to").await,
        (x.subscriptions * 2) as i64
    );
}
