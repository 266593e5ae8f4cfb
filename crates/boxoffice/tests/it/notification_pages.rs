//! The Notifications pages, their API and the Contact Us relay: what an owner sees and changes.

use crate::helpers::{ADMIN_EMAIL, TestApp, csrf_from, location, spawn_app};
use crate::smtp::SmtpSink;
use boxoffice_app::audit::Actor;
use boxoffice_app::notify::Notice;
use boxoffice_domain::notifications::Channel;
use boxoffice_store::notifications::{self as log, LogFilter, NotificationRow};
use serde_json::{Value, json};

const EDIT: &str = "/admin/notifications/subscription_expiring_soon/email";

async fn admin_app() -> TestApp {
    let t = spawn_app().await;
    t.create_admin().await;
    t.login_admin().await;
    t
}

async fn set(t: &TestApp, key: &str, value: &str) {
    t.app
        .set_setting(&Actor::system(), key, value)
        .await
        .expect("setting");
}

/// E-mail on with an administrator address, so admin notices are queued (nothing is delivered:
/// the tests do not run the delivery jobs).
async fn email_on(t: &TestApp) {
    set(t, "email.enabled", "true").await;
    set(t, "general.admin_email", ADMIN_EMAIL).await;
}

async fn logged(t: &TestApp) -> Vec<NotificationRow> {
    log::log(
        t.app.db.ex(),
        &LogFilter {
            limit: 1000,
            ..LogFilter::default()
        },
    )
    .await
    .expect("log")
}

fn email_fields<'a>(subject: &'a str, text: &'a str, html: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("enabled", "true"),
        ("subject", subject),
        ("text", text),
        ("html", html),
    ]
}

/// The value of `attr="…"` on the element with `id`.
fn attribute(html: &str, id: &str, attr: &str) -> String {
    let at_id = html.find(&format!("id=\"{id}\"")).expect("element");
    let start = html[..at_id].rfind('<').expect("tag start");
    let tag = html[start..].split('>').next().unwrap_or("");
    let marker = format!(" {attr}=\"");
    let at = tag.find(&marker).expect("attribute") + marker.len();
    tag[at..].split('"').next().unwrap_or("").to_string()
}

#[tokio::test]
async fn the_notifications_page_lists_every_event_with_links_to_both_templates() {
    let t = admin_app().await;
    let r = t.get("/admin/notifications").await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.expect("body");
    assert!(html.contains("Subscription Expiring Soon"));
    assert!(html.contains("System Message"));
    assert!(html.contains("href=\"/admin/notifications/system_message/email\""));
    assert!(html.contains("href=\"/admin/notifications/system_message/discord\""));
    assert!(
        !html.contains("customised</span>"),
        "nothing is customised yet"
    );
    let nav = t.get_html("/admin").await;
    assert!(nav.contains("href=\"/admin/notifications\""));
}

#[tokio::test]
async fn a_template_with_an_unknown_placeholder_is_refused_with_422_naming_it_and_nothing_changes()
{
    let t = admin_app().await;
    let r = t
        .post_form(
            EDIT,
            EDIT,
            &email_fields("Hello {{ nickname }}", "Hi {{ user_name }}", "<p>Hi</p>"),
        )
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.expect("body");
    let err = crate::helpers::extract_by_id(&html, "subject-error").expect("error by the subject");
    assert!(err.contains("nickname"), "{err}");
    assert!(
        html.contains("value=\"Hello {{ nickname }}\""),
        "the draft is kept for correcting"
    );
    let stored = t
        .app
        .effective_template(t.app.db.ex(), "subscription_expiring_soon", Channel::Email)
        .await
        .expect("template");
    assert!(!stored.customised);
    assert_eq!(
        stored.text.subject,
        "Your {{ site_name }} access ends on {{ expiration_date }}"
    );
}

#[tokio::test]
async fn a_saved_template_shows_in_the_preview_and_reset_restores_the_default() {
    let t = admin_app().await;
    let r = t
        .post_form(
            EDIT,
            EDIT,
            &email_fields(
                "Renew soon, {{ user_name }}!",
                "Hi {{ user_name }}",
                "<p>Hi {{ user_name }}</p>",
            ),
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), format!("{EDIT}?done=saved"));

    let page = t.get_html(EDIT).await;
    assert_eq!(
        crate::helpers::extract_by_id(&page, "preview-subject").as_deref(),
        Some("Renew soon, Alex!")
    );
    let index = t.get_html("/admin/notifications").await;
    assert!(index.contains("customised</span>"));

    // A draft is previewed without being saved.
    let r = t
        .post_form(
            EDIT,
            &format!("{EDIT}/preview"),
            &email_fields("Draft for {{ plan_name }}", "x", "<p>x</p>"),
        )
        .await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.expect("body");
    assert_eq!(
        crate::helpers::extract_by_id(&html, "preview-subject").as_deref(),
        Some("Draft for Standard")
    );

    let r = t.post_form(EDIT, &format!("{EDIT}/reset"), &[]).await;
    assert_eq!(r.status(), 303);
    let stored = t
        .app
        .effective_template(t.app.db.ex(), "subscription_expiring_soon", Channel::Email)
        .await
        .expect("template");
    assert!(!stored.customised);
    assert_eq!(
        stored.text.subject,
        "Your {{ site_name }} access ends on {{ expiration_date }}"
    );
    let page = t.get_html(EDIT).await;
    assert!(!page.contains("Renew soon"));
}

