//! The HTTP core against a small axum server on 127.0.0.1: error classes, retries that honour
//! `Retry-After` on a test clock, idempotency keys, typed decoding, redaction, the latency hook.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use boxoffice_domain::TestClock;
use boxoffice_http::{
    CallObserver, CallRecord, ClockSleeper, HttpClient, HttpConfig, HttpError, Request,
    RetryPolicy, Secret,
};

#[derive(Default)]
struct Hits {
    flaky: AtomicU32,
    busy: AtomicU32,
    post: AtomicU32,
}

async fn server() -> (String, Arc<Hits>) {
    let hits = Arc::new(Hits::default());
    let app = Router::new()
        .route(
            "/ok",
            get(|| async {
                (
                    [("content-type", "application/json")],
                    r#"{"id":"x1","amount":1500}"#,
                )
            }),
        )
        .route("/bad-json", get(|| async { "{not json" }))
        .route(
            "/missing",
            get(|| async {
                (
                    StatusCode::NOT_FOUND,
                    r#"{"error":{"message":"No such thing"}}"#,
                )
            }),
        )
        .route(
            "/echo-query",
            get(|RawQuery(q): RawQuery| async move {
                (
                    StatusCode::BAD_REQUEST,
                    format!("bad request: {}", q.unwrap_or_default()),
                )
            }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                "late"
            }),
        )
        .route(
            "/flaky",
            get(|State(h): State<Arc<Hits>>| async move {
                if h.flaky.fetch_add(1, Ordering::SeqCst) < 2 {
                    StatusCode::SERVICE_UNAVAILABLE.into_response()
                } else {
                    "fine".into_response()
                }
            }),
        )
        .route(
            "/busy",
            get(|State(h): State<Arc<Hits>>| async move {
                if h.busy.fetch_add(1, Ordering::SeqCst) == 0 {
                    (
                        StatusCode::TOO_MANY_REQUESTS,
                        [("retry-after", "30")],
                        "slow down",
                    )
                        .into_response()
                } else {
                    "done".into_response()
                }
            }),
        )
        .route(
            "/very-busy",
            get(|| async {
                (
                    StatusCode::TOO_MANY_REQUESTS,
                    [("retry-after", "Thu, 01 Jan 2026 01:00:00 GMT")],
                    "later",
                )
            }),
        )
        .route(
            "/create",
            post(
                |State(h): State<Arc<Hits>>, headers: HeaderMap| async move {
                    let n = h.post.fetch_add(1, Ordering::SeqCst);
                    if n == 0 {
                        return StatusCode::BAD_GATEWAY.into_response();
                    }
                    let key = headers
                        .get("idempotency-key")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_string();
                    format!("created with {key}").into_response()
                },
            ),
        )
        .with_state(hits.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), hits)
}

fn test_clock() -> (TestClock, ClockSleeper) {
    let c = TestClock::at(time::macros::datetime!(2026-01-01 0:00 UTC));
    let s = ClockSleeper::new(c.clone());
    (c, s)
}

fn client(base: &str, clock: &TestClock, sleeper: &ClockSleeper) -> HttpClient {
    HttpClient::new(
        HttpConfig::new("Test API", base)
            .timeout(Duration::from_millis(500))
            .clock(Arc::new(clock.clone()), Arc::new(sleeper.clone())),
    )
    .unwrap()
}

#[derive(serde::Deserialize, Debug, PartialEq)]
struct Thing {
    id: String,
    amount: i64,
}

#[tokio::test]
async fn a_2xx_json_body_decodes_into_a_struct() {
    let (base, _) = server().await;
    let (c, s) = test_clock();
    let t: Thing = client(&base, &c, &s)
        .call_json(Request::get("/ok"))
        .await
        .unwrap();
    assert_eq!(
        t,
        Thing {
            id: "x1".into(),
            amount: 1500
        }
    );
}

#[tokio::test]
async fn a_body_that_is_not_the_expected_json_is_a_decode_error() {
    let (base, _) = server().await;
    let (c, s) = test_clock();
    let e = client(&base, &c, &s)
        .call_json::<Thing>(Request::get("/bad-json").op("read thing"))
        .await
        .unwrap_err();
    assert!(matches!(e, HttpError::Decode { .. }), "{e:?}");
    assert!(
        e.to_string().contains("Test API answered read thing"),
        "{e}"
    );
}

#[tokio::test]
async fn a_4xx_is_a_client_error_quoting_the_body() {
    let (base, _) = server().await;
    let (c, s) = test_clock();
    let e = client(&base, &c, &s)
        .call(Request::get("/missing"))
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(404));
    assert!(!e.is_retryable());
    assert!(e.body().unwrap().contains("No such thing"), "{e}");
}

#[tokio::test]
async fn a_secret_query_parameter_never_shows_in_the_error() {
    let (base, _) = server().await;
    let (c, s) = test_clock();
    let key = Secret::new("very-secret-api-key");
    let e = client(&base, &c, &s)
        .call(
            Request::get("/echo-query")
                .secret_query("api_key", &key)
                .query("x", "1"),
        )
        .await
        .unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("api_key=[redacted]"), "{msg}");
    assert!(!msg.contains("very-secret"), "{msg}");
}

