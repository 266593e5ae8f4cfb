//! "New customer" on the Users page: one customer invited from a form, field errors shown on
//! their fields with nothing saved.

use crate::helpers::{csrf_from, location};
use crate::lifecycle::{customer, jellyfin};
use crate::servers::{MediaTest, media_test};
use serde_json::Value;

/// Posts the new-customer form with the fields given (the page's CSRF token and form key added).
async fn post(m: &MediaTest, fields: &[(&str, &str)]) -> reqwest::Response {
    let html = m.t.get_html("/admin/users/new").await;
    let key_marker = "name=\"form_key\" value=\"";
    let key = html
        .find(key_marker)
        .map(|i| &html[i + key_marker.len()..])
        .and_then(|s| s.split('"').next())
        .expect("form key")
        .to_string();
    post_with_key(m, fields, &key, &csrf_from(&html)).await
}

async fn post_with_key(
    m: &MediaTest,
    fields: &[(&str, &str)],
    key: &str,
    csrf: &str,
) -> reqwest::Response {
    let mut all = fields.to_vec();
    all.push(("csrf", csrf));
    all.push(("form_key", key));
    m.t.client
        .post(m.t.url("/admin/users/new"))
        .form(&all)
        .send()
        .await
        .expect("post")
}

fn id_from(loc: &str) -> i64 {
    loc.trim_start_matches("/admin/users/")
        .split('?')
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("a customer page: {loc}"))
}

async fn customer_count(m: &MediaTest) -> i64 {
    let (n,): (i64,) = boxoffice_store::run!(m.t.app.db.ex(), |e| sqlx::query_as(
        "SELECT COUNT(*) FROM customers"
    )
    .fetch_one(e)
    .await)
    .expect("count");
    n
}

#[tokio::test]
async fn the_new_customer_form_invites_one_customer_and_opens_their_page() {
    let m = media_test().await;
    let jf = jellyfin(&m).await;
    let users = m.t.get_html("/admin/users").await;
    assert!(
        users.contains("href=\"/admin/users/new\""),
        "linked from the Users page's menu"
    );
    let page = m.t.get_html("/admin/users/new").await;
    assert!(page.contains("Basic — 10.00 USD / 30 days"), "{page}");
    assert!(page.contains("Jelly One (Jellyfin)"), "{page}");

    let html = m.t.get_html("/admin/users/new").await;
    let csrf = csrf_from(&html);
    let fields = [
        ("email", "nina@example.com"),
        ("plan_id", "1"),
        ("server_id", &jf.to_string()),
        ("payment", "paid"),
        ("amount", ""),
        ("method", "cash"),
        ("notes", "paid at the door"),
        ("username", "nina"),
    ];
    let r = post_with_key(&m, &fields, "key-nina", &csrf).await;
    assert_eq!(r.status(), 303);
    let loc = location(&r);
    assert!(loc.ends_with("?done=created"), "{loc}");
    let id = id_from(&loc);
    let detail = m.t.get_html(&loc).await;
    assert!(detail.contains("Customer created"), "{detail}");
    // The same form sent again records nothing new.
    let r = post_with_key(&m, &fields, "key-nina", &csrf).await;
    assert_eq!(r.status(), 303);
    assert_eq!(id_from(&location(&r)), id);

    m.t.run_pending_jobs().await;
    let c = customer(&m, id).await;
    assert_eq!(c["status"], "active");
    let payments = c["payments"].as_array().expect("payments");
    assert_eq!(payments.len(), 1, "{c}");
    assert_eq!(payments[0]["amount_minor"], 1000, "the plan's price");
    assert_eq!(payments[0]["method"], "cash");
    let user = m
        .world
        .jellyfin
        .user("nina")
        .expect("the Jellyfin user is named as typed");
    assert!(!user.id.is_empty());
}

#[tokio::test]
async fn a_customer_without_payment_is_permanent_with_nothing_paid() {
    let m = media_test().await;
    jellyfin(&m).await;
    let r = post(
        &m,
        &[
            ("email", "olga@example.com"),
            ("plan_id", "2"),
            ("server_id", ""),
            ("payment", "none"),
            ("amount", "99"),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    let id = id_from(&location(&r));
    m.t.run_pending_jobs().await;
    let c: Value = customer(&m, id).await;
    assert_eq!(c["permanent"], true);
    assert_eq!(c["status"], "permanent");
    assert_eq!(c["payments"][0]["amount_minor"], 0);
    assert!(
        m.world.jellyfin.user("olga@example.com").is_some(),
        "placed automatically"
    );
}

#[tokio::test]
async fn the_new_customer_form_names_each_mistake_on_its_field_and_saves_nothing() {
    let m = media_test().await;
    let jf = jellyfin(&m).await;
    let r = post(
        &m,
        &[
            ("email", "not-an-email"),
            ("plan_id", ""),
            ("server_id", &jf.to_string()),
            ("payment", "paid"),
            ("amount", "ten"),
            ("quantity", "0"),
            ("username", "bad/name"),
            ("notes", "keep me"),
        ],
    )
    .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.expect("body");
    for id in [
        "email-error",
        "plan_id-error",
        "quantity-error",
        "username-error",
    ] {
        assert!(html.contains(&format!("id=\"{id}\"")), "{id}: {html}");
    }
    assert!(
        html.contains(">keep me</textarea>"),
        "typed values are kept"
    );
    assert!(html.contains("value=\"not-an-email\""));
    assert_eq!(customer_count(&m).await, 0, "nothing saved");

    let r = post(
        &m,
        &[
            ("email", "pia@example.com"),
            ("plan_id", "1"),
            ("amount", "ten"),
        ],
    )
    .await;
    assert_eq!(r.status(), 422);
    assert!(
        r.text()
            .await
            .expect("body")
            .contains("id=\"amount-error\"")
    );
    assert_eq!(customer_count(&m).await, 0);

    assert_eq!(
        post(&m, &[("email", "pia@example.com"), ("plan_id", "1")])
            .await
            .status(),
        303
    );
    let r = post(&m, &[("email", "PIA@example.com"), ("plan_id", "1")]).await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.expect("body");
    assert!(html.contains("exists already"), "{html}");
    assert_eq!(customer_count(&m).await, 1);
}

#[tokio::test]
async fn the_new_customer_form_says_no_server_has_room_and_saves_nothing() {
    let m = media_test().await;
    jellyfin(&m).await;
    crate::lifecycle::exec(
        &m.t.app.db,
        "UPDATE servers SET allow_new_subscriptions = FALSE".into(),
    )
    .await;
    let r = post(
        &m,
        &[
            ("email", "pia@example.com"),
            ("plan_id", "1"),
            ("server_id", ""),
            ("payment", "paid"),
            ("amount", ""),
        ],
    )
    .await;
    assert_eq!(r.status(), 409);
    let page = r.text().await.expect("page");
    assert!(
        page.contains("There are no servers with capacity that accomodate plan Basic")
            && page.contains("nothing was recorded"),
        "{page}"
    );
    assert!(page.contains("pia@example.com"), "what was typed is kept");
    assert_eq!(customer_count(&m).await, 0);
}
