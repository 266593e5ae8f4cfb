//! Notifications end to end: the lifecycle queues them, the delivery job renders and sends them
//! to a real SMTP server (aiosmtpd), and the log keeps each outcome.

use crate::lifecycle::{customer, exec, invite, jellyfin, set};
use crate::servers::{MediaTest, media_test};
use crate::smtp::SmtpSink;
use boxoffice_app::audit::Actor;
use boxoffice_domain::notifications::{Channel, TemplateText};
use boxoffice_store::notifications::{self as log, LogFilter};
use serde_json::{Value, json};

const LOGIN: &str = "mailer:s3cret-pass";

async fn email_on(m: &MediaTest, port: u16) {
    for (k, v) in [
        ("general.site_name", "Example TV"),
        ("general.site_uri", "https://tv.example.com"),
        ("general.admin_email", "owner@example.com"),
        ("email.enabled", "true"),
        ("email.smtp_host", "127.0.0.1"),
        ("email.smtp_security", "none"),
        ("email.smtp_username", "mailer"),
        ("email.smtp_password", "s3cret-pass"),
        ("email.from_address", "noreply@example.com"),
        ("email.from_name", "Example TV"),
    ] {
        set(m, k, v).await;
    }
    set(m, "email.smtp_port", &port.to_string()).await;
}

async fn notifications(m: &MediaTest) -> Vec<log::NotificationRow> {
    log::log(
        m.t.app.db.ex(),
        &LogFilter {
            limit: 1000,
            ..LogFilter::default()
        },
    )
    .await
    .expect("log")
}

/// Every message waiting in the sink, by subject.
async fn drain(sink: &mut SmtpSink, n: usize) -> Vec<Value> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(sink.next().await);
    }
    out
}

fn subject(v: &Value) -> &str {
    v["headers"]["subject"].as_str().unwrap_or("")
}

#[tokio::test]
async fn the_invite_email_arrives_with_both_parts_and_the_customers_name_escaped() {
    let Some(mut sink) = SmtpSink::start(Some(LOGIN)).await else {
        return;
    };
    let m = media_test().await;
    jellyfin(&m).await;
    email_on(&m, sink.port).await;
    let v = invite(
        &m,
        json!({"email": "ann@example.com", "plan_id": 1, "transaction_id": "tx-ann"}),
    )
    .await;
    let id = v["customer_id"].as_i64().expect("id");
    exec(
        &m.t.app.db,
        format!("UPDATE customers SET display_name = '<script>alert(1)</script>' WHERE id = {id}"),
    )
    .await;
    m.t.run_pending_jobs().await;

    let mut got = drain(&mut sink, 2).await;
    got.sort_by(|a, b| subject(a).cmp(subject(b)));
    let (paid, invited) = (&got[0], &got[1]);
    assert!(
        subject(paid).starts_with("Payment received: Basic until "),
        "{paid}"
    );
    assert_eq!(subject(invited), "You're invited to Jelly One on Jellyfin");
    for msg in [paid, invited] {
        assert_eq!(msg["rcpt_tos"], json!(["ann@example.com"]));
        assert_eq!(msg["mail_from"], "noreply@example.com");
        assert_eq!(msg["headers"]["from"], "Example TV <noreply@example.com>");
        assert_eq!(msg["content_type"], "multipart/alternative");
        assert_eq!(
            msg["auth"],
            json!(true),
            "logged in with the SMTP credentials"
        );
        assert!(msg["headers"]["message-id"].as_str().is_some());
        assert!(msg["headers"]["date"].as_str().is_some());
    }
    let text = invited["text"].as_str().expect("text part");
    let html = invited["html"].as_str().expect("html part");
    assert!(text.contains("Hi <script>alert(1)</script>,"), "{text}");
    assert!(text.contains("Username: ann@example.com"), "{text}");
    assert!(html.contains("Hi &lt;script&gt;alert(1)"), "{html}");
    assert!(!html.contains("<script>"), "{html}");
    assert!(html.contains("<strong>Basic</strong>"), "{html}");

    let rows = notifications(&m).await;
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r.status == "sent" && r.attempts == 1));
    // The log keeps what was sent, never the values (they may carry credentials) in clear.
    assert!(
        rows.iter()
            .all(|r| !r.context_sealed.contains("ann@example.com"))
    );
    let c = customer(&m, id).await;
    assert_eq!(c["status"], "active");
}

