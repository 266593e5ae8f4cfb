//! In a real browser: add a plan through the Plans form and find it in the list.

use crate::browser::Browser;
use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, spawn_app};

#[tokio::test]
async fn a_plan_is_added_through_the_form_in_a_browser() {
    let Some(b) = Browser::start(1280, 900).await else {
        return;
    };
    let t = spawn_app().await;
    t.create_admin().await;
    let standard = t
        .app
        .list_library_groups()
        .await
        .expect("groups")
        .into_iter()
        .find(|g| g.builtin.as_deref() == Some("standard"))
        .expect("standard")
        .id;
    let base = t.base.clone();
    b.goto(&format!("{base}/login")).await;
    b.fill("input[name=email]", ADMIN_EMAIL).await;
    b.fill("input[name=password]", ADMIN_PASSWORD).await;
    b.click("form[action='/login'] button[type=submit]").await;
    b.on_page("dashboard").await;

    b.goto(&format!("{base}/admin/plans")).await;
    b.on_page("plans").await;
    b.click("#add-plan").await;
    b.find("#plan-form").await;
    b.fill("#plan-form input[name=name]", "Monthly").await;
    b.fill("#plan-form input[name=cost]", "12.50").await;
    b.click(&format!("#plan-groups input[value='{standard}']"))
        .await;
    b.click("#plan-form input[name=is_default]").await;
    b.click("#plan-form button[type=submit]").await;
    b.find("p[role=status]").await;

    b.goto(&format!("{base}/admin/plans")).await;
    let table = b.text("#plans").await;
    assert!(
        table.contains("Monthly") && table.contains("12.50 USD"),
        "{table}"
    );
    assert!(table.contains("default"), "{table}");
    b.screenshot("plans-page").await;
    b.quit().await;
}
