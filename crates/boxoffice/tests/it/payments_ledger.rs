//! The ledger's rules whichever way money arrives: a webhook payment no customer matches waits on
//! Unmatched payments like a synced one and, once assigned, is recorded like any gateway payment
//! (coverage, notice, audit, referral credit); refunds found by transaction sync shorten coverage
//! in proportion; a pending referral credit comes off the referrer's next checkout once.

use crate::checkout::customer_browser;
use crate::helpers::csrf_from;
use crate::lifecycle::{invite, set};
use crate::payments_sync::{STRIPE, a_minute_later, stripe_payment, sync_test};
use crate::payments_webhooks::{count, gateway_ref, post_stripe, run_all_jobs, shop, stripe_sign};
use crate::servers::MediaTest;
use boxoffice_app::audit::Actor;
use boxoffice_store::customers::{self, NewCustomer};
use boxoffice_store::referrals::{self, NewCredit};
use serde_json::{Value, json};

const DAY: i64 = 86_400;

async fn payment(m: &MediaTest, transaction_id: &str) -> Value {
    let p = boxoffice_store::payments::find_by_transaction_any(m.t.app.db.ex(), transaction_id)
        .await
        .expect("read")
        .expect("recorded");
    json!({
        "customer_id": p.customer_id,
        "amount_minor": p.amount_minor,
        "period_from": p.period_from,
        "period_to": p.period_to,
        "refunded_minor": p.refunded_minor,
    })
}

async fn scalar(m: &MediaTest, sql: &str) -> i64 {
    count(m, sql).await
}

/// A customer stored directly (no payment yet), on plan 1.
async fn stored_customer(m: &MediaTest, email: &str) -> i64 {
    let now = m.t.app.now();
    customers::insert(
        m.t.app.db.ex(),
        NewCustomer {
            email,
            email_key: email,
            plex_email: email,
            jellyfin_username: email,
            emby_username: email,
            paypal_email: "",
            permanent: false,
            plan_id: Some(1),
            now,
        },
    )
    .await
    .expect("customer")
    .id
}

#[tokio::test]
async fn a_webhook_payment_no_customer_matches_waits_on_unmatched_payments_and_once_assigned_is_recorded_like_any_gateway_payment()
 {
    let (m, _) = shop().await;
    for (k, v) in [
        ("referrals.bonus_enabled", "true"),
        ("referrals.bonus_type", "percentage"),
        ("referrals.bonus_value", "20"),
    ] {
        set(&m, k, v).await;
    }
    let referrer = stored_customer(&m, "rita@example.com").await;
    let code = m.t.app.referral_code(referrer).await.expect("code");
    let sam = stored_customer(&m, "sam@example.com").await;
    let mut tx = m.t.app.db.begin().await.expect("tx");
    m.t.app
        .record_referral_in_tx(tx.ex(), sam, &code)
        .await
        .expect("referral");
    tx.commit().await.expect("commit");

    // An invoice paid at Stripe that names no checkout or subscription of ours.
    let body = format!(
        r#"{{"id":"evt_lost_1","object":"event","type":"invoice.paid","created":{},"data":{{"object":{{"id":"in_lost_1","object":"invoice","amount_paid":1000,"currency":"usd","customer_email":"s.friend@example.net","payment_intent":"pi_lost_1","billing_reason":"manual","lines":{{"data":[]}}}}}}}}"#,
        m.t.app.now()
    );
    for _ in 0..2 {
        let (s, v) = post_stripe(&m, &body, &stripe_sign(&m, &body, m.t.app.now())).await;
        assert_eq!(s, 200, "{v}");
    }
    let page =
        m.t.app
            .unmatched_payments(Some("open"), 1)
            .await
            .expect("page");
    assert_eq!(page.open, 1, "listed once however often it is delivered");
    let row = &page.rows[0];
    assert_eq!(
        (row.gateway.as_str(), row.transaction_id.as_str()),
        ("stripe", "pi_lost_1")
    );
    assert_eq!(
        (row.amount_minor, row.payer_email.as_str()),
        (1000, "s.friend@example.net")
    );
    assert!(row.reason.contains("webhook"), "{}", row.reason);
    assert_eq!(
        scalar(&m, "SELECT COUNT(*) FROM payments").await,
        0,
        "nothing recorded yet"
    );
    let html = m.t.get_html("/admin/unmatched-payments").await;
    assert!(html.contains("pi_lost_1"), "{html}");

    // Assigned to Sam: a payment under Stripe's id that covers him, notice, share, and the
    // referrer's credit, as a payment that arrived matched would.
    let out =
        m.t.app
            .assign_unmatched(&Actor::cli(), row.id, sam, Some(1))
            .await
            .expect("assigned");
    run_all_jobs(&m).await;
    let p = payment(&m, "pi_lost_1").await;
    assert_eq!(p["customer_id"], sam, "{p}");
    assert_eq!(p["amount_minor"], 1000);
    assert_eq!(
        p["period_to"].as_i64().unwrap_or(0) - p["period_from"].as_i64().unwrap_or(0),
        30 * DAY
    );
    assert!(out.share_id.is_some(), "{out:?}");
    let audit = m.t.app.recent_audit(30).await.expect("audit");
    assert!(audit.iter().any(|a| a.action == "payment.unmatched_assign"));
    let credits = referrals::credits_of(m.t.app.db.ex(), referrer)
        .await
        .expect("credits");
    assert_eq!(credits.len(), 1, "the referrer is credited once");
    assert_eq!(
        (credits[0].kind.as_str(), credits[0].amount_minor),
        ("credit", 200)
    );
    let sam_row = customers::find(m.t.app.db.ex(), sam).await.expect("sam");
    assert_eq!(sam_row.covered_until, p["period_to"].as_i64());
}

