//! Linked users (product §17): a master pays for sub-accounts up to their plan's maximum; the
//! subs are shared the master's server and libraries and expire and renew with the master.
//! Admin links them on the Linked users page; a master adds and removes them on My account.

use crate::helpers::*;
use crate::lifecycle::{customer, exec, invite, jellyfin};
use crate::servers::{MediaTest, media_test};
use boxoffice_app::audit::Actor;
use boxoffice_app::subscriptions::RenewInput;
use boxoffice_domain::RoleKind;
use boxoffice_store::customers::{self, NewCustomer};
use serde_json::json;
use std::collections::BTreeSet;

/// The library names the Jellyfin fake shares with `name`; `None` when there is no such user.
fn folders(m: &MediaTest, name: &str) -> Option<BTreeSet<String>> {
    let u = m.world.jellyfin.user(name)?;
    let ids: Vec<String> =
        serde_json::from_value(u.policy["EnabledFolders"].clone()).unwrap_or_default();
    let libs = m.world.jellyfin.libraries();
    Some(
        ids.iter()
            .filter_map(|id| libs.iter().find(|l| &l.id == id || &l.guid == id))
            .map(|l| l.name.clone())
            .collect(),
    )
}

fn movies() -> Option<BTreeSet<String>> {
    Some(BTreeSet::from(["Movies".to_string()]))
}

fn nothing() -> Option<BTreeSet<String>> {
    Some(BTreeSet::new())
}

/// A customer with no payment, as an import or an earlier sign-up leaves them.
async fn bare_customer(m: &MediaTest, email: &str) -> i64 {
    customers::insert(
        m.t.app.db.ex(),
        NewCustomer {
            email,
            email_key: email,
            plex_email: email,
            jellyfin_username: email,
            emby_username: email,
            paypal_email: "",
            permanent: false,
            plan_id: None,
            now: 0,
        },
    )
    .await
    .expect("customer")
    .id
}

async fn allow_subs(m: &MediaTest, plan: i64, n: i64) {
    exec(
        &m.t.app.db,
        format!("UPDATE plans SET max_linked_accounts = {n} WHERE id = {plan}"),
    )
    .await;
}

async fn link(m: &MediaTest, master: &str, sub: &str) -> reqwest::Response {
    m.t.post_form(
        "/admin/linked-users",
        "/admin/linked-users",
        &[("master_email", master), ("sub_email", sub)],
    )
    .await
}

#[tokio::test]
async fn sub_accounts_share_the_masters_server_and_expire_and_renew_with_the_master() {
    let m = media_test().await;
    jellyfin(&m).await;
    allow_subs(&m, 1, 2).await;
    m.t.app
        .set_setting(&Actor::system(), "media.delete_expired_after_days", "3")
        .await
        .expect("setting");
    let v = invite(&m, json!({"email": "ann@example.com", "plan_id": 1})).await;
    let ann = v["customer_id"].as_i64().expect("id");
    m.t.run_pending_jobs().await;
    let bob = bare_customer(&m, "bob@example.com").await;
    bare_customer(&m, "cat@example.com").await;
    bare_customer(&m, "dan@example.com").await;

    let r = link(&m, "ann@example.com", "bob@example.com").await;
    assert_eq!(r.status(), 303);
    let page = m.t.get_html(&location(&r)).await;
    assert!(page.contains("id=\"linked-message\""), "{page}");
    let row = page
        .split("<tr data-master=")
        .find(|r| r.contains("bob@example.com"))
        .expect("bob listed");
    assert!(row.contains("ann@example.com"), "{row}");
    m.t.run_pending_jobs().await;
    assert_eq!(
        folders(&m, "bob@example.com"),
        movies(),
        "bob is shared ann's plan"
    );
    let (a, b) = (customer(&m, ann).await, customer(&m, bob).await);
    assert_eq!(a["covered_until"], b["covered_until"], "{a} {b}");
    assert_eq!(b["status"], json!("active"), "{b}");

    assert_eq!(
        link(&m, "ann@example.com", "cat@example.com")
            .await
            .status(),
        303
    );
    let r = link(&m, "ann@example.com", "dan@example.com").await;
    assert_eq!(r.status(), 409);
    let page = r.text().await.expect("body");
    assert!(
        page.contains("allows 2 sub-accounts, and all are in use"),
        "{page}"
    );
    let r = link(&m, "bob@example.com", "dan@example.com").await;
    assert_eq!(r.status(), 409);
    assert!(
        r.text()
            .await
            .expect("body")
            .contains("cannot have sub-accounts of its own")
    );
    let r = link(&m, "ann@example.com", "nobody@example.com").await;
    assert_eq!(r.status(), 422);
    assert!(
        r.text()
            .await
            .expect("body")
            .contains("sub-account: no user has this e-mail")
    );

    // The master's coverage runs out: the subs lose their libraries in the same pass.
    m.t.advance_clock(time::Duration::days(30) + time::Duration::minutes(30));
    m.t.app.run_expiry().await.expect("expiry");
    m.t.run_pending_jobs().await;
    assert_eq!(folders(&m, "ann@example.com"), nothing());
    assert_eq!(
        folders(&m, "bob@example.com"),
        nothing(),
        "bob expires with ann"
    );
    assert_eq!(folders(&m, "cat@example.com"), nothing());

    // The master renews: everyone is back, on the same server.
    m.t.app
        .renew(&Actor::system(), ann, RenewInput::default())
        .await
        .expect("renew");
    m.t.run_pending_jobs().await;
    assert_eq!(folders(&m, "ann@example.com"), movies());
    assert_eq!(
        folders(&m, "bob@example.com"),
        movies(),
        "bob renewed with ann"
    );
    assert_eq!(folders(&m, "cat@example.com"), movies());
    let (a, b) = (customer(&m, ann).await, customer(&m, bob).await);
    assert_eq!(a["covered_until"], b["covered_until"]);

    // A month has passed on the clock, so the admin's session has ended: sign in again.
    m.t.login_admin().await;
    // Unlinked, bob keeps only what his own payments cover: nothing.
    let r =
        m.t.post_form(
            "/admin/linked-users",
            &format!("/admin/linked-users/{bob}/unlink"),
            &[],
        )
        .await;
    assert_eq!(r.status(), 303);
    m.t.app.run_expiry().await.expect("expiry");
    m.t.run_pending_jobs().await;
    assert_eq!(folders(&m, "bob@example.com"), nothing());
    assert_eq!(folders(&m, "cat@example.com"), movies());
    let audit = m.t.get_html("/admin/audit").await;
    assert!(audit.contains("linked_users.link") && audit.contains("linked_users.unlink"));
}

