//! Jellyfin and Emby customers choose their own media password: the invite e-mail (read from the
//! sandbox's SMTP catcher) names the platform, the server's address and the username and carries
//! a one-time link; the link's page writes the password to the server through a job, and the fake
//! server then accepts a login with it.

use crate::helpers::{client, csrf_from, location};
use crate::lifecycle::{invite, jellyfin, open_server, set};
use crate::servers::{MediaTest, media_test};
use boxoffice_fakes::{CaughtMessage, FaultAction, FaultRule};
use reqwest::Method;
use serde_json::{Value, json};

/// E-mail on, sent to the world's SMTP catcher; links are built on this test site's address.
pub(crate) async fn email_to_catcher(m: &MediaTest) {
    for (k, v) in [
        ("general.site_name", "Example TV".to_string()),
        ("general.site_uri", m.t.base.clone()),
        ("general.admin_email", "owner@example.com".into()),
        ("email.enabled", "true".into()),
        ("email.smtp_host", m.world.smtp.host()),
        ("email.smtp_port", m.world.smtp.port().to_string()),
        ("email.smtp_security", "none".into()),
        ("email.from_address", "noreply@example.com".into()),
    ] {
        set(m, k, &v).await;
    }
}

/// The one message to `rcpt` whose subject starts with `subject`.
pub(crate) fn message(m: &MediaTest, rcpt: &str, subject: &str) -> CaughtMessage {
    let found: Vec<_> = m
        .world
        .smtp
        .messages_to(rcpt)
        .into_iter()
        .filter(|x| x.subject.starts_with(subject))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "one \"{subject}\" message to {rcpt}: {:?}",
        m.world
            .smtp
            .messages()
            .iter()
            .map(|x| (&x.rcpt_to, &x.subject))
            .collect::<Vec<_>>()
    );
    found.into_iter().next().expect("message")
}

/// The password link in a message's text.
pub(crate) fn link_in(text: &str) -> String {
    text.split_whitespace()
        .find(|w| w.starts_with("http") && w.contains("/media-password/"))
        .expect("a password link")
        .to_string()
}

/// Invites `email` (also their username) to `server` on plan 1 and runs the jobs: the user is
/// created and the invite e-mailed.
pub(crate) async fn invite_to(m: &MediaTest, email: &str, server: i64) -> i64 {
    let v = invite(
        m,
        json!({"email": email, "plan_id": 1, "server_id": server, "transaction_id": format!("tx-{email}")}),
    )
    .await;
    m.t.run_pending_jobs().await;
    v["customer_id"].as_i64().expect("customer id")
}

/// A visitor without a site login: posts a form from the page it was shown on.
async fn post_from_page(
    c: &reqwest::Client,
    page: &str,
    action: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let html = c
        .get(page)
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("body");
    let csrf = csrf_from(&html);
    let mut all = fields.to_vec();
    all.push(("csrf", &csrf));
    c.post(action).form(&all).send().await.expect("post")
}

async fn choose(c: &reqwest::Client, link: &str, pw: &str, confirm: &str) -> reqwest::Response {
    post_from_page(c, link, link, &[("password", pw), ("confirm", confirm)]).await
}

async fn page(c: &reqwest::Client, link: &str) -> (u16, String) {
    let r = c.get(link).send().await.expect("get");
    (r.status().as_u16(), r.text().await.expect("body"))
}

fn state_of(html: &str) -> String {
    let marker = "id=\"media-password\" data-state=\"";
    let i = html.find(marker).expect("the link's card") + marker.len();
    html[i..].split('"').next().unwrap_or("").to_string()
}