/// Steps the test clock past the first paid month's end in half days, running the reminder pass
/// each time.
async fn to_the_end_of_the_month(m: &MediaTest) {
    for _ in 0..8 {
        m.t.advance_clock(time::Duration::hours(12));
        m.t.app.run_reminders().await.expect("reminders");
        m.t.run_pending_jobs().await;
    }
}

#[tokio::test]
async fn reminders_at_3_and_1_days_reach_a_pay_as_you_go_customer_exactly_twice() {
    let Some(mut sink) = SmtpSink::start(None).await else {
        return;
    };
    let m = media_test().await;
    jellyfin(&m).await;
    email_on(&m, sink.port).await;
    set(&m, "email.smtp_username", "").await;
    set(&m, "reminders.days_prior", "3,1").await;
    for (email, tx) in [
        ("payg@example.com", "tx-payg"),
        ("renews@example.com", "tx-renews"),
        ("forever@example.com", "tx-forever"),
    ] {
        invite(
            &m,
            json!({"email": email, "plan_id": 1, "transaction_id": tx}),
        )
        .await;
    }
    exec(
        &m.t.app.db,
        "UPDATE customers SET permanent = TRUE WHERE email = 'forever@example.com'".into(),
    )
    .await;
    m.t.run_pending_jobs().await;
    // Two messages each (payment received, invited) before any reminder.
    drain(&mut sink, 6).await;

    // Day 27 (3 days before the end): the first reminder goes to both paying customers.
    for _ in 0..54 {
        m.t.advance_clock(time::Duration::hours(12));
        m.t.app.run_reminders().await.expect("reminders");
        m.t.run_pending_jobs().await;
    }
    let first = drain(&mut sink, 2).await;
    let mut to: Vec<_> = first
        .iter()
        .map(|v| v["rcpt_tos"][0].as_str().unwrap_or("").to_string())
        .collect();
    to.sort();
    assert_eq!(to, ["payg@example.com", "renews@example.com"]);
    assert!(
        first
            .iter()
            .all(|v| subject(v).starts_with("Your Example TV access ends on "))
    );

    // One customer renews: the next reminder of the old end never goes to them.
    invite(
        &m,
        json!({"email": "renews@example.com", "plan_id": 1, "transaction_id": "tx-renews-2"}),
    )
    .await;
    m.t.run_pending_jobs().await;
    let renewal = sink.next().await;
    assert!(
        subject(&renewal).starts_with("Payment received"),
        "{renewal}"
    );

    to_the_end_of_the_month(&m).await;
    let rows = notifications(&m).await;
    let reminders = |email: &str| {
        rows.iter()
            .filter(|r| r.event == "subscription_expiring_soon" && r.recipient == email)
            .count()
    };
    assert_eq!(reminders("payg@example.com"), 2);
    assert_eq!(reminders("renews@example.com"), 1);
    assert_eq!(reminders("forever@example.com"), 0);
    let second = sink.next().await;
    assert_eq!(second["rcpt_tos"], json!(["payg@example.com"]));
    assert!(subject(&second).starts_with("Your Example TV access ends on "));
}

#[tokio::test]
async fn an_smtp_outage_is_retried_and_the_message_sent_once() {
    let m = media_test().await;
    jellyfin(&m).await;
    // Nothing listens on this port yet.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    email_on(&m, port).await;
    set(&m, "email.smtp_username", "").await;
    m.t.app
        .notify_now(boxoffice_app::notify::Notice::system_message(
            "Nightly check",
            "all good",
        ))
        .await
        .expect("queued");
    m.t.run_pending_jobs().await;
    let row = &notifications(&m).await[0];
    assert_eq!(row.status, "retrying");
    assert_eq!(row.attempts, 1);
    assert!(row.error.contains("could not be reached"), "{}", row.error);

    let Some(mut sink) = SmtpSink::start_on(port, None).await else {
        return;
    };
    m.t.advance_clock(time::Duration::hours(1));
    m.t.run_pending_jobs().await;
    let msg = sink.next().await;
    assert_eq!(subject(&msg), "[Example TV] Nightly check");
    assert_eq!(msg["rcpt_tos"], json!(["owner@example.com"]));
    let row = &notifications(&m).await[0];
    assert_eq!((row.status.as_str(), row.attempts), ("sent", 2));
    m.t.advance_clock(time::Duration::hours(1));
    assert_eq!(m.t.run_pending_jobs().await, 0, "nothing left to send");
}

