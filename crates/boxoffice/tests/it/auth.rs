use crate::helpers::*;
use boxoffice_app::totp;

#[tokio::test]
async fn an_administrator_logs_in_and_reaches_the_admin_panel() {
    let t = spawn_app().await;
    t.create_admin().await;
    let r = t.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/admin");
    let cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("bo_session="))
        .unwrap()
        .to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let page = t.get_html("/admin").await;
    assert!(
        page.contains("Dashboard") && page.contains("Two-factor authentication is off"),
        "{page}"
    );
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_email_get_the_same_answer() {
    let t = spawn_app().await;
    t.create_admin().await;
    let a = t.login(ADMIN_EMAIL, "Wrong-pass1!").await;
    let b = t.login("nobody@example.com", "Wrong-pass1!").await;
    assert_eq!(a.status(), 401);
    assert_eq!(b.status(), 401);
    let (a, b) = (a.text().await.unwrap(), b.text().await.unwrap());
    assert!(a.contains("That e-mail and password do not match a login."));
    assert!(b.contains("That e-mail and password do not match a login."));
}

#[tokio::test]
async fn repeated_wrong_passwords_are_answered_429_with_a_growing_retry_after() {
    let t = spawn_app().await;
    t.create_admin().await;
    for _ in 0..5 {
        assert_eq!(t.login(ADMIN_EMAIL, "Wrong-pass1!").await.status(), 401);
    }
    let r = t.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(
        r.status(),
        429,
        "even the right password waits out the delay"
    );
    assert_eq!(r.headers().get("retry-after").unwrap(), "1");
    t.advance_clock(time::Duration::seconds(2));
    assert_eq!(t.login(ADMIN_EMAIL, "Wrong-pass1!").await.status(), 401);
    let r = t.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(r.status(), 429);
    assert_eq!(
        r.headers().get("retry-after").unwrap(),
        "2",
        "the delay doubles"
    );
    t.advance_clock(time::Duration::seconds(3));
    assert_eq!(t.login(ADMIN_EMAIL, ADMIN_PASSWORD).await.status(), 303);
}

