//! In a real browser: the Users page renders its rows, filters by search and status, and stays
//! usable at phone width (rows become cards, the row menu opens).

use crate::browser::Browser;
use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD};
use crate::users_page::{admin_app, seed_five};

async fn login(b: &Browser, base: &str) {
    b.goto(&format!("{base}/login")).await;
    b.fill("input[name=email]", ADMIN_EMAIL).await;
    b.fill("input[name=password]", ADMIN_PASSWORD).await;
    b.click("form[action='/login'] button[type=submit]").await;
    b.on_page("dashboard").await;
}

#[tokio::test]
async fn the_users_page_renders_filters_and_works_at_phone_width() {
    let Some(b) = Browser::start(1280, 900).await else {
        return;
    };
    let (t, _) = admin_app().await;
    seed_five(&t).await;
    let base = t.base.clone();
    login(&b, &base).await;
    b.goto(&format!("{base}/admin/users")).await;
    b.on_page("users").await;
    let table = b.text("#users").await;
    assert!(
        table.contains("bob@example.com") && table.contains("carol@example.com"),
        "{table}"
    );
    assert!(b.text("#users-total").await.contains("5 users"));

    b.fill("#user-filters input[name=q]", "BOB").await;
    b.click("#user-filters button[type=submit]").await;
    // The filtered page is the same kind of page: wait for the one that echoes the search, not
    // for any Users page (the click returns before the old one is gone).
    b.find("#user-filters input[name=q][value='BOB']").await;
    let total = b.text("#users-total").await;
    assert!(total.contains("1 users"), "{total}");
    assert!(b.text("#users").await.contains("Bobby"));
    b.screenshot("users-page").await;
    b.quit().await;

    let Some(p) = Browser::start(390, 844).await else {
        return;
    };
    login(&p, &base).await;
    p.goto(&format!("{base}/admin/users?status=expired")).await;
    p.on_page("users").await;
    let table = p.text("#users").await;
    assert!(
        table.contains("dave@example.com") && !table.contains("carol@"),
        "{table}"
    );
    // The row menu opens with a tap and shows its actions.
    p.click("tr[data-user-id='2'] details summary").await;
    let menu = p.text("tr[data-user-id='2'] .menu-items").await;
    assert!(menu.contains("Change plan"), "{menu}");
    p.fill("#user-filters input[name=q]", "dave").await;
    p.click("#user-filters button[type=submit]").await;
    p.find("#user-filters input[name=q][value='dave']").await;
    assert!(p.text("#users-total").await.contains("1 users"));
    p.screenshot("users-page-phone").await;
    p.quit().await;
}