#[tokio::test]
async fn the_html_preview_is_sandboxed_and_escapes_a_script_in_a_value() {
    let t = admin_app().await;
    set(&t, "general.site_name", "<script>alert(1)</script>").await;
    let html = t.get_html(EDIT).await;
    assert!(
        !html.contains("<script>alert(1)"),
        "no live script anywhere"
    );
    assert_eq!(attribute(&html, "preview-html", "sandbox"), "");
    let srcdoc = attribute(&html, "preview-html", "srcdoc");
    assert!(!srcdoc.contains('<'), "the document is attribute-escaped");
    // Escaped once by the mail renderer and once more as an attribute value.
    let twice = ["&amp;lt;script&amp;gt;", "&#38;lt;script&#38;gt;"];
    assert!(twice.iter().any(|e| srcdoc.contains(e)), "{srcdoc}");
}

#[tokio::test]
async fn the_log_shows_a_queued_notification_and_filters_by_status() {
    let t = admin_app().await;
    email_on(&t).await;
    let n = t
        .app
        .notify_now(Notice::system_message("Disk check", "Disk nearly full"))
        .await
        .expect("queued");
    assert_eq!(n, 1);

    let html = t.get_html("/admin/notifications/log").await;
    assert!(html.contains("System Message"));
    assert!(html.contains("data-status=\"queued\""));
    assert!(html.contains(ADMIN_EMAIL));

    let sent = t
        .get_html("/admin/notifications/log?status=sent&event=system_message")
        .await;
    assert!(!sent.contains("data-status="), "nothing was sent yet");
}

#[tokio::test]
async fn a_customers_page_lists_their_notifications() {
    let t = admin_app().await;
    email_on(&t).await;
    crate::lifecycle::exec(
        &t.app.db,
        "INSERT INTO customers (id, email, email_key, created_at, updated_at) \
         VALUES (41, 'ann@example.com', 'ann@example.com', 1, 1)"
            .to_string(),
    )
    .await;
    let id = 41;
    t.app
        .notify_now(Notice::to_admin("no_server_capacity", Some(id)))
        .await
        .expect("queued");
    let html = t.get_html(&format!("/admin/users/{id}")).await;
    assert!(html.contains("id=\"user-notifications\""));
    assert!(html.contains("No Server Capacity"));
    assert!(html.contains(&format!("/admin/notifications/log?customer={id}")));
    let log = t
        .get_html(&format!("/admin/notifications/log?customer={id}"))
        .await;
    assert!(log.contains(&format!("href=\"/admin/users/{id}\"")));
}

