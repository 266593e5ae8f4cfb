//! Disputes and cancellations at the gateway, on the fakes: a chargeback takes the paid time, a
//! dispute won gives it back (Stripe `charge.dispute.closed` won, PayPal
//! `CUSTOMER.DISPUTE.RESOLVED` in the seller's favour); a recurring subscription the customer
//! cancels at Stripe or PayPal is marked cancelled and keeps its paid time, on the customer's
//! page.

use crate::lifecycle::{exec, set};
use crate::payments_webhooks::{
    count, delivered, gateway_ref, plex_shares, run_all_jobs, shop, standard, start,
};
use crate::servers::MediaTest;
use boxoffice_app::payments::{CheckoutMode, Provider};
use boxoffice_store::customers;

async fn one(m: &MediaTest, sql: &str) -> String {
    let sql = sql.to_string();
    boxoffice_store::run!(m.t.app.db.ex(), |e| sqlx::query_scalar::<_, String>(
        sqlx::AssertSqlSafe(sql.clone())
    )
    .fetch_one(e)
    .await)
    .expect("value")
}

async fn covered_until(m: &MediaTest, email: &str) -> Option<i64> {
    customers::find_by_email_key(m.t.app.db.ex(), email)
        .await
        .expect("customer")
        .covered_until
}

#[tokio::test]
async fn a_won_stripe_dispute_gives_back_the_paid_time_its_chargeback_took() {
    let (m, _) = shop().await;
    let stripe = &m.world.payments.stripe;
    let started = start(
        &m,
        "owen@example.com",
        Provider::Stripe,
        CheckoutMode::OneOff,
    )
    .await;
    stripe
        .pay_session(&gateway_ref(&m, started.checkout_id).await)
        .expect("paid");
    delivered(|| stripe.deliveries(), "checkout.session.completed").await;
    run_all_jobs(&m).await;
    let paid_to = count(&m, "SELECT period_to FROM payments").await;
    assert_eq!(covered_until(&m, "owen@example.com").await, Some(paid_to));
    let pi = one(&m, "SELECT transaction_id FROM payments").await;

    let dispute = stripe.dispute(&pi).expect("disputed");
    delivered(|| stripe.deliveries(), "charge.dispute.created").await;
    assert_eq!(count(&m, "SELECT refunded_minor FROM payments").await, 1000);
    assert!(count(&m, "SELECT period_to FROM payments").await <= m.t.app.now() + 1);

    stripe
        .close_dispute(dispute["id"].as_str().expect("id"), "won")
        .expect("won");
    delivered(|| stripe.deliveries(), "charge.dispute.closed").await;
    assert_eq!(count(&m, "SELECT refunded_minor FROM payments").await, 0);
    assert_eq!(count(&m, "SELECT period_to FROM payments").await, paid_to);
    assert_eq!(covered_until(&m, "owen@example.com").await, Some(paid_to));
    assert_eq!(
        count(
            &m,
            "SELECT COUNT(*) FROM admin_events WHERE kind = 'chargeback'"
        )
        .await,
        2,
        "the chargeback and the dispute won, both told"
    );
    run_all_jobs(&m).await;
    assert_eq!(plex_shares(&m, "owen@example.com"), vec![standard()]);
}

#[tokio::test]
async fn a_paypal_dispute_resolved_in_the_sellers_favour_gives_back_the_paid_time() {
    let (m, _) = shop().await;
    let paypal = &m.world.payments.paypal;
    let started = start(
        &m,
        "pia@example.com",
        Provider::PayPal,
        CheckoutMode::OneOff,
    )
    .await;
    paypal
        .approve_order(&gateway_ref(&m, started.checkout_id).await)
        .expect("approved");
    delivered(|| paypal.deliveries(), "CHECKOUT.ORDER.APPROVED").await;
    run_all_jobs(&m).await;
    m.t.app
        .confirm_checkout(started.checkout_id)
        .await
        .expect("captured");
    delivered(|| paypal.deliveries(), "PAYMENT.CAPTURE.COMPLETED").await;
    run_all_jobs(&m).await;
    let paid_to = count(&m, "SELECT period_to FROM payments").await;
    let capture = one(&m, "SELECT transaction_id FROM payments").await;

    let dispute = paypal.reverse_capture(&capture).expect("reversed");
    delivered(|| paypal.deliveries(), "PAYMENT.CAPTURE.REVERSED").await;
    assert_eq!(count(&m, "SELECT refunded_minor FROM payments").await, 1000);

    paypal
        .resolve_dispute(
            dispute["dispute_id"].as_str().expect("id"),
            "RESOLVED_SELLER_FAVOUR",
        )
        .expect("resolved");
    delivered(|| paypal.deliveries(), "CUSTOMER.DISPUTE.RESOLVED").await;
    assert_eq!(count(&m, "SELECT refunded_minor FROM payments").await, 0);
    assert_eq!(count(&m, "SELECT period_to FROM payments").await, paid_to);
    assert_eq!(covered_until(&m, "pia@example.com").await, Some(paid_to));
}