#[tokio::test]
async fn refunds_found_by_sync_shorten_coverage_in_proportion_and_show_on_the_customers_page() {
    let m = sync_test().await;
    let inv = invite(&m, json!({"email": "alice@example.com", "plan_id": 1})).await;
    let alice = inv["customer_id"].as_i64().expect("customer");
    let paid_until = inv["period_to"].as_i64().expect("period");
    m.t.run_pending_jobs().await;
    let charge = stripe_payment(&m, 1000, "alice@example.com").await;
    let charge_id = charge["id"].as_str().expect("charge id").to_string();
    a_minute_later(&m);
    m.t.app.run_payment_sync(STRIPE).await.expect("sync");
    let p = payment(&m, &charge_id).await;
    assert_eq!(p["period_from"].as_i64(), Some(paid_until), "{p}");

    // 4.00 of 10.00 given back at Stripe (no webhook reaches us): sync takes 40 % of the time.
    let refunds = format!("{}/refunds", m.world.payments.stripe.control_url());
    let r = reqwest::Client::new()
        .post(&refunds)
        .json(&json!({"charge": charge_id, "amount": 400}))
        .send()
        .await
        .expect("refund");
    assert!(r.status().is_success());
    a_minute_later(&m);
    let report = m.t.app.run_payment_sync(STRIPE).await.expect("sync");
    assert_eq!(report.refunds_seen, 1);
    let p = payment(&m, &charge_id).await;
    assert_eq!(
        p["period_to"].as_i64().unwrap_or(0) - paid_until,
        18 * DAY,
        "60 % of 30 days left: {p}"
    );
    let c = customers::find(m.t.app.db.ex(), alice)
        .await
        .expect("alice");
    assert_eq!(c.covered_until, Some(paid_until + 18 * DAY));
    let page = m.t.get_html(&format!("/admin/users/{alice}")).await;
    assert!(page.contains("4.00 USD refunded"), "{page}");

    // Read again by the next run: nothing changes twice.
    a_minute_later(&m);
    m.t.app.run_payment_sync(STRIPE).await.expect("sync");
    let again = payment(&m, &charge_id).await;
    assert_eq!(again["period_to"], p["period_to"]);

    // The rest refunded: the payment (for time after the current period) covers nothing more.
    let r = reqwest::Client::new()
        .post(&refunds)
        .json(&json!({"charge": charge_id}))
        .send()
        .await
        .expect("refund");
    assert!(r.status().is_success());
    a_minute_later(&m);
    m.t.app.run_payment_sync(STRIPE).await.expect("sync");
    let p = payment(&m, &charge_id).await;
    assert!(
        p["period_to"].as_i64().unwrap_or(0) - paid_until <= 1,
        "{p}"
    );
    assert_eq!(
        scalar(
            &m,
            &format!("SELECT refunded_minor FROM payments WHERE transaction_id = '{charge_id}'")
        )
        .await,
        1000
    );
}

