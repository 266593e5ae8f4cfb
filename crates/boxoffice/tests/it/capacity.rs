//! Money and capacity: an invite no server has room for is refused and writes nothing; money
//! already taken is never lost for want of a server, the customer waits visibly and is placed
//! by a job once a server has room.

use crate::lifecycle::{customer, exec, jellyfin};
use crate::request_apps::{enable_overseerr, world_with_plan};
use crate::servers::{MediaTest, media_test};
use boxoffice_app::audit::Actor;
use boxoffice_app::subscriptions::RenewInput;
use boxoffice_domain::selection::NO_CAPACITY_TEXT;
use reqwest::Method;
use serde_json::{Value, json};

async fn count(m: &MediaTest, table: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM {table}");
    boxoffice_store::run!(m.t.app.db.ex(), |e| sqlx::query_scalar::<_, i64>(
        sqlx::AssertSqlSafe(sql.clone())
    )
    .fetch_one(e)
    .await)
    .expect("count")
}

async fn close_servers(m: &MediaTest) {
    exec(
        &m.t.app.db,
        "UPDATE servers SET allow_new_subscriptions = FALSE".into(),
    )
    .await;
}

#[tokio::test]
async fn an_invite_refused_for_capacity_leaves_no_customer_payment_or_request_app_account() {
    let m = media_test().await;
    world_with_plan(&m).await;
    enable_overseerr(&m).await;
    close_servers(&m).await;
    let before = (count(&m, "customers").await, count(&m, "payments").await);

    let (s, v) = m
        .api(
            Method::POST,
            "/invites",
            Some(json!({"email": "hal@example.com", "plan_id": 1})),
        )
        .await;
    assert_eq!(s, 409, "{v}");
    let text = v["error"]["message"]
        .as_str()
        .or(v["message"].as_str())
        .map(str::to_string)
        .unwrap_or_else(|| v.to_string());
    assert!(
        text.contains(&format!("{NO_CAPACITY_TEXT} Basic"))
            && text.contains("nothing was recorded"),
        "{v}"
    );
    m.t.run_pending_jobs().await;

    assert_eq!(
        (count(&m, "customers").await, count(&m, "payments").await),
        before,
        "no customer and no payment"
    );
    assert_eq!(count(&m, "waiting_for_server").await, 0);
    assert!(
        m.world
            .request_apps
            .overseerr
            .user_by_email("hal@example.com")
            .is_none(),
        "no request-app account"
    );
}

#[tokio::test]
async fn a_paid_import_with_no_server_room_waits_visibly_and_is_placed_when_a_server_gets_room() {
    let m = media_test().await;
    let jf = jellyfin(&m).await;
    close_servers(&m).await;
    let (s, v) = m
        .api(
            Method::POST,
            "/invites",
            Some(json!({"email": "ivy@example.com", "plan_id": 1,
                "transaction_id": "PAYID-IVY", "wait_for_server": true})),
        )
        .await;
    assert_eq!(s, 201, "the payment is recorded: {v}");
    let id = v["customer_id"].as_i64().expect("id");
    let c = customer(&m, id).await;
    assert_eq!(c["status"], "active", "{c}");
    assert_eq!(c["shares"].as_array().map(Vec::len), Some(0), "{c}");
    assert_eq!(
        c["waiting_for_server"]["message"],
        json!(format!("{NO_CAPACITY_TEXT} Basic")),
        "{c}"
    );
    let page = m.t.get_html(&format!("/admin/users/{id}")).await;
    assert!(page.contains("Paid, waiting for a server"), "{page}");

    // Still full: the retry changes nothing and tells the admin nothing new.
    let report = m.t.app.place_waiting_customers().await.expect("place");
    assert_eq!((report.placed, report.waiting), (0, 1));
    let events = customer(&m, id).await["events"].clone();
    assert_eq!(events.as_array().map(Vec::len), Some(1), "{events}");

    // The admin opens the server: that edit queues the placement, whose share job invites her.
    let (s, v) = m
        .api(
            Method::PATCH,
            &format!("/servers/{jf}"),
            Some(json!({"allow_new_subscriptions": true})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    m.t.run_pending_jobs().await;
    assert!(
        m.world.jellyfin.user("ivy@example.com").is_some(),
        "invited once a server had room"
    );
    let c = customer(&m, id).await;
    assert_eq!(c["waiting_for_server"], Value::Null, "{c}");
    assert_eq!(c["shares"][0]["state"], "active", "{c}");
}

#[tokio::test]
async fn a_renewal_with_no_server_room_keeps_the_payment_and_waits() {
    let m = media_test().await;
    let jf = jellyfin(&m).await;
    exec(
        &m.t.app.db,
        format!("UPDATE servers SET max_users = 1 WHERE id = {jf}"),
    )
    .await;
    let (_, v) = m
        .api(
            Method::POST,
            "/invites",
            Some(json!({"email": "jo@example.com", "plan_id": 1})),
        )
        .await;
    let jo = v["customer_id"].as_i64().expect("id");
    m.t.run_pending_jobs().await;
    // Jo expires and loses the share; Kim takes the only place.
    m.t.advance_clock(time::Duration::days(31));
    m.t.app.run_expiry().await.expect("expiry");
    m.t.run_pending_jobs().await;
    let (s, v) = m
        .api(
            Method::POST,
            "/invites",
            Some(json!({"email": "kim@example.com", "plan_id": 1})),
        )
        .await;
    assert_eq!(s, 201, "{v}");

    let out =
        m.t.app
            .renew(&Actor::system(), jo, RenewInput::default())
            .await
            .expect("a renewal is money taken: it is recorded");
    assert!(out.no_capacity.is_some());
    let c = customer(&m, jo).await;
    assert_eq!(c["status"], "active", "{c}");
    assert!(c["waiting_for_server"].is_object(), "{c}");
}