async fn assert_cancelled_and_kept(m: &MediaTest, email: &str, sub: &str, paid_to: i64) {
    assert_eq!(
        count(
            m,
            "SELECT COUNT(*) FROM gateway_subscriptions WHERE state = 'cancelled'"
        )
        .await,
        1
    );
    assert_eq!(
        covered_until(m, email).await,
        Some(paid_to),
        "paid time kept"
    );
    assert_eq!(plex_shares(m, email), vec![standard()], "still shared");
    let customer = count(m, "SELECT customer_id FROM gateway_subscriptions").await;
    let page = m.t.get_html(&format!("/admin/users/{customer}")).await;
    assert!(
        page.contains(sub) && page.contains("cancelled") && page.contains("access kept to"),
        "{page}"
    );
    let audit = m.t.app.recent_audit(40).await.expect("audit");
    assert!(
        audit.iter().any(|a| a.action == "subscription.cancelled"),
        "{audit:?}"
    );
}

#[tokio::test]
async fn a_stripe_subscription_the_customer_cancels_keeps_its_paid_time_and_shows_cancelled() {
    let (m, _) = shop().await;
    let stripe = &m.world.payments.stripe;
    let price = stripe.add_price(1000, "usd", "month", "Basic");
    exec(
        &m.t.app.db,
        format!("UPDATE plans SET stripe_price_id = '{price}' WHERE id = 1"),
    )
    .await;
    set(&m, "payments.stripe.recurring_enabled", "true").await;
    let started = start(
        &m,
        "cora@example.com",
        Provider::Stripe,
        CheckoutMode::Recurring,
    )
    .await;
    stripe
        .pay_session(&gateway_ref(&m, started.checkout_id).await)
        .expect("paid");
    delivered(|| stripe.deliveries(), "invoice.paid").await;
    delivered(|| stripe.deliveries(), "checkout.session.completed").await;
    run_all_jobs(&m).await;
    let paid_to = count(&m, "SELECT period_to FROM payments").await;
    let sub = one(&m, "SELECT subscription_id FROM gateway_subscriptions").await;

    stripe.cancel_by_customer(&sub).expect("cancelled");
    delivered(|| stripe.deliveries(), "customer.subscription.deleted").await;
    assert_cancelled_and_kept(&m, "cora@example.com", &sub, paid_to).await;
}

#[tokio::test]
async fn a_paypal_subscription_the_buyer_cancels_keeps_its_paid_time_and_shows_cancelled() {
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
        "ned@example.com",
        Provider::PayPal,
        CheckoutMode::Recurring,
    )
    .await;
    let sub = gateway_ref(&m, started.checkout_id).await;
    paypal.approve_subscription(&sub).expect("approved");
    delivered(|| paypal.deliveries(), "PAYMENT.SALE.COMPLETED").await;
    delivered(|| paypal.deliveries(), "BILLING.SUBSCRIPTION.ACTIVATED").await;
    run_all_jobs(&m).await;
    let paid_to = count(&m, "SELECT period_to FROM payments").await;

    paypal
        .cancel_subscription_by_buyer(&sub)
        .expect("cancelled");
    delivered(|| paypal.deliveries(), "BILLING.SUBSCRIPTION.CANCELLED").await;
    assert_cancelled_and_kept(&m, "ned@example.com", &sub, paid_to).await;
}