#[tokio::test]
async fn templates_round_trip_through_the_api_and_a_bad_one_is_422_with_its_field() {
    let t = spawn_app().await;
    t.create_admin().await;
    let token = t.admin_token().await;
    let url = t.url("/api/v1/notifications/templates/system_message/discord");

    let r = t
        .client
        .put(&url)
        .bearer_auth(&token)
        .json(&json!({"text": "{{ title }} / {{ colour }}"}))
        .send()
        .await
        .expect("put");
    assert_eq!(r.status(), 422);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["error"]["field"], "text");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("colour")
    );

    let r = t
        .client
        .put(&url)
        .bearer_auth(&token)
        .json(&json!({"text": "**{{ title }}** now", "enabled": false}))
        .send()
        .await
        .expect("put");
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["customised"], true);
    assert_eq!(v["enabled"], false);

    let r = t
        .client
        .get(t.url("/api/v1/notifications/templates"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 200);
    let all: Vec<Value> = r.json().await.expect("json");
    let t_sys = all
        .iter()
        .find(|v| v["event"] == "system_message" && v["channel"] == "discord")
        .expect("listed");
    assert_eq!(t_sys["text"], "**{{ title }}** now");
    assert_eq!(t_sys["enabled"], false);
    let expiring = all
        .iter()
        .find(|v| v["event"] == "subscription_expiring_soon" && v["channel"] == "email")
        .expect("listed");
    assert_eq!(expiring["name"], "Subscription Expiring Soon");
    assert_eq!(expiring["customised"], false);

    email_on(&t).await;
    t.app
        .notify_now(Notice::system_message("Backup", "done"))
        .await
        .expect("queued");
    let r = t
        .client
        .get(t.url("/api/v1/notifications/log?status=queued"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("log");
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["items"][0]["event"], "system_message");
    assert_eq!(v["items"][0]["recipient"], ADMIN_EMAIL);
    let r = t
        .client
        .get(t.url("/api/v1/notifications/log?status=lost"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("log");
    assert_eq!(r.status(), 422);
}

#[tokio::test]
async fn contact_us_relays_the_message_to_the_administrator_and_refuses_a_bad_address() {
    let t = spawn_app().await;
    t.create_admin().await;
    email_on(&t).await;

    let r = t
        .post_form(
            "/contact",
            "/contact",
            &[
                ("name", "Ann"),
                ("email", "not-an-address"),
                ("message", "Hello"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.expect("body");
    assert!(crate::helpers::extract_by_id(&html, "email-error").is_some());
    assert!(logged(&t).await.is_empty(), "nothing queued");

    let r = t
        .post_form(
            "/contact",
            "/contact",
            &[
                ("name", "Ann"),
                ("email", "ann@example.com"),
                ("message", "Is the 4K plan coming back?"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/contact?sent=1");
    let thanks = t.get_html("/contact?sent=1").await;
    assert!(thanks.contains("id=\"contact-thanks\""));

    let rows = logged(&t).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].event, "contact_us");
    assert_eq!(rows[0].recipient, ADMIN_EMAIL);
    assert_eq!(rows[0].status, "queued");
}

#[tokio::test]
async fn a_sixth_contact_message_within_the_hour_is_refused() {
    let t = spawn_app().await;
    t.create_admin().await;
    email_on(&t).await;
    let page = t.get_html("/contact").await;
    let csrf = csrf_from(&page);
    let send = || {
        t.client
            .post(t.url("/contact"))
            .form(&[
                ("csrf", csrf.as_str()),
                ("name", "Ann"),
                ("email", "ann@example.com"),
                ("message", "Hello"),
            ])
            .send()
    };
    for _ in 0..5 {
        assert_eq!(send().await.expect("post").status(), 303);
    }
    let r = send().await.expect("post");
    assert_eq!(r.status(), 429);
    assert_eq!(logged(&t).await.len(), 5);

    t.advance_clock(time::Duration::hours(1) + time::Duration::minutes(1));
    assert_eq!(send().await.expect("post").status(), 303);
}

#[tokio::test]
async fn visitors_cannot_write_when_the_contact_page_is_off() {
    let t = spawn_app().await;
    set(&t, "general.contact_page_enabled", "false").await;
    let r = t.get("/contact").await;
    assert_eq!(r.status(), 303);
    assert!(location(&r).starts_with("/login"));
}

/// SMTP settings pointing at the test server, logging in as `mailer` with `password`.
async fn smtp_to(t: &TestApp, port: u16, password: &str) {
    for (k, v) in [
        ("general.site_name", "Example TV"),
        ("email.smtp_host", "127.0.0.1"),
        ("email.smtp_security", "none"),
        ("email.smtp_username", "mailer"),
        ("email.smtp_password", password),
        ("email.from_address", "noreply@example.com"),
    ] {
        set(t, k, v).await;
    }
    set(t, "email.smtp_port", &port.to_string()).await;
    email_on(t).await;
}

#[tokio::test]
async fn the_smtp_test_button_shows_the_servers_refusal_then_its_acceptance() {
    let Some(mut sink) = SmtpSink::start(Some("mailer:s3cret-pass")).await else {
        return;
    };
    let t = admin_app().await;
    smtp_to(&t, sink.port, "wrong-pass").await;
    let index = "/admin/notifications";
    let r = t
        .post_form(
            index,
            "/admin/notifications/test-smtp",
            &[("to", ADMIN_EMAIL)],
        )
        .await;
    assert_eq!(r.status(), 502);
    let html = r.text().await.expect("body");
    let err = crate::helpers::extract_by_id(&html, "notify-error").expect("error shown");
    assert!(err.starts_with("The test e-mail was not sent:"), "{err}");

    set(&t, "email.smtp_password", "s3cret-pass").await;
    let r = t
        .post_form(
            index,
            "/admin/notifications/test-smtp",
            &[("to", ADMIN_EMAIL)],
        )
        .await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.expect("body");
    let ok = crate::helpers::extract_by_id(&html, "notify-message").expect("outcome shown");
    assert!(ok.contains("accepted"), "{ok}");
    let got = sink.next().await;
    assert_eq!(got["headers"]["subject"], "Example TV: test e-mail");
}

#[tokio::test]
async fn send_test_email_delivers_the_saved_template_with_sample_values() {
    let Some(mut sink) = SmtpSink::start(Some("mailer:s3cret-pass")).await else {
        return;
    };
    let t = admin_app().await;
    smtp_to(&t, sink.port, "s3cret-pass").await;
    let page = t.get_html(EDIT).await;
    assert!(
        page.contains(&format!("name=\"to\" value=\"{ADMIN_EMAIL}\"")),
        "the administrator's address is the default"
    );
    let r = t
        .post_form(
            EDIT,
            &format!("{EDIT}/test"),
            &[("to", "tester@example.com")],
        )
        .await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.expect("body");
    let ok = crate::helpers::extract_by_id(&html, "notify-message").expect("outcome shown");
    assert!(
        ok.starts_with("Test e-mail sent to tester@example.com"),
        "{ok}"
    );
    let got = sink.next().await;
    assert_eq!(
        got["headers"]["subject"],
        "Your Example TV access ends on 2026-12-01"
    );
}
