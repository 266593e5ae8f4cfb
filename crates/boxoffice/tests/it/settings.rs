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
    let page = t.get_html("/admin/settings/e-mail").await;
    assert!(!page.contains("hunter2"));
    assert!(page.contains("name=\"email.smtp_password\" value=\"\""));
    assert!(
        t.get_html("/admin/settings/general")
            .await
            .contains("value=\"Movie Club\"")
    );
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

#[tokio::test]
async fn each_settings_section_has_its_own_page_with_the_control_its_kind_calls_for() {
    let t = spawn_app().await;
    t.create_admin().await;
    t.login_admin().await;
    let index = t.get_html("/admin/settings").await;
    for section in boxoffice_web::settings_pages::sections() {
        let slug = boxoffice_web::settings_pages::slug(section);
        assert!(
            index.contains(&format!("href=\"/admin/settings/{slug}\"")),
            "{section} is listed"
        );
        assert_eq!(
            t.get(&format!("/admin/settings/{slug}")).await.status(),
            200
        );
    }
    let email = t.get_html("/admin/settings/e-mail").await;
    assert!(email.contains("<select id=\"f-email-smtp-security\" name=\"email.smtp_security\""));
    assert!(email.contains("<option value=\"starttls\" selected>STARTTLS</option>"));
    assert!(email.contains(
        "<input type=\"checkbox\" role=\"switch\" id=\"f-email-enabled\" name=\"email.enabled\""
    ));
    assert!(email.contains(
        "<input type=\"number\" id=\"f-email-smtp-port\" name=\"email.smtp_port\" value=\"587\" min=\"1\" max=\"65535\""
    ));
    assert!(email.contains("<input type=\"password\" id=\"f-email-smtp-password\""));
    assert!(email.contains("<input type=\"email\" id=\"f-email-from-address\""));
    assert!(
        !email.contains("name=\"general.site_name\""),
        "another section's settings are on their own page"
    );
    let payments = t.get_html("/admin/settings/payments").await;
    assert!(payments.contains("<option value=\"USD\" selected>USD · US dollar</option>"));
    assert_eq!(t.get("/admin/settings/no-such-section").await.status(), 404);
}

#[tokio::test]
async fn a_failed_section_save_keeps_what_was_typed_and_names_the_error_under_each_field() {
    let t = spawn_app().await;
    t.create_admin().await;
    t.login_admin().await;
    let r = t
        .post_form(
            "/admin/settings/e-mail",
            "/admin/settings/e-mail",
            &[
                ("email.smtp_host", "smtp.example.com"),
                ("email.smtp_port", "0"),
                ("email.from_address", "not an address"),
                ("email.smtp_security", "tls"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("Nothing was saved. 2 settings need another value"),
        "{page}"
    );
    assert!(page.contains("id=\"f-email-smtp-port-error\">0 is outside 1 to 65535</p>"));
    assert!(page.contains("id=\"f-email-from-address-error\">"));
    assert!(
        page.contains("value=\"smtp.example.com\""),
        "what was typed stays"
    );
    assert!(page.contains("<option value=\"tls\" selected>TLS</option>"));
    let s = t.app.settings().await.unwrap();
    assert_eq!(s.get("email.smtp_host"), "", "nothing was saved");

    let r = t
        .post_form(
            "/admin/settings/e-mail",
            "/admin/settings/e-mail",
            &[
                ("email.smtp_port", "465"),
                ("email.smtp_security", "tls"),
                ("email.enabled", "false"),
                ("email.enabled", "true"),
            ],
        )
        .await;
    assert_eq!(location(&r), "/admin/settings/e-mail?saved=1");
    let s = t.app.settings().await.unwrap();
    assert_eq!(s.get("email.smtp_port"), "465");
    assert_eq!(s.get("email.smtp_security"), "tls");
    assert!(s.bool("email.enabled"));
    assert!(
        t.get_html("/admin/settings/e-mail?saved=1")
            .await
            .contains("Saved.")
    );
}