#[tokio::test]
async fn a_master_adds_and_removes_sub_accounts_on_my_account_within_the_plans_maximum() {
    let m = media_test().await;
    jellyfin(&m).await;
    allow_subs(&m, 1, 1).await;
    invite(&m, json!({"email": "ann@example.com", "plan_id": 1})).await;
    m.t.run_pending_jobs().await;
    bare_customer(&m, "taken@example.com").await;
    m.t.app
        .create_login(
            &Actor::cli(),
            "ann@example.com",
            "Ann-pw-123!",
            RoleKind::User,
        )
        .await
        .expect("login");
    // The test's browser is ann's from here on.
    let r = m.t.post_form("/admin", "/logout", &[]).await;
    assert_eq!(r.status(), 303, "the admin signs out");
    let as_ann = &m.t;
    assert_eq!(
        as_ann
            .login("ann@example.com", "Ann-pw-123!")
            .await
            .status(),
        303
    );

    let page = as_ann.get_html("/account").await;
    assert!(page.contains("id=\"linked-users\""), "{page}");
    assert_eq!(extract_by_id(&page, "linked-allowed").as_deref(), Some("1"));

    // An address that already has an account here is never taken over from the portal.
    let r = as_ann
        .post_form(
            "/account",
            "/account/linked-users",
            &[("email", "taken@example.com"), ("username", "")],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(
        r.text()
            .await
            .expect("body")
            .contains("already has an account here")
    );

    let r = as_ann
        .post_form(
            "/account",
            "/account/linked-users",
            &[("email", "zoe@example.com"), ("username", "zoe")],
        )
        .await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap_or_default());
    m.t.run_pending_jobs().await;
    assert_eq!(
        folders(&m, "zoe"),
        movies(),
        "zoe is shared ann's libraries"
    );
    let page = as_ann.get_html("/account").await;
    assert!(page.contains("zoe@example.com") && page.contains("id=\"linked-full\""));

    let r = as_ann
        .post_form(
            "/account",
            "/account/linked-users",
            &[("email", "yan@example.com"), ("username", "")],
        )
        .await;
    assert_eq!(r.status(), 409);
    assert!(r.text().await.expect("body").contains("all are in use"));

    // Removing her: no payment of her own, so the next expiry pass takes her access away.
    let zoe =
        m.t.app
            .customer_by_email("zoe@example.com")
            .await
            .expect("zoe")
            .id;
    let r = as_ann
        .post_form(
            "/account",
            &format!("/account/linked-users/{zoe}/remove"),
            &[],
        )
        .await;
    assert_eq!(r.status(), 303);
    m.t.app.run_expiry().await.expect("expiry");
    m.t.run_pending_jobs().await;
    assert_ne!(folders(&m, "zoe"), movies());
    let page = as_ann.get_html("/account").await;
    assert!(!page.contains("zoe@example.com"));

    // Nobody removes another master's sub-account.
    let r = as_ann
        .post_form(
            "/account",
            &format!("/account/linked-users/{zoe}/remove"),
            &[],
        )
        .await;
    assert_eq!(r.status(), 404);
}
