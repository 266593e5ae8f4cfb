//! Stripe (docs/payments.md, "Stripe"): Checkout Sessions in `payment` and `subscription`
//! mode, subscription cancel, refunds, charges for sync, and webhooks signed with
//! `Stripe-Signature`. Requests are form-encoded with bracketed keys and pin
//! `Stripe-Version`; every POST carries an `Idempotency-Key`.

mod events;
pub mod signature;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use boxoffice_domain::{Clock, Money, SystemClock};
use boxoffice_http::{HttpClient, HttpConfig, Request, Response, RetryPolicy, Secret};
use serde_json::Value;

use crate::error::{PaymentError, Result};
use crate::gateway::Gateway;
use crate::json::{b, i, id, s};
use crate::types::*;

pub const DEFAULT_API_BASE: &str = "https://api.stripe.com";
/// The API version requests are pinned to and events are read in (basil shapes: periods on
/// subscription items, invoice `parent`, invoice `payments`).
pub const API_VERSION: &str = "2025-03-31.basil";
const GW: GatewayKind = GatewayKind::Stripe;

#[derive(Debug, Clone)]
pub struct StripeConfig {
    pub api_base: String,
    pub secret_key: Secret,
    /// Endpoint secrets (`whsec_…`) accepted on webhooks; several while one is rolled.
    pub webhook_secrets: Vec<Secret>,
    pub api_version: String,
    pub tolerance_secs: i64,
    pub timeout: Duration,
    pub retry: RetryPolicy,
}

impl StripeConfig {
    pub fn new(secret_key: Secret, webhook_secret: Secret) -> Self {
        StripeConfig {
            api_base: DEFAULT_API_BASE.into(),
            secret_key,
            webhook_secrets: vec![webhook_secret],
            api_version: API_VERSION.into(),
            tolerance_secs: signature::DEFAULT_TOLERANCE_SECS,
            timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
        }
    }

    pub fn api_base(mut self, url: &str) -> Self {
        self.api_base = url.to_string();
        self
    }
}

#[derive(Debug)]
pub struct StripeGateway {
    http: HttpClient,
    cfg: StripeConfig,
    clock: Arc<dyn Clock>,
}

impl StripeGateway {
    pub fn new(cfg: StripeConfig) -> Result<Self> {
        Self::with_clock(cfg, Arc::new(SystemClock), None)
    }

    /// With an injected clock (webhook tolerance) and, optionally, a prepared HTTP config
    /// (test clock and sleeper, metrics hook).
    pub fn with_clock(
        cfg: StripeConfig,
        clock: Arc<dyn Clock>,
        http: Option<HttpConfig>,
    ) -> Result<Self> {
        if cfg.secret_key.expose().trim().is_empty() {
            return Err(PaymentError::NotConfigured {
                gateway: GW,
                op: "Stripe",
                what: "the secret key",
            });
        }
        let base = http.unwrap_or_else(|| {
            HttpConfig::new("Stripe", "")
                .clock(clock.clone(), Arc::new(boxoffice_http::TokioSleeper))
        });
        let mut hc = base
            .secret_header(
                "Authorization",
                &Secret::new(format!("Bearer {}", cfg.secret_key.expose().trim())),
            )
            .secret(&cfg.secret_key)
            .header("Stripe-Version", cfg.api_version.clone())
            .timeout(cfg.timeout)
            .retry(cfg.retry.clone());
        hc.service = "Stripe".into();
        hc.base_url = cfg.api_base.clone();
        let http = HttpClient::new(hc).map_err(|e| PaymentError::from_http(GW, e))?;
        Ok(StripeGateway { http, cfg, clock })
    }

    async fn send(&self, req: Request, what: &'static str, id: &str) -> Result<Value> {
        let resp = self
            .http
            .send(req)
            .await
            .map_err(|e| PaymentError::from_http(GW, e))?;
        if resp.is_success() {
            return resp.json().map_err(|e| PaymentError::from_http(GW, e));
        }
        Err(map_error(&resp, what, id))
    }