/// A login on the fake server with the MediaBrowser client header, as the apps send it.
pub(crate) async fn media_login(url: &str, user: &str, pw: &str) -> (u16, Value) {
    let r = client()
        .post(format!("{url}/Users/AuthenticateByName"))
        .header(
            "Authorization",
            "MediaBrowser Client=\"Jellyfin Web\", Device=\"Firefox\", DeviceId=\"test-device-1\", Version=\"10.11.0\"",
        )
        .json(&json!({"Username": user, "Pw": pw}))
        .send()
        .await
        .expect("login");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_jellyfin_invite_names_jellyfin_the_server_and_username_and_its_link_sets_a_password_that_logs_in()
 {
    let m = media_test().await;
    let jf = jellyfin(&m).await;
    email_to_catcher(&m).await;
    invite_to(&m, "ann@example.com", jf).await;

    let mail = message(&m, "ann@example.com", "You're invited to Jelly One");
    assert_eq!(mail.subject, "You're invited to Jelly One on Jellyfin");
    let text = mail.text.clone().expect("text part");
    // The HTML part escapes every value, "/" included.
    let html = mail.html.clone().expect("html part").replace("&#x2f;", "/");
    let server_url = m.world.jellyfin.url();
    assert!(text.contains("Jellyfin server Jelly One"), "{text}");
    assert!(text.contains(&format!("Server: {server_url}")), "{text}");
    assert!(text.contains("Username: ann@example.com"), "{text}");
    assert!(!text.contains("Plex"), "{text}");
    assert!(html.contains(&server_url) && html.contains("Choose your password"));
    let link = link_in(&text);
    assert!(
        link.starts_with(&format!("{}/media-password/", m.t.base)),
        "{link}"
    );
    assert!(html.contains(&link), "the HTML part carries the same link");

    // The random password the user was created with is not the customer's.
    let (s, _) = media_login(&server_url, "ann@example.com", "correct horse battery").await;
    assert_eq!(s, 401);

    let visitor = client();
    let (s, body) = page(&visitor, &link).await;
    assert_eq!(s, 200);
    assert_eq!(state_of(&body), "open");
    assert!(body.contains("ann@example.com") && body.contains(&server_url));
    let r = choose(
        &visitor,
        &link,
        "correct horse battery",
        "correct horse battery",
    )
    .await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        r.headers()
            .get("referrer-policy")
            .and_then(|v| v.to_str().ok()),
        Some("no-referrer")
    );
    assert_eq!(location(&r), link.trim_start_matches(&m.t.base));
    let (_, body) = page(&visitor, &link).await;
    assert_eq!(
        state_of(&body),
        "applying",
        "saved by a job, not in the request"
    );
    // Sealed while it waits for the job, never in the job's payload.
    let sealed: Vec<(String,)> = boxoffice_store::run!(m.t.app.db.ex(), |e| sqlx::query_as(
        "SELECT password_sealed FROM media_password_links WHERE password_sealed IS NOT NULL"
    )
    .fetch_all(e)
    .await)
    .expect("links");
    assert_eq!(sealed.len(), 1);
    assert!(!sealed[0].0.contains("horse"));
    let payloads: Vec<(String,)> = boxoffice_store::run!(m.t.app.db.ex(), |e| sqlx::query_as(
        "SELECT payload FROM jobs"
    )
    .fetch_all(e)
    .await)
    .expect("jobs");
    assert!(payloads.iter().all(|(p,)| !p.contains("horse")));

    m.t.run_pending_jobs().await;
    let (_, body) = page(&visitor, &link).await;
    assert_eq!(state_of(&body), "set");
    assert!(body.contains("Your password is set"), "{body}");
    let (s, v) = media_login(&server_url, "ann@example.com", "correct horse battery").await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["User"]["Name"], "ann@example.com");
    assert!(v["AccessToken"].as_str().is_some_and(|t| !t.is_empty()));
    let left: Vec<(i64,)> = boxoffice_store::run!(m.t.app.db.ex(), |e| sqlx::query_as(
        "SELECT id FROM media_password_links WHERE password_sealed IS NOT NULL"
    )
    .fetch_all(e)
    .await)
    .expect("links");
    assert!(left.is_empty(), "the password is wiped once it is set");
}

#[tokio::test]
async fn a_used_link_is_refused_and_changes_nothing() {
    let m = media_test().await;
    let jf = jellyfin(&m).await;
    email_to_catcher(&m).await;
    invite_to(&m, "bea@example.com", jf).await;
    let link = link_in(
        &message(&m, "bea@example.com", "You're invited")
            .text
            .expect("text"),
    );
    let visitor = client();
    assert_eq!(
        choose(&visitor, &link, "first password", "first password")
            .await
            .status(),
        303
    );
    m.t.run_pending_jobs().await;

    let other = client();
    let (s, body) = page(&other, &link).await;
    assert_eq!(s, 200);
    assert_eq!(state_of(&body), "set");
    assert!(!body.contains("id=\"mp-form\""), "no form on a used link");
    let r = choose(&other, &link, "second password", "second password").await;
    assert_eq!(r.status(), 409);
    let body = r.text().await.expect("body");
    assert!(body.contains("This link was used"), "{body}");
    m.t.run_pending_jobs().await;
    let url = m.world.jellyfin.url();
    assert_eq!(
        media_login(&url, "bea@example.com", "first password")
            .await
            .0,
        200
    );
    assert_eq!(
        media_login(&url, "bea@example.com", "second password")
            .await
            .0,
        401
    );
}

