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

#[tokio::test]
async fn a_file_with_an_unknown_column_is_warned_about_on_the_dry_run_and_progress_pages() {
    let m = media_test().await;
    let server = jellyfin(&m).await;
    let file = format!(
        "Email,Server Name,Plan Name,Username,Phone\n\
         pat@example.com,{server},Basic,pat,+1 555 0100\n"
    );
    let r = upload_form(&m, "phones.csv", file.as_bytes(), "dry_run").await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.expect("html");
    let warning = html
        .split("id=\"bulk-unknown-columns\"")
        .nth(1)
        .expect("an unknown-columns warning");
    assert!(warning.contains("<code>Phone</code>"), "{html}");

    let r = upload_form(&m, "phones.csv", file.as_bytes(), "import").await;
    assert_eq!(r.status(), 303);
    let html = m.t.get_html(&location(&r)).await;
    let warning = html
        .split("id=\"bulk-unknown-columns\"")
        .nth(1)
        .expect("the progress page keeps the warning");
    assert!(warning.contains("<code>Phone</code>"), "{html}");
}

#[tokio::test]
async fn past_bulk_invites_are_listed_with_status_counts_who_and_links() {
    use boxoffice_fakes::{FaultAction, FaultRule};
    let m = media_test().await;
    let server = jellyfin(&m).await;
    let users = m.t.get_html("/admin/users").await;
    assert!(
        users.contains("href=\"/admin/users/bulk-invites\""),
        "the Users header menu links the list: {users}"
    );
    let html = m.t.get_html("/admin/users/bulk-invites").await;
    assert!(html.contains("No bulk invites yet."), "{html}");

    // One import where Jellyfin refuses a row, one that finishes cleanly, one still running.
    let r = upload_form(
        &m,
        "a.csv",
        &csv_for(&server, &["amy@example.com", "al@example.com"]),
        "import",
    )
    .await;
    let failed_run = location(&r).rsplit('/').next().unwrap_or("").to_string();
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
    let r = upload_form(
        &m,
        "b.csv",
        &csv_for(&server, &["bo@example.com"]),
        "import",
    )
    .await;
    let clean_run = location(&r).rsplit('/').next().unwrap_or("").to_string();
    m.t.run_pending_jobs().await;
    let r = upload_form(
        &m,
        "c.csv",
        &csv_for(&server, &["cy@example.com"]),
        "import",
    )
    .await;
    let running = location(&r).rsplit('/').next().unwrap_or("").to_string();

    let html = m.t.get_html("/admin/users/bulk-invites").await;
    let row = |id: &str| -> String {
        html.split(&format!("<tr data-run=\"{id}\""))
            .nth(1)
            .and_then(|r| r.split("</tr>").next())
            .unwrap_or_else(|| panic!("import {id} is listed: {html}"))
            .to_string()
    };
    let f = row(&failed_run);
    assert!(f.contains("data-status=\"failed\""), "{f}");
    assert!(f.contains("finished with failures"), "{f}");
    assert!(
        f.contains("data-done>1<") && f.contains("data-failed>1<") && f.contains("data-total>2<"),
        "{f}"
    );
    assert!(
        f.contains(&format!("href=\"/admin/users/bulk-invite/{failed_run}\"")),
        "{f}"
    );
    assert!(
        f.contains(&format!(
            "href=\"/admin/users/bulk-invite/{failed_run}/report.csv\""
        )),
        "{f}"
    );
    assert!(
        f.contains("a.csv") && f.contains(crate::helpers::ADMIN_EMAIL),
        "who started it: {f}"
    );
    let c = row(&clean_run);
    assert!(
        c.contains("data-status=\"finished\"") && c.contains("data-done>1<"),
        "{c}"
    );
    let r = row(&running);
    assert!(
        r.contains("data-status=\"running\"") && r.contains("1 left"),
        "{r}"
    );
    // Newest first.
    let at = |id: &str| html.find(&format!("<tr data-run=\"{id}\"")).unwrap_or(0);
    assert!(at(&running) < at(&clean_run) && at(&clean_run) < at(&failed_run));

    // 25 a page: the oldest import moves to page 2.
    let now = m.t.app.now();
    for n in 0..23 {
        boxoffice_store::bulk_invites::insert(
            m.t.app.db.ex(),
            "cli",
            &format!("old{n}.csv"),
            "h",
            1,
            &[],
            now,
        )
        .await
        .expect("import");
    }
    let html = m.t.get_html("/admin/users/bulk-invites").await;
    assert!(
        !html.contains(&format!("<tr data-run=\"{failed_run}\"")),
        "{html}"
    );
    assert!(
        html.contains("href=\"/admin/users/bulk-invites?page=2\""),
        "{html}"
    );
    let page2 = m.t.get_html("/admin/users/bulk-invites?page=2").await;
    assert!(
        page2.contains(&format!("<tr data-run=\"{failed_run}\"")),
        "{page2}"
    );
    assert!(
        page2.contains("href=\"/admin/users/bulk-invites?page=1\""),
        "{page2}"
    );
}

#[tokio::test]
async fn the_bulk_invite_list_is_refused_without_the_users_write_permission() {
    use crate::web_security::{STAFF_PASSWORD, browser_as, staff_with, token_of};
    use boxoffice_domain::Permission;
    let m = media_test().await;
    staff_with(&m.t, "support@example.com", &[Permission::UsersRead]).await;
    let support = browser_as(&m.t, "support@example.com", STAFF_PASSWORD).await;
    let users = support
        .get(m.t.url("/admin/users"))
        .send()
        .await
        .expect("users");
    assert_eq!(users.status(), 200);
    assert!(
        !users
            .text()
            .await
            .expect("html")
            .contains("/admin/users/bulk-invites"),
        "no link to a page the login may not open"
    );
    let r = support
        .get(m.t.url("/admin/users/bulk-invites"))
        .send()
        .await
        .expect("list");
    assert_eq!(r.status(), 403);
    let token = token_of(&m.t, "support@example.com").await;
    let r =
        m.t.client
            .get(m.t.url("/api/v1/bulk-invites"))
            .bearer_auth(&token)
            .send()
            .await
            .expect("api");
    assert_eq!(r.status(), 403);
    // The administrator may.
    assert_eq!(m.t.get("/admin/users/bulk-invites").await.status(), 200);
}
