//! Plisio (docs/payments.md, "Plisio"): crypto invoices for one-off purchases, the operations
//! list for sync, and status callbacks authenticated by `verify_hash`. Every call is a GET with
//! `api_key` in the query (kept out of logs). Plisio has no recurring billing and no refunds;
//! `order_number` is the idempotency key (unique per shop).

pub mod verify;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use boxoffice_domain::{Clock, Money, SystemClock};
use boxoffice_http::{HttpClient, HttpConfig, Request, Response, RetryPolicy, Secret};
use serde_json::Value;

use crate::amounts::{currency, parse_decimal, to_decimal};
use crate::error::{PaymentError, Result};
use crate::gateway::Gateway;
use crate::json::{i, s};
use crate::types::*;
use verify::Callback;

pub const DEFAULT_API_BASE: &str = "https://api.plisio.net/api/v1";
const GW: GatewayKind = GatewayKind::Plisio;

#[derive(Debug, Clone)]
pub struct PlisioConfig {
    pub api_base: String,
    /// The shop's secret key: the `api_key` of every call and the key of `verify_hash`.
    pub secret_key: Secret,
    pub timeout: Duration,
    pub retry: RetryPolicy,
}

impl PlisioConfig {
    pub fn new(secret_key: Secret) -> Self {
        PlisioConfig {
            api_base: DEFAULT_API_BASE.into(),
            secret_key,
            timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
        }
    }
}

#[derive(Debug)]
pub struct PlisioGateway {
    http: HttpClient,
    cfg: PlisioConfig,
}

impl PlisioGateway {
    pub fn new(cfg: PlisioConfig) -> Result<Self> {
        Self::with_http(cfg, None)
    }

    pub fn with_http(cfg: PlisioConfig, http: Option<HttpConfig>) -> Result<Self> {
        if cfg.secret_key.expose().trim().is_empty() {
            return Err(PaymentError::NotConfigured {
                gateway: GW,
                op: "Plisio",
                what: "the secret key",
            });
        }
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let mut hc = http.unwrap_or_else(|| {
            HttpConfig::new("Plisio", "").clock(clock, Arc::new(boxoffice_http::TokioSleeper))
        });
        hc.service = "Plisio".into();
        hc.base_url = cfg.api_base.clone();
        hc.timeout = cfg.timeout;
        hc.retry = cfg.retry.clone();
        hc.secrets.push(cfg.secret_key.clone());
        hc.headers
            .push(("Accept".into(), "application/json".into(), false));
        let http = HttpClient::new(hc).map_err(|e| PaymentError::from_http(GW, e))?;
        Ok(PlisioGateway { http, cfg })
    }

    fn key(&self) -> Secret {
        Secret::new(self.cfg.secret_key.expose().trim())
    }

    /// The `data` of a `{"status":"success","data":…}` answer.
    async fn get(&self, req: Request, what: &'static str, id: &str) -> Result<Value> {
        let req = req.secret_query("api_key", &self.key()).retry_safe(true);
        let resp = self
            .http
            .send(req)
            .await
            .map_err(|e| PaymentError::from_http(GW, e))?;
        let v: Value = serde_json::from_slice(&resp.body).unwrap_or(Value::Null);
        if resp.is_success() && s(&v, "/status").as_deref() == Some("success") {
            return Ok(v["data"].clone());
        }
        Err(map_error(&resp, &v, what, id))
    }
}

/// `{"status":"error","data":{"name","message","code"}}`; `message` may itself be a JSON
/// object of per-field messages.
fn map_error(resp: &Response, v: &Value, what: &'static str, id: &str) -> PaymentError {
    let op = resp.op().to_string();
    let raw = s(v, "/data/message").unwrap_or_else(|| resp.excerpt());
    let message = match serde_json::from_str::<Value>(&raw) {
        Ok(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| {
                format!(
                    "{k}: {}",
                    v.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| v.to_string())
                )
            })
            .collect::<Vec<_>>()
            .join("; "),
        _ => raw,
    };
    let code = i(v, "/data/code");
    let lower = message.to_ascii_lowercase();
    match resp.status {
        401 | 403 => PaymentError::Auth {
            gateway: GW,
            op,
            credential: "secret key",
            advice: "copy the shop's secret key from the Plisio dashboard (API → shop settings) into the Plisio settings, without spaces",
        },
        _ if lower.contains("api key") || lower.contains("api_key") || code == Some(401) => {
            PaymentError::Auth {
                gateway: GW,
                op,
                credential: "secret key",
                advice: "copy the shop's secret key from the Plisio dashboard (API → shop settings) into the Plisio settings, without spaces",
            }
        }
        404 => PaymentError::NotFound {
            gateway: GW,
            op,
            what,
            id: id.to_string(),
        },
        429 => PaymentError::RateLimited {
            gateway: GW,
            op,
            retry_after: resp.retry_after,
        },
        st if st >= 500 => PaymentError::Unavailable {
            gateway: GW,
            op,
            detail: format!("HTTP {st}: {message}"),
        },
        st => PaymentError::Rejected {
            gateway: GW,
            op,
            status: st,
            code: code.map(|c| c.to_string()).or_else(|| s(v, "/data/name")),
            message,
            param: None,
        },
    }
}

