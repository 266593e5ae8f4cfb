//! "Bulk Invite or Share" on the Users page, over plain HTTP (no script): the Users page offers
//! it, a bad file lists every error and changes nothing, a dry run says what each row would do,
//! a good file runs to the end on its progress page, and the report downloads.

use crate::bulk_invite::{count, csv_for, fixture, jellyfin, jf_users};
use crate::helpers::{csrf_from, location};
use crate::servers::{MediaTest, media_test};

/// The multipart body a browser sends for the upload form: the token field first, as the form
/// lists it, then the file and the button pressed.
fn upload_body(
    boundary: &str,
    csrf: Option<&str>,
    name: &str,
    bytes: &[u8],
    action: &str,
) -> Vec<u8> {
    let b = boundary;
    let mut body = Vec::new();
    if let Some(t) = csrf {
        body.extend_from_slice(
            format!("--{b}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{t}\r\n")
                .as_bytes(),
        );
    }
    body.extend_from_slice(format!("--{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: text/csv\r\n\r\n").as_bytes());
    body.extend_from_slice(bytes);
    body.extend_from_slice(
        format!("\r\n--{b}\r\nContent-Disposition: form-data; name=\"action\"\r\n\r\n{action}\r\n--{b}--\r\n").as_bytes(),
    );
    body
}

/// Posts the upload form as a browser does: multipart, the page's token as a field of it.
async fn upload_form(m: &MediaTest, name: &str, bytes: &[u8], action: &str) -> reqwest::Response {
    let page = m.t.get_html("/admin/users/bulk-invite").await;
    let csrf = csrf_from(&page);
    assert!(
        page.contains("action=\"/admin/users/bulk-invite\""),
        "the form posts to a URL without the token"
    );
    let b = "bulk-page-boundary";
    m.t.client
        .post(m.t.url("/admin/users/bulk-invite"))
        .header("content-type", format!("multipart/form-data; boundary={b}"))
        .body(upload_body(b, Some(&csrf), name, bytes, action))
        .send()
        .await
        .expect("upload")
}

#[tokio::test]
async fn the_users_page_offers_bulk_invite_with_its_columns_template_and_plex_warning() {
    let m = media_test().await;
    let users = m.t.get_html("/admin/users").await;
    assert!(users.contains("Bulk Invite or Share"), "{users}");
    assert!(users.contains("id=\"bulk-invite-dialog\""), "{users}");
    assert!(
        users.contains("can get your Plex account banned"),
        "{users}"
    );
    for col in ["Server Name", "Plan Name", "Payment Date", "Permanent"] {
        assert!(users.contains(col), "{col}");
    }
    let r = m.t.get("/admin/users/bulk-invite/template.csv").await;
    assert_eq!(r.status(), 200);
    let t = r.text().await.expect("text");
    assert!(
        t.starts_with("Email,Server Name,Plan Name,Quantity,Transaction ID,Amount,Payment Date,Payment Method,Username,Permanent,Notes"),
        "{t}"
    );
}

#[tokio::test]
async fn an_upload_without_the_forms_token_is_refused() {
    let m = media_test().await;
    let server = jellyfin(&m).await;
    let csv = csv_for(&server, &["nobody@example.com"]);
    let page = m.t.get_html("/admin/users/bulk-invite").await;
    let csrf = csrf_from(&page);
    let b = "x";
    // No token at all, a wrong one, and the right one in the URL instead of the form: each is
    // refused and imports nothing (a token in a URL would end up in logs and Referer headers).
    for (url, field) in [
        ("/admin/users/bulk-invite".to_string(), None),
        (
            "/admin/users/bulk-invite".to_string(),
            Some("0".repeat(csrf.len())),
        ),
        (format!("/admin/users/bulk-invite?csrf={csrf}"), None),
    ] {
        let r =
            m.t.client
                .post(m.t.url(&url))
                .header("content-type", format!("multipart/form-data; boundary={b}"))
                .body(upload_body(b, field.as_deref(), "a.csv", &csv, "import"))
                .send()
                .await
                .expect("post");
        assert_eq!(r.status(), 403, "{url} {field:?}");
    }
    assert_eq!(
        count(&m.t.app.db, "SELECT COUNT(*) FROM bulk_invites").await,
        0
    );
}

