//! Library groups and plans (product §9, §10; essentials 6 and 7): every plan rule refused with
//! its message through the admin page and the API, the one-default rule, built-in groups that
//! cannot change, and the group of libraries found by a sync.

use crate::helpers::{TestApp, location, spawn_app};
use crate::servers::media_test;
use boxoffice_app::audit::Actor;
use reqwest::Method;
use serde_json::{Value, json};

async fn api(
    t: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = t
        .client
        .request(method, t.url(&format!("/api/v1{path}")))
        .bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.expect("api request");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn admin_app() -> (TestApp, String) {
    let t = spawn_app().await;
    t.create_admin().await;
    t.login_admin().await;
    let token = t.admin_token().await;
    (t, token)
}

async fn group_id(t: &TestApp, token: &str, name: &str) -> i64 {
    let (_, v) = api(t, token, Method::GET, "/library-groups", None).await;
    v.as_array()
        .expect("groups")
        .iter()
        .find(|g| g["name"] == name)
        .and_then(|g| g["id"].as_i64())
        .expect("group")
}

/// A sound plan body on the Standard group; tests change one field at a time.
fn plan_body(name: &str, standard: i64) -> Value {
    json!({"name": name, "cost_minor": 1500, "duration_unit": "months", "duration_count": 1,
        "library_group_ids": [standard], "is_default": true})
}

/// Page form fields equivalent to `plan_body`.
fn plan_fields(name: &str, standard: i64) -> Vec<(String, String)> {
    vec![
        ("name".into(), name.into()),
        ("cost".into(), "15.00".into()),
        ("duration_count".into(), "1".into()),
        ("duration_unit".into(), "months".into()),
        ("library_group_ids".into(), standard.to_string()),
        ("is_default".into(), "true".into()),
        ("active".into(), "true".into()),
        ("video_transcoding".into(), "true".into()),
        ("max_linked_accounts".into(), "0".into()),
    ]
}

async fn post_plan_page(t: &TestApp, fields: &[(String, String)]) -> (u16, String) {
    let f: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let r = t.post_form("/admin/plans/new", "/admin/plans", &f).await;
    let status = r.status().as_u16();
    (status, r.text().await.expect("body"))
}

/// The same plan is refused through the page and the API with `expected` in the message.
async fn refused_both_ways(
    t: &TestApp,
    token: &str,
    body: Value,
    fields: Vec<(String, String)>,
    expected: &str,
) {
    let (s, v) = api(t, token, Method::POST, "/plans", Some(body)).await;
    assert_eq!(s, 422, "{v}");
    assert_eq!(v["error"]["field"], "plan", "{v}");
    let msg = v["error"]["message"].as_str().unwrap_or_default();
    assert!(
        msg.contains(expected),
        "API message {msg:?} lacks {expected:?}"
    );
    let (s, html) = post_plan_page(t, &fields).await;
    assert_eq!(s, 422, "page status");
    let shown = html_escape(expected);
    assert!(html.contains(&shown), "page lacks {expected:?}");
}

/// Askama escapes quotes in what it shows.
fn html_escape(s: &str) -> String {
    s.replace('&', "&#38;").replace('"', "&#34;")
}

#[tokio::test]
async fn every_plan_rule_is_refused_with_its_message_through_the_page_and_the_api() {
    let (t, token) = admin_app().await;
    let standard = group_id(&t, &token, "Standard").await;
    let private = group_id(&t, &token, "Private").await;

    // No library group.
    let mut body = plan_body("Basic", standard);
    body["library_group_ids"] = json!([]);
    let fields: Vec<_> = plan_fields("Basic", standard)
        .into_iter()
        .filter(|(k, _)| k != "library_group_ids")
        .collect();
    refused_both_ways(
        &t,
        &token,
        body,
        fields,
        "a plan includes at least one library group",
    )
    .await;

    // The Private group.
    let mut body = plan_body("Basic", standard);
    body["library_group_ids"] = json!([standard, private]);
    let mut fields = plan_fields("Basic", standard);
    fields.push(("library_group_ids".into(), private.to_string()));
    refused_both_ways(
        &t,
        &token,
        body,
        fields,
        "a plan never includes the Private library group",
    )
    .await;

    // A trial that costs money.
    let mut body = plan_body("Trial", standard);
    body["is_trial"] = json!(true);
    let mut fields = plan_fields("Trial", standard);
    fields.push(("is_trial".into(), "true".into()));
    refused_both_ways(
        &t,
        &token,
        body,
        fields,
        "a trial plan costs nothing: plan \"Trial\" is a trial but costs 15.00 USD",
    )
    .await;

    // Trials on need a trial plan.
    t.app
        .set_setting(&Actor::cli(), "subscriptions.trial_enabled", "true")
        .await
        .expect("setting");
    refused_both_ways(
        &t,
        &token,
        plan_body("Basic", standard),
        plan_fields("Basic", standard),
        "trials enabled need at least one active trial plan",
    )
    .await;
    t.app
        .set_setting(&Actor::cli(), "subscriptions.trial_enabled", "false")
        .await
        .expect("setting");

    // Recurring on needs a gateway id.
    t.app
        .set_setting(&Actor::cli(), "payments.stripe.recurring_enabled", "true")
        .await
        .expect("setting");
    refused_both_ways(
        &t,
        &token,
        plan_body("Basic", standard),
        plan_fields("Basic", standard),
        "recurring needs a Stripe price ID or a PayPal plan ID",
    )
    .await;
    let mut body = plan_body("Basic", standard);
    body["stripe_price_id"] = json!("price_123");
    let (s, v) = api(&t, &token, Method::POST, "/plans", Some(body)).await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["currency"], "USD");
    assert_eq!(v["cost_minor"], 1500);

    // Every violation is named at once.
    let mut body = plan_body("Both", standard);
    body["library_group_ids"] = json!([]);
    body["is_trial"] = json!(true);
    let (s, v) = api(&t, &token, Method::POST, "/plans", Some(body)).await;
    assert_eq!(s, 422, "{v}");
    let msg = v["error"]["message"].as_str().unwrap_or_default();
    assert!(
        msg.contains("a trial plan costs nothing") && msg.contains("at least one library group"),
        "{msg}"
    );
}