    fn post(&self, path: &str, op: &str, key: &str, form: Vec<(String, String)>) -> Request {
        Request::post(path)
            .op(op)
            .idempotency_key("Idempotency-Key", key)
            .form(form)
    }

    /// The subscription (and invoice) behind each PaymentIntent paid in the window, read from
    /// paid invoices: basil charges no longer name their invoice.
    async fn invoice_links(
        &self,
        q: &TransactionQuery,
    ) -> Result<HashMap<String, (String, Option<String>)>> {
        let mut map = HashMap::new();
        let mut after: Option<String> = None;
        for _ in 0..10 {
            let mut req = Request::get("/v1/invoices")
                .op("list invoices")
                .query("status", "paid")
                .query("limit", "100")
                .query("created[gte]", q.since.to_string())
                .query("expand[]", "data.payments");
            if let Some(u) = q.until {
                req = req.query("created[lte]", u.to_string());
            }
            if let Some(a) = &after {
                req = req.query("starting_after", a.clone());
            }
            let page = self.send(req, "invoice", "").await?;
            let data = page["data"].as_array().cloned().unwrap_or_default();
            for inv in &data {
                let sub = s(inv, "/parent/subscription_details/subscription")
                    .or_else(|| id(inv, "/subscription"));
                let Some(sub) = sub else { continue };
                let reference = s(inv, "/parent/subscription_details/metadata/reference");
                let mut pis: Vec<String> = inv["payments"]["data"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|p| id(p, "/payment/payment_intent"))
                            .collect()
                    })
                    .unwrap_or_default();
                pis.extend(id(inv, "/payment_intent"));
                for pi in pis {
                    map.insert(pi, (sub.clone(), reference.clone()));
                }
            }
            after = data.last().and_then(|d| s(d, "/id"));
            if !b(&page, "/has_more").unwrap_or(false) || after.is_none() {
                break;
            }
        }
        Ok(map)
    }
}

/// Stripe's error body (`{"error":{type, code, message, param, decline_code}}`) to our error.
fn map_error(resp: &Response, what: &'static str, id: &str) -> PaymentError {
    let v: Value = serde_json::from_slice(&resp.body).unwrap_or(Value::Null);
    let kind = s(&v, "/error/type").unwrap_or_default();
    let code = s(&v, "/error/code");
    let message = s(&v, "/error/message").unwrap_or_else(|| resp.excerpt());
    let op = resp.op().to_string();
    match (resp.status, kind.as_str()) {
        (401, _) => PaymentError::Auth {
            gateway: GW,
            op,
            credential: "secret key",
            advice: "copy the secret key (sk_live_… for live, sk_test_… for test mode) from the Stripe Dashboard → Developers → API keys into the Stripe settings, without spaces",
        },
        (402, _) | (_, "card_error") => PaymentError::Declined {
            gateway: GW,
            code: s(&v, "/error/decline_code")
                .or(code)
                .unwrap_or_else(|| "card_declined".into()),
            message,
        },
        (403, _) => PaymentError::Forbidden {
            gateway: GW,
            op,
            message,
        },
        (404, _) => PaymentError::NotFound {
            gateway: GW,
            op,
            what,
            id: id.to_string(),
        },
        (409, _) | (_, "idempotency_error") => PaymentError::Idempotency {
            gateway: GW,
            op,
            message: format!("with other parameters or concurrently: {message}"),
        },
        (429, _) => PaymentError::RateLimited {
            gateway: GW,
            op,
            retry_after: resp.retry_after,
        },
        (st, _) if st >= 500 => PaymentError::Unavailable {
            gateway: GW,
            op,
            detail: format!("HTTP {st}: {message}"),
        },
        (st, _) if code.as_deref() == Some("resource_missing") => {
            let _ = st;
            PaymentError::NotFound {
                gateway: GW,
                op,
                what,
                id: id.to_string(),
            }
        }
        (status, _) => PaymentError::Rejected {
            gateway: GW,
            op,
            status,
            code,
            message,
            param: s(&v, "/error/param"),
        },
    }
}

