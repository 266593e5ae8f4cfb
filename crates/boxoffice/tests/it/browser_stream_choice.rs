//! In a real browser at phone size: a customer over their stream limit opens My streams from the
//! link they were sent, ticks the stream to stop and stops it; the page fits the screen.

use crate::browser::Browser;
use crate::enforcement::{ANN, stopped};
use crate::enforcement_choice::ann_over_the_limit_with_a_choice;
use crate::payments_webhooks::customer_login;
use crate::servers::media_test;

#[tokio::test]
async fn on_a_phone_the_customer_picks_the_stream_to_stop_on_my_streams() {
    let Some(b) = Browser::start(390, 844).await else {
        return;
    };
    let m = media_test().await;
    let [_, phone, _] = ann_over_the_limit_with_a_choice(&m).await;
    customer_login(&m, ANN).await;
    let base = m.t.base.clone();
    b.goto(&format!("{base}/account/streams")).await;
    // The link asks for a login first.
    b.fill("input[name=email]", ANN).await;
    b.fill("input[name=password]", "Cust0mer-Pass!").await;
    b.click("form[action^='/login'] button[type=submit]").await;
    b.goto(&format!("{base}/account/streams")).await;
    b.find("#streams-form").await;
    let over = b.text("#streams-over").await;
    assert!(over.contains("Stop 1 stream"), "{over}");
    let overflow = b
        .script("return document.documentElement.scrollWidth - window.innerWidth;")
        .await
        .as_i64()
        .unwrap_or(0);
    assert!(
        overflow <= 0,
        "My streams at 390 px is {overflow} px too wide"
    );
    b.screenshot("my-streams-phone").await;

    b.click(&format!(
        "label[data-session='{phone}'] input[type=checkbox]"
    ))
    .await;
    b.click("#streams-stop").await;
    b.find("#streams-notice").await;
    let notice = b.text("#streams-notice").await;
    assert!(notice.contains("Stopped 1 stream"), "{notice}");
    assert_eq!(stopped(&m), vec![phone.clone()]);
    let marked = b
        .attr(&format!("label[data-session='{phone}']"), "data-stopped")
        .await;
    assert_eq!(marked, "true");
    b.screenshot("my-streams-phone-stopped").await;
    b.quit().await;
}