#[tokio::test]
async fn downloads_need_plex_pass_or_emby_premiere_on_the_target_servers() {
    let m = media_test().await;
    let (t, token) = (&m.t, m.token.as_str());
    let (s, v) = api(t, token, Method::POST, "/servers", Some(json!({"platform": "emby", "url": m.world.emby.url(), "api_key": m.world.emby.api_key()}))).await;
    assert_eq!(s, 201, "{v}");
    let emby = v["id"].as_i64().expect("id");
    let (s, _) = api(
        t,
        token,
        Method::PATCH,
        &format!("/servers/{emby}"),
        Some(json!({"has_premiere": false})),
    )
    .await;
    assert_eq!(s, 200);
    let standard = group_id(t, token, "Standard").await;

    let mut body = plan_body("Offline", standard);
    body["downloads"] = json!(true);
    body["target_server_ids"] = json!([emby]);
    let mut fields = plan_fields("Offline", standard);
    fields.push(("downloads".into(), "true".into()));
    fields.push(("target_server_ids".into(), emby.to_string()));
    refused_both_ways(
        t,
        token,
        body.clone(),
        fields,
        "downloads need Plex Pass or Emby Premiere",
    )
    .await;

    let (s, _) = api(
        t,
        token,
        Method::PATCH,
        &format!("/servers/{emby}"),
        Some(json!({"has_premiere": true})),
    )
    .await;
    assert_eq!(s, 200);
    let (s, v) = api(t, token, Method::POST, "/plans", Some(body)).await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["target_server_ids"], json!([emby]));
}

