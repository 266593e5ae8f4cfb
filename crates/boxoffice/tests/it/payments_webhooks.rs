//! Gateway webhooks on the fakes: a signed notification from Stripe, PayPal or Plisio becomes
//! exactly one payment and one share, whatever the number and order of deliveries; a
//! notification that is not the provider's is refused with 400 and writes nothing.

use crate::lifecycle::{exec, open_server, plan, set};
use crate::servers::{MediaTest, media_test};
use boxoffice_app::audit::Actor;
use boxoffice_app::payments::{CheckoutMode, CheckoutRequest, CheckoutStarted, Provider};
use boxoffice_domain::RoleKind;
use boxoffice_fakes::Delivery;
use boxoffice_store::checkouts;
use serde_json::Value;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

pub(crate) const STANDARD: i64 = 2;

pub(crate) async fn count(m: &MediaTest, sql: &str) -> i64 {
    let sql = sql.to_string();
    boxoffice_store::run!(m.t.app.db.ex(), |e| sqlx::query_scalar::<_, i64>(
        sqlx::AssertSqlSafe(sql.clone())
    )
    .fetch_one(e)
    .await)
    .expect("count")
}

/// Every gateway configured against its fake (API address, credentials, webhook secrets), and
/// Stripe and PayPal delivering their webhooks to this instance.
pub(crate) async fn configure_gateways(m: &MediaTest) {
    let p = &m.world.payments;
    for (k, v) in [
        ("payments.stripe.enabled", "true".to_string()),
        ("payments.stripe.secret_key", p.stripe.secret_key()),
        ("payments.stripe.webhook_secret", p.stripe.webhook_secret()),
        ("payments.stripe.api_base", p.stripe.url()),
        ("payments.paypal.enabled", "true".to_string()),
        ("payments.paypal.environment", "sandbox".to_string()),
        ("payments.paypal.client_id", p.paypal.client_id()),
        ("payments.paypal.client_secret", p.paypal.client_secret()),
        ("payments.paypal.webhook_id", p.paypal.webhook_id()),
        ("payments.paypal.api_base", p.paypal.url()),
        ("payments.paypal.nvp_url", p.paypal.nvp_url()),
        ("payments.plisio.enabled", "true".to_string()),
        ("payments.plisio.secret_key", p.plisio.api_key()),
        ("payments.plisio.api_base", p.plisio.api_url()),
    ] {
        set(m, k, &v).await;
    }
    p.stripe
        .set_webhook_url(Some(&m.t.url("/webhooks/stripe")), Some(vec![50; 5]));
    p.paypal
        .set_webhook_url(Some(&m.t.url("/webhooks/paypal")), Some(vec![50; 5]));
    p.plisio.set_retry_schedule(vec![50; 5]);
}

/// The first Plex server of the fakes, open to new subscriptions, its Movies and TV Shows in
/// Standard (Movies 4K in Premium 4K, Home Videos private); the plan Basic (10.00 USD, 30 days) grants Standard; every gateway configured.
pub(crate) async fn shop() -> (MediaTest, i64) {
    let m = media_test().await;
    let server = m.add_plex_server_via_page().await;
    open_server(
        &m.t.app.db,
        server,
        &[
            ("Movies", STANDARD),
            ("TV Shows", STANDARD),
            ("Movies 4K", 3),
            ("Home Videos", 1),
        ],
    )
    .await;
    plan(&m.t.app.db, 1, "Basic", 1000, &[STANDARD], &[]).await;
    configure_gateways(&m).await;
    (m, server)
}

/// A site login for `email`, as a customer registers one.
pub(crate) async fn customer_login(m: &MediaTest, email: &str) -> i64 {
    m.t.app
        .create_login(&Actor::cli(), email, "Cust0mer-Pass!", RoleKind::User)
        .await
        .expect("login")
        .id
}

pub(crate) async fn start(
    m: &MediaTest,
    email: &str,
    provider: Provider,
    mode: CheckoutMode,
) -> CheckoutStarted {
    let login = customer_login(m, email).await;
    m.t.app
        .start_checkout(
            login,
            email,
            CheckoutRequest {
                plan_id: 1,
                provider,
                mode,
                discount_code: None,
                origin: m.t.base.clone(),
            },
        )
        .await
        .expect("checkout starts")
}