#[tokio::test]
async fn a_form_without_its_csrf_token_is_refused_and_changes_nothing() {
    let t = spawn_app().await;
    t.create_admin().await;
    t.login_admin().await;
    let r = t
        .client
        .post(t.url("/admin/settings"))
        .form(&[("general.site_name", "Hacked")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("nothing was changed"));
    let r = t
        .client
        .post(t.url("/admin/settings"))
        .form(&[("general.site_name", "Hacked"), ("csrf", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(
        t.app.settings().await.unwrap().get("general.site_name"),
        "boxoffice"
    );
    let r = t
        .client
        .post(t.url("/login"))
        .form(&[("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "the login form is protected too");
}

#[tokio::test]
async fn an_idle_session_expires_back_to_the_login_page() {
    let t = spawn_app().await;
    t.create_admin().await;
    t.login_admin().await;
    assert_eq!(t.get("/admin").await.status(), 200);
    t.advance_clock(time::Duration::hours(13));
    let r = t.get("/admin/jobs").await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/login?next=/admin/jobs");
}

#[tokio::test]
async fn logging_out_everywhere_ends_every_session_of_the_login() {
    let t = spawn_app().await;
    t.create_admin().await;
    t.login_admin().await;
    let other = client();
    let csrf = csrf_from(
        &other
            .get(t.url("/login"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    other
        .post(t.url("/login"))
        .form(&[
            ("email", ADMIN_EMAIL),
            ("password", ADMIN_PASSWORD),
            ("csrf", &csrf),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        other.get(t.url("/admin")).send().await.unwrap().status(),
        200
    );
    let r = t.post_form("/security", "/logout/everywhere", &[]).await;
    assert_eq!(location(&r), "/login?notice=logged_out");
    assert_eq!(
        other.get(t.url("/admin")).send().await.unwrap().status(),
        303
    );
    assert_eq!(t.get("/admin").await.status(), 303);
}

#[tokio::test]
async fn a_customer_login_cannot_open_the_admin_panel() {
    let t = spawn_app().await;
    t.app
        .create_login(
            &boxoffice_app::audit::Actor::cli(),
            "viewer@example.com",
            "Cust0mer-pw!",
            boxoffice_domain::RoleKind::User,
        )
        .await
        .unwrap();
    let r = t.login("viewer@example.com", "Cust0mer-pw!").await;
    assert_eq!(location(&r), "/account");
    assert_eq!(t.get("/admin").await.status(), 403);
    assert_eq!(t.get("/admin/settings").await.status(), 403);
    assert!(t.get_html("/account").await.contains("viewer@example.com"));
}

#[tokio::test]
async fn a_custom_role_sees_only_what_its_permissions_allow() {
    let t = spawn_app().await;
    use boxoffice_domain::Permission;
    let role = boxoffice_store::roles::create_custom(
        t.app.db.ex(),
        "Support",
        &[Permission::UsersRead, Permission::JobsRead],
        0,
    )
    .await
    .unwrap();
    let login = t
        .app
        .create_login(
            &boxoffice_app::audit::Actor::cli(),
            "helper@example.com",
            "Supp0rt-pw!",
            boxoffice_domain::RoleKind::User,
        )
        .await
        .unwrap();
    boxoffice_store::logins::set_role(t.app.db.ex(), login.id, role.id)
        .await
        .unwrap();
    t.login("helper@example.com", "Supp0rt-pw!").await;
    let dash = t.get_html("/admin").await;
    assert!(
        dash.contains("href=\"/admin/users\"") && !dash.contains("href=\"/admin/settings\""),
        "{dash}"
    );
    assert_eq!(t.get("/admin/users").await.status(), 200);
    assert_eq!(t.get("/admin/jobs").await.status(), 200);
    let r = t.get("/admin/settings").await;
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("see settings"));
}

#[tokio::test]
async fn totp_enrolment_then_login_with_a_code_and_a_reused_code_is_refused() {
    let t = spawn_app().await;
    t.create_admin().await;
    t.login_admin().await;
    t.post_form("/security", "/security/totp/start", &[]).await;
    let page = t.get_html("/security").await;
    assert!(page.contains("<svg"), "QR code shown");
    let secret = totp::base32_decode(&extract_by_id(&page, "totp-secret").unwrap()).unwrap();
    let now = t.app.now();
    let wrong = t
        .post_form("/security", "/security/totp/confirm", &[("code", "000000")])
        .await;
    assert_eq!(wrong.status(), 422);
    let r = t
        .post_form(
            "/security",
            "/security/totp/confirm",
            &[("code", &totp::code_for_step(&secret, totp::step_at(now)))],
        )
        .await;
    let body = r.text().await.unwrap();
    assert!(body.contains("recovery-codes"), "{body}");
    let recovery = body
        .split("<li><code>")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_string();

    t.post_form("/security", "/logout", &[]).await;
    let r = t.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert!(location(&r).starts_with("/login/2fa"));
    assert_eq!(
        t.get("/admin").await.status(),
        303,
        "no admin before the second factor"
    );
    let next_code = totp::code_for_step(&secret, totp::step_at(now) + 1);
    let r = t
        .post_form("/login/2fa", "/login/2fa", &[("code", &next_code)])
        .await;
    assert_eq!(location(&r), "/admin");
    assert_eq!(t.get("/admin").await.status(), 200);

    t.post_form("/admin", "/logout", &[]).await;
    t.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let r = t
        .post_form("/login/2fa", "/login/2fa", &[("code", &next_code)])
        .await;
    assert_eq!(r.status(), 401);
    assert!(r.text().await.unwrap().contains("already used"));
    let r = t
        .post_form("/login/2fa", "/login/2fa", &[("code", &recovery)])
        .await;
    assert_eq!(location(&r), "/admin", "a recovery code works once");
    t.post_form("/admin", "/logout", &[]).await;
    t.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(
        t.post_form("/login/2fa", "/login/2fa", &[("code", &recovery)])
            .await
            .status(),
        401
    );
}

#[tokio::test]
async fn the_setup_link_creates_the_first_administrator_once_and_expires() {
    let t = spawn_app().await;
    let token = t.app.issue_setup_token().await.unwrap().unwrap();
    let path = format!("/setup/{token}");
    let r = t
        .post_form(
            &path,
            &path,
            &[("email", "me@example.com"), ("password", "password")],
        )
        .await;
    assert_eq!(r.status(), 422);
    let body = r.text().await.unwrap();
    assert!(body.contains("The password needs an upper-case letter, a digit and a special character such as ! or #."), "{body}");
    assert_eq!(
        t.app.administrator_count().await.unwrap(),
        0,
        "a weak password changes nothing"
    );
    let r = t
        .post_form(
            &path,
            &path,
            &[("email", "me@example.com"), ("password", "G00d-password")],
        )
        .await;
    assert_eq!(location(&r), "/login?notice=setup_done");
    assert_eq!(t.get(&path).await.status(), 404, "used once");
    assert!(
        t.app.issue_setup_token().await.unwrap().is_none(),
        "no new link once an administrator exists"
    );

    let t2 = spawn_app().await;
    let token = t2.app.issue_setup_token().await.unwrap().unwrap();
    t2.advance_clock(time::Duration::minutes(61));
    assert_eq!(
        t2.get(&format!("/setup/{token}")).await.status(),
        404,
        "expired"
    );
}

#[tokio::test]
async fn a_weak_password_is_told_which_parts_are_missing() {
    let t = spawn_app().await;
    let e = t
        .app
        .create_administrator(&boxoffice_app::audit::Actor::cli(), ADMIN_EMAIL, "short")
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "The password needs at least 8 characters, an upper-case letter, a digit and a special character such as ! or #."
    );
    assert_eq!(t.app.administrator_count().await.unwrap(), 0);
}
