use crate::helpers::*;
use serde_json::{Value, json};

#[tokio::test]
async fn the_api_needs_a_bearer_token_and_answers_in_one_error_shape() {
    let t = spawn_app().await;
    let r = t.get("/api/v1/me").await;
    assert_eq!(r.status(), 401);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unauthorized");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Bearer")
    );
    let r = t
        .client
        .get(t.url("/api/v1/me"))
        .bearer_auth("bo_not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = t.get("/api/v1/nothing-here").await;
    assert_eq!(r.status(), 404);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["code"],
        "not_found"
    );
}

#[tokio::test]
async fn a_token_is_shown_once_stored_hashed_and_revocable() {
    let t = spawn_app().await;
    t.create_admin().await;
    let token = t.admin_token().await;
    assert!(token.starts_with("bo_"));
    let r = t
        .client
        .get(t.url("/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let me: Value = r.json().await.unwrap();
    assert_eq!(me["email"], ADMIN_EMAIL);
    assert!(
        me["permissions"]
            .as_array()
            .unwrap()
            .contains(&json!("settings.write"))
    );
    let listed = t.app.list_api_tokens(None).await.unwrap();
    assert!(
        !format!("{listed:?}").contains(&token[10..]),
        "the secret is not stored"
    );
    t.app
        .revoke_api_token(&boxoffice_app::audit::Actor::cli(), listed[0].id)
        .await
        .unwrap();
    assert_eq!(
        t.client
            .get(t.url("/api/v1/me"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
}

#[tokio::test]
async fn a_token_without_the_permission_gets_403() {
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
    let token = t
        .app
        .create_api_token(
            &boxoffice_app::audit::Actor::cli(),
            "viewer@example.com",
            "x",
        )
        .await
        .unwrap()
        .secret;
    let r = t
        .client
        .get(t.url("/api/v1/settings"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["code"],
        "forbidden"
    );
}

#[tokio::test]
async fn settings_change_through_the_api_all_or_nothing() {
    let t = spawn_app().await;
    t.create_admin().await;
    let token = t.admin_token().await;
    let r = t
        .client
        .patch(t.url("/api/v1/settings"))
        .bearer_auth(&token)
        .json(&json!({"general.site_name": "Movie Club", "reminders.days_prior": "7, x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let e: Value = r.json().await.unwrap();
    assert_eq!(
        e["error"]["message"],
        "Days prior: \"x\" is not a whole number of days"
    );
    assert_eq!(e["error"]["field"], "value");
    assert_eq!(
        t.app.settings().await.unwrap().get("general.site_name"),
        "boxoffice",
        "nothing stored"
    );
    let r = t
        .client
        .patch(t.url("/api/v1/settings"))
        .bearer_auth(&token)
        .json(&json!({"general.site_name": "Movie Club", "reminders.days_prior": "1,7,3"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let all: Vec<Value> = r.json().await.unwrap();
    let days = all
        .iter()
        .find(|s| s["key"] == "reminders.days_prior")
        .unwrap();
    assert_eq!(days["value"], "7,3,1");
}

#[tokio::test]
async fn the_openapi_document_lists_every_endpoint() {
    let t = spawn_app().await;
    let doc: Value = t.get("/api/v1/openapi.json").await.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for p in [
        "/api/v1/me",
        "/api/v1/jobs",
        "/api/v1/jobs/{id}/retry",
        "/api/v1/settings",
    ] {
        assert!(doc["paths"].get(p).is_some(), "{p} missing");
    }
    assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
}