pub(crate) async fn gateway_ref(m: &MediaTest, checkout_id: i64) -> String {
    checkouts::find(m.t.app.db.ex(), checkout_id)
        .await
        .expect("checkout")
        .gateway_ref
}

/// Waits for the fake's webhook dispatcher (its own task, on real time) to have delivered
/// `event_type` to us: the provider's side of the exchange is not ours to drive.
pub(crate) async fn delivered(
    deliveries: impl Fn() -> Vec<Delivery>,
    event_type: &str,
) -> Vec<Delivery> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let all = deliveries();
        let done: Vec<Delivery> = all
            .iter()
            .filter(|d| d.event_type == event_type && d.state == "delivered")
            .cloned()
            .collect();
        if !done.is_empty() {
            return done;
        }
        assert!(
            Instant::now() < deadline,
            "{event_type} delivered within 20 s: {all:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The plex.tv shares of `email`, with the titles of their libraries on Plex Alpha.
pub(crate) fn plex_shares(m: &MediaTest, email: &str) -> Vec<BTreeSet<String>> {
    let libs = m.world.plex_servers[0].libraries();
    m.world
        .plex_tv
        .shares()
        .into_iter()
        .filter(|s| s.invited_email == email)
        .map(|s| {
            s.section_ids
                .iter()
                .filter_map(|id| libs.iter().find(|l| l.global_id == *id))
                .map(|l| l.title.clone())
                .collect()
        })
        .collect()
}

pub(crate) fn standard() -> BTreeSet<String> {
    ["Movies", "TV Shows"]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

/// Runs jobs until none is left (a job may queue others: provisioning queues the share job).
pub(crate) async fn run_all_jobs(m: &MediaTest) {
    for _ in 0..10 {
        if m.t.run_pending_jobs().await == 0 {
            return;
        }
    }
}

pub(crate) async fn post_stripe(m: &MediaTest, body: &str, signature: &str) -> (u16, Value) {
    let r =
        m.t.client
            .post(m.t.url("/webhooks/stripe"))
            .header("Stripe-Signature", signature)
            .header("Content-Type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .expect("webhook");
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

pub(crate) fn stripe_sign(m: &MediaTest, body: &str, at: i64) -> String {
    boxoffice_payments::stripe::signature::header(
        &m.world.payments.stripe.webhook_secret(),
        at,
        body.as_bytes(),
    )
}

/// The events the fake Stripe emitted, oldest first.
fn stripe_events(m: &MediaTest) -> Vec<Value> {
    let mut v = m.world.payments.stripe.objects_of("event");
    v.sort_by_key(|e| e["created"].as_i64().unwrap_or(0));
    v
}

#[tokio::test]
async fn a_signed_stripe_checkout_event_records_one_payment_and_shares_the_plans_libraries() {
    let (m, _) = shop().await;
    let started = start(
        &m,
        "carol@example.com",
        Provider::Stripe,
        CheckoutMode::OneOff,
    )
    .await;
    let cs = gateway_ref(&m, started.checkout_id).await;
    assert!(
        started.redirect_url.contains(&cs),
        "{}",
        started.redirect_url
    );

    m.world.payments.stripe.pay_session(&cs).expect("paid");
    let d = delivered(
        || m.world.payments.stripe.deliveries(),
        "checkout.session.completed",
    )
    .await;
    assert_eq!(d[0].last_status, Some(200), "{d:?}");
    run_all_jobs(&m).await;

    assert_eq!(count(&m, "SELECT COUNT(*) FROM payments").await, 1);
    assert_eq!(
        count(&m, "SELECT COUNT(*) FROM payments WHERE amount_minor = 1000 AND currency = 'USD' AND method = 'stripe'").await,
        1
    );
    assert_eq!(plex_shares(&m, "carol@example.com"), vec![standard()]);
    let c = checkouts::find(m.t.app.db.ex(), started.checkout_id)
        .await
        .expect("checkout");
    assert_eq!((c.state.as_str(), c.payment_id.is_some()), ("paid", true));

    // Stripe delivers it again (a retry after a lost answer): acknowledged, nothing new.
    let body = d[0].body.clone();
    let (s, v) = post_stripe(&m, &body, &stripe_sign(&m, &body, m.t.app.now())).await;
    assert_eq!((s, v["outcome"].as_str()), (200, Some("duplicate")), "{v}");
    run_all_jobs(&m).await;
    assert_eq!(count(&m, "SELECT COUNT(*) FROM payments").await, 1);
    assert_eq!(plex_shares(&m, "carol@example.com").len(), 1);
}

#[tokio::test]
async fn a_bad_signature_is_refused_with_400_and_writes_nothing() {
    let (m, _) = shop().await;
    let jobs = count(&m, "SELECT COUNT(*) FROM jobs").await;
    let body = r#"{"id":"evt_forged","object":"event","type":"checkout.session.completed","created":1,"data":{"object":{"id":"cs_x","payment_status":"paid","client_reference_id":"checkout-1","amount_total":1000,"currency":"usd"}}}"#;
    let good = stripe_sign(&m, body, m.t.app.now());
    // One byte of the signature changed; then a signature keyed with another secret; then none.
    let mut forged = good.clone().into_bytes();
    let last = forged.len() - 1;
    forged[last] = if forged[last] == b'0' { b'1' } else { b'0' };
    let forged = String::from_utf8(forged).expect("ascii");
    let other = boxoffice_payments::stripe::signature::header(
        "whsec_other",
        m.t.app.now(),
        body.as_bytes(),
    );
    for sig in [forged.as_str(), other.as_str(), ""] {
        let (s, v) = post_stripe(&m, body, sig).await;
        assert_eq!(s, 400, "{v}");
        assert_eq!(v["error"]["code"], "bad_signature", "{v}");
    }
    // Signed, but outside the 300 s tolerance: a replay.
    let (s, _) = post_stripe(&m, body, &stripe_sign(&m, body, m.t.app.now() - 301)).await;
    assert_eq!(s, 400);
    for table in ["payment_events", "payments", "checkouts"] {
        assert_eq!(
            count(&m, &format!("SELECT COUNT(*) FROM {table}")).await,
            0,
            "{table}"
        );
    }
    assert_eq!(
        count(&m, "SELECT COUNT(*) FROM jobs").await,
        jobs,
        "no job queued"
    );
}

#[tokio::test]
async fn a_stripe_subscription_delivered_backwards_and_twice_still_makes_one_payment_and_one_share()
{
    let (m, _) = shop().await;
    let stripe = &m.world.payments.stripe;
    let price = stripe.add_price(1000, "usd", "month", "Basic");
    exec(
        &m.t.app.db,
        format!("UPDATE plans SET stripe_price_id = '{price}' WHERE id = 1"),
    )
    .await;
    set(&m, "payments.stripe.recurring_enabled", "true").await;
    // This test delivers the events itself, in its own order.
    stripe.set_webhook_url(None, None);
    let started = start(
        &m,
        "dave@example.com",
        Provider::Stripe,
        CheckoutMode::Recurring,
    )
    .await;
    let cs = gateway_ref(&m, started.checkout_id).await;
    stripe.pay_session(&cs).expect("paid");
    let events = stripe_events(&m);
    let types: Vec<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
    assert!(
        types.contains(&"invoice.paid") && types.contains(&"checkout.session.completed"),
        "{types:?}"
    );

    for e in events.iter().rev().chain(events.iter()) {
        let body = e.to_string();
        let (s, v) = post_stripe(&m, &body, &stripe_sign(&m, &body, m.t.app.now())).await;
        assert_eq!(s, 200, "{v}");
    }
    run_all_jobs(&m).await;

    assert_eq!(count(&m, "SELECT COUNT(*) FROM payments").await, 1);
    assert_eq!(
        count(
            &m,
            "SELECT COUNT(*) FROM gateway_subscriptions WHERE state = 'active'"
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &m,
            "SELECT COUNT(*) FROM payment_events WHERE outcome = 'waiting'"
        )
        .await,
        0,
        "every event that waited for the subscription was applied once it was known"
    );
    assert_eq!(plex_shares(&m, "dave@example.com"), vec![standard()]);

    // A renewal extends; a failed one marks the subscription past due.
    let sub = count(&m, "SELECT id FROM gateway_subscriptions").await;
    let sub_id: String = boxoffice_store::run!(m.t.app.db.ex(), |e| sqlx::query_scalar(
        "SELECT subscription_id FROM gateway_subscriptions WHERE id = $1"
    )
    .bind(sub)
    .fetch_one(e)
    .await)
    .expect("sub");
    let seen = events.len();
    stripe.advance_subscription(&sub_id).expect("renewed");
    stripe.fail_next_renewal(&sub_id);
    stripe
        .advance_subscription(&sub_id)
        .expect("failed renewal");
    for e in stripe_events(&m).iter().skip(seen) {
        let body = e.to_string();
        let (s, v) = post_stripe(&m, &body, &stripe_sign(&m, &body, m.t.app.now())).await;
        assert_eq!(s, 200, "{v}");
    }
    assert_eq!(count(&m, "SELECT COUNT(*) FROM payments").await, 2);
    assert_eq!(
        count(
            &m,
            "SELECT COUNT(*) FROM payments p1 JOIN payments p2 ON p2.period_from = p1.period_to"
        )
        .await,
        1,
        "the renewal starts where the first period ends"
    );
    let state: String = boxoffice_store::run!(m.t.app.db.ex(), |e| sqlx::query_scalar(
        "SELECT state FROM gateway_subscriptions"
    )
    .fetch_one(e)
    .await)
    .expect("state");
    assert_eq!(state, "past_due");
}

#[tokio::test]
async fn a_paypal_order_approved_and_captured_records_one_payment_and_one_share() {
    let (m, _) = shop().await;
    let started = start(
        &m,
        "erin@example.com",
        Provider::PayPal,
        CheckoutMode::OneOff,
    )
    .await;
    let order = gateway_ref(&m, started.checkout_id).await;
    let paypal = &m.world.payments.paypal;
    paypal.approve_order(&order).expect("approved");
    delivered(|| paypal.deliveries(), "CHECKOUT.ORDER.APPROVED").await;
    // The approval queued the capture; the buyer also comes back to the return page.
    run_all_jobs(&m).await;
    m.t.app
        .confirm_checkout(started.checkout_id)
        .await
        .expect("confirmed");
    delivered(|| paypal.deliveries(), "PAYMENT.CAPTURE.COMPLETED").await;
    run_all_jobs(&m).await;

    assert_eq!(
        count(
            &m,
            "SELECT COUNT(*) FROM payments WHERE method = 'paypal' AND amount_minor = 1000"
        )
        .await,
        1
    );
    assert_eq!(count(&m, "SELECT COUNT(*) FROM payments").await, 1);
    assert_eq!(plex_shares(&m, "erin@example.com"), vec![standard()]);
    assert!(
        count(
            &m,
            "SELECT COUNT(*) FROM payment_events WHERE provider = 'paypal'"
        )
        .await
            >= 2,
        "both notifications stored"
    );
}

#[tokio::test]
async fn a_plisio_callback_replayed_records_one_payment_and_one_share() {
    let (m, _) = shop().await;
    let started = start(
        &m,
        "frank@example.com",
        Provider::Plisio,
        CheckoutMode::OneOff,
    )
    .await;
    let txn = gateway_ref(&m, started.checkout_id).await;
    let plisio = &m.world.payments.plisio;
    plisio.set_status(&txn, "completed", None).expect("paid");
    let d = delivered(|| plisio.deliveries(), "completed").await;
    run_all_jobs(&m).await;
    // The same callback again, as Plisio retries it.
    let r =
        m.t.client
            .post(&d[0].url)
            .header("Content-Type", "application/json")
            .body(d[0].body.clone())
            .send()
            .await
            .expect("callback");
    assert_eq!(r.status(), 200);
    run_all_jobs(&m).await;

    assert_eq!(
        count(&m, "SELECT COUNT(*) FROM payments WHERE method = 'plisio'").await,
        1
    );
    assert_eq!(plex_shares(&m, "frank@example.com"), vec![standard()]);
    // A tampered callback is refused.
    let tampered = d[0].body.replace("completed", "mismatch");
    let r =
        m.t.client
            .post(&d[0].url)
            .header("Content-Type", "application/json")
            .body(tampered)
            .send()
            .await
            .expect("callback");
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn a_paypal_subscription_pays_renews_and_goes_past_due_when_a_renewal_fails() {
    let (m, _) = shop().await;
    let paypal = &m.world.payments.paypal;
    let plan = paypal.add_plan("Basic", "10.00", "USD", "MONTH", 1);
    exec(
        &m.t.app.db,
        format!("UPDATE plans SET paypal_plan_id = '{plan}' WHERE id = 1"),
    )
    .await;
    set(&m, "payments.paypal.recurring_enabled", "true").await;
    let started = start(
        &m,
        "nina@example.com",
        Provider::PayPal,
        CheckoutMode::Recurring,
    )
    .await;
    let sub = gateway_ref(&m, started.checkout_id).await;
    assert!(sub.starts_with("I-"), "{sub}");
    paypal.approve_subscription(&sub).expect("approved");
    delivered(|| paypal.deliveries(), "PAYMENT.SALE.COMPLETED").await;
    delivered(|| paypal.deliveries(), "BILLING.SUBSCRIPTION.ACTIVATED").await;
    run_all_jobs(&m).await;
    assert_eq!(count(&m, "SELECT COUNT(*) FROM payments").await, 1);
    assert_eq!(
        count(
            &m,
            "SELECT COUNT(*) FROM gateway_subscriptions WHERE state = 'active'"
        )
        .await,
        1
    );
    assert_eq!(plex_shares(&m, "nina@example.com"), vec![standard()]);

    paypal.advance_subscription(&sub).expect("renewed");
    let deadline = Instant::now() + Duration::from_secs(20);
    while count(&m, "SELECT COUNT(*) FROM payments").await < 2 {
        assert!(Instant::now() < deadline, "the renewal is recorded");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    paypal.fail_next_renewal(&sub);
    paypal.advance_subscription(&sub).expect("failed renewal");
    delivered(
        || paypal.deliveries(),
        "BILLING.SUBSCRIPTION.PAYMENT.FAILED",
    )
    .await;
    assert_eq!(
        count(
            &m,
            "SELECT COUNT(*) FROM gateway_subscriptions WHERE state = 'past_due'"
        )
        .await,
        1
    );
    assert_eq!(count(&m, "SELECT COUNT(*) FROM payments").await, 2);
    // The administrator sees the state on the customer's page.
    let customer = count(&m, "SELECT customer_id FROM gateway_subscriptions").await;
    let page = m.t.get_html(&format!("/admin/users/{customer}")).await;
    assert!(
        page.contains("Recurring subscriptions")
            && page.contains("past due")
            && page.contains(&sub),
        "{page}"
    );
}

#[tokio::test]
async fn a_chargeback_ends_the_paid_time_now_and_tells_the_administrator() {
    let (m, _) = shop().await;
    let started = start(
        &m,
        "owen@example.com",
        Provider::Stripe,
        CheckoutMode::OneOff,
    )
    .await;
    let cs = gateway_ref(&m, started.checkout_id).await;
    m.world.payments.stripe.set_webhook_url(None, None);
    m.world.payments.stripe.pay_session(&cs).expect("paid");
    let events = stripe_events(&m);
    let paid = events
        .iter()
        .find(|e| e["type"] == "checkout.session.completed")
        .expect("event")
        .to_string();
    let pi = events
        .iter()
        .find_map(|e| e["data"]["object"]["payment_intent"].as_str())
        .expect("payment intent")
        .to_string();
    // The dispute arrives before the payment it disputes: it waits for it.
    let dispute = format!(
        r#"{{"id":"evt_dispute_1","object":"event","type":"charge.dispute.created","created":{},"data":{{"object":{{"id":"dp_1","object":"dispute","payment_intent":"{pi}","reason":"fraudulent","amount":1000,"currency":"usd"}}}}}}"#,
        m.t.app.now()
    );
    for body in [&dispute, &paid] {
        let (s, v) = post_stripe(&m, body, &stripe_sign(&m, body, m.t.app.now())).await;
        assert_eq!(s, 200, "{v}");
    }
    assert_eq!(count(&m, "SELECT refunded_minor FROM payments").await, 1000);
    let now = m.t.app.now();
    assert!(count(&m, "SELECT period_to FROM payments").await <= now + 1);
    assert_eq!(
        count(
            &m,
            "SELECT COUNT(*) FROM admin_events WHERE kind = 'chargeback'"
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &m,
            "SELECT COUNT(*) FROM payment_events WHERE outcome = 'applied'"
        )
        .await,
        2
    );
}