/// Plisio statuses: `completed` pays; `mismatch` pays a different amount.
fn state(status: &str) -> CheckoutState {
    match status {
        "completed" => CheckoutState::Paid,
        "mismatch" => CheckoutState::Mismatch,
        "expired" | "cancelled" | "cancelled duplicate" => CheckoutState::Expired,
        "error" => CheckoutState::Failed,
        _ => CheckoutState::Pending,
    }
}

fn fiat(o: &Value) -> Option<Money> {
    let cur =
        currency(&s(o, "/params/source_currency").or_else(|| s(o, "/source_currency"))?).ok()?;
    parse_decimal(
        &s(o, "/params/source_amount").or_else(|| s(o, "/source_amount"))?,
        cur,
    )
    .ok()
}

fn created(o: &Value) -> i64 {
    let t = i(o, "/created_at_utc").unwrap_or(0);
    // Some answers give milliseconds.
    if t > 100_000_000_000 { t / 1000 } else { t }
}

fn operation(o: &Value) -> Option<Transaction> {
    let status = s(o, "/status").unwrap_or_default();
    Some(Transaction {
        gateway: GW,
        account: Account::Primary,
        id: s(o, "/id").or_else(|| s(o, "/txn_id"))?,
        created: created(o),
        kind: TransactionKind::Payment,
        status: match state(&status) {
            CheckoutState::Paid => TransactionStatus::Succeeded,
            CheckoutState::Pending => TransactionStatus::Pending,
            CheckoutState::Expired | CheckoutState::Failed => TransactionStatus::Failed,
            CheckoutState::Mismatch => TransactionStatus::Other(status),
        },
        amount: fiat(o)?,
        fee: None,
        net: None,
        payer_email: s(o, "/params/email"),
        payer_name: None,
        subscription_id: None,
        reference: s(o, "/params/order_number"),
        description: s(o, "/params/order_name"),
        aliases: Vec::new(),
        refunded: None,
    })
}

fn with_json_true(url: &str) -> String {
    if url.contains("json=true") {
        url.to_string()
    } else if url.contains('?') {
        format!("{url}&json=true")
    } else {
        format!("{url}?json=true")
    }
}

#[async_trait]
impl Gateway for PlisioGateway {
    fn kind(&self) -> GatewayKind {
        GW
    }

    async fn create_checkout(&self, r: &CheckoutRequest) -> Result<Checkout> {
        let callback = r.callback_url.as_deref().ok_or(PaymentError::Input {
            field: "callback_url",
            detail: "Plisio confirms payments only by callback: give the callback URL".into(),
        })?;
        let mut req = Request::get("/invoices/new")
            .op("create invoice")
            .query("source_currency", r.amount.currency.as_str())
            .query("source_amount", to_decimal(r.amount))
            .query("order_number", r.reference.clone())
            .query("order_name", r.description.clone())
            // JSON callbacks: the canonical form Plisio's own sample verifies.
            .query("callback_url", with_json_true(callback))
            .query("success_callback_url", r.success_url.clone())
            .query("cancel_url", r.cancel_url.clone());
        if let Some(e) = &r.customer_email {
            req = req.query("email", e.clone());
        }
        let d = self.get(req, "invoice", &r.reference).await?;
        Ok(Checkout {
            gateway: GW,
            id: s(&d, "/txn_id").ok_or_else(|| PaymentError::BadResponse {
                gateway: GW,
                op: "create invoice".into(),
                detail: "no txn_id".into(),
            })?,
            redirect_url: s(&d, "/invoice_url").ok_or_else(|| PaymentError::BadResponse {
                gateway: GW,
                op: "create invoice".into(),
                detail: "no invoice_url".into(),
            })?,
            expires_at: i(&d, "/expire_utc"),
        })
    }

    async fn create_recurring_checkout(&self, _: &RecurringCheckoutRequest) -> Result<Checkout> {
        Err(PaymentError::Unsupported {
            gateway: GW,
            operation: "recurring billing (issue a new invoice before the paid period ends)",
        })
    }

