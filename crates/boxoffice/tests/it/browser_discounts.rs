//! In a real browser: add a discount code through its form, see a refused field marked beside
//! it, fix it, and find the code in the list; the list on a phone-sized screen too.

use crate::browser::Browser;
use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, spawn_app};

#[tokio::test]
async fn a_discount_code_is_added_through_the_form_in_a_browser() {
    let Some(b) = Browser::start(1280, 900).await else {
        return;
    };
    let t = spawn_app().await;
    t.create_admin().await;
    let base = t.base.clone();
    b.goto(&format!("{base}/login")).await;
    b.fill("input[name=email]", ADMIN_EMAIL).await;
    b.fill("input[name=password]", ADMIN_PASSWORD).await;
    b.click("form[action='/login'] button[type=submit]").await;
    b.on_page("dashboard").await;

    b.goto(&format!("{base}/admin/discount-codes")).await;
    b.on_page("discount-codes").await;
    b.click("#add-discount-code").await;
    b.find("#discount-code-form").await;
    b.fill("#dc-code", "welcome").await;
    b.fill("#dc-percent", "20").await;
    b.fill("#dc-amount", "3").await;
    b.fill("#dc-max-uses", "50").await;
    b.click("#dc-submit").await;

    // Both kinds given: the form comes back with the error beside the percentage.
    let err = b.text("#percent_off-error").await;
    assert_eq!(err, "give either a percentage or an amount off, not both");
    assert_eq!(b.attr("#dc-code", "value").await, "welcome");
    b.screenshot("discount-code-form-refused").await;
    b.fill("#dc-amount", "").await;
    b.click("#dc-submit").await;
    b.find("#dc-message").await;

    b.goto(&format!("{base}/admin/discount-codes")).await;
    let table = b.text("#discount-codes").await;
    assert!(
        table.contains("WELCOME") && table.contains("20%") && table.contains("0 / 50"),
        "{table}"
    );
    assert!(table.contains("usable"), "{table}");
    b.screenshot("discount-codes-page").await;
    b.quit().await;

    // The list stays readable on a phone.
    let Some(p) = Browser::start(390, 844).await else {
        return;
    };
    p.goto(&format!("{base}/login")).await;
    p.fill("input[name=email]", ADMIN_EMAIL).await;
    p.fill("input[name=password]", ADMIN_PASSWORD).await;
    p.click("form[action='/login'] button[type=submit]").await;
    p.on_page("dashboard").await;
    p.goto(&format!("{base}/admin/discount-codes")).await;
    let wide = p
        .script("return document.documentElement.scrollWidth > window.innerWidth + 1;")
        .await;
    assert_eq!(
        wide,
        serde_json::Value::Bool(false),
        "the page scrolls sideways on a phone"
    );
    p.screenshot("discount-codes-phone").await;
    p.quit().await;
}