#[tokio::test]
async fn a_bad_file_lists_every_error_and_a_good_one_runs_to_a_report() {
    let m = media_test().await;
    let server = jellyfin(&m).await;
    let db = &m.t.app.db;

    let r = upload_form(&m, "bad.csv", &fixture("invalid-rows.csv"), "import").await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.expect("html");
    assert!(html.contains("id=\"bulk-errors\""), "{html}");
    assert!(html.contains("bad.csv was not imported"), "{html}");
    assert!(html.contains("not-an-email"), "the value is shown: {html}");
    assert!(html.contains("is not a whole number"), "{html}");
    assert_eq!(count(db, "SELECT COUNT(*) FROM bulk_invites").await, 0);
    assert_eq!(count(db, "SELECT COUNT(*) FROM customers").await, 0);

    let r = upload_form(&m, "none.csv", b"", "import").await;
    assert_eq!(r.status(), 422);

    let emails = ["ann@example.com", "ben@example.com"];
    let good = csv_for(&server, &emails);
    let r = upload_form(&m, "people.csv", &good, "dry_run").await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.expect("html");
    assert!(html.contains("id=\"bulk-preview\""), "{html}");
    assert_eq!(html.matches("New customer").count(), 2, "{html}");
    assert_eq!(count(db, "SELECT COUNT(*) FROM bulk_invites").await, 0);

    let r = upload_form(&m, "people.csv", &good, "import").await;
    assert_eq!(r.status(), 303);
    let status_page = location(&r);
    assert!(
        status_page.starts_with("/admin/users/bulk-invite/"),
        "{status_page}"
    );
    let html = m.t.get_html(&status_page).await;
    assert!(html.contains("id=\"bi-remaining\">2<"), "{html}");
    assert!(
        html.contains("http-equiv=\"refresh\""),
        "without script the page refreshes itself while the import runs"
    );
    let json: serde_json::Value =
        m.t.get(&format!("{status_page}/status.json"))
            .await
            .json()
            .await
            .expect("json");
    assert_eq!(json["remaining"], 2, "{json}");

    m.t.run_pending_jobs().await;
    let html = m.t.get_html(&status_page).await;
    assert!(html.contains("data-state=\"finished\""), "{html}");
    assert!(html.contains("id=\"bi-done\">2<"), "{html}");
    assert!(!html.contains("http-equiv=\"refresh\""), "{html}");
    assert!(!html.contains("id=\"bi-retry\""), "nothing failed: {html}");
    for e in emails {
        assert_eq!(jf_users(&m, e), 1, "{e}");
        assert!(html.contains(e), "{e}");
    }
    let report = m.t.get(&format!("{status_page}/report.csv")).await;
    assert_eq!(report.status(), 200);
    let text = report.text().await.expect("csv");
    assert!(text.starts_with("Row,Email,"), "{text}");
    assert_eq!(text.matches(",done,").count(), 2, "{text}");
}

#[tokio::test]
async fn failed_rows_are_retried_from_the_progress_page() {
    use boxoffice_fakes::{FaultAction, FaultRule};
    let m = media_test().await;
    let server = jellyfin(&m).await;
    let r = upload_form(
        &m,
        "p.csv",
        &csv_for(&server, &["amy@example.com"]),
        "import",
    )
    .await;
    let status_page = location(&r);
    m.world.jellyfin.add_fault(
        FaultRule::path(
            "/Users/New",
            FaultAction::Status {
                status: 400,
                body: None,
            },
        )
        .method("POST")
        .times(1),
    );
    m.t.run_pending_jobs().await;
    let html = m.t.get_html(&status_page).await;
    assert!(html.contains("id=\"bi-failed\">1<"), "{html}");
    assert!(html.contains("Retry failed rows (1)"), "{html}");
    let r =
        m.t.post_form(&status_page, &format!("{status_page}/retry"), &[])
            .await;
    assert_eq!(r.status(), 303);
    assert!(location(&r).ends_with("?retried=1"), "{}", location(&r));
    m.t.run_pending_jobs().await;
    let html = m.t.get_html(&status_page).await;
    assert!(html.contains("id=\"bi-done\">1<"), "{html}");
    assert_eq!(jf_users(&m, "amy@example.com"), 1);
}
