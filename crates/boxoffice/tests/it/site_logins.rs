//! The admin's Site logins page: add a login, set its password, change its role, disable and
//! enable it; each refused with the reason when it would break the rules, and audited.

use crate::helpers::*;
use crate::web_security::browser_as;

const NEW_PASSWORD: &str = "Helper-pw-42!";

/// The row of the Site logins table that holds `email`.
async fn row_of(t: &TestApp, email: &str) -> String {
    let page = t.get_html("/admin/site-logins").await;
    // The first piece is the page above the table, whose header names the signed-in admin.
    page.split("<tr data-login=")
        .skip(1)
        .find(|r| r.contains(email))
        .unwrap_or_else(|| panic!("{email} is listed: {page}"))
        .to_string()
}

fn id_of(row: &str) -> i64 {
    row.trim_start_matches('"')
        .split('"')
        .next()
        .and_then(|n| n.parse().ok())
        .expect("login id")
}

async fn role_id(t: &TestApp, name: &str) -> String {
    let page = t.get_html("/admin/site-logins").await;
    let add = page.split("id=\"login-add\"").nth(1).expect("add form");
    let at = add.find(&format!(">{name}</option>")).expect("role listed");
    let before = &add[..at];
    let v = before.rsplit("value=\"").next().expect("value");
    v.split('"').next().expect("id").to_string()
}

async fn can_log_in(t: &TestApp, email: &str, password: &str) -> bool {
    let c = client();
    let page = c
        .get(t.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let r = c
        .post(t.url("/login"))
        .form(&[
            ("email", email),
            ("password", password),
            ("csrf", &csrf_from(&page)),
        ])
        .send()
        .await
        .unwrap();
    r.status() == 303
}

#[tokio::test]
async fn an_administrator_adds_a_login_sets_its_password_changes_its_role_and_disables_it() {
    let t = spawn_app().await;
    t.create_admin().await;
    t.login_admin().await;
    let user_role = role_id(&t, "User").await;
    let admin_role = role_id(&t, "Administrator").await;

    // A weak password is refused with the rule, and nothing is added.
    let r = t
        .post_form(
            "/admin/site-logins",
            "/admin/site-logins/new",
            &[
                ("email", "helper@example.com"),
                ("password", "short"),
                ("role_id", &user_role),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let page = r.text().await.expect("body");
    assert!(page.contains("id=\"logins-error\""), "{page}");
    assert!(
        page.contains("value=\"helper@example.com\""),
        "the e-mail typed is kept"
    );
    assert!(
        !t.get_html("/admin/site-logins")
            .await
            .contains("data-login=\"2\"")
    );

    let r = t
        .post_form(
            "/admin/site-logins",
            "/admin/site-logins/new",
            &[
                ("email", "helper@example.com"),
                ("password", NEW_PASSWORD),
                ("role_id", &user_role),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let page = t.get_html(&location(&r)).await;
    assert!(
        page.contains("helper@example.com can now log in."),
        "{page}"
    );
    let row = row_of(&t, "helper@example.com").await;
    let id = id_of(&row);
    assert!(row.contains("<td data-label=\"Role\">User</td>"), "{row}");
    let r = t
        .post_form(
            "/admin/site-logins",
            "/admin/site-logins/new",
            &[
                ("email", "HELPER@example.com"),
                ("password", NEW_PASSWORD),
                ("role_id", &user_role),
            ],
        )
        .await;
    assert_eq!(r.status(), 422, "one login per address");

    // A new password: the old one stops working and open sessions end.
    let c = browser_as(&t, "helper@example.com", NEW_PASSWORD).await;
    let r = t
        .post_form(
            "/admin/site-logins",
            &format!("/admin/site-logins/{id}/password"),
            &[("password", "An0ther-pass!")],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_ne!(c.get(t.url("/account")).send().await.unwrap().status(), 200);
    assert!(!can_log_in(&t, "helper@example.com", NEW_PASSWORD).await);
    assert!(can_log_in(&t, "helper@example.com", "An0ther-pass!").await);

    // Made administrator, the helper reaches the admin panel.
    let r = t
        .post_form(
            "/admin/site-logins",
            &format!("/admin/site-logins/{id}/role"),
            &[("role_id", &admin_role)],
        )
        .await;
    assert_eq!(r.status(), 303);
    let c = browser_as(&t, "helper@example.com", "An0ther-pass!").await;
    assert_eq!(
        c.get(t.url("/admin/users")).send().await.unwrap().status(),
        200
    );

    // Disabled: logged out and refused at the login page; enabled again, back in.
    let r = t
        .post_form(
            "/admin/site-logins",
            &format!("/admin/site-logins/{id}/disable"),
            &[],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_ne!(
        c.get(t.url("/admin/users")).send().await.unwrap().status(),
        200
    );
    assert!(!can_log_in(&t, "helper@example.com", "An0ther-pass!").await);
    assert!(row_of(&t, "helper@example.com").await.contains("disabled"));
    let r = t
        .post_form(
            "/admin/site-logins",
            &format!("/admin/site-logins/{id}/enable"),
            &[],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert!(can_log_in(&t, "helper@example.com", "An0ther-pass!").await);

    let audit = t.get_html("/admin/audit").await;
    for action in [
        "login.create",
        "login.set_password",
        "login.set_role",
        "login.disable",
        "login.enable",
    ] {
        assert!(audit.contains(action), "{action} is audited");
    }
}

#[tokio::test]
async fn the_last_administrator_cannot_be_demoted_or_disabled_nor_anyone_disable_themselves() {
    let t = spawn_app().await;
    t.create_admin().await;
    t.login_admin().await;
    let me = id_of(&row_of(&t, ADMIN_EMAIL).await);
    let user_role = role_id(&t, "User").await;
    let r = t
        .post_form(
            "/admin/site-logins",
            &format!("/admin/site-logins/{me}/role"),
            &[("role_id", &user_role)],
        )
        .await;
    assert_eq!(r.status(), 409);
    assert!(
        r.text()
            .await
            .expect("body")
            .contains("is the last administrator")
    );
    let r = t
        .post_form(
            "/admin/site-logins",
            &format!("/admin/site-logins/{me}/disable"),
            &[],
        )
        .await;
    assert_eq!(r.status(), 409);
    assert!(
        r.text()
            .await
            .expect("body")
            .contains("you cannot disable the login you are using")
    );
    assert_eq!(t.get("/admin/users").await.status(), 200, "still in");
}
