use crate::helpers::*;

#[tokio::test]
async fn secrets_are_stored_encrypted_and_never_shown_back() {
    let t = spawn_app().await;
    t.create_admin().await;
    t.login_admin().await;
    let r = t
        .post_form(
            "/admin/settings",
            "/admin/settings",
            &[
                ("email.smtp_password", "hunter2-smtp"),
                ("general.site_name", "Movie Club"),
            ],
        )
        .await;
    assert_eq!(location(&r), "/admin/settings?saved=1");
    let stored = boxoffice_store::settings::all(t.app.db.ex()).await.unwrap();
    let (_, sealed) = stored
        .iter()
        .find(|(k, _)| k == "email.smtp_password")
        .unwrap();
    assert!(
        sealed.starts_with("v1:") && !sealed.contains("hunter2"),
        "{sealed}"
    );
    let s = t.app.settings().await.unwrap();
    assert_eq!(
        s.secret(&t.app, "email.smtp_password").unwrap().as_deref(),
        Some("hunter2-smtp")
    );
    let page = t.get_html("/admin/settings").await;
    assert!(!page.contains("hunter2"));
    assert!(page.contains("Movie Club"));
    let audit = t.app.recent_audit(20).await.unwrap();
    assert!(
        !format!("{audit:?}").contains("hunter2"),
        "not in the audit log either"
    );
}

#[tokio::test]
async fn an_invalid_setting_names_itself_and_nothing_is_saved() {
    let t = spawn_app().await;
    t.create_admin().await;
    t.login_admin().await;
    let r = t
        .post_form(
            "/admin/settings",
            "/admin/settings",
            &[
                ("general.site_name", "Changed"),
                ("email.smtp_port", "99999"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("SMTP port: 99999 is outside 1 to 65535")
    );
    assert_eq!(
        t.app.settings().await.unwrap().get("general.site_name"),
        "boxoffice"
    );
}

#[tokio::test]
async fn the_settings_page_escapes_what_an_owner_typed() {
    let t = spawn_app().await;
    t.create_admin().await;
    t.login_admin().await;
    t.post_form(
        "/admin/settings",
        "/admin/settings",
        &[("general.site_name", "<script>alert(1)</script>")],
    )
    .await;
    let page = t.get_html("/admin").await;
    assert!(!page.contains("<script>alert(1)</script>"));
    assert!(
        page.contains("&#60;script&#62;") || page.contains("&lt;script&gt;"),
        "{page}"
    );
}