#[tokio::test]
async fn a_5xx_on_a_get_is_retried_with_backoff_until_it_succeeds() {
    let (base, hits) = server().await;
    let (c, s) = test_clock();
    let r = client(&base, &c, &s)
        .call(Request::get("/flaky"))
        .await
        .unwrap();
    assert_eq!(r.text(), "fine");
    assert_eq!(hits.flaky.load(Ordering::SeqCst), 3);
    assert_eq!(s.waits().len(), 2, "two backoffs on the test clock");
}

#[tokio::test]
async fn a_5xx_on_a_post_without_an_idempotency_key_is_not_repeated() {
    let (base, hits) = server().await;
    let (c, s) = test_clock();
    let e = client(&base, &c, &s)
        .call(Request::post("/create"))
        .await
        .unwrap_err();
    assert!(matches!(e, HttpError::Server { status: 502, .. }), "{e:?}");
    assert!(e.is_retryable());
    assert_eq!(hits.post.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_post_with_an_idempotency_key_is_retried_with_the_same_key() {
    let (base, hits) = server().await;
    let (c, s) = test_clock();
    let r = client(&base, &c, &s)
        .call(Request::post("/create").idempotency_key("Idempotency-Key", "checkout:7:1"))
        .await
        .unwrap();
    assert_eq!(r.text(), "created with checkout:7:1");
    assert_eq!(hits.post.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_429_waits_exactly_the_retry_after_on_the_test_clock() {
    let (base, _) = server().await;
    let (c, s) = test_clock();
    let r = client(&base, &c, &s)
        .call(Request::get("/busy"))
        .await
        .unwrap();
    assert_eq!(r.text(), "done");
    assert_eq!(s.waits(), vec![Duration::from_secs(30)]);
}

#[tokio::test]
async fn a_retry_after_longer_than_the_limit_is_returned_as_rate_limited() {
    let (base, _) = server().await;
    let (c, s) = test_clock();
    let e = client(&base, &c, &s)
        .call(Request::get("/very-busy"))
        .await
        .unwrap_err();
    // An HTTP-date one hour after the test clock's "now".
    assert_eq!(e.retry_after(), Some(Duration::from_secs(3600)));
    assert!(matches!(e, HttpError::RateLimited { .. }));
    assert!(s.waits().is_empty(), "an hour is not waited out inline");
}

#[tokio::test]
async fn no_answer_within_the_timeout_is_a_timeout_error() {
    let (base, _) = server().await;
    let (c, s) = test_clock();
    let http = HttpClient::new(
        HttpConfig::new("Test API", &base)
            .timeout(Duration::from_millis(200))
            .retry(RetryPolicy::none())
            .clock(Arc::new(c.clone()), Arc::new(s.clone())),
    )
    .unwrap();
    let e = http
        .call(Request::get("/slow").op("read slowly"))
        .await
        .unwrap_err();
    assert!(matches!(e, HttpError::Timeout { .. }), "{e:?}");
    assert!(e.to_string().contains("did not answer read slowly"));
}

#[tokio::test]
async fn a_refused_connection_is_a_connect_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let (c, s) = test_clock();
    let e = client(&base, &c, &s)
        .call(Request::post("/x"))
        .await
        .unwrap_err();
    assert!(matches!(e, HttpError::Connect { .. }), "{e:?}");
    // Nothing reached the server, so even a POST was tried again.
    assert_eq!(s.waits().len(), 2);
}

#[derive(Debug, Default)]
struct Recorder(Mutex<Vec<(String, Option<u16>, u32)>>);

impl CallObserver for Recorder {
    fn observe(&self, c: &CallRecord<'_>) {
        self.0
            .lock()
            .unwrap()
            .push((c.op.to_string(), c.status, c.attempt));
    }
}

#[tokio::test]
async fn the_latency_hook_sees_every_attempt() {
    let (base, _) = server().await;
    let (c, s) = test_clock();
    let rec = Arc::new(Recorder::default());
    let http = HttpClient::new(
        HttpConfig::new("Test API", &base)
            .observer(rec.clone())
            .clock(Arc::new(c.clone()), Arc::new(s.clone())),
    )
    .unwrap();
    http.call(Request::get("/flaky").op("flaky read"))
        .await
        .unwrap();
    let seen = rec.0.lock().unwrap().clone();
    assert_eq!(
        seen,
        vec![
            ("flaky read".to_string(), Some(503), 0),
            ("flaky read".to_string(), Some(503), 1),
            ("flaky read".to_string(), Some(200), 2),
        ]
    );
}

#[tokio::test]
async fn a_bad_header_value_is_a_configuration_error_without_the_value() {
    let (c, s) = test_clock();
    let e = HttpClient::new(
        HttpConfig::new("Test API", "http://127.0.0.1:9")
            .secret_header("Authorization", &Secret::new("Bearer bad\nvalue"))
            .clock(Arc::new(c), Arc::new(s)),
    )
    .unwrap_err();
    assert!(matches!(e, HttpError::Config { .. }));
    assert!(!e.to_string().contains("bad\nvalue"));
}
