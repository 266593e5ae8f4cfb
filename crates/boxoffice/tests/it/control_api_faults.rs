//! A fault set through a fake's control API exactly as docs/sandbox.md tells a user to, and
//! what boxoffice does about it.

use crate::lifecycle::{customer, invite, open_server, plan};
use crate::servers::{MediaTest, media_test};
use reqwest::Method;
use serde_json::json;

/// Adds the Emby fake as the admin enters it (the bare URL: boxoffice calls `/emby/...`),
/// syncs its libraries and sells one plan of its Movies library.
async fn emby_selling_movies(m: &MediaTest) {
    let (s, v) = m
        .api(
            Method::POST,
            "/servers",
            Some(json!({"platform": "emby", "url": m.world.emby.url(), "api_key": m.world.emby.api_key()})),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let emby = v["id"].as_i64().expect("id");
    m.t.run_pending_jobs().await;
    open_server(&m.t.app.db, emby, &[("Movies", 2)]).await;
    plan(&m.t.app.db, 1, "Basic", 1000, &[2], &[]).await;
}

#[tokio::test]
async fn an_emby_fault_set_through_the_control_api_is_retried_and_the_user_created_once() {
    let m = media_test().await;
    emby_selling_movies(&m).await;

    // docs/sandbox.md, "Fault injection": the rule names the route as Emby documents it,
    // without the /emby root boxoffice puts in front.
    let control = m.world.emby.control_url();
    let r =
        m.t.client
            .post(format!("{control}/faults"))
            .json(
                &json!({"path": "/Users/New", "method": "POST", "remaining": 1,
                          "action": {"type": "status", "status": 503}}),
            )
            .send()
            .await
            .expect("control API");
    assert_eq!(r.status().as_u16(), 201);

    let v = invite(&m, json!({"email": "ida@example.com", "plan_id": 1})).await;
    let id = v["customer_id"].as_i64().expect("id");
    m.t.run_pending_jobs().await;
    assert!(m.world.emby.user("ida@example.com").is_none());
    let c = customer(&m, id).await;
    assert!(
        c["shares"][0]["last_error"].as_str().is_some(),
        "the failure is visible on the customer: {c}"
    );

    for _ in 0..4 {
        m.t.advance_clock(time::Duration::hours(1));
        m.t.run_pending_jobs().await;
    }
    let creates: Vec<(String, Option<u16>, bool)> = m
        .world
        .emby
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path.eq_ignore_ascii_case("/emby/Users/New"))
        .map(|r| (r.path, r.status, r.fault.is_some()))
        .collect();
    assert_eq!(
        creates,
        [
            ("/emby/Users/New".to_string(), Some(503), true),
            ("/emby/Users/New".to_string(), Some(200), false),
        ],
        "the injected failure fired on boxoffice's call and the retry went through"
    );
    let users = m.world.emby.users();
    assert_eq!(
        users.iter().filter(|u| u.name == "ida@example.com").count(),
        1
    );
    let c = customer(&m, id).await;
    assert_eq!(c["shares"][0]["state"], "active", "{c}");
    assert_eq!(c["shares"][0]["applied"], json!(true), "{c}");
}
