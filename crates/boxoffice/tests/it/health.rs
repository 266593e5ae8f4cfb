use crate::helpers::*;

#[tokio::test]
async fn healthz_reports_the_database() {
    let t = spawn_app().await;
    let r = t.get("/healthz").await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap(),
        serde_json::json!({"status": "ok", "database": "ok"})
    );
    t.app.db.close().await;
    let r = t.get("/healthz").await;
    assert_eq!(r.status(), 503);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["database"],
        "unreachable"
    );
}

#[tokio::test]
async fn a_database_outage_is_a_503_page_not_a_missing_login() {
    let t = spawn_app().await;
    t.create_admin().await;
    let csrf = csrf_from(&t.get_html("/login").await);
    t.app.db.close().await;
    let r = t
        .client
        .post(t.url("/login"))
        .form(&[
            ("email", ADMIN_EMAIL),
            ("password", ADMIN_PASSWORD),
            ("csrf", &csrf),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    assert!(r.text().await.unwrap().contains("database is unavailable"));
}

#[tokio::test]
async fn metrics_count_requests_and_jobs_by_state() {
    let t = spawn_app().await;
    t.get("/healthz").await;
    let r = t.get("/metrics").await;
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = r.text().await.unwrap();
    assert!(
        text.contains(
            "boxoffice_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"} 1"
        ),
        "{text}"
    );
    assert!(text.contains("boxoffice_http_request_duration_seconds_bucket{method=\"GET\",route=\"/healthz\",le=\"+Inf\"} 1"), "{text}");
    assert!(text.contains("boxoffice_jobs{state=\"dead\"} 0"), "{text}");
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let t = spawn_app().await;
    let r = t.get("/healthz").await;
    let id = r
        .headers()
        .get("x-request-id")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(id.len(), 16);
    let r = t
        .client
        .get(t.url("/healthz"))
        .header("x-request-id", "abc123")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()["x-request-id"],
        "abc123",
        "a proxy's id is kept"
    );
}