#[tokio::test]
async fn a_switched_off_template_sends_nothing_and_a_bad_edit_is_refused() {
    let m = media_test().await;
    jellyfin(&m).await;
    email_on(&m, 9).await;
    let app = &m.t.app;
    let actor = Actor::system();
    let mut text = app
        .effective_template(app.db.ex(), "user_invited_jellyfin", Channel::Email)
        .await
        .expect("template")
        .text;
    text.text = "Hello {{ user_nmae }}".into();
    let err = app
        .save_template(
            &actor,
            "user_invited_jellyfin",
            Channel::Email,
            true,
            text.clone(),
        )
        .await
        .expect_err("refused");
    assert!(
        err.to_string()
            .starts_with("Text body: unknown placeholder user_nmae"),
        "{err}"
    );
    let t = app
        .effective_template(app.db.ex(), "user_invited_jellyfin", Channel::Email)
        .await
        .expect("template");
    assert!(!t.customised, "a refused edit changes nothing");

    let default = t.text.clone();
    app.save_template(&actor, "payment_received", Channel::Email, false, {
        let e = app
            .effective_template(app.db.ex(), "payment_received", Channel::Email)
            .await
            .expect("t");
        e.text
    })
    .await
    .expect("saved");
    app.save_template(
        &actor,
        "user_invited_jellyfin",
        Channel::Email,
        false,
        TemplateText {
            subject: "Welcome to {{ server_name }}".into(),
            ..default
        },
    )
    .await
    .expect("saved");
    invite(
        &m,
        json!({"email": "ann@example.com", "plan_id": 1, "transaction_id": "tx-ann"}),
    )
    .await;
    m.t.run_pending_jobs().await;
    assert!(notifications(&m).await.is_empty(), "both templates are off");
    let preview = app
        .preview_template("user_invited_jellyfin", Channel::Email, None)
        .await
        .expect("preview");
    assert_eq!(preview.subject, "Welcome to Living Room");
    assert!(preview.html.contains("Example TV"));
}

#[tokio::test]
async fn the_bulk_invite_results_reach_the_administrator_by_email() {
    let Some(mut sink) = SmtpSink::start(None).await else {
        return;
    };
    let m = media_test().await;
    jellyfin(&m).await;
    email_on(&m, sink.port).await;
    set(&m, "email.smtp_username", "").await;
    // Only the administrator's message is of interest here.
    for event in ["payment_received", "user_invited_jellyfin"] {
        let t =
            m.t.app
                .effective_template(m.t.app.db.ex(), event, Channel::Email)
                .await
                .expect("template");
        m.t.app
            .save_template(&Actor::system(), event, Channel::Email, false, t.text)
            .await
            .expect("switched off");
    }
    let csv = "Email,Server Name,Plan Name,Username\n\
               ann@example.com,Jelly One,Basic,ann\n\
               ben@example.com,Jelly One,Basic,ben\n";
    let b = "results-mail-boundary";
    let body = format!(
        "--{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"people.csv\"\r\n\
         Content-Type: text/csv\r\n\r\n{csv}\r\n--{b}--\r\n"
    );
    let r =
        m.t.client
            .post(m.t.url("/api/v1/bulk-invites"))
            .bearer_auth(&m.token)
            .header("content-type", format!("multipart/form-data; boundary={b}"))
            .body(body)
            .send()
            .await
            .expect("upload");
    assert_eq!(r.status(), 202);
    let id = r.json::<Value>().await.expect("json")["id"]
        .as_i64()
        .expect("id");
    m.t.run_pending_jobs().await;

    let msg = sink.next().await;
    assert_eq!(msg["rcpt_tos"], json!(["owner@example.com"]));
    assert_eq!(
        subject(&msg),
        format!("[Example TV] Bulk invite #{id} finished")
    );
    let text = msg["text"].as_str().expect("text");
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    for line in ["File: people.csv", "Rows: 2", "Invited: 2", "Failed: 0"] {
        assert!(lines.contains(&line), "{line} in {text}");
    }
    assert!(msg["html"].as_str().expect("html").contains("Invited: 2"));
}

