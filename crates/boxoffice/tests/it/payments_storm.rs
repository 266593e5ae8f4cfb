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

/// A delivery's body and headers.
type Raw = (String, Vec<(String, String)>);
/// A delivery of a storm: body, headers, and whether it was forged.
type Sent = (String, Vec<(String, String)>, bool);

/// Posts every (body, headers) in `deliveries` from 8 concurrent senders; answers the statuses in
/// the same order.
async fn post_all(url: &str, deliveries: Vec<Raw>) -> Vec<u16> {
    let client = crate::helpers::client();
    let mut tasks = Vec::new();
    for chunk in deliveries.chunks(deliveries.len().div_ceil(8).max(1)) {
        let (client, url, chunk) = (client.clone(), url.to_string(), chunk.to_vec());
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            for (body, headers) in chunk {
                let mut r = client.post(&url).body(body);
                for (k, v) in headers {
                    r = r.header(k, v);
                }
                out.push(r.send().await.expect("delivery").status().as_u16());
            }
            out
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("sender"));
    }
    all
}

fn forge(body: &str) -> String {
    body.replacen("USD", "EUR", 1).replacen("10.00", "1.00", 1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn paypal_deliveries_repeated_shuffled_and_forged_leave_one_payment_per_order() {
    use crate::payments_webhooks::{count, delivered, gateway_ref, run_all_jobs, shop, start};
    use boxoffice_app::payments::{CheckoutMode, Provider};
    let (m, _) = shop().await;
    let paypal = &m.world.payments.paypal;
    const ORDERS: usize = 10;
    for i in 0..ORDERS {
        let s = start(
            &m,
            &format!("pp{i}@example.com"),
            Provider::PayPal,
            CheckoutMode::OneOff,
        )
        .await;
        let order = gateway_ref(&m, s.checkout_id).await;
        paypal.approve_order(&order).expect("approved");
    }
    // The approvals queue the captures; each capture's notification follows.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while paypal
        .deliveries()
        .iter()
        .filter(|d| d.event_type == "CHECKOUT.ORDER.APPROVED" && d.state == "delivered")
        .count()
        < ORDERS
    {
        assert!(std::time::Instant::now() < deadline, "approvals delivered");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    run_all_jobs(&m).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while paypal
        .deliveries()
        .iter()
        .filter(|d| d.event_type == "PAYMENT.CAPTURE.COMPLETED" && d.state == "delivered")
        .count()
        < ORDERS
    {
        assert!(std::time::Instant::now() < deadline, "captures delivered");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    delivered(|| paypal.deliveries(), "PAYMENT.CAPTURE.COMPLETED").await;

    // Every delivery again, twice, shuffled, with some forged copies.
    let originals: Vec<Raw> = paypal
        .deliveries()
        .into_iter()
        .map(|d| (d.body, d.headers))
        .collect();
    let mut storm: Vec<Sent> = originals
        .iter()
        .chain(originals.iter())
        .map(|(b, h)| (b.clone(), h.clone(), false))
        .collect();
    for (b, h) in originals.iter().take(originals.len().div_ceil(10)) {
        storm.push((forge(b), h.clone(), true));
    }
    let mut rng = crate::stripe_storm::Rng::new(7);
    rng.shuffle(&mut storm);
    let forged = storm.iter().filter(|d| d.2).count();
    let statuses = post_all(
        &m.t.url("/webhooks/paypal"),
        storm
            .iter()
            .map(|(b, h, _)| (b.clone(), h.clone()))
            .collect(),
    )
    .await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 400).count(),
        forged,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        storm.len() - forged,
        "{statuses:?}"
    );
    run_all_jobs(&m).await;
    assert_eq!(
        count(&m, "SELECT COUNT(*) FROM payments WHERE method = 'paypal'").await,
        ORDERS as i64
    );
    assert_eq!(
        count(
            &m,
            "SELECT COUNT(*) FROM payment_events WHERE provider = 'paypal'"
        )
        .await,
        originals.len() as i64,
        "each notification stored once"
    );
    assert_eq!(
        count(
            &m,
            "SELECT COUNT(*) FROM jobs WHERE kind = 'payments.provision'"
        )
        .await,
        ORDERS as i64
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn plisio_callbacks_in_both_forms_repeated_shuffled_and_forged_leave_one_payment_per_invoice()
{
    use crate::payments_webhooks::{count, gateway_ref, run_all_jobs, shop, start};
    use boxoffice_app::payments::{CheckoutMode, Provider};
    let (m, _) = shop().await;
    let plisio = &m.world.payments.plisio;
    const INVOICES: usize = 20;
    let json = vec![("Content-Type".to_string(), "application/json".to_string())];
    let form = vec![(
        "Content-Type".to_string(),
        "application/x-www-form-urlencoded".to_string(),
    )];
    let mut storm = Vec::new();
    for i in 0..INVOICES {
        let s = start(
            &m,
            &format!("pl{i}@example.com"),
            Provider::Plisio,
            CheckoutMode::OneOff,
        )
        .await;
        let txn = gateway_ref(&m, s.checkout_id).await;
        plisio.set_status(&txn, "pending", None).expect("pending");
        let pending = plisio.callback_body(&txn, true).expect("body");
        plisio
            .set_status(&txn, "completed", None)
            .expect("completed");
        let done_json = plisio.callback_body(&txn, true).expect("body");
        let done_form = plisio.callback_body(&txn, false).expect("body");
        for _ in 0..2 {
            storm.push((pending.clone(), json.clone(), false));
            storm.push((done_json.clone(), json.clone(), false));
            storm.push((done_form.clone(), form.clone(), false));
        }
        if i % 4 == 0 {
            storm.push((
                done_json.replacen("completed", "mismatch", 1),
                json.clone(),
                true,
            ));
        }
    }
    let mut rng = crate::stripe_storm::Rng::new(11);
    rng.shuffle(&mut storm);
    let forged = storm.iter().filter(|d| d.2).count();
    let statuses = post_all(
        &m.t.url("/webhooks/plisio"),
        storm
            .iter()
            .map(|(b, h, _)| (b.clone(), h.clone()))
            .collect(),
    )
    .await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 400).count(),
        forged,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        storm.len() - forged
    );
    run_all_jobs(&m).await;
    assert_eq!(
        count(&m, "SELECT COUNT(*) FROM payments WHERE method = 'plisio'").await,
        INVOICES as i64
    );
    assert_eq!(
        count(
            &m,
            "SELECT COUNT(*) FROM payment_events WHERE provider = 'plisio'"
        )
        .await,
        (INVOICES * 2) as i64,
        "pending and completed of each invoice, once"
    );
}