pub(crate) fn money(v: &Value, amount_ptr: &str, currency_ptr: &str) -> Option<Money> {
    let minor = i(v, amount_ptr)?;
    let cur = crate::amounts::currency(&s(v, currency_ptr)?).ok()?;
    Some(Money::new(minor, cur))
}

fn kv(k: &str, v: impl Into<String>) -> (String, String) {
    (k.to_string(), v.into())
}

fn charge_to_transaction(
    c: &Value,
    links: &HashMap<String, (String, Option<String>)>,
) -> Option<Transaction> {
    let amount = money(c, "/amount", "/currency")?;
    let pi = id(c, "/payment_intent");
    let link = pi.as_ref().and_then(|p| links.get(p));
    let refunded = b(c, "/refunded").unwrap_or(false);
    let amount_refunded = i(c, "/amount_refunded").unwrap_or(0);
    let status = match (s(c, "/status").as_deref(), refunded, amount_refunded) {
        (_, true, _) => TransactionStatus::Refunded,
        (Some("succeeded"), false, r) if r > 0 => TransactionStatus::PartiallyRefunded,
        (Some("succeeded"), ..) => TransactionStatus::Succeeded,
        (Some("pending"), ..) => TransactionStatus::Pending,
        (Some("failed"), ..) => TransactionStatus::Failed,
        (other, ..) => TransactionStatus::Other(other.unwrap_or("").to_string()),
    };
    let bt = &c["balance_transaction"];
    let fee = bt
        .is_object()
        .then(|| money(bt, "/fee", "/currency"))
        .flatten();
    let net = bt
        .is_object()
        .then(|| money(bt, "/net", "/currency"))
        .flatten();
    Some(Transaction {
        gateway: GW,
        account: Account::Primary,
        id: s(c, "/id")?,
        created: i(c, "/created").unwrap_or(0),
        kind: TransactionKind::Payment,
        status,
        amount,
        fee,
        net,
        payer_email: s(c, "/billing_details/email").or_else(|| s(c, "/receipt_email")),
        payer_name: s(c, "/billing_details/name"),
        subscription_id: link.map(|l| l.0.clone()),
        reference: s(c, "/metadata/reference").or_else(|| link.and_then(|l| l.1.clone())),
        description: s(c, "/description"),
        aliases: pi.into_iter().collect(),
        refunded: (amount_refunded > 0).then(|| Money::new(amount_refunded, amount.currency)),
    })
}

#[async_trait]
impl Gateway for StripeGateway {
    fn kind(&self) -> GatewayKind {
        GW
    }

    async fn create_checkout(&self, r: &CheckoutRequest) -> Result<Checkout> {
        let cur = r.amount.currency.as_str().to_ascii_lowercase();
        let mut form = vec![
            kv("mode", "payment"),
            kv("line_items[0][price_data][currency]", cur),
            kv(
                "line_items[0][price_data][unit_amount]",
                r.amount.minor.to_string(),
            ),
            kv(
                "line_items[0][price_data][product_data][name]",
                r.description.clone(),
            ),
            kv("line_items[0][quantity]", "1"),
            kv("success_url", r.success_url.clone()),
            kv("cancel_url", r.cancel_url.clone()),
            kv("client_reference_id", r.reference.clone()),
            kv("metadata[reference]", r.reference.clone()),
            kv(
                "payment_intent_data[metadata][reference]",
                r.reference.clone(),
            ),
        ];
        if let Some(e) = &r.customer_email {
            form.push(kv("customer_email", e.clone()));
        }
        if r.amount.minor <= 0 {
            return Err(PaymentError::Input {
                field: "amount",
                detail: format!("{} is not a price Stripe can charge", r.amount),
            });
        }
        let v = self
            .send(
                self.post(
                    "/v1/checkout/sessions",
                    "create checkout",
                    &r.idempotency_key,
                    form,
                ),
                "checkout session",
                "",
            )
            .await?;
        session_checkout(&v, "create checkout")
    }

