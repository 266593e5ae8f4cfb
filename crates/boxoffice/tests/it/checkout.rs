//! Checkout on the fakes: capacity is checked before any money moves; a customer pays on the
//! gateway's page and comes back to a page that says what happened; paid with no room left
//! waits visibly and is placed later; a refund shortens the time it paid for and says so.

use crate::helpers::{csrf_from, location};
use crate::lifecycle::{exec, invite, set};
use crate::payments_webhooks::{
    count, customer_login, delivered, gateway_ref, plex_shares, run_all_jobs, shop, standard, start,
};
use crate::servers::MediaTest;
use boxoffice_app::payments::{
    CheckoutMode, CheckoutRefused, CheckoutRequest, Provider, SERVERS_FULL_CUSTOMER,
    SERVERS_FULL_TEXT,
};
use boxoffice_payments::{Money, RefundRequest};
use serde_json::json;

async fn email_on(m: &MediaTest) {
    set(m, "email.enabled", "true").await;
    set(m, "email.smtp_host", "127.0.0.1").await;
    set(m, "email.smtp_security", "none").await;
    set(m, "email.from_address", "noreply@example.com").await;
    set(m, "general.admin_email", "owner@example.com").await;
}

/// The only server takes one user, and has one.
async fn fill_the_server(m: &MediaTest, server: i64) {
    exec(
        &m.t.app.db,
        format!("UPDATE servers SET max_users = 1 WHERE id = {server}"),
    )
    .await;
    invite(m, json!({"email": "bob@example.com", "plan_id": 1})).await;
    run_all_jobs(m).await;
}

/// A customer's browser: its own cookies, logged in.
pub(crate) async fn customer_browser(m: &MediaTest, email: &str) -> reqwest::Client {
    customer_login(m, email).await;
    let c = crate::helpers::client();
    let page = c
        .get(m.t.url("/login"))
        .send()
        .await
        .expect("login page")
        .text()
        .await
        .expect("body");
    let r = c
        .post(m.t.url("/login"))
        .form(&[
            ("email", email),
            ("password", "Cust0mer-Pass!"),
            ("csrf", &csrf_from(&page)),
        ])
        .send()
        .await
        .expect("login");
    assert_eq!(r.status(), 303, "logged in");
    c
}

async fn post_checkout(m: &MediaTest, c: &reqwest::Client, provider: &str) -> reqwest::Response {
    let page = c
        .get(m.t.url("/checkout"))
        .send()
        .await
        .expect("checkout page")
        .text()
        .await
        .expect("body");
    c.post(m.t.url("/checkout"))
        .form(&[
            ("plan_id", "1"),
            ("provider", provider),
            ("csrf", &csrf_from(&page)),
        ])
        .send()
        .await
        .expect("checkout")
}