#[tokio::test]
async fn exactly_one_plan_is_the_default_and_marking_another_moves_the_mark() {
    let (t, token) = admin_app().await;
    let standard = group_id(&t, &token, "Standard").await;

    let mut body = plan_body("Basic", standard);
    body["is_default"] = json!(false);
    let fields: Vec<_> = plan_fields("Basic", standard)
        .into_iter()
        .filter(|(k, _)| k != "is_default")
        .collect();
    refused_both_ways(
        &t,
        &token,
        body,
        fields,
        "exactly one plan must be the default: no plan is marked default",
    )
    .await;

    let (s, fields) = post_plan_page(&t, &plan_fields("Basic", standard)).await;
    assert_eq!(s, 303, "{fields}");
    let (s, premium) = api(
        &t,
        &token,
        Method::POST,
        "/plans",
        Some(plan_body("Premium", standard)),
    )
    .await;
    assert_eq!(s, 201, "{premium}");
    let (_, plans) = api(&t, &token, Method::GET, "/plans", None).await;
    let defaults: Vec<&str> = plans
        .as_array()
        .expect("plans")
        .iter()
        .filter(|p| p["is_default"] == true)
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(defaults, vec!["Premium"]);

    // Unmarking the only default leaves none.
    let id = premium["id"].as_i64().expect("id");
    let mut body = plan_body("Premium", standard);
    body["is_default"] = json!(false);
    let (s, v) = api(&t, &token, Method::PUT, &format!("/plans/{id}"), Some(body)).await;
    assert_eq!(s, 422, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("exactly one plan must be the default")
    );
    // Deleting the default while another plan remains leaves none either.
    let (s, v) = api(&t, &token, Method::DELETE, &format!("/plans/{id}"), None).await;
    assert_eq!(s, 422, "{v}");
}

async fn add_payment(t: &TestApp, plan_id: i64) {
    let customer = "INSERT INTO customers (email, email_key, created_at, updated_at) VALUES ('c@example.com', 'c@example.com', 1, 1)";
    let payment = "INSERT INTO payments (customer_id, plan_id, amount_minor, currency, period_from, period_to, method, transaction_id, created_at)
        SELECT id, $1, 1500, 'USD', 1, 2, 'manual', 'tx-1', 1 FROM customers";
    match &t.app.db {
        boxoffice_store::Db::Sqlite(p) => {
            sqlx::query(customer).execute(p).await.expect("customer");
            sqlx::query(payment)
                .bind(plan_id)
                .execute(p)
                .await
                .expect("payment");
        }
        boxoffice_store::Db::Postgres(p) => {
            sqlx::query(customer).execute(p).await.expect("customer");
            sqlx::query(payment)
                .bind(plan_id)
                .execute(p)
                .await
                .expect("payment");
        }
    }
}

#[tokio::test]
async fn a_plan_with_payments_is_deactivated_not_deleted() {
    let (t, token) = admin_app().await;
    let standard = group_id(&t, &token, "Standard").await;
    let (_, basic) = api(
        &t,
        &token,
        Method::POST,
        "/plans",
        Some(plan_body("Basic", standard)),
    )
    .await;
    let mut old = plan_body("Old", standard);
    old["is_default"] = json!(false);
    let (s, old) = api(&t, &token, Method::POST, "/plans", Some(old)).await;
    assert_eq!(s, 201, "{old}");
    let old_id = old["id"].as_i64().expect("id");
    add_payment(&t, old_id).await;

    let (s, v) = api(
        &t,
        &token,
        Method::DELETE,
        &format!("/plans/{old_id}"),
        None,
    )
    .await;
    assert_eq!(s, 409, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("deactivate it instead"),
        "{v}"
    );
    let r = t
        .post_form(
            "/admin/plans",
            &format!("/admin/plans/{old_id}/delete"),
            &[],
        )
        .await;
    assert_eq!(r.status(), 409);
    assert!(
        r.text()
            .await
            .expect("body")
            .contains("deactivate it instead")
    );

    let mut body = plan_body("Old", standard);
    body["is_default"] = json!(false);
    body["active"] = json!(false);
    let (s, v) = api(
        &t,
        &token,
        Method::PUT,
        &format!("/plans/{old_id}"),
        Some(body),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["active"], false);
    assert_eq!(basic["is_default"], true);
}