    async fn create_recurring_checkout(&self, r: &RecurringCheckoutRequest) -> Result<Checkout> {
        if !r.plan_id.starts_with("price_") {
            return Err(PaymentError::Input {
                field: "Stripe price id",
                detail: format!(
                    "{:?} is not a Stripe price id: copy the price id (price_…) of the plan's product from the Stripe Dashboard",
                    r.plan_id
                ),
            });
        }
        let mut form = vec![
            kv("mode", "subscription"),
            kv("line_items[0][price]", r.plan_id.clone()),
            kv("line_items[0][quantity]", "1"),
            kv("success_url", r.success_url.clone()),
            kv("cancel_url", r.cancel_url.clone()),
            kv("client_reference_id", r.reference.clone()),
            kv("metadata[reference]", r.reference.clone()),
            kv(
                "subscription_data[metadata][reference]",
                r.reference.clone(),
            ),
        ];
        if let Some(d) = r.trial_days {
            form.push(kv("subscription_data[trial_period_days]", d.to_string()));
        }
        if let Some(e) = &r.customer_email {
            form.push(kv("customer_email", e.clone()));
        }
        let v = self
            .send(
                self.post(
                    "/v1/checkout/sessions",
                    "create subscription checkout",
                    &r.idempotency_key,
                    form,
                ),
                "price",
                &r.plan_id,
            )
            .await?;
        session_checkout(&v, "create subscription checkout")
    }

    async fn confirm_checkout(&self, checkout_id: &str) -> Result<CheckoutOutcome> {
        let v = self
            .send(
                Request::get(format!("/v1/checkout/sessions/{checkout_id}")).op("read checkout"),
                "checkout session",
                checkout_id,
            )
            .await?;
        let state = match (
            s(&v, "/status").as_deref(),
            s(&v, "/payment_status").as_deref(),
        ) {
            (Some("complete"), Some("paid" | "no_payment_required")) => CheckoutState::Paid,
            (Some("expired"), _) => CheckoutState::Expired,
            _ => CheckoutState::Pending,
        };
        Ok(CheckoutOutcome {
            checkout_id: checkout_id.to_string(),
            state,
            reference: s(&v, "/client_reference_id"),
            payment_id: id(&v, "/payment_intent"),
            subscription_id: id(&v, "/subscription"),
            customer_id: id(&v, "/customer"),
            payer_email: s(&v, "/customer_details/email").or_else(|| s(&v, "/customer_email")),
            amount: money(&v, "/amount_total", "/currency"),
        })
    }

    async fn cancel_subscription(&self, sub: &str, when: CancelWhen) -> Result<()> {
        let req = match when {
            CancelWhen::Now => {
                Request::delete(format!("/v1/subscriptions/{sub}")).op("cancel subscription")
            }
            CancelWhen::AtPeriodEnd => self.post(
                &format!("/v1/subscriptions/{sub}"),
                "cancel subscription at period end",
                &format!("cancel-at-period-end:{sub}"),
                vec![kv("cancel_at_period_end", "true")],
            ),
        };
        self.send(req, "subscription", sub).await.map(|_| ())
    }

    async fn refund(&self, r: &RefundRequest) -> Result<Refund> {
        let field = if r.payment_id.starts_with("ch_") {
            "charge"
        } else {
            "payment_intent"
        };
        let mut form = vec![kv(field, r.payment_id.clone())];
        if let Some(a) = r.amount {
            form.push(kv("amount", a.minor.to_string()));
        }
        if let Some(reason) = &r.reason {
            form.push(kv("reason", reason.clone()));
        }
        let v = self
            .send(
                self.post("/v1/refunds", "refund", &r.idempotency_key, form),
                "payment",
                &r.payment_id,
            )
            .await?;
        Ok(Refund {
            id: s(&v, "/id").unwrap_or_default(),
            payment_id: r.payment_id.clone(),
            amount: money(&v, "/amount", "/currency").ok_or_else(|| bad("refund", "no amount"))?,
            status: match s(&v, "/status").as_deref() {
                Some("succeeded") => RefundStatus::Succeeded,
                Some("failed" | "canceled") => RefundStatus::Failed,
                _ => RefundStatus::Pending,
            },
        })
    }

