//! In a real browser: the Users page's header menu opens the bulk-invite dialog; a bad file shows
//! its errors; a good one is dry-run, uploaded, followed live to the end and its report
//! downloaded; the dialog and the progress page at phone width.

use crate::browser::Browser;
use crate::bulk_invite::{csv_for, jellyfin, jf_users};
use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, temp_dir};
use crate::servers::media_test;

async fn login(b: &Browser, base: &str) {
    b.goto(&format!("{base}/login")).await;
    b.fill("input[name=email]", ADMIN_EMAIL).await;
    b.fill("input[name=password]", ADMIN_PASSWORD).await;
    b.click("form[action='/login'] button[type=submit]").await;
    b.on_page("dashboard").await;
}

#[tokio::test]
async fn a_bulk_invite_uploaded_through_the_dialog_runs_to_its_report() {
    let Some(b) = Browser::start(1280, 900).await else {
        return;
    };
    let m = media_test().await;
    let server = jellyfin(&m).await;
    let base = m.t.base.clone();
    let dir = temp_dir();
    // The browser takes only a canonical path.
    let bad = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/bulk-invite/invalid-rows.csv")
        .canonicalize()
        .expect("the sample file")
        .display()
        .to_string();
    let good = dir.join("people.csv");
    let emails = ["ann@example.com", "ben@example.com", "cat@example.com"];
    std::fs::write(&good, csv_for(&server, &emails)).expect("write");

    login(&b, &base).await;
    b.goto(&format!("{base}/admin/users")).await;
    b.on_page("users").await;
    b.click("#users-menu summary").await;
    b.click("#bulk-invite-open").await;
    let dialog = b.text("#bulk-invite-dialog").await;
    assert!(
        dialog.contains("can get your Plex account banned"),
        "{dialog}"
    );
    b.screenshot("bulk-invite-dialog").await;
    b.send_keys("#bulk-invite-dialog input[type=file]", &bad)
        .await;
    b.click("#bulk-invite-dialog #bulk-upload").await;
    b.on_page("bulk-invite").await;
    let errors = b.text("#bulk-errors").await;
    assert!(errors.contains("not-an-email"), "{errors}");
    assert!(errors.contains("Quantity"), "{errors}");
    b.screenshot("bulk-invite-errors").await;

    let good = good.display().to_string();
    b.send_keys("#bulk-invite-form input[type=file]", &good)
        .await;
    b.click("#bulk-dry-run").await;
    b.on_page("bulk-invite").await;
    let preview = b.text("#bulk-preview").await;
    assert_eq!(preview.matches("New customer").count(), 3, "{preview}");

    b.send_keys("#bulk-invite-form input[type=file]", &good)
        .await;
    b.click("#bulk-upload").await;
    b.on_page("bulk-invite-status").await;
    assert_eq!(b.text("#bi-remaining").await, "3");
    b.screenshot("bulk-invite-running").await;

    m.t.run_pending_jobs().await;
    // The page's script sees the job end and shows the final state.
    b.find("#bi-state[data-state='finished']").await;
    assert_eq!(b.text("#bi-done").await, "3");
    assert_eq!(b.text("#bi-remaining").await, "0");
    for e in emails {
        assert_eq!(jf_users(&m, e), 1, "{e}");
    }
    let rows = b.text("#bi-rows").await;
    assert_eq!(rows.matches("done").count(), 3, "{rows}");
    b.screenshot("bulk-invite-finished").await;

    let href = b.attr("#bi-report", "href").await;
    let url = if href.starts_with("http") {
        href
    } else {
        format!("{base}{href}")
    };
    let report = m.t.client.get(url).send().await.expect("report");
    assert_eq!(report.status(), 200);
    let text = report.text().await.expect("csv");
    assert_eq!(text.matches(",done,").count(), 3, "{text}");
    let status_url = b.url().await;
    b.quit().await;

    let Some(p) = Browser::start(390, 844).await else {
        return;
    };
    login(&p, &base).await;
    p.goto(&format!("{base}/admin/users")).await;
    p.on_page("users").await;
    p.click("#users-menu summary").await;
    p.click("#bulk-invite-open").await;
    assert!(p.text("#bulk-invite-dialog").await.contains("Dry run"));
    p.screenshot("bulk-invite-dialog-phone").await;
    p.goto(&status_url).await;
    p.on_page("bulk-invite-status").await;
    p.screenshot("bulk-invite-finished-phone").await;
    p.quit().await;
}
