//! The authorization matrix, read from the API's own OpenAPI document so a new endpoint is
//! covered the day it is added: every operation refuses a caller without a token (401) and a
//! customer's token (403) before it looks at its input or touches anything; and every admin
//! page and form, read from the web crate's route tables, refuses a customer's session (403).

use crate::helpers::*;
use boxoffice_app::audit::Actor;
use boxoffice_domain::RoleKind;
use reqwest::Method;
use serde_json::Value;

/// Operations any logged-in caller may use: they only ever show or change the caller's own
/// account.
const OWN_ACCOUNT: &[(&str, &str)] = &[
    ("get", "/api/v1/me"),
    ("post", "/api/v1/me/plex-account"),
    ("post", "/api/v1/me/reinvite"),
];

fn concrete(path: &str) -> String {
    // Each `{param}` becomes a plausible value: ids 1, names "x".
    let mut out = String::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let end = rest[start..]
            .find('}')
            .map_or(rest.len(), |e| start + e + 1);
        let name = &rest[start + 1..end - 1];
        out.push_str(if name == "id" || name.ends_with("_id") {
            "1"
        } else {
            "x"
        });
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

async fn operations(t: &TestApp, token: &str) -> Vec<(String, String)> {
    let doc: Value = t
        .client
        .get(t.url("/api/v1/openapi.json"))
        .bearer_auth(token)
        .send()
        .await
        .expect("openapi")
        .json()
        .await
        .expect("json");
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_some() {
                ops.push((method.to_string(), path.clone()));
            }
        }
    }
    ops
}

async fn call(t: &TestApp, method: &str, path: &str, token: Option<&str>) -> u16 {
    let method = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
    let mut req = t.client.request(method, t.url(&concrete(path)));
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    // A body that is valid JSON but wrong for every operation: refusal must come first anyway.
    req = req.header("content-type", "application/json").body("{}");
    req.send().await.expect("request").status().as_u16()
}

#[tokio::test]
async fn every_api_operation_refuses_a_caller_without_a_token_and_a_customers_token() {
    let t = spawn_app().await;
    t.create_admin().await;
    let admin = t.admin_token().await;
    t.app
        .create_login(
            &Actor::cli(),
            "customer@example.com",
            "Cust0mer-pw!",
            RoleKind::User,
        )
        .await
        .expect("customer login");
    let customer = t
        .app
        .create_api_token(&Actor::cli(), "customer@example.com", "mine")
        .await
        .expect("token")
        .secret;
    let ops = operations(&t, &admin).await;
    assert!(ops.len() > 60, "the document lists the API: {}", ops.len());
    let mut leaks = Vec::new();
    for (method, path) in &ops {
        let anonymous = call(&t, method, path, None).await;
        if anonymous != 401 {
            leaks.push(format!("{method} {path}: {anonymous} without a token"));
        }
        let own = OWN_ACCOUNT.contains(&(method.as_str(), path.as_str()));
        let as_customer = call(&t, method, path, Some(&customer)).await;
        if !own && as_customer != 403 {
            leaks.push(format!(
                "{method} {path}: {as_customer} for a customer's token"
            ));
        }
    }
    assert!(
        leaks.is_empty(),
        "{} leaks:\n{}",
        leaks.len(),
        leaks.join("\n")
    );
    println!("{} API operations refused as expected", ops.len());
}

/// Every `/admin…` path the web crate registers, read from its route tables.
fn admin_paths() -> Vec<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../web/src/pages");
    let mut out = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(&dir).expect("pages dir") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("source");
        let mut rest = text.as_str();
        while let Some(at) = rest.find(".route(") {
            rest = &rest[at + ".route(".len()..];
            let trimmed = rest.trim_start();
            if let Some(lit) = trimmed.strip_prefix("\"/admin")
                && let Some(end) = lit.find('"')
            {
                out.insert(format!("/admin{}", &lit[..end]));
            }
        }
    }
    out.into_iter().collect()
}

#[tokio::test]
async fn every_admin_page_and_form_refuses_a_customer_session() {
    let t = spawn_app().await;
    t.create_admin().await;
    t.app
        .create_login(
            &Actor::cli(),
            "customer@example.com",
            "Cust0mer-pw!",
            RoleKind::User,
        )
        .await
        .expect("customer login");
    let r = t.login("customer@example.com", "Cust0mer-pw!").await;
    assert_eq!(r.status(), 303, "customer login");
    let csrf = csrf_from(&t.get_html("/account").await);
    let paths = admin_paths();
    assert!(paths.len() > 40, "{paths:?}");
    let mut leaks = Vec::new();
    for p in &paths {
        let url = concrete(p);
        let status = t.get(&url).await.status().as_u16();
        // A route without GET is a form target: post to it with a valid CSRF token, so only
        // the permission can refuse it.
        let (method, status) = if status == 405 {
            let r = t
                .client
                .post(t.url(&url))
                .form(&[("csrf", csrf.as_str())])
                .send()
                .await
                .expect("post");
            ("POST", r.status().as_u16())
        } else {
            ("GET", status)
        };
        if status != 403 {
            leaks.push(format!("{method} {url}: {status}"));
        }
    }
    assert!(
        leaks.is_empty(),
        "{} leaks:\n{}",
        leaks.len(),
        leaks.join("\n")
    );
    println!("{} admin routes refused as expected", paths.len());
}
