//! In a real browser, phone-sized: a customer chooses a plan, pays on the fake Stripe checkout
//! page, approves on the fake PayPal page or pays the fake Plisio invoice, comes back to
//! boxoffice, and after the jobs run is shared on the fake Plex server with exactly the plan's
//! libraries. Cancelling on the PayPal page comes back with nothing paid.

use crate::browser::Browser;
use crate::payments_webhooks::{count, customer_login, plex_shares, run_all_jobs, shop, standard};
use crate::servers::MediaTest;

/// Logs `email` in and sends the checkout form for the Basic plan with `provider`: the browser
/// ends on the gateway's hosted page.
async fn check_out(b: &Browser, m: &MediaTest, email: &str, provider: &str) {
    customer_login(m, email).await;
    let base = m.t.base.clone();
    b.goto(&format!("{base}/login")).await;
    b.fill("input[name=email]", email).await;
    b.fill("input[name=password]", "Cust0mer-Pass!").await;
    b.click("form[action='/login'] button[type=submit]").await;
    b.find("#subscribe-link").await;
    b.click("#subscribe-link").await;

    b.find("#checkout-form").await;
    b.click("#checkout-form input[name=plan_id][value='1']")
        .await;
    b.click(&format!(
        "#checkout-form input[name=provider][value={provider}]"
    ))
    .await;
    b.screenshot(&format!("checkout-page-{provider}")).await;
    b.click("#checkout-pay").await;
}

/// Back on boxoffice with the payment received; after the jobs run the customer is shared the
/// plan's libraries on Plex, once.
async fn paid_and_shared(b: &Browser, m: &MediaTest, email: &str, provider: &str) {
    b.find("#checkout-status").await;
    let status = b.text("#checkout-status").await;
    assert!(status.contains("Payment received"), "{status}");
    b.screenshot(&format!("checkout-paid-{provider}")).await;

    run_all_jobs(m).await;
    assert_eq!(plex_shares(m, email), vec![standard()]);
    assert_eq!(count(m, "SELECT COUNT(*) FROM payments").await, 1);
    assert_eq!(
        count(
            m,
            &format!("SELECT COUNT(*) FROM payments WHERE method = '{provider}' AND amount_minor = 1000 AND currency = 'USD'")
        )
        .await,
        1
    );
}

#[tokio::test]
async fn a_customer_pays_on_the_fake_stripe_page_and_is_shared_the_plans_libraries_on_plex() {
    let Some(b) = Browser::start(412, 915).await else {
        return;
    };
    let (m, _) = shop().await;
    let email = "olive@example.com";
    check_out(&b, &m, email, "stripe").await;

    // The fake Stripe's hosted page: pay.
    b.find("button#pay").await;
    let page = b.source().await;
    assert!(page.contains("10.00 USD"), "{page}");
    b.click("button#pay").await;

    paid_and_shared(&b, &m, email, "stripe").await;
    b.quit().await;
}

#[tokio::test]
async fn a_customer_approves_on_the_fake_paypal_page_and_is_shared_the_plans_libraries_on_plex() {
    let Some(b) = Browser::start(412, 915).await else {
        return;
    };
    let (m, _) = shop().await;
    let email = "pablo@example.com";
    check_out(&b, &m, email, "paypal").await;

    // The fake PayPal's buyer page: approve. Coming back captures the order.
    b.find("button#approve").await;
    let page = b.source().await;
    assert!(page.contains("10.00 USD"), "{page}");
    b.screenshot("paypal-approve-page").await;
    b.click("button#approve").await;

    paid_and_shared(&b, &m, email, "paypal").await;
    b.quit().await;
}

#[tokio::test]
async fn a_customer_pays_the_fake_plisio_invoice_and_is_shared_the_plans_libraries_on_plex() {
    let Some(b) = Browser::start(412, 915).await else {
        return;
    };
    let (m, _) = shop().await;
    let email = "priya@example.com";
    check_out(&b, &m, email, "plisio").await;

    // The fake Plisio invoice: pay in crypto.
    b.find("button#pay").await;
    let page = b.source().await;
    assert!(page.contains("10.00 USD") && page.contains("BTC"), "{page}");
    b.screenshot("plisio-invoice-page").await;
    b.click("button#pay").await;

    paid_and_shared(&b, &m, email, "plisio").await;
    b.quit().await;
}

#[tokio::test]
async fn cancelling_on_the_fake_paypal_page_comes_back_with_nothing_paid() {
    let Some(b) = Browser::start(412, 915).await else {
        return;
    };
    let (m, _) = shop().await;
    let email = "quinn@example.com";
    check_out(&b, &m, email, "paypal").await;

    b.find("button#cancel").await;
    b.click("button#cancel").await;

    b.find("#checkout-cancelled").await;
    let status = b.text("#checkout-status").await;
    assert!(status.contains("Nothing was charged"), "{status}");
    b.screenshot("checkout-cancelled-paypal").await;

    run_all_jobs(&m).await;
    assert_eq!(count(&m, "SELECT COUNT(*) FROM payments").await, 0);
    assert_eq!(
        count(
            &m,
            "SELECT COUNT(*) FROM checkouts WHERE state = 'cancelled'"
        )
        .await,
        1
    );
    assert!(plex_shares(&m, email).is_empty());
    // PayPal has nothing to capture: the order was never approved.
    let orders = m
        .world
        .payments
        .paypal
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/capture"))
        .count();
    assert_eq!(orders, 0, "no capture asked");
    b.quit().await;
}