#[tokio::test]
async fn a_short_or_mistyped_password_is_refused_on_its_field_and_the_link_stays_open() {
    let m = media_test().await;
    let jf = jellyfin(&m).await;
    email_to_catcher(&m).await;
    invite_to(&m, "cy@example.com", jf).await;
    let link = link_in(
        &message(&m, "cy@example.com", "You're invited")
            .text
            .expect("text"),
    );
    let visitor = client();
    let r = choose(&visitor, &link, "short", "short").await;
    assert_eq!(r.status(), 422);
    let body = r.text().await.expect("body");
    assert!(body.contains("id=\"password-error\""), "{body}");
    assert!(body.contains("at least 8 characters"), "{body}");
    let r = choose(&visitor, &link, "long enough one", "long enough two").await;
    assert_eq!(r.status(), 422);
    let body = r.text().await.expect("body");
    assert!(body.contains("id=\"confirm-error\""), "{body}");
    assert_eq!(state_of(&body), "open");
    // A form without the CSRF token is refused before anything happens.
    let r = visitor
        .post(&link)
        .form(&[("password", "long enough"), ("confirm", "long enough")])
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 403);
    let (_, body) = page(&visitor, &link).await;
    assert_eq!(state_of(&body), "open");
}

#[tokio::test]
async fn an_expired_link_says_so_and_a_new_one_reaches_the_customer_and_replaces_it() {
    let m = media_test().await;
    let jf = jellyfin(&m).await;
    email_to_catcher(&m).await;
    invite_to(&m, "dan@example.com", jf).await;
    let old = link_in(
        &message(&m, "dan@example.com", "You're invited")
            .text
            .expect("text"),
    );
    m.t.advance_clock(time::Duration::days(8));
    let visitor = client();
    let (_, body) = page(&visitor, &old).await;
    assert_eq!(state_of(&body), "expired");
    assert!(body.contains("This link has expired"), "{body}");
    let r = choose(&visitor, &old, "too late now", "too late now").await;
    assert_eq!(r.status(), 409);

    m.world.smtp.clear();
    let action = format!("{old}/new-link");
    let r = post_from_page(&visitor, &old, &action, &[]).await;
    assert_eq!(r.status(), 303);
    m.t.run_pending_jobs().await;
    let fresh = link_in(
        &message(&m, "dan@example.com", "You're invited")
            .text
            .expect("text"),
    );
    assert_ne!(fresh, old);
    // Asking again at once is refused: the link just sent is on its way.
    let r = post_from_page(&visitor, &old, &action, &[]).await;
    assert_eq!(r.status(), 429);
    assert_eq!(
        choose(&visitor, &fresh, "in good time", "in good time")
            .await
            .status(),
        303
    );
    m.t.run_pending_jobs().await;
    assert_eq!(
        media_login(&m.world.jellyfin.url(), "dan@example.com", "in good time")
            .await
            .0,
        200
    );
}

#[tokio::test]
async fn an_admin_resends_the_invite_with_a_new_link_and_the_old_one_stops_working() {
    let m = media_test().await;
    let jf = jellyfin(&m).await;
    email_to_catcher(&m).await;
    let id = invite_to(&m, "eve@example.com", jf).await;
    let old = link_in(
        &message(&m, "eve@example.com", "You're invited")
            .text
            .expect("text"),
    );
    let share: (i64,) = boxoffice_store::run!(m.t.app.db.ex(), |e| sqlx::query_as(
        "SELECT id FROM shares WHERE customer_id = $1"
    )
    .bind(id)
    .fetch_one(e)
    .await)
    .expect("share");
    m.world.smtp.clear();
    let detail = format!("/admin/users/{id}");
    assert!(
        m.t.get_html(&detail)
            .await
            .contains(&format!("/shares/{}/resend-invite", share.0))
    );
    let r =
        m.t.post_form(
            &detail,
            &format!("/admin/users/{id}/shares/{}/resend-invite", share.0),
            &[],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), format!("{detail}?done=invite_resent"));
    m.t.run_pending_jobs().await;
    let fresh = link_in(
        &message(&m, "eve@example.com", "You're invited")
            .text
            .expect("text"),
    );
    assert_ne!(fresh, old);
    let visitor = client();
    let (_, body) = page(&visitor, &old).await;
    assert_eq!(state_of(&body), "replaced");
    let (_, body) = page(&visitor, &fresh).await;
    assert_eq!(state_of(&body), "open");
}

