//! The sandbox's SMTP catcher receives what boxoffice's own SMTP client (lettre, plain SMTP with
//! a login) sends, and its control API serves it back decoded.

use crate::helpers::client;
use crate::lifecycle::set;
use crate::media_password::email_to_catcher;
use crate::servers::media_test;
use boxoffice_app::audit::Actor;
use serde_json::Value;

#[tokio::test]
async fn the_smtp_catcher_keeps_what_boxoffice_sends_and_serves_it_decoded() {
    let m = media_test().await;
    email_to_catcher(&m).await;
    set(&m, "general.site_name", "Café TV").await;
    set(&m, "email.smtp_username", "mailer").await;
    set(&m, "email.smtp_password", "s3cret-pass").await;
    m.t.app
        .test_smtp(&Actor::system(), "ann@example.com")
        .await
        .expect("the catcher accepts");

    let list: Value = client()
        .get(format!("{}/messages", m.world.smtp.control_url()))
        .send()
        .await
        .expect("control API")
        .json()
        .await
        .expect("json");
    let all = list.as_array().expect("a list");
    assert_eq!(all.len(), 1, "{list}");
    let msg = &all[0];
    assert_eq!(msg["rcpt_to"], serde_json::json!(["ann@example.com"]));
    assert_eq!(msg["mail_from"], "noreply@example.com");
    assert_eq!(msg["auth_user"], "mailer", "logged in with the SMTP login");
    assert_eq!(msg["subject"], "Café TV: test e-mail");
    assert_eq!(msg["from"], "Café TV <noreply@example.com>");
    assert!(!msg["date"].as_str().unwrap_or("").is_empty());
    assert!(!msg["message_id"].as_str().unwrap_or("").is_empty());
    let text = msg["text"].as_str().expect("text");
    assert!(
        text.contains("This is a test e-mail from Café TV."),
        "{text}"
    );
    assert!(
        msg["raw"].as_str().is_some_and(|r| r.contains("Subject: ")),
        "the raw message too"
    );

    let r = client()
        .delete(format!("{}/messages", m.world.smtp.control_url()))
        .send()
        .await
        .expect("clear");
    assert_eq!(r.status(), 204);
    assert!(m.world.smtp.messages().is_empty());
}
