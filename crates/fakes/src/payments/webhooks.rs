//! Webhook delivery shared by the payment fakes: each event becomes a delivery to the
//! configured URL, signed afresh for every attempt (a new timestamp or transmission), and
//! retried on a non-2xx answer or no answer, as the providers do. Their real schedules run
//! over days (Stripe: exponential backoff for up to three days; PayPal: up to 25 attempts over
//! three days); the fake's schedule is compressed and set through the control API
//! (`PUT /webhook {"url", "retry_schedule_ms"}`), and `POST /deliveries/retry` makes every
//! pending delivery due now. Deliveries are listed by `GET /deliveries`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::faults::lock;

/// Builds the headers of one attempt from the body (a fresh signature each time).
pub(crate) type Signer = Arc<dyn Fn(&[u8]) -> Vec<(String, String)> + Send + Sync>;

/// The default compressed schedule: waits before the 2nd, 3rd, … attempt.
pub(crate) fn default_schedule() -> Vec<u64> {
    vec![1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 128_000]
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Delivery {
    pub id: u64,
    pub event_id: String,
    pub event_type: String,
    pub url: String,
    pub attempts: u32,
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
    /// `pending`, `delivered` or `failed` (the schedule ran out).
    pub state: String,
    /// Milliseconds until the next attempt, while pending.
    pub next_attempt_in_ms: Option<u64>,
    pub body: String,
    /// Headers of the last attempt (signatures included).
    pub headers: Vec<(String, String)>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WebhookSettings {
    pub url: Option<String>,
    pub retry_schedule_ms: Vec<u64>,
}

struct Pending {
    delivery: Delivery,
    due: Option<Instant>,
}

struct State {
    settings: WebhookSettings,
    next_id: u64,
    items: Vec<Pending>,
}

pub(crate) struct Dispatcher {
    state: Arc<Mutex<State>>,
    wake: Arc<Notify>,
    signer: Signer,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Dispatcher")
    }
}

impl Drop for Dispatcher {
    fn drop(&mut self) {
        if let Some(t) = lock(&self.task).take() {
            t.abort();
        }
    }
}

impl Dispatcher {
    pub fn start(signer: Signer) -> Arc<Self> {
        let d = Arc::new(Dispatcher {
            state: Arc::new(Mutex::new(State {
                settings: WebhookSettings {
                    url: None,
                    retry_schedule_ms: default_schedule(),
                },
                next_id: 0,
                items: Vec::new(),
            })),
            wake: Arc::new(Notify::new()),
            signer,
            task: Mutex::new(None),
        });
        let (state, wake, signer) = (d.state.clone(), d.wake.clone(), d.signer.clone());
        *lock(&d.task) = Some(tokio::spawn(run(state, wake, signer)));
        d
    }

    pub fn settings(&self) -> WebhookSettings {
        lock(&self.state).settings.clone()
    }

    pub fn configure(&self, url: Option<Option<String>>, schedule: Option<Vec<u64>>) {
        let mut s = lock(&self.state);
        if let Some(u) = url {
            s.settings.url = u.filter(|u| !u.is_empty());
        }
        if let Some(sch) = schedule {
            s.settings.retry_schedule_ms = sch;
        }
    }

    /// Queue an event for the configured URL; nothing when none is set (the provider sends
    /// to endpoints that exist when the event happens).
    pub fn enqueue(&self, event_id: &str, event_type: &str, body: String) {
        let url = lock(&self.state).settings.url.clone();
        if let Some(url) = url {
            self.enqueue_to(&url, event_id, event_type, body);
        }
    }

    /// Queue a delivery to a URL of its own (Plisio posts to each invoice's `callback_url`).
    pub fn enqueue_to(&self, url: &str, event_id: &str, event_type: &str, body: String) {
        let mut s = lock(&self.state);
        let url = url.to_string();
        s.next_id += 1;
        let id = s.next_id;
        s.items.push(Pending {
            delivery: Delivery {
                id,
                event_id: event_id.to_string(),
                event_type: event_type.to_string(),
                url,
                attempts: 0,
                last_status: None,
                last_error: None,
                state: "pending".into(),
                next_attempt_in_ms: Some(0),
                body,
                headers: Vec::new(),
            },
            due: Some(Instant::now()),
        });
        drop(s);
        self.wake.notify_one();
    }

    pub fn deliveries(&self) -> Vec<Delivery> {
        let now = Instant::now();
        lock(&self.state)
            .items
            .iter()
            .map(|p| {
                let mut d = p.delivery.clone();
                d.next_attempt_in_ms = p
                    .due
                    .map(|t| t.saturating_duration_since(now).as_millis() as u64);
                d
            })
            .collect()
    }

    /// Every pending delivery is due now.
    pub fn retry_now(&self) {
        let now = Instant::now();
        for p in lock(&self.state)
            .items
            .iter_mut()
            .filter(|p| p.due.is_some())
        {
            p.due = Some(now);
        }
        self.wake.notify_one();
    }

    pub fn clear(&self) {
        lock(&self.state).items.clear();
    }
}

async fn run(state: Arc<Mutex<State>>, wake: Arc<Notify>, signer: Signer) {
    // reqwest is built with `rustls-no-provider`; installing twice is harmless.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .no_proxy()
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "webhook dispatcher cannot build its HTTP client");
            return;
        }
    };
    loop {
        let now = Instant::now();
        let due: Vec<(u64, String, String)> = lock(&state)
            .items
            .iter()
            .filter(|p| p.due.is_some_and(|t| t <= now))
            .map(|p| {
                (
                    p.delivery.id,
                    p.delivery.url.clone(),
                    p.delivery.body.clone(),
                )
            })
            .collect();
        for (id, url, body) in due {
            let headers = signer(body.as_bytes());
            let mut req = client.post(&url).body(body.clone());
            for (k, v) in &headers {
                req = req.header(k.as_str(), v.as_str());
            }
            let outcome = req.send().await;
            let mut s = lock(&state);
            let schedule = s.settings.retry_schedule_ms.clone();
            let Some(p) = s.items.iter_mut().find(|p| p.delivery.id == id) else {
                continue;
            };
            let d = &mut p.delivery;
            d.attempts += 1;
            d.headers = headers;
            let ok = match &outcome {
                Ok(r) => {
                    d.last_status = Some(r.status().as_u16());
                    d.last_error = None;
                    r.status().is_success()
                }
                Err(e) => {
                    d.last_status = None;
                    d.last_error = Some(e.to_string());
                    false
                }
            };
            if ok {
                d.state = "delivered".into();
                p.due = None;
            } else if let Some(wait) = schedule.get(d.attempts as usize - 1) {
                p.due = Some(Instant::now() + Duration::from_millis(*wait));
            } else {
                d.state = "failed".into();
                p.due = None;
            }
        }
        let next = lock(&state).items.iter().filter_map(|p| p.due).min();
        match next {
            Some(t) => {
                tokio::select! {
                    _ = tokio::time::sleep_until(t.into()) => {}
                    _ = wake.notified() => {}
                }
            }
            None => wake.notified().await,
        }
    }
}
