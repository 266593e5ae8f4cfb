//! In a real browser: an administrator invites a Jellyfin customer with the New customer form;
//! the invite e-mail is read from the sandbox's SMTP catcher; its link, opened without a site
//! login, sets the password; the fake Jellyfin then accepts a login with it.

use crate::browser::Browser;
use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, client};
use crate::lifecycle::jellyfin;
use crate::media_password::{email_to_catcher, link_in, media_login};
use crate::servers::media_test;
use serde_json::Value;

#[tokio::test]
async fn a_jellyfin_customer_sets_their_password_from_the_invite_email_and_logs_in() {
    let Some(b) = Browser::start(1280, 900).await else {
        return;
    };
    let m = media_test().await;
    let jf = jellyfin(&m).await;
    email_to_catcher(&m).await;
    let base = m.t.base.clone();

    b.goto(&format!("{base}/login")).await;
    b.fill("input[name=email]", ADMIN_EMAIL).await;
    b.fill("input[name=password]", ADMIN_PASSWORD).await;
    b.click("form[action='/login'] button[type=submit]").await;
    b.on_page("dashboard").await;
    b.goto(&format!("{base}/admin/users")).await;
    b.on_page("users").await;
    b.click("#users-menu summary").await;
    b.click("#new-customer-open").await;
    b.on_page("new-customer").await;
    b.fill("#nc-email", "quinn@example.com").await;
    b.click("#nc-plan option[value='1']").await;
    b.click(&format!("#nc-server option[value='{jf}']")).await;
    // The form follows the server's platform: the Plex field is hidden, the user name shown.
    assert_eq!(b.attr("#nc-plex", "name").await, "plex_identity");
    let plex_shown = b
        .script(
            "return document.querySelector('label[data-platforms=plex]').offsetParent !== null;",
        )
        .await;
    assert_eq!(
        plex_shown,
        Value::Bool(false),
        "the Plex field is out of sight"
    );
    assert_eq!(b.attr("#nc-amount", "placeholder").await, "10.00");
    b.fill("#nc-username", "quinn").await;
    b.screenshot("new-customer-form").await;
    b.click("#nc-submit").await;
    b.on_page("users").await;
    let message = b.text("#user-message").await;
    assert!(message.contains("Customer created"), "{message}");
    b.click("form[action='/logout'] button").await;
    b.on_page("login").await;

    // The share job creates the Jellyfin user and the invite goes to the catcher.
    m.t.run_pending_jobs().await;
    let mail: Value = client()
        .get(format!(
            "{}/messages?to=quinn@example.com",
            m.world.smtp.control_url()
        ))
        .send()
        .await
        .expect("catcher")
        .json()
        .await
        .expect("json");
    let invite = mail
        .as_array()
        .into_iter()
        .flatten()
        .find(|x| x["subject"] == "You're invited to Jelly One on Jellyfin")
        .unwrap_or_else(|| panic!("the invite in {mail}"));
    let text = invite["text"].as_str().expect("text");
    assert!(text.contains("Username: quinn"), "{text}");
    let link = link_in(text);

    b.goto(&link).await;
    b.on_page("media-password").await;
    assert_eq!(b.text("#mp-username").await, "quinn");
    assert_eq!(b.text("#mp-server-url").await, m.world.jellyfin.url());
    b.fill("#mp-password", "movie night 42").await;
    b.fill("#mp-confirm", "movie night 42").await;
    b.click("#mp-submit").await;
    // The answer to the POST is the same page in its next state: wait for that state, not for
    // the page (the form's own page would satisfy that before the answer loads).
    b.find("#media-password[data-state='applying']").await;
    b.screenshot("media-password-applying").await;

    m.t.run_pending_jobs().await;
    b.goto(&link).await;
    b.on_page("media-password").await;
    assert_eq!(b.attr("#media-password", "data-state").await, "set");
    let status = b.text("#mp-status").await;
    assert!(
        status.contains("Your password is set") && status.contains("quinn"),
        "{status}"
    );
    b.screenshot("media-password-set").await;
    b.quit().await;

    let (s, v) = media_login(&m.world.jellyfin.url(), "quinn", "movie night 42").await;
    assert_eq!(s, 200, "the fake Jellyfin accepts the login: {v}");
    assert_eq!(v["User"]["Name"], "quinn");
}