#[tokio::test]
async fn the_bulk_invite_results_list_each_failed_row_with_its_reason_and_link_the_import_and_report()
 {
    use boxoffice_fakes::{FaultAction, FaultRule};
    let Some(mut sink) = SmtpSink::start(None).await else {
        return;
    };
    let m = media_test().await;
    jellyfin(&m).await;
    email_on(&m, sink.port).await;
    set(&m, "email.smtp_username", "").await;
    for event in ["payment_received", "user_invited_jellyfin"] {
        let t =
            m.t.app
                .effective_template(m.t.app.db.ex(), event, Channel::Email)
                .await
                .expect("template");
        m.t.app
            .save_template(&Actor::system(), event, Channel::Email, false, t.text)
            .await
            .expect("switched off");
    }
    let csv = "Email,Server Name,Plan Name,Username\n\
               ann@example.com,Jelly One,Basic,ann\n\
               ben@example.com,Jelly One,Basic,ben\n";
    let b = "results-mail-boundary";
    let body = format!(
        "--{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"people.csv\"\r\n\
         Content-Type: text/csv\r\n\r\n{csv}\r\n--{b}--\r\n"
    );
    let r =
        m.t.client
            .post(m.t.url("/api/v1/bulk-invites"))
            .bearer_auth(&m.token)
            .header("content-type", format!("multipart/form-data; boundary={b}"))
            .body(body)
            .send()
            .await
            .expect("upload");
    assert_eq!(r.status(), 202);
    let id = r.json::<Value>().await.expect("json")["id"]
        .as_i64()
        .expect("id");
    // Jellyfin refuses the first user (ann, row 2); a row applies its share once.
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
    let (_, status) = m
        .api(reqwest::Method::GET, &format!("/bulk-invites/{id}"), None)
        .await;
    let reason = status["rows"][0]["message"].as_str().expect("message");
    assert_eq!(status["rows"][0]["outcome"], "failed", "{status}");
    assert!(!reason.is_empty(), "{status}");

    let msg = sink.next().await;
    assert_eq!(msg["rcpt_tos"], json!(["owner@example.com"]));
    assert_eq!(
        subject(&msg),
        format!("[Example TV] Bulk invite #{id} finished: 1 failed")
    );
    let run_url = format!("https://tv.example.com/admin/users/bulk-invite/{id}");
    let report_url = format!("{run_url}/report.csv");
    let text = msg["text"].as_str().expect("text");
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    for line in ["Rows: 2", "Invited: 1", "Failed: 1"] {
        assert!(lines.contains(&line), "{line} in {text}");
    }
    let reason = reason.split_whitespace().collect::<Vec<_>>().join(" ");
    let failed_line = format!("row 2, ann@example.com (Jelly One): {reason}");
    assert!(
        lines.contains(&failed_line.as_str()),
        "{failed_line} in {text}"
    );
    assert!(
        !text.contains("ben@example.com"),
        "only failed rows: {text}"
    );
    assert!(
        text.contains(&run_url) && text.contains(&report_url),
        "{text}"
    );
    // The HTML part escapes `/` in attributes (`&#x2f;`), which a mail client reads as `/`.
    let html = msg["html"].as_str().expect("html").replace("&#x2f;", "/");
    assert!(
        html.contains("row 2, ann@example.com (Jelly One): "),
        "{html}"
    );
    assert!(html.contains(&format!("href=\"{run_url}\"")), "{html}");
    assert!(html.contains(&format!("href=\"{report_url}\"")), "{html}");
}

#[tokio::test]
async fn a_job_given_up_is_told_to_the_administrator_once() {
    let m = media_test().await;
    email_on(&m, 9).await;
    let app = &m.t.app;
    let mut tx = app.db.begin().await.expect("tx");
    app.enqueue(
        tx.ex(),
        boxoffice_app::queue::JobSpec::new("retired.kind", json!({})),
    )
    .await
    .expect("queued");
    tx.commit().await.expect("commit");
    m.t.run_pending_jobs().await;
    let rows = notifications(&m).await;
    let failed: Vec<_> = rows.iter().filter(|r| r.event == "job_failed").collect();
    assert_eq!(failed.len(), 1, "{rows:?}");
    assert_eq!(failed[0].recipient, "owner@example.com");
    // Its own delivery fails (nothing listens on port 9) and is retried, never told about again.
    m.t.advance_clock(time::Duration::days(2));
    m.t.run_pending_jobs().await;
    let rows = notifications(&m).await;
    assert_eq!(rows.iter().filter(|r| r.event == "job_failed").count(), 1);
}

