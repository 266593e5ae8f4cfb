//! In a real browser, phone-sized: a customer starts the free trial from the checkout page,
//! finds it on My account, then opens Change plan and reads the credit the trial leaves (none)
//! and how long the new plan would run before paying.

use crate::browser::Browser;
use crate::lifecycle::plan;
use crate::payments_webhooks::{STANDARD, customer_login, run_all_jobs};
use crate::trials::trial_shop;

#[tokio::test]
async fn a_customer_starts_a_trial_sees_it_on_my_account_and_previews_a_plan_change() {
    let Some(b) = Browser::start(390, 844).await else {
        return;
    };
    let (m, _) = trial_shop().await;
    plan(&m.t.app.db, 2, "Premium", 2000, &[STANDARD, 3], &[]).await;
    let email = "nora@example.com";
    customer_login(&m, email).await;
    let base = m.t.base.clone();
    b.goto(&format!("{base}/login")).await;
    b.fill("input[name=email]", email).await;
    b.fill("input[name=password]", "Cust0mer-Pass!").await;
    b.click("form[action='/login'] button[type=submit]").await;
    b.find("#subscribe-link").await;
    b.click("#subscribe-link").await;

    b.find("#trial-form").await;
    let notice = b.text("#plex-remote-notice").await;
    assert!(notice.contains("Remote Watch Pass"), "{notice}");
    b.screenshot("trial-checkout").await;
    b.click("#trial-start").await;

    b.find("#sub-trial").await;
    assert!(
        b.text("#account-notice")
            .await
            .contains("free trial has started")
    );
    assert!(b.text("#sub-plan").await.contains("Trial"));
    b.screenshot("trial-account").await;
    run_all_jobs(&m).await;

    b.click("#change-plan-link").await;
    b.find("#plan-change-2").await;
    let preview = b.text("#plan-change-2").await;
    assert!(
        preview.contains("0.00 USD")
            && preview.contains("Premium")
            && preview.contains("20.00 USD"),
        "{preview}"
    );
    b.screenshot("trial-plan-change").await;
    b.quit().await;
}