#[tokio::test]
async fn an_emby_invite_link_sets_the_password_on_emby() {
    let m = media_test().await;
    jellyfin(&m).await;
    let (s, v) = m
        .api(
            Method::POST,
            "/servers",
            Some(json!({"platform": "emby", "url": m.world.emby.url(), "api_key": m.world.emby.api_key()})),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let emby = v["id"].as_i64().expect("id");
    m.t.run_pending_jobs().await;
    open_server(&m.t.app.db, emby, &[("Movies", 2), ("Shows", 3)]).await;
    email_to_catcher(&m).await;
    invite_to(&m, "fay@example.com", emby).await;
    let mail = message(&m, "fay@example.com", "You're invited to Emby One");
    assert_eq!(mail.subject, "You're invited to Emby One on Emby");
    let text = mail.text.expect("text");
    assert!(text.contains("Emby server Emby One"), "{text}");
    assert!(
        text.contains(&format!("Server: {}", m.world.emby.url())),
        "{text}"
    );
    let link = link_in(&text);
    assert_eq!(
        choose(&client(), &link, "emby pass phrase", "emby pass phrase")
            .await
            .status(),
        303
    );
    m.t.run_pending_jobs().await;
    let (s, v) = media_login(&m.world.emby.url(), "fay@example.com", "emby pass phrase").await;
    assert_eq!(s, 200, "{v}");
}

#[tokio::test]
async fn a_server_refusing_the_password_shows_on_the_link_and_nothing_is_kept() {
    let m = media_test().await;
    let jf = jellyfin(&m).await;
    email_to_catcher(&m).await;
    invite_to(&m, "gil@example.com", jf).await;
    let link = link_in(
        &message(&m, "gil@example.com", "You're invited")
            .text
            .expect("text"),
    );
    let user = m.world.jellyfin.user("gil@example.com").expect("user");
    m.world.jellyfin.add_fault(
        FaultRule::path(
            &format!("/Users/{}/Password", user.id),
            FaultAction::Status {
                status: 403,
                body: Some("User is not allowed to update the password.".into()),
            },
        )
        .method("POST"),
    );
    let visitor = client();
    assert_eq!(
        choose(&visitor, &link, "refused password", "refused password")
            .await
            .status(),
        303
    );
    m.t.run_pending_jobs().await;
    let (_, body) = page(&visitor, &link).await;
    assert_eq!(state_of(&body), "failed");
    assert!(body.contains("refused the password"), "{body}");
    assert!(
        body.contains("id=\"mp-new-link\""),
        "offers a new link: {body}"
    );
    let left: Vec<(i64,)> = boxoffice_store::run!(m.t.app.db.ex(), |e| sqlx::query_as(
        "SELECT id FROM media_password_links WHERE password_sealed IS NOT NULL"
    )
    .fetch_all(e)
    .await)
    .expect("links");
    assert!(left.is_empty());
}

#[tokio::test]
async fn the_invite_and_its_page_name_the_address_customers_use_when_one_is_set() {
    let m = media_test().await;
    let jf = jellyfin(&m).await;
    email_to_catcher(&m).await;
    let page_url = format!("/admin/servers/{jf}/public-url");
    assert!(
        m.t.get_html(&format!("/admin/servers/{jf}"))
            .await
            .contains(&page_url)
    );
    let r =
        m.t.post_form(
            &page_url,
            &page_url,
            &[("public_url", "jellyfin.example.com")],
        )
        .await;
    assert_eq!(r.status(), 422, "an address needs its scheme");
    let r =
        m.t.post_form(
            &page_url,
            &page_url,
            &[("public_url", "https://watch.example.com/")],
        )
        .await;
    assert_eq!(r.status(), 303);
    invite_to(&m, "hal@example.com", jf).await;
    let text = message(&m, "hal@example.com", "You're invited")
        .text
        .expect("text");
    assert!(
        text.lines()
            .any(|l| l.trim_end() == "Server: https://watch.example.com"),
        "{text}"
    );
    assert!(!text.contains(&m.world.jellyfin.url()), "{text}");
    let (_, body) = page(&client(), &link_in(&text)).await;
    assert!(body.contains("https://watch.example.com"), "{body}");
}