    async fn confirm_checkout(&self, id: &str) -> Result<CheckoutOutcome> {
        let o = self
            .get(
                Request::get(format!("/operations/{id}")).op("read invoice"),
                "invoice",
                id,
            )
            .await?;
        Ok(CheckoutOutcome {
            checkout_id: id.to_string(),
            state: state(&s(&o, "/status").unwrap_or_default()),
            reference: s(&o, "/params/order_number"),
            payment_id: Some(id.to_string()),
            subscription_id: None,
            customer_id: None,
            payer_email: s(&o, "/params/email"),
            amount: fiat(&o),
        })
    }

    async fn cancel_subscription(&self, _: &str, _: CancelWhen) -> Result<()> {
        Err(PaymentError::Unsupported {
            gateway: GW,
            operation: "subscriptions",
        })
    }

    async fn refund(&self, _: &RefundRequest) -> Result<Refund> {
        Err(PaymentError::Unsupported {
            gateway: GW,
            operation: "refunds through the API (refund from the Plisio dashboard)",
        })
    }

    async fn list_transactions(&self, q: &TransactionQuery) -> Result<TransactionPage> {
        if q.account == Account::Secondary {
            return Err(PaymentError::Unsupported {
                gateway: GW,
                operation: "a secondary account",
            });
        }
        let page: i64 = q
            .cursor
            .as_deref()
            .and_then(|c| c.parse().ok())
            .unwrap_or(1);
        let d = self
            .get(
                Request::get("/operations")
                    .op("list operations")
                    .query("type", "invoice")
                    .query("page", page.to_string())
                    .query("limit", "100"),
                "operations",
                "",
            )
            .await?;
        let rows = d["operations"].as_array().cloned().unwrap_or_default();
        let until = q.until.unwrap_or(i64::MAX);
        let transactions = rows
            .iter()
            .filter_map(operation)
            .filter(|t| t.created >= q.since && t.created <= until)
            .collect();
        let pages = i(&d, "/_meta/pageCount").unwrap_or(1);
        Ok(TransactionPage {
            transactions,
            next_cursor: (page < pages).then(|| (page + 1).to_string()),
        })
    }

    async fn fetch_transaction(&self, _: Account, id: &str) -> Result<Transaction> {
        let o = self
            .get(
                Request::get(format!("/operations/{id}")).op("read operation"),
                "operation",
                id,
            )
            .await?;
        operation(&o).ok_or_else(|| PaymentError::BadResponse {
            gateway: GW,
            op: "read operation".into(),
            detail: "the operation has no fiat amount".into(),
        })
    }

    async fn verify_webhook(&self, n: Notification<'_>) -> Result<WebhookEvent> {
        let cb = Callback::parse(n.body).map_err(|e| PaymentError::signature(GW, e))?;
        cb.verify(self.cfg.secret_key.expose().trim())
            .map_err(|e| PaymentError::signature(GW, e))?;
        parse_callback(&cb)
    }
}

/// A verified callback to an event; Plisio has no event id, so `<txn_id>:<status>` is the key.
pub fn parse_callback(cb: &Callback) -> Result<WebhookEvent> {
    let f = |k: &str| cb.field(k);
    let txn = f("txn_id").ok_or_else(|| {
        PaymentError::signature(GW, crate::SignatureError::Payload("no txn_id".into()))
    })?;
    let status = f("status").unwrap_or_default();
    let expected = match (f("source_amount"), f("source_currency")) {
        (Some(a), Some(c)) => currency(&c).ok().and_then(|c| parse_decimal(&a, c).ok()),
        _ => None,
    };
    let reference = f("order_number");
    let kind = match state(&status) {
        CheckoutState::Paid => EventKind::PaymentSucceeded {
            payment_id: txn.clone(),
            checkout_id: Some(txn.clone()),
            subscription_id: None,
            reference,
            amount: expected.ok_or_else(|| {
                PaymentError::signature(
                    GW,
                    crate::SignatureError::Payload("no source_amount/source_currency".into()),
                )
            })?,
            fee: None,
            payer_email: None,
            period_end: None,
            renewal: false,
        },
        CheckoutState::Mismatch => EventKind::PaymentMismatch {
            payment_id: txn.clone(),
            reference,
            expected,
            received: f("amount").unwrap_or_default(),
            received_currency: f("currency").or_else(|| f("psys_cid")).unwrap_or_default(),
        },
        CheckoutState::Pending => EventKind::PaymentPending {
            payment_id: txn.clone(),
            reference,
            amount: expected,
        },
        CheckoutState::Expired => EventKind::CheckoutExpired {
            checkout_id: txn.clone(),
            reference,
        },
        CheckoutState::Failed => EventKind::PaymentFailed {
            payment_id: Some(txn.clone()),
            subscription_id: None,
            reference,
            amount: expected,
            attempt_count: None,
            next_attempt: None,
        },
    };
    Ok(WebhookEvent {
        gateway: GW,
        event_id: format!("{txn}:{status}"),
        provider_type: status,
        created: None,
        kind,
    })
}
