//! `Idempotency-Key` on API writes: a client retrying a write after a timeout gets the first
//! answer back and nothing is done twice; a key is its token's own and is never reused for
//! another request.

use crate::helpers::*;
use reqwest::Method;
use serde_json::{Value, json};

async fn send(
    t: &TestApp,
    token: &str,
    key: Option<&str>,
    body: &Value,
) -> (u16, Option<String>, Value) {
    let mut req = t
        .client
        .request(Method::POST, t.url("/api/v1/plans"))
        .bearer_auth(token)
        .json(body);
    if let Some(k) = key {
        req = req.header("Idempotency-Key", k);
    }
    let r = req.send().await.expect("api request");
    let status = r.status().as_u16();
    let replayed = r
        .headers()
        .get("idempotent-replayed")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    (status, replayed, r.json().await.unwrap_or(Value::Null))
}

fn plan(name: &str) -> Value {
    json!({"name": name, "cost_minor": 1500, "duration_unit": "months", "duration_count": 1,
        "library_group_ids": [2], "is_default": name == "Gold"})
}

async fn plans_named(t: &TestApp, token: &str, name: &str) -> usize {
    let r = t
        .client
        .get(t.url("/api/v1/plans"))
        .bearer_auth(token)
        .send()
        .await
        .expect("list");
    let v: Value = r.json().await.expect("json");
    v.as_array()
        .expect("plans")
        .iter()
        .filter(|p| p["name"] == name)
        .count()
}

#[tokio::test]
async fn a_retried_write_with_the_same_idempotency_key_gets_the_first_answer_and_creates_nothing_twice()
 {
    let t = spawn_app().await;
    t.create_admin().await;
    let token = t.admin_token().await;

    let (s1, r1, v1) = send(&t, &token, Some("create-gold-1"), &plan("Gold")).await;
    assert_eq!((s1, r1.as_deref()), (201, None), "{v1}");
    let (s2, r2, v2) = send(&t, &token, Some("create-gold-1"), &plan("Gold")).await;
    assert_eq!((s2, r2.as_deref()), (201, Some("true")), "{v2}");
    assert_eq!(v2, v1, "the replay is the first answer");
    assert_eq!(plans_named(&t, &token, "Gold").await, 1);

    // The same key with another body is a client mistake, refused without doing anything.
    let (s, _, v) = send(&t, &token, Some("create-gold-1"), &plan("Silver")).await;
    assert_eq!(s, 422, "{v}");
    assert_eq!(v["error"]["field"], "Idempotency-Key", "{v}");
    assert_eq!(plans_named(&t, &token, "Silver").await, 0);

    // A refused request is saved too: its retry is refused the same way without running.
    let mut bad = plan("Bronze");
    bad["library_group_ids"] = json!([]);
    let (s, _, _) = send(&t, &token, Some("bronze"), &bad).await;
    assert_eq!(s, 422);
    let (s, replayed, _) = send(&t, &token, Some("bronze"), &bad).await;
    assert_eq!((s, replayed.as_deref()), (422, Some("true")));

    // Keys belong to their token: another token's same key is a new request, which runs (and
    // is refused: plan names are unique).
    let other = t.admin_token().await;
    let (s, replayed, v) = send(&t, &other, Some("create-gold-1"), &plan("Gold")).await;
    assert_eq!((s, replayed.as_deref()), (422, None), "{v}");
    assert!(v.to_string().contains("plan names are unique"), "{v}");

    // Without a key, a repeat runs again.
    let (s, _, _) = send(&t, &token, None, &plan("Plain")).await;
    assert_eq!(s, 201);
    let (s, replayed, _) = send(&t, &token, None, &plan("Plain")).await;
    assert_eq!((s, replayed.as_deref()), (422, None));
    assert_eq!(plans_named(&t, &token, "Plain").await, 1);
}

#[tokio::test]
async fn a_malformed_idempotency_key_is_refused_before_anything_runs() {
    let t = spawn_app().await;
    t.create_admin().await;
    let token = t.admin_token().await;
    let long = "k".repeat(256);
    for key in [long.as_str(), "has space"] {
        let (s, _, v) = send(&t, &token, Some(key), &plan("Odd")).await;
        assert_eq!(s, 422, "{v}");
        assert_eq!(v["error"]["field"], "Idempotency-Key", "{v}");
    }
    assert_eq!(plans_named(&t, &token, "Odd").await, 0);
}
