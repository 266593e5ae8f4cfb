//! In a real browser at phone width: the Notifications pages fit the screen (wide tables scroll
//! inside their frame, not the page), and a draft template is previewed with sample values.

use crate::browser::Browser;
use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, spawn_app};

/// Whether the page is no wider than the window (nothing makes the whole page scroll sideways).
/// Measured once the page has loaded: a click that submits a form returns while the next page
/// may still be fetching its stylesheet, and an unstyled table is as wide as its text.
async fn fits(b: &Browser) -> bool {
    let v = b
        .script_async(
            "const answer = () => done({fits: document.documentElement.scrollWidth <= window.innerWidth, \
               width: document.documentElement.scrollWidth, window: window.innerWidth});\n\
             if (document.readyState === 'complete') answer();\n\
             else window.addEventListener('load', answer, {once: true});",
        )
        .await;
    if v["fits"].as_bool() != Some(true) {
        eprintln!("page wider than the window: {v}");
    }
    v["fits"].as_bool().unwrap_or(false)
}

#[tokio::test]
async fn a_template_is_previewed_at_phone_width_and_the_pages_fit_the_screen() {
    let Some(b) = Browser::start(390, 844).await else {
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

    b.goto(&format!("{base}/admin/notifications")).await;
    b.on_page("notifications").await;
    assert!(
        b.text("#notification-events")
            .await
            .contains("System Message")
    );
    assert!(fits(&b).await, "the events page fits a phone");
    b.screenshot("notifications-phone").await;

    b.click("tr[data-event='system_message'] a[href$='/email']")
        .await;
    b.find("#template-form").await;
    b.fill(
        "#template-form input[name=subject]",
        "Heads up: {{ title }}",
    )
    .await;
    b.click("#preview-button").await;
    b.find("#preview").await;
    assert_eq!(
        b.text("#preview-subject").await,
        "Heads up: Migration finished"
    );
    assert!(fits(&b).await, "the editor fits a phone");
    b.screenshot("notification-edit-phone").await;
    b.script("document.getElementById('preview').scrollIntoView(); return true;")
        .await;
    b.screenshot("notification-preview-phone").await;

    b.goto(&format!("{base}/admin/notifications/log")).await;
    b.find("#notification-log").await;
    assert!(fits(&b).await, "the log fits a phone");
    b.screenshot("notification-log-phone").await;
    b.quit().await;
}