    async fn list_transactions(&self, q: &TransactionQuery) -> Result<TransactionPage> {
        if q.account == Account::Secondary {
            return Err(PaymentError::Unsupported {
                gateway: GW,
                operation: "a secondary account",
            });
        }
        let mut req = Request::get("/v1/charges")
            .op("list charges")
            .query("limit", "100")
            .query("created[gte]", q.since.to_string())
            .query("expand[]", "data.balance_transaction");
        if let Some(u) = q.until {
            req = req.query("created[lte]", u.to_string());
        }
        if let Some(c) = &q.cursor {
            req = req.query("starting_after", c.clone());
        }
        let page = self.send(req, "charge", "").await?;
        let links = self.invoice_links(q).await?;
        let data = page["data"].as_array().cloned().unwrap_or_default();
        let transactions: Vec<Transaction> = data
            .iter()
            .filter_map(|c| charge_to_transaction(c, &links))
            .collect();
        let next_cursor = if b(&page, "/has_more").unwrap_or(false) {
            data.last().and_then(|c| s(c, "/id"))
        } else {
            None
        };
        Ok(TransactionPage {
            transactions,
            next_cursor,
        })
    }

    async fn fetch_transaction(&self, _account: Account, tid: &str) -> Result<Transaction> {
        let charge = if tid.starts_with("pi_") {
            let list = self
                .send(
                    Request::get("/v1/charges")
                        .op("find charge")
                        .query("payment_intent", tid)
                        .query("expand[]", "data.balance_transaction"),
                    "payment",
                    tid,
                )
                .await?;
            list["data"]
                .get(0)
                .cloned()
                .ok_or_else(|| PaymentError::NotFound {
                    gateway: GW,
                    op: "find charge".into(),
                    what: "charge for payment",
                    id: tid.to_string(),
                })?
        } else {
            self.send(
                Request::get(format!("/v1/charges/{tid}"))
                    .op("read charge")
                    .query("expand[]", "balance_transaction"),
                "charge",
                tid,
            )
            .await?
        };
        let created = i(&charge, "/created").unwrap_or(0);
        let q = TransactionQuery {
            since: created - 1,
            until: Some(created + 86_400),
            account: Account::Primary,
            cursor: None,
        };
        let links = self.invoice_links(&q).await?;
        charge_to_transaction(&charge, &links)
            .ok_or_else(|| bad("read charge", "the charge has no amount"))
    }

    async fn verify_webhook(&self, n: Notification<'_>) -> Result<WebhookEvent> {
        let header = n.header("stripe-signature").ok_or_else(|| {
            PaymentError::signature(GW, crate::SignatureError::MissingHeader("Stripe-Signature"))
        })?;
        signature::verify(
            header,
            n.body,
            &self.cfg.webhook_secrets,
            self.clock.unix(),
            self.cfg.tolerance_secs,
        )
        .map_err(|e| PaymentError::signature(GW, e))?;
        events::parse(n.body)
    }
}

fn bad(op: &str, detail: &str) -> PaymentError {
    PaymentError::BadResponse {
        gateway: GW,
        op: op.into(),
        detail: detail.into(),
    }
}

fn session_checkout(v: &Value, op: &str) -> Result<Checkout> {
    Ok(Checkout {
        gateway: GW,
        id: s(v, "/id").ok_or_else(|| bad(op, "the session has no id"))?,
        redirect_url: s(v, "/url").ok_or_else(|| bad(op, "the session has no url"))?,
        expires_at: i(v, "/expires_at"),
    })
}