#[tokio::test]
async fn built_in_library_groups_cannot_be_renamed_or_deleted_and_a_group_in_use_stays() {
    let (t, token) = admin_app().await;
    let standard = group_id(&t, &token, "Standard").await;
    let (s, v) = api(
        &t,
        &token,
        Method::PUT,
        &format!("/library-groups/{standard}"),
        Some(json!({"name": "Everything"})),
    )
    .await;
    assert_eq!(s, 409, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("built-in"),
        "{v}"
    );
    let (s, _) = api(
        &t,
        &token,
        Method::DELETE,
        &format!("/library-groups/{standard}"),
        None,
    )
    .await;
    assert_eq!(s, 409);
    let r = t
        .post_form(
            "/admin/library-groups",
            &format!("/admin/library-groups/{standard}/delete"),
            &[],
        )
        .await;
    assert_eq!(r.status(), 409);

    // An owner's group through the page: added, renamed, used by a plan, then refused deletion.
    let r = t
        .post_form(
            "/admin/library-groups",
            "/admin/library-groups",
            &[("name", "Remux"), ("description", "")],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/admin/library-groups?done=saved");
    let remux = group_id(&t, &token, "Remux").await;
    let (s, v) = api(
        &t,
        &token,
        Method::PUT,
        &format!("/library-groups/{remux}"),
        Some(json!({"name": "Remux 4K"})),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let mut body = plan_body("Premium", standard);
    body["library_group_ids"] = json!([standard, remux]);
    let (s, v) = api(&t, &token, Method::POST, "/plans", Some(body)).await;
    assert_eq!(s, 201, "{v}");
    let r = t
        .post_form(
            "/admin/library-groups",
            &format!("/admin/library-groups/{remux}/delete"),
            &[],
        )
        .await;
    assert_eq!(r.status(), 409);
    assert!(
        r.text()
            .await
            .expect("body")
            .contains("is used by plan &#34;Premium&#34;")
    );
    let html = t.get_html("/admin/library-groups").await;
    assert!(html.contains("Remux 4K") && html.contains("built in"));
}

#[tokio::test]
async fn synced_libraries_start_in_standard_and_keep_the_group_they_are_moved_to() {
    let m = media_test().await;
    let server = m.add_jellyfin().await;
    m.t.run_pending_jobs().await;
    let standard = group_id(&m.t, &m.token, "Standard").await;
    let premium = group_id(&m.t, &m.token, "Premium 4K").await;
    let libs = m.libraries(server).await;
    assert!(!libs.is_empty());
    assert!(
        libs.iter().all(|l| l["library_group_id"] == standard),
        "{libs:?}"
    );

    let lib = libs[0]["id"].as_i64().expect("id");
    let r =
        m.t.post_form(
            "/admin/libraries",
            &format!("/admin/libraries/{lib}/group"),
            &[("library_group_id", &premium.to_string())],
        )
        .await;
    assert_eq!(r.status(), 303);
    // A second sync keeps the owner's choice.
    let (s, _) = m
        .api(Method::POST, &format!("/servers/{server}/sync"), None)
        .await;
    assert_eq!(s, 202);
    m.t.run_pending_jobs().await;
    let libs = m.libraries(server).await;
    let moved = libs.iter().find(|l| l["id"] == lib).expect("library");
    assert_eq!(moved["library_group_id"], premium);
    let (_, groups) = api(&m.t, &m.token, Method::GET, "/library-groups", None).await;
    let count = groups
        .as_array()
        .expect("groups")
        .iter()
        .find(|g| g["id"] == premium)
        .map(|g| g["library_count"].clone());
    assert_eq!(count, Some(json!(1)));
    let html = m.t.get_html("/admin/libraries").await;
    assert!(html.contains("Library group of"));
}