#[tokio::test]
async fn a_full_server_refuses_checkout_before_any_gateway_call_and_tells_the_admin() {
    let (m, server) = shop().await;
    email_on(&m).await;
    fill_the_server(&m, server).await;
    let stripe = &m.world.payments.stripe;
    let before = stripe.requests().len();
    let customers = count(&m, "SELECT COUNT(*) FROM customers").await;

    let c = customer_browser(&m, "gina@example.com").await;
    let r = post_checkout(&m, &c, "stripe").await;
    assert_eq!(r.status(), 409);
    let page = r.text().await.expect("body");
    let said = SERVERS_FULL_CUSTOMER.replace('\'', "&#39;");
    assert!(page.contains(&said), "{page}");

    // The same through the use case, for the reason it gives.
    let login = customer_login(&m, "hank@example.com").await;
    let e =
        m.t.app
            .start_checkout(
                login,
                "hank@example.com",
                CheckoutRequest {
                    plan_id: 1,
                    provider: Provider::Stripe,
                    mode: CheckoutMode::OneOff,
                    discount_code: None,
                    origin: m.t.base.clone(),
                },
            )
            .await
            .expect_err("refused");
    assert!(matches!(e, CheckoutRefused::ServersFull { .. }), "{e:?}");

    assert_eq!(
        stripe.requests().len(),
        before,
        "the fake Stripe saw no request: {:?}",
        stripe.requests()
    );
    assert_eq!(count(&m, "SELECT COUNT(*) FROM checkouts").await, 0);
    assert_eq!(
        count(&m, "SELECT COUNT(*) FROM customers").await,
        customers,
        "no customer is written for a refused checkout"
    );
    let text: String = boxoffice_store::run!(m.t.app.db.ex(), |e| sqlx::query_scalar(
        "SELECT message FROM admin_events WHERE kind = 'servers_full' ORDER BY id LIMIT 1"
    )
    .fetch_one(e)
    .await)
    .expect("admin event");
    assert!(
        text.starts_with(SERVERS_FULL_TEXT) && text.contains("gina@example.com"),
        "{text}"
    );
    // Told once per plan in six hours, however many customers are refused.
    assert_eq!(
        count(
            &m,
            "SELECT COUNT(*) FROM notifications WHERE event = 'servers_full'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn a_customer_pays_through_the_checkout_page_and_the_return_page_says_access_is_coming() {
    let (m, _) = shop().await;
    let c = customer_browser(&m, "ivy@example.com").await;
    let page = c
        .get(m.t.url("/checkout"))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("body");
    assert!(
        page.contains("Basic") && page.contains("10.00 USD"),
        "{page}"
    );
    for g in ["Stripe", "PayPal", "Plisio"] {
        assert!(page.contains(g), "{g} offered: {page}");
    }

    // The Stripe fake does not deliver here: the return page confirms by itself.
    m.world.payments.stripe.set_webhook_url(None, None);
    let r = post_checkout(&m, &c, "stripe").await;
    assert_eq!(r.status(), 303);
    let to = location(&r);
    assert!(to.starts_with(&m.world.payments.stripe.url()), "{to}");
    let id: i64 = count(&m, "SELECT MAX(id) FROM checkouts").await;
    let cs = gateway_ref(&m, id).await;
    m.world.payments.stripe.pay_session(&cs).expect("paid");

    let back = c
        .get(m.t.url(&format!("/checkout/return?checkout={id}&session_id={cs}")))
        .send()
        .await
        .expect("return");
    assert_eq!(back.status(), 200);
    let html = back.text().await.expect("body");
    assert!(
        html.contains("Payment received") && html.contains("Your access is being set up"),
        "{html}"
    );
    run_all_jobs(&m).await;
    assert_eq!(count(&m, "SELECT COUNT(*) FROM payments").await, 1);
    assert_eq!(plex_shares(&m, "ivy@example.com"), vec![standard()]);

    // Another customer cannot read it.
    let other = customer_browser(&m, "jack@example.com").await;
    let r = other
        .get(m.t.url(&format!("/checkout/return?checkout={id}")))
        .send()
        .await
        .expect("return");
    assert_eq!(r.status(), 404);

    // Cancelling a second checkout charges nothing and says so.
    let r = post_checkout(&m, &c, "stripe").await;
    assert_eq!(r.status(), 303);
    let id2: i64 = count(&m, "SELECT MAX(id) FROM checkouts").await;
    let html = c
        .get(m.t.url(&format!("/checkout/cancel?checkout={id2}")))
        .send()
        .await
        .expect("cancel")
        .text()
        .await
        .expect("body");
    assert!(html.contains("Nothing was charged"), "{html}");
    assert_eq!(count(&m, "SELECT COUNT(*) FROM payments").await, 1);
}

#[tokio::test]
async fn paid_when_the_server_filled_up_meanwhile_waits_visibly_and_is_placed_when_room_comes() {
    let (m, server) = shop().await;
    let started = start(
        &m,
        "kim@example.com",
        Provider::Stripe,
        CheckoutMode::OneOff,
    )
    .await;
    // Between the check and the payment, the server closes.
    exec(
        &m.t.app.db,
        format!("UPDATE servers SET allow_new_subscriptions = FALSE WHERE id = {server}"),
    )
    .await;
    let cs = gateway_ref(&m, started.checkout_id).await;
    m.world.payments.stripe.pay_session(&cs).expect("paid");
    delivered(
        || m.world.payments.stripe.deliveries(),
        "checkout.session.completed",
    )
    .await;
    run_all_jobs(&m).await;
    assert_eq!(
        count(&m, "SELECT COUNT(*) FROM payments").await,
        1,
        "the money is recorded"
    );
    assert_eq!(
        count(&m, "SELECT COUNT(*) FROM waiting_for_server").await,
        1
    );
    assert!(plex_shares(&m, "kim@example.com").is_empty());
    let customer = count(&m, "SELECT customer_id FROM waiting_for_server").await;
    let page = m.t.get_html(&format!("/admin/users/{customer}")).await;
    assert!(page.contains("Paid, waiting for a server"), "{page}");

    exec(
        &m.t.app.db,
        format!("UPDATE servers SET allow_new_subscriptions = TRUE WHERE id = {server}"),
    )
    .await;
    let report = m.t.app.place_waiting_customers().await.expect("placed");
    assert_eq!(report.placed, 1);
    run_all_jobs(&m).await;
    assert_eq!(plex_shares(&m, "kim@example.com"), vec![standard()]);
    assert_eq!(
        count(&m, "SELECT COUNT(*) FROM waiting_for_server").await,
        0
    );
}

#[tokio::test]
async fn a_stripe_refund_ends_the_paid_time_now_and_tells_the_customer() {
    let (m, _) = shop().await;
    email_on(&m).await;
    let started = start(
        &m,
        "lee@example.com",
        Provider::Stripe,
        CheckoutMode::OneOff,
    )
    .await;
    let cs = gateway_ref(&m, started.checkout_id).await;
    m.world.payments.stripe.pay_session(&cs).expect("paid");
    delivered(
        || m.world.payments.stripe.deliveries(),
        "checkout.session.completed",
    )
    .await;
    run_all_jobs(&m).await;
    let pi: String = boxoffice_store::run!(m.t.app.db.ex(), |e| sqlx::query_scalar(
        "SELECT transaction_id FROM payments"
    )
    .fetch_one(e)
    .await)
    .expect("payment");
    assert!(pi.starts_with("pi_"), "{pi}");

    // Half back, then the rest: the paid month shrinks, then ends now.
    let gw =
        m.t.app
            .payment_gateway(Provider::Stripe)
            .await
            .expect("gateway");
    let usd = boxoffice_payments::Currency::parse("USD").expect("usd");
    for (i, amount) in [Some(Money::new(500, usd)), None].into_iter().enumerate() {
        gw.refund(&RefundRequest {
            payment_id: pi.clone(),
            amount,
            reason: None,
            idempotency_key: format!("refund-test-{i}"),
        })
        .await
        .expect("refunded");
        let n = i + 1;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while m
            .world
            .payments
            .stripe
            .deliveries()
            .iter()
            .filter(|d| d.event_type == "charge.refunded" && d.state == "delivered")
            .count()
            < n
        {
            assert!(std::time::Instant::now() < deadline, "refund {n} delivered");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let refunded = count(&m, "SELECT refunded_minor FROM payments").await;
        assert_eq!(refunded, if n == 1 { 500 } else { 1000 });
    }
    let now = m.t.app.now();
    let (from, to) = (
        count(&m, "SELECT period_from FROM payments").await,
        count(&m, "SELECT period_to FROM payments").await,
    );
    assert!(
        to - now <= 5 && to > from,
        "coverage ends now: {from} {to} {now}"
    );
    assert_eq!(
        count(
            &m,
            "SELECT COUNT(*) FROM notifications WHERE event = 'payment_refunded'"
        )
        .await,
        2,
        "the customer is told of each refund"
    );
    let notes: String = boxoffice_store::run!(m.t.app.db.ex(), |e| sqlx::query_scalar(
        "SELECT notes FROM payments"
    )
    .fetch_one(e)
    .await)
    .expect("notes");
    assert!(notes.contains("Refunded 5.00 USD"), "{notes}");
    // The next expiry pass takes the share away.
    m.t.advance_clock(time::Duration::hours(1));
    m.t.app.run_expiry().await.expect("expiry");
    run_all_jobs(&m).await;
    assert!(
        plex_shares(&m, "lee@example.com")
            .iter()
            .all(|s| s.is_empty())
    );
}

async fn post_checkout_with_code(
    m: &MediaTest,
    c: &reqwest::Client,
    code: &str,
) -> reqwest::Response {
    let page = c
        .get(m.t.url("/checkout"))
        .send()
        .await
        .expect("checkout page")
        .text()
        .await
        .expect("body");
    assert!(page.contains("name=\"discount_code\""), "{page}");
    c.post(m.t.url("/checkout"))
        .form(&[
            ("plan_id", "1"),
            ("provider", "stripe"),
            ("discount_code", code),
            ("csrf", &csrf_from(&page)),
        ])
        .send()
        .await
        .expect("checkout")
}

#[tokio::test]
async fn a_discount_code_lowers_the_price_charged_and_counts_one_use_and_a_bad_one_starts_nothing()
{
    let (m, _) = shop().await;
    let (s, v) = m
        .api(
            reqwest::Method::POST,
            "/discount-codes",
            Some(json!({"code": "SAVE20", "percent_off": 20, "max_uses": 1})),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    m.world.payments.stripe.set_webhook_url(None, None);
    let c = customer_browser(&m, "kim@example.com").await;

    // A code nobody made: the page says why and no checkout is written.
    let r = post_checkout_with_code(&m, &c, "NOPE").await;
    assert_eq!(r.status(), 422, "{:?}", r.headers().get("location"));
    let html = r.text().await.expect("body");
    assert!(html.contains("id=\"checkout-error\""), "{html}");
    assert_eq!(count(&m, "SELECT COUNT(*) FROM checkouts").await, 0);

    // 20 % off 10.00: the hosted page asks for 8.00, and the code's one use is taken.
    let r = post_checkout_with_code(&m, &c, "save20").await;
    assert_eq!(r.status(), 303);
    let id: i64 = count(&m, "SELECT MAX(id) FROM checkouts").await;
    assert_eq!(
        count(
            &m,
            &format!("SELECT amount_minor FROM checkouts WHERE id = {id}")
        )
        .await,
        800
    );
    assert_eq!(
        count(&m, "SELECT COUNT(*) FROM discount_redemptions").await,
        1
    );
    let cs = gateway_ref(&m, id).await;
    m.world.payments.stripe.pay_session(&cs).expect("paid");
    let back = c
        .get(m.t.url(&format!("/checkout/return?checkout={id}&session_id={cs}")))
        .send()
        .await
        .expect("return");
    assert_eq!(back.status(), 200);
    run_all_jobs(&m).await;
    assert_eq!(
        count(&m, "SELECT amount_minor FROM payments").await,
        800,
        "the payment is what the customer paid"
    );
    // My account shows the subscription: status, plan, the server and how to connect, and the
    // payment as charged.
    let account = c
        .get(m.t.url("/account"))
        .send()
        .await
        .expect("account")
        .text()
        .await
        .expect("body");
    assert!(
        account.contains("id=\"subscription\" data-status=\"Active\""),
        "{account}"
    );
    assert!(account.contains("id=\"sub-plan\">Basic<"), "{account}");
    assert!(account.contains("data-platform=\"plex\""), "{account}");
    assert!(account.contains("8.00 USD"), "{account}");

    // Its only use is gone: the next checkout with it is refused and starts nothing.
    let other = customer_browser(&m, "lee@example.com").await;
    let before = count(&m, "SELECT COUNT(*) FROM checkouts").await;
    let r = post_checkout_with_code(&m, &other, "SAVE20").await;
    assert_eq!(r.status(), 422);
    assert_eq!(count(&m, "SELECT COUNT(*) FROM checkouts").await, before);
}

#[tokio::test]
async fn a_customer_without_a_plex_email_is_told_what_is_missing_not_that_the_servers_are_full() {
    let (m, _) = shop().await;
    // A customer who registered with a Jellyfin user name only; the shop's one server is Plex.
    exec(
        &m.t.app.db,
        "INSERT INTO customers (email, email_key, jellyfin_username, created_at, updated_at)
         VALUES ('nora@example.com', 'nora@example.com', 'nora', 0, 0)"
            .into(),
    )
    .await;
    let c = customer_browser(&m, "nora@example.com").await;
    let r = post_checkout(&m, &c, "stripe").await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.expect("body");
    assert!(
        html.contains("need a media account you have not given us yet"),
        "{html}"
    );
    assert!(!html.contains("no room for new subscribers"), "{html}");
    assert_eq!(count(&m, "SELECT COUNT(*) FROM checkouts").await, 0);
    assert_eq!(
        count(
            &m,
            "SELECT COUNT(*) FROM admin_events WHERE kind = 'servers_full'"
        )
        .await,
        0,
        "the administrator is not told of a full server that is not full"
    );
}
