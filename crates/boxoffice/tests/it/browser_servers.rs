//! In a real browser: add a Plex account and one of its servers from the admin pages, see its
//! libraries after the sync job, and run the self-test from its page. The app runs in-process
//! against the in-process fakes; jobs are run by the test.

use crate::browser::Browser;
use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD};
use crate::servers::media_test;

#[tokio::test]
async fn the_servers_pages_and_the_self_test_page_work_in_a_browser() {
    let Some(b) = Browser::start(1280, 900).await else {
        return;
    };
    let m = media_test().await;
    let base = m.t.base.clone();
    b.goto(&format!("{base}/login")).await;
    b.fill("input[name=email]", ADMIN_EMAIL).await;
    b.fill("input[name=password]", ADMIN_PASSWORD).await;
    b.click("form[action='/login'] button[type=submit]").await;
    b.on_page("dashboard").await;

    b.goto(&format!("{base}/admin/plex-accounts")).await;
    b.on_page("plex-accounts").await;
    b.fill("#add-plex-account input[name=name]", "Main").await;
    b.fill(
        "#add-plex-account input[name=token]",
        &m.world.plex_tv.token(),
    )
    .await;
    b.click("#add-plex-account button[type=submit]").await;
    b.find("#account-settings").await;
    b.click("#find-servers").await;
    let discovered = b.text("#discovered").await;
    assert!(discovered.contains("Plex Alpha"), "{discovered}");
    b.click("#discovered form button[type=submit]").await;
    b.find("#server-settings").await;
    b.on_page("servers").await;

    m.t.run_pending_jobs().await;
    let here = b.url().await;
    b.goto(here.split('?').next().unwrap_or_default()).await;
    let libraries = b.text("#libraries").await;
    assert!(libraries.contains("Movies"), "{libraries}");
    b.screenshot("server-page").await;

    b.goto(&format!("{base}/admin/self-test")).await;
    b.on_page("self-test").await;
    b.find("#no-runs").await;
    b.click("#run-self-test").await;
    // The confirmation appears only after the POST's redirect: the job is queued by then.
    b.find("p[role=status]").await;
    m.t.run_pending_jobs().await;
    b.goto(&format!("{base}/admin/self-test")).await;
    let table = b.text("#self-test").await;
    assert!(
        table.contains("account (token)") && table.contains("ok"),
        "{table}"
    );
    assert!(!table.contains("failed"), "{table}");
    b.screenshot("self-test-page").await;
    b.quit().await;
}