fn login_code(msg: &Value) -> String {
    let text = msg["text"].as_str().expect("text");
    let at = text.find("code is ").expect("a code") + "code is ".len();
    text[at..at + 7].replace(' ', "")
}

#[tokio::test]
async fn a_staff_login_without_an_app_is_confirmed_by_an_emailed_code_used_once() {
    let Some(mut sink) = SmtpSink::start(None).await else {
        return;
    };
    let t = crate::helpers::spawn_app().await;
    t.create_admin().await;
    for (k, v) in [
        ("general.site_name", "Example TV"),
        ("email.enabled", "true"),
        ("email.smtp_host", "127.0.0.1"),
        ("email.smtp_security", "none"),
        ("email.from_address", "noreply@example.com"),
        ("security.email_two_factor", "true"),
    ] {
        t.app
            .set_setting(&Actor::system(), k, v)
            .await
            .expect("set");
    }
    t.app
        .set_setting(&Actor::system(), "email.smtp_port", &sink.port.to_string())
        .await
        .expect("port");
    let r = t
        .login(crate::helpers::ADMIN_EMAIL, crate::helpers::ADMIN_PASSWORD)
        .await;
    assert!(crate::helpers::location(&r).starts_with("/login/2fa"));
    assert_eq!(
        t.get("/admin").await.status(),
        303,
        "not in before the code"
    );
    let page = t.get_html("/login/2fa").await;
    assert!(page.contains("We e-mailed you a 6-digit code"), "{page}");
    t.run_pending_jobs().await;
    let msg = sink.next().await;
    assert_eq!(msg["rcpt_tos"], json!([crate::helpers::ADMIN_EMAIL]));
    assert_eq!(subject(&msg), "Your Example TV login code");
    let code = login_code(&msg);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let r = t
        .post_form("/login/2fa", "/login/2fa", &[("code", wrong)])
        .await;
    assert_eq!(r.status(), 401);
    let r = t
        .post_form("/login/2fa", "/login/2fa", &[("code", &code)])
        .await;
    assert_eq!(crate::helpers::location(&r), "/admin");
    assert_eq!(t.get("/admin").await.status(), 200);

    // A second login gets a new code; the first one is spent, and five wrong tries void it.
    t.post_form("/admin", "/logout", &[]).await;
    t.login(crate::helpers::ADMIN_EMAIL, crate::helpers::ADMIN_PASSWORD)
        .await;
    t.run_pending_jobs().await;
    let fresh = login_code(&sink.next().await);
    let r = t
        .post_form("/login/2fa", "/login/2fa", &[("code", &code)])
        .await;
    if code != fresh {
        assert_eq!(r.status(), 401, "an old code is not accepted");
    }
    for _ in 0..5 {
        t.post_form("/login/2fa", "/login/2fa", &[("code", wrong)])
            .await;
    }
    let r = t
        .post_form("/login/2fa", "/login/2fa", &[("code", &fresh)])
        .await;
    assert_eq!(r.status(), 401, "voided after five wrong codes");
    let body = r.text().await.expect("body");
    assert!(body.contains("Too many wrong codes"), "{body}");
}

#[tokio::test]
async fn a_customer_flagged_for_a_plex_account_change_is_told_where_to_give_one() {
    let m = media_test().await;
    jellyfin(&m).await;
    email_on(&m, 9).await;
    let v = invite(
        &m,
        json!({"email": "ann@example.com", "plan_id": 1, "transaction_id": "tx-ann"}),
    )
    .await;
    let id = v["customer_id"].as_i64().expect("id");
    m.t.app
        .require_plex_account_change(&Actor::system(), &[id], true)
        .await
        .expect("flagged");
    let rows = notifications(&m).await;
    let told: Vec<_> = rows
        .iter()
        .filter(|r| r.event == "plex_account_change_required")
        .collect();
    assert_eq!(told.len(), 1, "{rows:?}");
    assert_eq!(told[0].recipient, "ann@example.com");
    let preview =
        m.t.app
            .preview_template("plex_account_change_required", Channel::Email, None)
            .await
            .expect("preview");
    assert!(preview.text.contains("https://tv.example.com/account"));
}
