//! In a real browser, phone-sized: a customer chooses a plan, pays on the fake Stripe checkout
//! page, comes back to boxoffice, and after the jobs run is shared on the fake Plex server with
//! exactly the plan's libraries.

use crate::browser::Browser;
use crate::payments_webhooks::{customer_login, plex_shares, run_all_jobs, shop, standard};

#[tokio::test]
async fn a_customer_pays_on_the_fake_stripe_page_and_is_shared_the_plans_libraries_on_plex() {
    let Some(b) = Browser::start(412, 915).await else {
        return;
    };
    let (m, _) = shop().await;
    let email = "olive@example.com";
    customer_login(&m, email).await;
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
    b.click("#checkout-form input[name=provider][value=stripe]")
        .await;
    b.screenshot("checkout-page").await;
    b.click("#checkout-pay").await;

    // The fake Stripe's hosted page: pay.
    b.find("button#pay").await;
    let page = b.source().await;
    assert!(page.contains("10.00 USD"), "{page}");
    b.click("button#pay").await;

    // Back on boxoffice.
    b.find("#checkout-status").await;
    let status = b.text("#checkout-status").await;
    assert!(status.contains("Payment received"), "{status}");
    b.screenshot("checkout-paid").await;

    run_all_jobs(&m).await;
    assert_eq!(plex_shares(&m, email), vec![standard()]);
    let payments: i64 = crate::payments_webhooks::count(&m, "SELECT COUNT(*) FROM payments").await;
    assert_eq!(payments, 1);
    b.quit().await;
}
