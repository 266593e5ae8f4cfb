//! What every answer carries to protect the browser, who may read `/metrics`, and how the site
//! refuses requests it cannot accept.

use crate::helpers::*;

#[tokio::test]
async fn metrics_answer_only_with_the_configured_token() {
    let t = spawn_app_with(|c| {
        c.metrics.token = Some(boxoffice_config::Secret::new("scrape-me-please"));
    })
    .await;
    let r = t.get("/metrics").await;
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers().get("www-authenticate").unwrap(), "Bearer");
    let wrong = t
        .client
        .get(t.url("/metrics"))
        .bearer_auth("scrape-me")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let right = t
        .client
        .get(t.url("/metrics"))
        .bearer_auth("scrape-me-please")
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), 200);
    assert!(right.text().await.unwrap().contains("boxoffice_up 1"));
    // Health checks stay open: a load balancer has no token.
    assert_eq!(t.get("/healthz").await.status(), 200);
}

#[tokio::test]
async fn metrics_on_an_address_of_their_own_leave_the_site() {
    let t = spawn_app_with(|c| c.metrics.listen = Some("127.0.0.1:0".parse().unwrap())).await;
    assert_eq!(t.get("/metrics").await.status(), 404);
    let base = t.metrics_base.clone().expect("metrics listener");
    let r = t
        .client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("boxoffice_up 1"));
    // Only /metrics is there.
    let other = t.client.get(format!("{base}/login")).send().await.unwrap();
    assert_eq!(other.status(), 404);
}
