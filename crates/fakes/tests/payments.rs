//! The payment fakes as a client sees them over HTTP: webhook retries and the delivery log,
//! list paging, the providers' error answers, NVP truncation, request-id replays, faults, and
//! the sandbox's JSON line.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use boxoffice_fakes::{Delivery, PayPalFake, PlisioFake, StripeFake, World};
use reqwest::Client;
use serde_json::{Value, json};

fn client() -> Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

/// A webhook endpoint answering 500 to the first `fail` deliveries, then 200.
async fn endpoint(fail: u32) -> (String, Arc<AtomicU32>) {
    let hits = Arc::new(AtomicU32::new(0));
    let app = Router::new()
        .route(
            "/hook",
            post(move |State(h): State<Arc<AtomicU32>>| async move {
                if h.fetch_add(1, Ordering::SeqCst) < fail {
                    StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    StatusCode::OK
                }
            }),
        )
        .with_state(hits.clone());
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    (url, hits)
}

/// Waits (bounded) until `done` holds for the fake's delivery log.
async fn deliveries_until(fake: &StripeFake, done: impl Fn(&[Delivery]) -> bool) -> Vec<Delivery> {
    for _ in 0..500 {
        let d = fake.deliveries();
        if done(&d) {
            return d;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!(
        "deliveries never reached the expected state: {:?}",
        fake.deliveries()
    );
}

#[tokio::test]
async fn a_stripe_delivery_answered_500_is_retried_with_a_fresh_signature_until_delivered() {
    let fake = StripeFake::start().await.unwrap();
    let (url, hits) = endpoint(2).await;
    fake.set_webhook_url(Some(&url), Some(vec![30, 30, 30]));
    fake.create_payment(1234, "usd", "p@example.com", "outside");
    let d = deliveries_until(&fake, |d| d.iter().any(|x| x.state == "delivered")).await;
    let d = &d[0];
    assert_eq!(
        (d.event_type.as_str(), d.attempts, d.last_status),
        ("charge.succeeded", 3, Some(200))
    );
    assert_eq!(hits.load(Ordering::SeqCst), 3);
    let sig = d
        .headers
        .iter()
        .find(|(k, _)| k == "Stripe-Signature")
        .map(|(_, v)| v.clone())
        .unwrap();
    assert!(sig.starts_with("t=") && sig.contains(",v1="), "{sig}");
}

#[tokio::test]
async fn a_delivery_that_never_succeeds_fails_when_the_schedule_runs_out() {
    let fake = StripeFake::start().await.unwrap();
    let (url, _) = endpoint(u32::MAX).await;
    fake.set_webhook_url(Some(&url), Some(vec![10, 10]));
    fake.create_payment(500, "usd", "p@example.com", "outside");
    let d = deliveries_until(&fake, |d| d.iter().any(|x| x.state == "failed")).await;
    assert_eq!((d[0].attempts, d[0].last_status), (3, Some(500)));
}

#[tokio::test]
async fn the_control_api_sets_the_webhook_and_retries_pending_deliveries_now() {
    let fake = StripeFake::start().await.unwrap();
    let (url, hits) = endpoint(1).await;
    let c = client();
    let ctl = fake.control_url();
    let s: Value = c
        .put(format!("{ctl}/webhook"))
        .json(&json!({"url": url, "retry_schedule_ms": [3_600_000]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(s["retry_schedule_ms"], json!([3_600_000]));
    fake.create_payment(500, "usd", "p@example.com", "outside");
    deliveries_until(&fake, |d| d.first().is_some_and(|x| x.attempts == 1)).await;
    let r = c
        .post(format!("{ctl}/deliveries/retry"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 202);
    deliveries_until(&fake, |d| d.first().is_some_and(|x| x.state == "delivered")).await;
    assert_eq!(
        hits.load(Ordering::SeqCst),
        2,
        "the hour-long wait was skipped"
    );
    let listed: Vec<Value> = c
        .get(format!("{ctl}/deliveries"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed[0]["event_type"], "charge.succeeded");
}

#[tokio::test]
async fn stripe_lists_newest_first_and_pages_with_starting_after() {
    let fake = StripeFake::start().await.unwrap();
    for n in 1..=3 {
        fake.create_payment(n * 100, "usd", "p@example.com", "outside");
    }
    let c = client();
    let key = fake.secret_key();
    let page: Value = c
        .get(format!("{}/v1/charges?limit=2", fake.url()))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["object"], "list");
    assert_eq!(page["has_more"], true);
    let amounts: Vec<i64> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["amount"].as_i64().unwrap())
        .collect();
    assert_eq!(amounts, vec![300, 200]);
    let last = page["data"][1]["id"].as_str().unwrap();
    let rest: Value = c
        .get(format!(
            "{}/v1/charges?limit=2&starting_after={last}",
            fake.url()
        ))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(rest["has_more"], false);
    assert_eq!(rest["data"][0]["amount"], 100);
}

#[tokio::test]
async fn stripe_answers_a_wrong_key_and_an_unknown_object_with_its_error_bodies() {
    let fake = StripeFake::start().await.unwrap();
    let c = client();
    let r = c
        .get(format!("{}/v1/charges", fake.url()))
        .bearer_auth("sk_test_nope")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["type"], "invalid_request_error");
    let r = c
        .get(format!("{}/v1/charges/ch_missing", fake.url()))
        .bearer_auth(fake.secret_key())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "resource_missing");
    assert_eq!(v["error"]["message"], "No such charge: 'ch_missing'");
}

#[tokio::test]
async fn a_fault_rule_on_a_gateway_route_answers_with_the_providers_body_and_an_unserved_one_is_refused()
 {
    let fake = StripeFake::start().await.unwrap();
    let c = client();
    let ctl = fake.control_url();
    let r = c.post(format!("{ctl}/faults")).json(&json!({"path": "/v1/charges", "method": "GET", "remaining": 1, "action": {"type": "rate_limit", "retry_after": 7}})).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let r = c
        .get(format!("{}/v1/charges", fake.url()))
        .bearer_auth(fake.secret_key())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 429);
    assert_eq!(r.headers()["retry-after"], "7");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "rate_limit");
    let r = c
        .post(format!("{ctl}/faults"))
        .json(&json!({"path": "/v1/nothing", "action": {"type": "status", "status": 503}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 422);
}

#[tokio::test]
async fn paypal_nvp_search_stops_at_100_rows_with_the_truncation_warning() {
    let fake = PayPalFake::start().await.unwrap();
    for _ in 0..101 {
        fake.receive_payment("secondary", "1.00", "USD", "f@example.com", "F")
            .unwrap();
    }
    let a = &fake.nvp_accounts()[1];
    let body = client()
        .post(fake.nvp_url())
        .form(&[
            ("USER", a.username.as_str()),
            ("PWD", &a.password),
            ("SIGNATURE", &a.signature),
            ("VERSION", "204.0"),
            ("METHOD", "TransactionSearch"),
            ("STARTDATE", "2000-01-01T00:00:00Z"),
        ])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        body.contains("ACK=SuccessWithWarning") && body.contains("L_ERRORCODE0=11002"),
        "{body}"
    );
    assert!(body.contains("L_TRANSACTIONID99=") && !body.contains("L_TRANSACTIONID100="));
    let bad = client()
        .post(fake.nvp_url())
        .form(&[
            ("USER", "x"),
            ("PWD", "y"),
            ("SIGNATURE", "z"),
            ("METHOD", "TransactionSearch"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        bad.status().as_u16(),
        200,
        "NVP answers 200 even for a failure"
    );
    let text = bad.text().await.unwrap();
    assert!(
        text.contains("ACK=Failure") && text.contains("L_ERRORCODE0=10002"),
        "{text}"
    );
}

#[tokio::test]
async fn paypal_replays_an_order_create_with_the_same_request_id_as_200() {
    let fake = PayPalFake::start().await.unwrap();
    let c = client();
    let tok: Value = c
        .post(format!("{}/v1/oauth2/token", fake.url()))
        .basic_auth(fake.client_id(), Some(fake.client_secret()))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = tok["access_token"].as_str().unwrap().to_string();
    assert_eq!(tok["token_type"], "Bearer");
    let order = json!({"intent": "CAPTURE", "purchase_units": [{"amount": {"currency_code": "USD", "value": "10.00"}}]});
    let send = || {
        c.post(format!("{}/v2/checkout/orders", fake.url()))
            .bearer_auth(&token)
            .header("PayPal-Request-Id", "order:1")
            .json(&order)
            .send()
    };
    let first = send().await.unwrap();
    assert_eq!(first.status().as_u16(), 201);
    let a: Value = first.json().await.unwrap();
    let second = send().await.unwrap();
    assert_eq!(second.status().as_u16(), 200);
    let b: Value = second.json().await.unwrap();
    assert_eq!(a["id"], b["id"]);
    let r = c
        .post(format!(
            "{}/v2/checkout/orders/{}/capture",
            fake.url(),
            a["id"].as_str().unwrap()
        ))
        .bearer_auth(&token)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 422);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["details"][0]["issue"], "ORDER_NOT_APPROVED");
    let bad = c
        .post(format!("{}/v1/oauth2/token", fake.url()))
        .basic_auth("x", Some("y"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status().as_u16(), 401);
    assert_eq!(
        bad.json::<Value>().await.unwrap()["error"],
        "invalid_client"
    );
}

#[tokio::test]
async fn plisio_wants_its_api_key_and_names_each_blank_field() {
    let fake = PlisioFake::start().await.unwrap();
    let c = client();
    let r = c.get(format!("{}/invoices/new?api_key=wrong&order_number=1&order_name=x&source_amount=1&source_currency=USD", fake.api_url())).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["status"], "error");
    let r = c
        .get(format!(
            "{}/invoices/new?api_key={}&source_currency=USD",
            fake.api_url(),
            fake.api_key()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 422);
    let v: Value = r.json().await.unwrap();
    let fields: Value = serde_json::from_str(v["data"]["message"].as_str().unwrap()).unwrap();
    assert!(
        fields["order_number"].is_string()
            && fields["order_name"].is_string()
            && fields["source_amount"].is_string(),
        "{fields}"
    );
}

#[tokio::test]
async fn the_sandbox_line_describes_the_three_gateways() {
    let world = World::seed_default().await.unwrap();
    let line = world.describe();
    for k in [
        "url",
        "control",
        "secret_key",
        "publishable_key",
        "webhook_secret",
    ] {
        assert!(line["stripe"][k].is_string(), "stripe.{k}");
    }
    assert_eq!(line["stripe"]["prices"][0]["interval"], "month");
    for k in [
        "url",
        "nvp_url",
        "control",
        "client_id",
        "client_secret",
        "webhook_id",
        "cert_url",
    ] {
        assert!(line["paypal"][k].is_string(), "paypal.{k}");
    }
    assert!(
        line["paypal"]["plans"][0]["id"]
            .as_str()
            .unwrap()
            .starts_with("P-")
    );
    assert!(line["paypal"]["accounts"]["secondary"]["nvp_signature"].is_string());
    for k in ["url", "control", "api_key"] {
        assert!(line["plisio"][k].is_string(), "plisio.{k}");
    }
    assert!(line["plisio"]["url"].as_str().unwrap().ends_with("/api/v1"));
}