#[tokio::test]
async fn a_pending_referral_credit_comes_off_the_referrers_next_checkout_once() {
    let (m, _) = shop().await;
    let inv = invite(&m, json!({"email": "rita@example.com", "plan_id": 1})).await;
    let rita = inv["customer_id"].as_i64().expect("customer");
    let sam = stored_customer(&m, "sam@example.com").await;
    referrals::insert_credit(
        m.t.app.db.ex(),
        &NewCredit {
            referrer: rita,
            referred: sam,
            trigger_reference: "payment:1",
            kind: "credit",
            days: 0,
            amount_minor: 200,
            currency: "USD",
            state: "pending",
            now: m.t.app.now(),
        },
    )
    .await
    .expect("credit");

    let c = customer_browser(&m, "rita@example.com").await;
    let page = c
        .get(m.t.url("/checkout"))
        .send()
        .await
        .expect("checkout page")
        .text()
        .await
        .expect("body");
    assert!(
        page.contains("id=\"checkout-referral-credit\"") && page.contains("2.00 USD"),
        "{page}"
    );
    let r = c
        .post(m.t.url("/checkout"))
        .form(&[
            ("plan_id", "1"),
            ("provider", "stripe"),
            ("csrf", &csrf_from(&page)),
        ])
        .send()
        .await
        .expect("checkout");
    assert_eq!(r.status(), 303);
    let first = scalar(&m, "SELECT MAX(id) FROM checkouts").await;
    let co = boxoffice_store::checkouts::find(m.t.app.db.ex(), first)
        .await
        .expect("checkout");
    assert_eq!(
        (co.amount_minor, co.referral_credit_minor),
        (800, 200),
        "10.00 less the 2.00 credit"
    );
    // The gateway is asked for 8.00.
    let session = m
        .world
        .payments
        .stripe
        .object(&gateway_ref(&m, first).await)
        .expect("session");
    assert_eq!(session["amount_total"], 800, "{session}");

    // The credit is taken: the next checkout pays the full price, and the page no longer offers it.
    let page = c
        .get(m.t.url("/checkout"))
        .send()
        .await
        .expect("checkout page")
        .text()
        .await
        .expect("body");
    assert!(!page.contains("checkout-referral-credit"), "{page}");
    let r = c
        .post(m.t.url("/checkout"))
        .form(&[
            ("plan_id", "1"),
            ("provider", "stripe"),
            ("csrf", &csrf_from(&page)),
        ])
        .send()
        .await
        .expect("checkout");
    assert_eq!(r.status(), 303);
    let second = scalar(&m, "SELECT MAX(id) FROM checkouts").await;
    let co = boxoffice_store::checkouts::find(m.t.app.db.ex(), second)
        .await
        .expect("checkout");
    assert_eq!((co.amount_minor, co.referral_credit_minor), (1000, 0));

    // The first checkout expires unpaid: its credit waits for the next one again.
    let cs = gateway_ref(&m, first).await;
    let body = format!(
        r#"{{"id":"evt_exp_1","object":"event","type":"checkout.session.expired","created":{},"data":{{"object":{{"id":"{cs}","object":"checkout.session","client_reference_id":"checkout-{first}"}}}}}}"#,
        m.t.app.now()
    );
    let (s, v) = post_stripe(&m, &body, &stripe_sign(&m, &body, m.t.app.now())).await;
    assert_eq!(s, 200, "{v}");
    let credits = referrals::credits_of(m.t.app.db.ex(), rita)
        .await
        .expect("credits");
    assert_eq!(credits[0].state, "pending");
}
