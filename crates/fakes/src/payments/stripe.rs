//! Fake Stripe (API 2025-03-31.basil shapes). Served routes, with the sources they follow, are
//! in docs/sandbox.md ("Stripe"). Requests are form-encoded with bracketed keys (percent-encoded
//! brackets too), authenticated with the secret key as a bearer token or HTTP Basic user;
//! `Idempotency-Key` replays the first answer, and a reuse with other parameters is refused
//! (`idempotency_error`). Lists are newest first with `limit`, `starting_after`,
//! `ending_before` and `created[gt|gte|lt|lte]`.
//!
//! Hosted checkout: `url` of a session is `/c/pay/{id}` on the fake, a page with Pay and
//! Cancel buttons. Paying completes the session (customer, PaymentIntent, charge, balance
//! transaction; in subscription mode also the subscription and its first invoice), emits the
//! events and redirects to `success_url` with `{CHECKOUT_SESSION_ID}` replaced; Cancel
//! redirects to `cancel_url` and leaves the session open, as Stripe does.
//!
//! Control API (`/__control`), besides faults and the request log: `GET /state`,
//! `GET|PUT /webhook`, `GET /deliveries`, `POST /deliveries/retry`, `POST /prices`,
//! `POST /checkout/sessions/{id}/pay`, `POST /payments` (a charge made outside checkout),
//! `POST /refunds`, `POST /subscriptions/{id}/fail_next_renewal`,
//! `POST /subscriptions/{id}/advance` (the next period: renewal paid, or failed, or the end of
//! a subscription set to cancel at period end), `POST /subscriptions/{id}/cancel` (the customer
//! cancels in the portal), `POST /disputes` (`{"charge"}` or `{"payment_intent"}`: a chargeback)
//! and `POST /disputes/{id}/close` (`{"status": "won"|"lost"}`).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;
use serde_json::{Value, json};

use super::common::{self, form_action, nest, now, origin, page, pairs, redirect};
use super::webhooks::{Delivery, Dispatcher, Signer, WebhookSettings};
use crate::control;
use crate::faults::{Core, Flavor, lock};
use crate::routing::{PathStyle, Routes};
use crate::server::{Running, serve};

pub const API_VERSION: &str = "2025-03-31.basil";

#[derive(Debug)]
struct StState {
    secret_key: String,
    publishable_key: String,
    webhook_secret: String,
    /// Every object, in creation order.
    objects: Vec<Value>,
    idem: HashMap<String, (String, u16, Value)>,
    fail_next: HashSet<String>,
}

#[derive(Debug)]
struct Inner {
    state: Mutex<StState>,
    hooks: Arc<Dispatcher>,
}

type St = Arc<Inner>;

#[derive(Debug)]
pub struct StripeFake {
    running: Running,
    core: Arc<Core>,
    inner: St,
}

fn sid(prefix: &str) -> String {
    format!("{prefix}_{}", crate::ids::hex(24))
}

pub(crate) fn sign(secret: &str, t: i64, body: &[u8]) -> String {
    let mut m =
        Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap_or_else(|_| unreachable!());
    m.update(t.to_string().as_bytes());
    m.update(b".");
    m.update(body);
    format!("t={t},v1={}", hex::encode(m.finalize().into_bytes()))
}

/// Stripe's error body.
fn serr(
    status: StatusCode,
    typ: &str,
    code: Option<&str>,
    message: &str,
    param: Option<&str>,
) -> Response {
    let mut e = json!({"type": typ, "message": message});
    if let Some(c) = code {
        e["code"] = json!(c);
        e["doc_url"] = json!(format!(
            "https://stripe.com/docs/error-codes/{}",
            c.replace('_', "-")
        ));
    }
    if let Some(p) = param {
        e["param"] = json!(p);
    }
    (status, Json(json!({"error": e}))).into_response()
}

fn missing(kind: &str, id: &str, param: &str) -> Response {
    serr(
        StatusCode::NOT_FOUND,
        "invalid_request_error",
        Some("resource_missing"),
        &format!("No such {kind}: '{id}'"),
        Some(param),
    )
}

fn invalid(message: &str, param: &str) -> Response {
    serr(
        StatusCode::BAD_REQUEST,
        "invalid_request_error",
        Some("parameter_missing"),
        message,
        Some(param),
    )
}

impl StState {
    fn get(&self, id: &str) -> Option<Value> {
        self.objects.iter().find(|o| o["id"] == id).cloned()
    }

    fn add(&mut self, v: Value) -> Value {
        self.objects.push(v.clone());
        v
    }

    fn set(&mut self, v: &Value) {
        if let Some(o) = self.objects.iter_mut().find(|o| o["id"] == v["id"]) {
            *o = v.clone();
        }
    }

    fn event(&mut self, hooks: &Dispatcher, typ: &str, object: Value, previous: Option<Value>) {
        let mut data = json!({"object": object});
        if let Some(p) = previous {
            data["previous_attributes"] = p;
        }
        let ev = json!({
            "id": sid("evt"), "object": "event", "api_version": API_VERSION, "created": now(),
            "livemode": false, "pending_webhooks": 1, "request": {"id": null, "idempotency_key": null},
            "type": typ, "data": data,
        });
        hooks.enqueue(ev["id"].as_str().unwrap_or(""), typ, ev.to_string());
        self.add(ev);
    }

    fn customer(&mut self, email: &str, name: &str) -> String {
        if let Some(c) = self
            .objects
            .iter()
            .find(|o| o["object"] == "customer" && o["email"] == email)
        {
            return c["id"].as_str().unwrap_or("").to_string();
        }
        let c = self.add(json!({"id": sid("cus"), "object": "customer", "email": email, "name": name, "created": now(), "livemode": false, "metadata": {}}));
        c["id"].as_str().unwrap_or("").to_string()
    }

    /// A successful card payment: PaymentIntent, charge, balance transaction.
    fn charge(
        &mut self,
        amount: i64,
        currency: &str,
        customer: Option<&str>,
        (email, name): (&str, &str),
        description: Option<&str>,
        metadata: Value,
    ) -> (String, Value) {
        let (pi, ch, txn) = (sid("pi"), sid("ch"), sid("txn"));
        let t = now();
        let fee = (amount * 29 + 500) / 1000 + 30;
        self.add(json!({"id": txn, "object": "balance_transaction", "amount": amount, "currency": currency, "fee": fee, "net": amount - fee, "type": "charge", "source": ch, "status": "available", "created": t, "description": description}));
        self.add(json!({"id": pi, "object": "payment_intent", "amount": amount, "amount_received": amount, "currency": currency, "status": "succeeded", "customer": customer, "latest_charge": ch, "metadata": metadata, "created": t, "livemode": false}));
        let charge = self.add(json!({
            "id": ch, "object": "charge", "amount": amount, "amount_captured": amount, "amount_refunded": 0, "refunded": false,
            "captured": true, "paid": true, "status": "succeeded", "currency": currency, "customer": customer, "payment_intent": pi,
            "balance_transaction": txn, "receipt_email": email, "billing_details": {"email": email, "name": name},
            "description": description, "metadata": metadata, "created": t, "livemode": false,
            "refunds": {"object": "list", "data": [], "has_more": false, "url": format!("/v1/charges/{ch}/refunds")},
        }));
        (pi, charge)
    }

    /// A paid invoice for one period of a subscription (and its charge when it costs money).
    fn invoice(&mut self, sub: &Value, reason: &str, start: i64, end: i64, paid: bool) -> Value {
        let item = &sub["items"]["data"][0];
        let price = &item["price"];
        let amount = if sub["status"] == "trialing" {
            0
        } else {
            price["unit_amount"].as_i64().unwrap_or(0)
        };
        let currency = price["currency"].as_str().unwrap_or("usd").to_string();
        let customer = sub["customer"].as_str().unwrap_or("").to_string();
        let email = self
            .get(&customer)
            .and_then(|c| c["email"].as_str().map(str::to_string))
            .unwrap_or_default();
        let sub_id = sub["id"].as_str().unwrap_or("");
        let metadata = sub["metadata"].clone();
        let mut payments = Vec::new();
        if paid && amount > 0 {
            let (pi, _) = self.charge(
                amount,
                &currency,
                Some(&customer),
                (&email, ""),
                Some("Subscription update"),
                metadata.clone(),
            );
            payments.push(json!({"object": "invoice_payment", "amount_paid": amount, "status": "paid", "payment": {"type": "payment_intent", "payment_intent": pi}}));
        }
        let t = now();
        self.add(json!({
            "id": sid("in"), "object": "invoice", "customer": customer, "customer_email": email,
            "status": if paid { "paid" } else { "open" }, "billing_reason": reason,
            "amount_due": amount, "amount_paid": if paid { amount } else { 0 }, "amount_remaining": if paid { 0 } else { amount },
            "currency": currency, "attempt_count": 1, "attempted": true,
            "next_payment_attempt": if paid { Value::Null } else { json!(t + 3 * 86_400) },
            "period_start": start, "period_end": start, "created": t, "livemode": false,
            "status_transitions": {"paid_at": if paid { json!(t) } else { Value::Null }},
            "parent": {"type": "subscription_details", "quote_details": null, "subscription_details": {"subscription": sub_id, "metadata": metadata}},
            "lines": {"object": "list", "has_more": false, "data": [{
                "id": sid("il"), "object": "line_item", "amount": amount, "currency": currency, "quantity": 1,
                "period": {"start": start, "end": end},
                "pricing": {"type": "price_details", "price_details": {"price": price["id"], "product": price["product"]}},
                "parent": {"type": "subscription_item_details", "subscription_item_details": {"subscription": sub_id, "subscription_item": item["id"], "proration": false}},
            }]},
            "payments": {"object": "list", "has_more": false, "data": payments},
        }))
    }

    fn period_end(start: i64, price: &Value) -> i64 {
        let n = price["recurring"]["interval_count"].as_i64().unwrap_or(1);
        let days = match price["recurring"]["interval"].as_str().unwrap_or("month") {
            "day" => 1,
            "week" => 7,
            "year" => 365,
            _ => 30,
        };
        start + n * days * 86_400
    }

    /// Pay an open session as the hosted page's Pay button does.
    fn complete(&mut self, hooks: &Dispatcher, id: &str) -> Result<Value, Response> {
        let mut s = self
            .get(id)
            .ok_or_else(|| missing("checkout.session", id, "session"))?;
        if s["status"] != "open" {
            return Err(serr(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                Some("checkout_session_not_open"),
                &format!(
                    "This Checkout Session is {}.",
                    s["status"].as_str().unwrap_or("")
                ),
                None,
            ));
        }
        let email = s["customer_email"]
            .as_str()
            .unwrap_or("buyer@example.com")
            .to_string();
        let customer = self.customer(&email, "Test Buyer");
        let amount = s["amount_total"].as_i64().unwrap_or(0);
        let currency = s["currency"].as_str().unwrap_or("usd").to_string();
        s["customer"] = json!(customer);
        s["customer_details"] = json!({"email": email, "name": "Test Buyer"});
        s["status"] = json!("complete");
        s["payment_status"] = json!("paid");
        let mut extra = Vec::new();
        if s["mode"] == "subscription" {
            let price_id = s["line_items_data"][0]["price"]
                .as_str()
                .unwrap_or("")
                .to_string();
            let price = self.get(&price_id).unwrap_or(Value::Null);
            let start = now();
            let end = Self::period_end(start, &price);
            let trial = s["subscription_data"]["trial_period_days"]
                .as_str()
                .and_then(|d| d.parse::<i64>().ok());
            let (status, end) = match trial {
                Some(d) if d > 0 => ("trialing", start + d * 86_400),
                _ => ("active", end),
            };
            let sub = json!({
                "id": sid("sub"), "object": "subscription", "status": status, "customer": customer, "currency": currency,
                "cancel_at_period_end": false, "cancel_at": null, "canceled_at": null, "ended_at": null,
                "cancellation_details": {"reason": null, "comment": null, "feedback": null},
                "start_date": start, "created": start, "trial_start": trial.map(|_| start), "trial_end": trial.map(|_| end),
                "metadata": s["subscription_data"]["metadata"].clone(), "livemode": false,
                "items": {"object": "list", "has_more": false, "data": [{
                    "id": sid("si"), "object": "subscription_item", "quantity": 1, "price": price,
                    "current_period_start": start, "current_period_end": end,
                }]},
            });
            let sub = self.add(sub);
            let inv = self.invoice(&sub, "subscription_create", start, end, true);
            let mut sub = sub;
            sub["latest_invoice"] = inv["id"].clone();
            self.set(&sub);
            if let Some(pi) = inv["payments"]["data"][0]["payment"]["payment_intent"].as_str() {
                s["payment_intent"] = Value::Null;
                let _ = pi;
            }
            s["subscription"] = sub["id"].clone();
            s["invoice"] = inv["id"].clone();
            s["amount_total"] = inv["amount_paid"].clone();
            if trial.is_some() {
                s["payment_status"] = json!("no_payment_required");
            }
            extra.push(("customer.subscription.created", sub));
            extra.push(("invoice.paid", inv));
        } else {
            let meta = s["payment_intent_data"]["metadata"].clone();
            let meta = if meta.is_object() { meta } else { json!({}) };
            let desc = s["line_items_data"][0]["price_data"]["product_data"]["name"]
                .as_str()
                .map(str::to_string);
            let (pi, charge) = self.charge(
                amount,
                &currency,
                Some(&customer),
                (&email, "Test Buyer"),
                desc.as_deref(),
                meta,
            );
            s["payment_intent"] = json!(pi);
            extra.push(("charge.succeeded", charge));
        }
        self.set(&s);
        let public = public_session(&s);
        self.event(hooks, "checkout.session.completed", public.clone(), None);
        for (typ, obj) in extra {
            self.event(hooks, typ, obj, None);
        }
        Ok(public)
    }

    /// Refund all or part of a charge (`POST /v1/refunds`).
    fn refund(&mut self, hooks: &Dispatcher, f: &Value) -> Result<Value, Response> {
        let charge_id = if let Some(c) = f["charge"].as_str() {
            c.to_string()
        } else if let Some(pi) = f["payment_intent"].as_str() {
            let p = self
                .get(pi)
                .ok_or_else(|| missing("payment_intent", pi, "payment_intent"))?;
            p["latest_charge"].as_str().unwrap_or("").to_string()
        } else {
            return Err(invalid(
                "One of `charge` or `payment_intent` is required.",
                "charge",
            ));
        };
        let mut ch = self
            .get(&charge_id)
            .ok_or_else(|| missing("charge", &charge_id, "charge"))?;
        let total = ch["amount"].as_i64().unwrap_or(0);
        let done = ch["amount_refunded"].as_i64().unwrap_or(0);
        if done >= total {
            return Err(serr(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                Some("charge_already_refunded"),
                &format!("Charge {charge_id} has already been refunded."),
                None,
            ));
        }
        let amount = match f["amount"].as_str() {
            Some(a) => a
                .parse::<i64>()
                .map_err(|_| invalid("Invalid integer: amount", "amount"))?,
            None => total - done,
        };
        if amount <= 0 || amount > total - done {
            return Err(serr(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                Some("amount_too_large"),
                &format!(
                    "Refund amount ({amount}) is greater than unrefunded amount on charge ({})",
                    total - done
                ),
                Some("amount"),
            ));
        }
        let currency = ch["currency"].clone();
        let re = sid("re");
        let txn = sid("txn");
        self.add(json!({"id": txn, "object": "balance_transaction", "amount": -amount, "currency": currency, "fee": 0, "net": -amount, "type": "refund", "source": re, "status": "available", "created": now()}));
        let refund = self.add(json!({
            "id": re, "object": "refund", "amount": amount, "currency": currency, "charge": charge_id,
            "payment_intent": ch["payment_intent"], "status": "succeeded", "reason": f["reason"].as_str(),
            "balance_transaction": txn, "metadata": f["metadata"].as_object().cloned().unwrap_or_default(), "created": now(),
        }));
        ch["amount_refunded"] = json!(done + amount);
        ch["refunded"] = json!(done + amount >= total);
        if let Some(list) = ch["refunds"]["data"].as_array_mut() {
            list.insert(0, refund.clone());
        }
        self.set(&ch);
        self.event(
            hooks,
            "charge.refunded",
            ch,
            Some(json!({"amount_refunded": done, "refunded": false})),
        );
        Ok(refund)
    }

    /// The cardholder's bank disputes a charge (`charge` or a PaymentIntent): a `dispute` in
    /// `needs_response`, the charge marked `disputed` (`charge.dispute.created`).
    fn dispute(&mut self, hooks: &Dispatcher, id: &str) -> Result<Value, Response> {
        let charge_id = match self.get(id) {
            Some(o) if o["object"] == "payment_intent" => {
                o["latest_charge"].as_str().unwrap_or("").to_string()
            }
            Some(o) if o["object"] == "charge" => id.to_string(),
            _ => return Err(missing("charge", id, "charge")),
        };
        let mut ch = self
            .get(&charge_id)
            .ok_or_else(|| missing("charge", &charge_id, "charge"))?;
        if ch["disputed"] == true {
            return Err(serr(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                Some("charge_disputed"),
                &format!("Charge {charge_id} is already disputed."),
                None,
            ));
        }
        ch["disputed"] = json!(true);
        self.set(&ch);
        let t = now();
        let dispute = self.add(json!({
            "id": sid("du"), "object": "dispute", "amount": ch["amount"], "currency": ch["currency"],
            "charge": charge_id, "payment_intent": ch["payment_intent"], "reason": "fraudulent",
            "status": "needs_response", "is_charge_refundable": false, "balance_transactions": [],
            "evidence": {}, "evidence_details": {"due_by": t + 7 * 86_400, "has_evidence": false, "past_due": false, "submission_count": 0},
            "metadata": {}, "created": t, "livemode": false,
        }));
        self.event(hooks, "charge.dispute.created", dispute.clone(), None);
        Ok(dispute)
    }

    /// Closes a dispute as `won` or `lost` (`charge.dispute.closed`).
    fn close_dispute(
        &mut self,
        hooks: &Dispatcher,
        id: &str,
        status: &str,
    ) -> Result<Value, Response> {
        if !matches!(status, "won" | "lost") {
            return Err(invalid(
                "Invalid status: must be one of won or lost",
                "status",
            ));
        }
        let mut d = self
            .get(id)
            .filter(|d| d["object"] == "dispute")
            .ok_or_else(|| missing("dispute", id, "dispute"))?;
        if matches!(d["status"].as_str(), Some("won" | "lost")) {
            return Err(serr(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                None,
                &format!("Dispute {id} is already closed."),
                None,
            ));
        }
        let previous = json!({"status": d["status"]});
        d["status"] = json!(status);
        self.set(&d);
        self.event(hooks, "charge.dispute.closed", d.clone(), Some(previous));
        Ok(d)
    }

    /// The customer cancels their subscription (the customer portal, cancelling at once):
    /// `customer.subscription.deleted` with `cancellation_details.reason` `cancellation_requested`.
    fn cancel_by_customer(&mut self, hooks: &Dispatcher, id: &str) -> Result<Value, Response> {
        let mut sub = self
            .get(id)
            .filter(|s| s["object"] == "subscription")
            .ok_or_else(|| missing("subscription", id, "id"))?;
        if sub["status"] == "canceled" {
            return Err(missing("subscription", id, "id"));
        }
        let t = now();
        sub["status"] = json!("canceled");
        sub["canceled_at"] = json!(t);
        sub["ended_at"] = json!(t);
        sub["cancellation_details"] =
            json!({"comment": null, "feedback": null, "reason": "cancellation_requested"});
        self.set(&sub);
        self.event(hooks, "customer.subscription.deleted", sub.clone(), None);
        Ok(sub)
    }

    /// The subscription's next period (control `advance`).
    fn advance(&mut self, hooks: &Dispatcher, id: &str) -> Result<Value, Response> {
        let mut sub = self
            .get(id)
            .ok_or_else(|| missing("subscription", id, "id"))?;
        if sub["status"] == "canceled" {
            return Err(serr(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                None,
                "The subscription is canceled.",
                None,
            ));
        }
        let end = sub["items"]["data"][0]["current_period_end"]
            .as_i64()
            .unwrap_or_else(now);
        if sub["cancel_at_period_end"] == true {
            sub["status"] = json!("canceled");
            sub["ended_at"] = json!(end);
            sub["canceled_at"] = json!(now());
            sub["cancellation_details"]["reason"] = json!("cancellation_requested");
            self.set(&sub);
            self.event(hooks, "customer.subscription.deleted", sub.clone(), None);
            return Ok(sub);
        }
        let price = sub["items"]["data"][0]["price"].clone();
        let new_end = Self::period_end(end, &price);
        let fail = self.fail_next.remove(id);
        let previous = json!({"status": sub["status"], "items": {"data": [{"current_period_start": sub["items"]["data"][0]["current_period_start"], "current_period_end": end}]}});
        if fail {
            sub["status"] = json!("past_due");
            let inv = self.invoice(&sub, "subscription_cycle", end, new_end, false);
            sub["latest_invoice"] = inv["id"].clone();
            self.set(&sub);
            self.event(hooks, "invoice.payment_failed", inv, None);
            self.event(
                hooks,
                "customer.subscription.updated",
                sub.clone(),
                Some(json!({"status": previous["status"]})),
            );
            return Ok(sub);
        }
        sub["status"] = json!("active");
        sub["items"]["data"][0]["current_period_start"] = json!(end);
        sub["items"]["data"][0]["current_period_end"] = json!(new_end);
        let inv = self.invoice(&sub, "subscription_cycle", end, new_end, true);
        sub["latest_invoice"] = inv["id"].clone();
        self.set(&sub);
        self.event(hooks, "invoice.paid", inv, None);
        self.event(
            hooks,
            "customer.subscription.updated",
            sub.clone(),
            Some(previous),
        );
        Ok(sub)
    }

    fn price(
        &mut self,
        unit_amount: i64,
        currency: &str,
        interval: Option<&str>,
        interval_count: i64,
        product_name: &str,
        lookup_key: Option<&str>,
    ) -> Value {
        let product = self.add(json!({"id": sid("prod"), "object": "product", "name": product_name, "active": true, "created": now(), "metadata": {}}));
        let recurring = interval.map(
            |i| json!({"interval": i, "interval_count": interval_count, "usage_type": "licensed"}),
        );
        self.add(json!({
            "id": sid("price"), "object": "price", "active": true, "currency": currency.to_ascii_lowercase(), "unit_amount": unit_amount,
            "product": product["id"], "recurring": recurring, "type": if interval.is_some() { "recurring" } else { "one_time" },
            "lookup_key": lookup_key, "nickname": null, "created": now(), "livemode": false, "metadata": {},
        }))
    }
}

/// The session as the API shows it (without the fake's bookkeeping fields).
fn public_session(s: &Value) -> Value {
    let mut v = s.clone();
    if let Some(m) = v.as_object_mut() {
        m.remove("line_items_data");
        m.remove("payment_intent_data");
        m.remove("subscription_data");
    }
    v
}

impl StripeFake {
    pub async fn start() -> crate::Result<Self> {
        let secret_key = format!("sk_test_{}", crate::ids::hex(32));
        let webhook_secret = format!("whsec_{}", crate::ids::hex(32));
        let ws = webhook_secret.clone();
        let signer: Signer = Arc::new(move |body: &[u8]| {
            vec![
                ("Stripe-Signature".into(), sign(&ws, now(), body)),
                (
                    "Content-Type".into(),
                    "application/json; charset=utf-8".into(),
                ),
                (
                    "User-Agent".into(),
                    "Stripe/1.0 (+https://stripe.com/docs/webhooks)".into(),
                ),
            ]
        });
        let inner = Arc::new(Inner {
            state: Mutex::new(StState {
                secret_key,
                publishable_key: format!("pk_test_{}", crate::ids::hex(32)),
                webhook_secret,
                objects: Vec::new(),
                idem: HashMap::new(),
                fail_next: HashSet::new(),
            }),
            hooks: Dispatcher::start(signer),
        });
        let (provider, table) = Routes::new(PathStyle::default())
            .post("/v1/checkout/sessions", create_session)
            .get("/v1/checkout/sessions", list_of("checkout.session"))
            .get("/v1/checkout/sessions/{id}", get_one("checkout.session"))
            .post("/v1/checkout/sessions/{id}/expire", expire_session)
            .get("/v1/charges", list_of("charge"))
            .get("/v1/charges/{id}", get_one("charge"))
            .get("/v1/payment_intents/{id}", get_one("payment_intent"))
            .get("/v1/invoices", list_of("invoice"))
            .get("/v1/invoices/{id}", get_one("invoice"))
            .get("/v1/balance_transactions", list_of("balance_transaction"))
            .get("/v1/refunds", list_of("refund"))
            .post("/v1/refunds", create_refund)
            .get("/v1/events", list_of("event"))
            .get("/v1/events/{id}", get_one("event"))
            .get("/v1/customers/{id}", get_one("customer"))
            .get("/v1/prices", list_of("price"))
            .get("/v1/prices/{id}", get_one("price"))
            .get("/v1/subscriptions", list_of("subscription"))
            .get("/v1/subscriptions/{id}", get_one("subscription"))
            .post("/v1/subscriptions/{id}", update_subscription)
            .delete("/v1/subscriptions/{id}", cancel_subscription)
            .get("/c/pay/{id}", hosted_page)
            .post("/c/pay/{id}", hosted_submit)
            .fallback(not_found)
            .with_state(inner.clone());
        let core = Core::new(Flavor::Stripe, table);
        let control =
            control_routes(inner.clone()).merge(common::webhook_control(inner.hooks.clone()));
        let app = control::assemble(provider, control, core.clone());
        Ok(StripeFake {
            running: serve(app).await?,
            core,
            inner,
        })
    }

    pub fn url(&self) -> String {
        self.running.url()
    }
    pub fn control_url(&self) -> String {
        format!("{}{}", self.url(), control::PREFIX)
    }
    pub fn secret_key(&self) -> String {
        lock(&self.inner.state).secret_key.clone()
    }
    pub fn publishable_key(&self) -> String {
        lock(&self.inner.state).publishable_key.clone()
    }
    pub fn webhook_secret(&self) -> String {
        lock(&self.inner.state).webhook_secret.clone()
    }
    pub fn add_fault(&self, rule: crate::FaultRule) -> u64 {
        self.core.add_fault(rule)
    }
    pub fn requests(&self) -> Vec<crate::LoggedRequest> {
        self.core.requests()
    }
    pub fn set_webhook_url(&self, url: Option<&str>, schedule_ms: Option<Vec<u64>>) {
        self.inner
            .hooks
            .configure(Some(url.map(str::to_string)), schedule_ms);
    }
    pub fn webhook_settings(&self) -> WebhookSettings {
        self.inner.hooks.settings()
    }
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.inner.hooks.deliveries()
    }
    pub fn retry_deliveries_now(&self) {
        self.inner.hooks.retry_now()
    }
    /// A recurring price (and its product); returns the price id.
    pub fn add_price(
        &self,
        unit_amount: i64,
        currency: &str,
        interval: &str,
        product_name: &str,
    ) -> String {
        let p = lock(&self.inner.state).price(
            unit_amount,
            currency,
            Some(interval),
            1,
            product_name,
            None,
        );
        p["id"].as_str().unwrap_or("").to_string()
    }
    pub fn prices(&self) -> Vec<Value> {
        lock(&self.inner.state)
            .objects
            .iter()
            .filter(|o| o["object"] == "price")
            .cloned()
            .collect()
    }
    /// What the Pay button does.
    pub fn pay_session(&self, id: &str) -> crate::Result<Value> {
        let mut st = lock(&self.inner.state);
        st.complete(&self.inner.hooks, id)
            .map_err(|_| crate::FakeError::NotFound(id.to_string()))
    }
    pub fn object(&self, id: &str) -> Option<Value> {
        lock(&self.inner.state).get(id)
    }
    pub fn objects_of(&self, kind: &str) -> Vec<Value> {
        lock(&self.inner.state)
            .objects
            .iter()
            .filter(|o| o["object"] == kind)
            .cloned()
            .collect()
    }
    pub fn fail_next_renewal(&self, sub: &str) {
        lock(&self.inner.state).fail_next.insert(sub.to_string());
    }
    /// A dispute (chargeback) on a charge or PaymentIntent; answers the dispute.
    pub fn dispute(&self, id: &str) -> crate::Result<Value> {
        let mut st = lock(&self.inner.state);
        st.dispute(&self.inner.hooks, id)
            .map_err(|_| crate::FakeError::NotFound(id.to_string()))
    }
    /// Closes dispute `id` as `won` or `lost`.
    pub fn close_dispute(&self, id: &str, status: &str) -> crate::Result<Value> {
        let mut st = lock(&self.inner.state);
        st.close_dispute(&self.inner.hooks, id, status)
            .map_err(|_| crate::FakeError::NotFound(id.to_string()))
    }
    /// The customer cancels subscription `sub` in the customer portal.
    pub fn cancel_by_customer(&self, sub: &str) -> crate::Result<Value> {
        let mut st = lock(&self.inner.state);
        st.cancel_by_customer(&self.inner.hooks, sub)
            .map_err(|_| crate::FakeError::NotFound(sub.to_string()))
    }
    pub fn advance_subscription(&self, sub: &str) -> crate::Result<Value> {
        let mut st = lock(&self.inner.state);
        st.advance(&self.inner.hooks, sub)
            .map_err(|_| crate::FakeError::NotFound(sub.to_string()))
    }
    /// A card payment made outside checkout (for sync tests); returns the charge.
    pub fn create_payment(
        &self,
        amount: i64,
        currency: &str,
        email: &str,
        description: &str,
    ) -> Value {
        let mut st = lock(&self.inner.state);
        let cus = st.customer(email, "");
        let (_, ch) = st.charge(
            amount,
            &currency.to_ascii_lowercase(),
            Some(&cus),
            (email, ""),
            Some(description),
            json!({}),
        );
        st.event(&self.inner.hooks, "charge.succeeded", ch.clone(), None);
        ch
    }
}

/// The secret key, as a bearer token or the HTTP Basic user.
fn authed(st: &StState, h: &HeaderMap) -> Result<(), Response> {
    let auth = crate::http_util::header_str(h, "authorization").unwrap_or("");
    let key = if let Some(b) = auth.strip_prefix("Bearer ") {
        b.trim().to_string()
    } else if let Some(b) = auth.strip_prefix("Basic ") {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(b.trim())
            .unwrap_or_default();
        String::from_utf8_lossy(&raw)
            .split(':')
            .next()
            .unwrap_or("")
            .to_string()
    } else {
        return Err(serr(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            None,
            "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
            None,
        ));
    };
    if key != st.secret_key {
        let tail: String = key
            .chars()
            .rev()
            .take(4)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        return Err(serr(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            None,
            &format!("Invalid API Key provided: sk_test_****{tail}"),
            None,
        ));
    }
    Ok(())
}

/// Runs a POST once per `Idempotency-Key`: a repeat with the same parameters gets the first
/// answer (`Idempotent-Replayed: true`), with others `idempotency_error`.
fn idempotent(
    inner: &Inner,
    h: &HeaderMap,
    path: &str,
    body: &str,
    run: impl FnOnce(&mut StState, &Dispatcher) -> Result<Value, Response>,
) -> Response {
    let mut st = lock(&inner.state);
    if let Err(r) = authed(&st, h) {
        return r;
    }
    let key = crate::http_util::header_str(h, "idempotency-key").map(str::to_string);
    let fingerprint = format!("{path}?{body}");
    if let Some(k) = &key
        && let Some((fp, status, v)) = st.idem.get(k)
    {
        if *fp != fingerprint {
            return serr(
                StatusCode::BAD_REQUEST,
                "idempotency_error",
                None,
                &format!(
                    "Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '{k}' if you meant to execute a different request."
                ),
                None,
            );
        }
        let mut r = (
            StatusCode::from_u16(*status).unwrap_or(StatusCode::OK),
            Json(v.clone()),
        )
            .into_response();
        r.headers_mut().insert(
            "idempotent-replayed",
            axum::http::HeaderValue::from_static("true"),
        );
        return r;
    }
    let out = run(&mut st, &inner.hooks);
    let (status, v) = match out {
        Ok(v) => (StatusCode::OK, v),
        Err(r) => return r,
    };
    if let Some(k) = key {
        st.idem.insert(k, (fingerprint, status.as_u16(), v.clone()));
    }
    (status, Json(v)).into_response()
}

async fn create_session(State(inner): State<St>, h: HeaderMap, body: String) -> Response {
    let f = nest(&pairs(&body));
    let base = origin(&h);
    idempotent(&inner, &h, "/v1/checkout/sessions", &body, |st, _| {
        let mode = f["mode"]
            .as_str()
            .ok_or_else(|| invalid("Missing required param: mode.", "mode"))?
            .to_string();
        let success = f["success_url"]
            .as_str()
            .ok_or_else(|| invalid("Missing required param: success_url.", "success_url"))?;
        let items = f["line_items"].as_array().cloned().unwrap_or_default();
        let first = items
            .first()
            .ok_or_else(|| invalid("Missing required param: line_items.", "line_items"))?;
        let qty: i64 = first["quantity"]
            .as_str()
            .and_then(|q| q.parse().ok())
            .unwrap_or(1);
        let (amount, currency) = if let Some(pid) = first["price"].as_str() {
            let p = st
                .get(pid)
                .filter(|p| p["object"] == "price")
                .ok_or_else(|| missing("price", pid, "line_items[0][price]"))?;
            if mode == "subscription" && p["recurring"].is_null() {
                return Err(serr(
                    StatusCode::BAD_REQUEST,
                    "invalid_request_error",
                    None,
                    "You must provide at least one recurring price in `subscription` mode when using prices.",
                    Some("line_items[0][price]"),
                ));
            }
            (
                p["unit_amount"].as_i64().unwrap_or(0) * qty,
                p["currency"].as_str().unwrap_or("usd").to_string(),
            )
        } else {
            let pd = &first["price_data"];
            let a: i64 = pd["unit_amount"]
                .as_str()
                .and_then(|a| a.parse().ok())
                .ok_or_else(|| {
                    invalid(
                        "Missing required param: line_items[0][price_data][unit_amount].",
                        "line_items[0][price_data][unit_amount]",
                    )
                })?;
            let c = pd["currency"].as_str().ok_or_else(|| {
                invalid(
                    "Missing required param: line_items[0][price_data][currency].",
                    "line_items[0][price_data][currency]",
                )
            })?;
            (a * qty, c.to_ascii_lowercase())
        };
        if !matches!(mode.as_str(), "payment" | "subscription") {
            return Err(serr(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                None,
                &format!("Invalid mode: {mode}"),
                Some("mode"),
            ));
        }
        let id = format!("cs_test_{}", crate::ids::hex(40));
        let t = now();
        let expires: i64 = f["expires_at"]
            .as_str()
            .and_then(|e| e.parse().ok())
            .unwrap_or(t + 86_400);
        let s = json!({
            "id": id, "object": "checkout.session", "mode": mode, "status": "open", "payment_status": "unpaid",
            "url": format!("{base}/c/pay/{id}"), "success_url": success, "cancel_url": f["cancel_url"],
            "client_reference_id": f["client_reference_id"], "customer": f["customer"], "customer_email": f["customer_email"],
            "customer_details": null, "metadata": f["metadata"].as_object().cloned().unwrap_or_default(),
            "amount_total": amount, "amount_subtotal": amount, "currency": currency,
            "payment_intent": null, "subscription": null, "invoice": null, "expires_at": expires, "created": t, "livemode": false,
            "line_items_data": items, "payment_intent_data": f["payment_intent_data"], "subscription_data": f["subscription_data"],
        });
        st.add(s.clone());
        Ok(public_session(&s))
    })
}

async fn expire_session(
    State(inner): State<St>,
    Path(id): Path<String>,
    h: HeaderMap,
    body: String,
) -> Response {
    idempotent(
        &inner,
        &h,
        &format!("/v1/checkout/sessions/{id}/expire"),
        &body,
        |st, hooks| {
            let mut s = st
                .get(&id)
                .ok_or_else(|| missing("checkout.session", &id, "session"))?;
            if s["status"] != "open" {
                return Err(serr(
                    StatusCode::BAD_REQUEST,
                    "invalid_request_error",
                    None,
                    "Only Checkout Sessions with a status in [\"open\"] can be expired.",
                    None,
                ));
            }
            s["status"] = json!("expired");
            st.set(&s);
            st.event(hooks, "checkout.session.expired", public_session(&s), None);
            Ok(public_session(&s))
        },
    )
}

async fn create_refund(State(inner): State<St>, h: HeaderMap, body: String) -> Response {
    let f = nest(&pairs(&body));
    idempotent(&inner, &h, "/v1/refunds", &body, |st, hooks| {
        st.refund(hooks, &f)
    })
}

async fn update_subscription(
    State(inner): State<St>,
    Path(id): Path<String>,
    h: HeaderMap,
    body: String,
) -> Response {
    let f = nest(&pairs(&body));
    idempotent(
        &inner,
        &h,
        &format!("/v1/subscriptions/{id}"),
        &body,
        |st, hooks| {
            let mut sub = st
                .get(&id)
                .filter(|s| s["object"] == "subscription")
                .ok_or_else(|| missing("subscription", &id, "id"))?;
            if sub["status"] == "canceled" {
                return Err(serr(
                    StatusCode::BAD_REQUEST,
                    "invalid_request_error",
                    None,
                    "A canceled subscription can only update its cancellation_details and metadata.",
                    None,
                ));
            }
            let mut prev = json!({});
            if let Some(c) = f["cancel_at_period_end"].as_str() {
                let on = c == "true";
                prev["cancel_at_period_end"] = sub["cancel_at_period_end"].clone();
                sub["cancel_at_period_end"] = json!(on);
                sub["cancel_at"] = if on {
                    sub["items"]["data"][0]["current_period_end"].clone()
                } else {
                    Value::Null
                };
                sub["canceled_at"] = if on { json!(now()) } else { Value::Null };
            }
            if let Some(m) = f["metadata"].as_object() {
                prev["metadata"] = sub["metadata"].clone();
                for (k, v) in m {
                    sub["metadata"][k] = v.clone();
                }
            }
            st.set(&sub);
            st.event(
                hooks,
                "customer.subscription.updated",
                sub.clone(),
                Some(prev),
            );
            Ok(sub)
        },
    )
}

async fn cancel_subscription(
    State(inner): State<St>,
    Path(id): Path<String>,
    h: HeaderMap,
) -> Response {
    let mut st = lock(&inner.state);
    if let Err(r) = authed(&st, &h) {
        return r;
    }
    let Some(mut sub) = st.get(&id).filter(|s| s["object"] == "subscription") else {
        return missing("subscription", &id, "id");
    };
    if sub["status"] == "canceled" {
        return serr(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            Some("resource_missing"),
            &format!("No such subscription: '{id}'"),
            Some("id"),
        );
    }
    let t = now();
    sub["status"] = json!("canceled");
    sub["canceled_at"] = json!(t);
    sub["ended_at"] = json!(t);
    sub["cancellation_details"]["reason"] = json!("cancellation_requested");
    st.set(&sub);
    st.event(
        &inner.hooks,
        "customer.subscription.deleted",
        sub.clone(),
        None,
    );
    Json(sub).into_response()
}

fn query_pairs(q: &Option<String>) -> Vec<(String, String)> {
    pairs(q.as_deref().unwrap_or(""))
}

fn expand(st: &StState, mut o: Value, paths: &[String], prefix: &str) -> Value {
    for p in paths {
        let Some(field) = p.strip_prefix(prefix) else {
            continue;
        };
        if let Some(id) = o[field].as_str()
            && let Some(full) = st.get(id)
        {
            o[field] = full;
        }
    }
    o
}

fn list_of(
    kind: &'static str,
) -> impl Fn(State<St>, HeaderMap, RawQuery) -> std::future::Ready<Response> + Clone + Send + 'static
{
    move |State(inner): State<St>, h: HeaderMap, RawQuery(q): RawQuery| {
        let st = lock(&inner.state);
        let r = match authed(&st, &h) {
            Err(r) => r,
            Ok(()) => list(&st, kind, &query_pairs(&q)),
        };
        std::future::ready(r)
    }
}

fn list(st: &StState, kind: &str, q: &[(String, String)]) -> Response {
    let get = |k: &str| {
        q.iter()
            .rev()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    let limit: usize = match get("limit").map(str::parse::<usize>) {
        None => 10,
        Some(Ok(n)) if (1..=100).contains(&n) => n,
        _ => {
            return serr(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                None,
                "Invalid integer: limit must be between 1 and 100",
                Some("limit"),
            );
        }
    };
    let expands: Vec<String> = q
        .iter()
        .filter(|(k, _)| k == "expand[]" || k.starts_with("expand["))
        .map(|(_, v)| v.clone())
        .collect();
    let num = |k: &str| get(k).and_then(|v| v.parse::<i64>().ok());
    let (gt, gte, lt, lte) = (
        num("created[gt]"),
        num("created[gte]"),
        num("created[lt]"),
        num("created[lte]"),
    );
    let mut rows: Vec<&Value> = st
        .objects
        .iter()
        .filter(|o| o["object"] == kind)
        .rev()
        .collect();
    rows.retain(|o| {
        let c = o["created"].as_i64().unwrap_or(0);
        gt.is_none_or(|x| c > x)
            && gte.is_none_or(|x| c >= x)
            && lt.is_none_or(|x| c < x)
            && lte.is_none_or(|x| c <= x)
    });
    for (k, field) in [
        ("status", "status"),
        ("customer", "customer"),
        ("payment_intent", "payment_intent"),
        ("subscription", "subscription"),
    ] {
        if let Some(v) = get(k)
            && !(k == "status" && v == "all")
        {
            rows.retain(|o| {
                if kind == "invoice" && k == "subscription" {
                    o["parent"]["subscription_details"]["subscription"] == v
                } else {
                    o[field] == v
                }
            });
        }
    }
    if let Some(types) = Some(
        q.iter()
            .filter(|(k, _)| k == "types[]")
            .map(|(_, v)| v.as_str())
            .collect::<Vec<_>>(),
    )
    .filter(|t| !t.is_empty())
    {
        rows.retain(|o| types.contains(&o["type"].as_str().unwrap_or("")));
    }
    if let Some(t) = get("type")
        && kind == "event"
    {
        rows.retain(|o| o["type"] == t);
    }
    if let Some(after) = get("starting_after") {
        match rows.iter().position(|o| o["id"] == after) {
            Some(i) => rows = rows.split_off(i + 1),
            None => return missing(kind, after, "starting_after"),
        }
    } else if let Some(before) = get("ending_before") {
        match rows.iter().position(|o| o["id"] == before) {
            Some(i) => {
                rows.truncate(i);
                let skip = rows.len().saturating_sub(limit);
                rows = rows.split_off(skip);
            }
            None => return missing(kind, before, "ending_before"),
        }
    }
    let has_more = rows.len() > limit;
    let data: Vec<Value> = rows
        .into_iter()
        .take(limit)
        .map(|o| {
            let o = if kind == "checkout.session" {
                public_session(o)
            } else {
                o.clone()
            };
            expand(st, o, &expands, "data.")
        })
        .collect();
    let url = match kind {
        "checkout.session" => "/v1/checkout/sessions".to_string(),
        "balance_transaction" => "/v1/balance_transactions".to_string(),
        "payment_intent" => "/v1/payment_intents".to_string(),
        k => format!("/v1/{k}s"),
    };
    Json(json!({"object": "list", "url": url, "has_more": has_more, "data": data})).into_response()
}

fn get_one(
    kind: &'static str,
) -> impl Fn(State<St>, Path<String>, HeaderMap, RawQuery) -> std::future::Ready<Response>
+ Clone
+ Send
+ 'static {
    move |State(inner): State<St>, Path(id): Path<String>, h: HeaderMap, RawQuery(q): RawQuery| {
        let st = lock(&inner.state);
        let r = match authed(&st, &h) {
            Err(r) => r,
            Ok(()) => match st.get(&id).filter(|o| o["object"] == kind) {
                None => missing(kind, &id, "id"),
                Some(o) => {
                    let expands: Vec<String> = query_pairs(&q)
                        .into_iter()
                        .filter(|(k, _)| k.starts_with("expand"))
                        .map(|(_, v)| v)
                        .collect();
                    let o = if kind == "checkout.session" {
                        public_session(&o)
                    } else {
                        o
                    };
                    Json(expand(&st, o, &expands, "")).into_response()
                }
            },
        };
        std::future::ready(r)
    }
}

async fn hosted_page(State(inner): State<St>, Path(id): Path<String>) -> Response {
    let st = lock(&inner.state);
    let Some(s) = st.get(&id).filter(|s| s["object"] == "checkout.session") else {
        return (
            StatusCode::NOT_FOUND,
            common::message_page(
                "Stripe",
                "Something went wrong",
                "The page you were looking for could not be found.",
            ),
        )
            .into_response();
    };
    if s["status"] != "open" {
        return common::message_page(
            "Stripe",
            "This Checkout Session is no longer active",
            &format!("Status: {}", s["status"].as_str().unwrap_or("")),
        );
    }
    let amount = s["amount_total"].as_i64().unwrap_or(0);
    let what = s["line_items_data"][0]["price_data"]["product_data"]["name"]
        .as_str()
        .map(str::to_string)
        .or_else(|| {
            s["line_items_data"][0]["price"]
                .as_str()
                .map(str::to_string)
        })
        .unwrap_or_default();
    let lines = vec![
        ("Item".to_string(), what),
        (
            "Amount".to_string(),
            format!(
                "{}.{:02} {}",
                amount / 100,
                amount % 100,
                s["currency"].as_str().unwrap_or("").to_uppercase()
            ),
        ),
        (
            "Mode".to_string(),
            s["mode"].as_str().unwrap_or("").to_string(),
        ),
        (
            "Email".to_string(),
            s["customer_email"]
                .as_str()
                .unwrap_or("buyer@example.com")
                .to_string(),
        ),
    ];
    page(
        "Stripe Checkout",
        "Pay",
        &lines,
        &format!("/c/pay/{id}"),
        &[("pay", "Pay"), ("cancel", "Cancel")],
    )
}

async fn hosted_submit(State(inner): State<St>, Path(id): Path<String>, body: String) -> Response {
    let mut st = lock(&inner.state);
    let Some(s) = st.get(&id) else {
        return (
            StatusCode::NOT_FOUND,
            common::message_page(
                "Stripe",
                "Something went wrong",
                "No such checkout session.",
            ),
        )
            .into_response();
    };
    if form_action(&body) == "cancel" {
        return redirect(s["cancel_url"].as_str().unwrap_or("/"));
    }
    match st.complete(&inner.hooks, &id) {
        Ok(done) => redirect(
            &s["success_url"]
                .as_str()
                .unwrap_or("/")
                .replace("{CHECKOUT_SESSION_ID}", done["id"].as_str().unwrap_or("")),
        ),
        Err(_) => common::message_page(
            "Stripe",
            "This Checkout Session is no longer active",
            "It was already paid or expired.",
        ),
    }
}

async fn not_found(uri: axum::http::Uri) -> Response {
    serr(
        StatusCode::NOT_FOUND,
        "invalid_request_error",
        None,
        &format!(
            "Unrecognized request URL (GET: {}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.",
            uri.path()
        ),
        None,
    )
}

fn control_routes(inner: St) -> axum::Router {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/state", get(|State(i): State<St>| async move {
            let st = lock(&i.state);
            Json(json!({"secret_key": st.secret_key, "publishable_key": st.publishable_key, "webhook_secret": st.webhook_secret, "objects": st.objects}))
        }))
        .route("/prices", post(control_price))
        .route("/checkout/sessions/{id}/pay", post(|State(i): State<St>, Path(id): Path<String>| async move {
            let mut st = lock(&i.state);
            match st.complete(&i.hooks, &id) { Ok(v) => Json(v).into_response(), Err(r) => r }
        }))
        .route("/payments", post(control_payment))
        .route("/refunds", post(|State(i): State<St>, Json(b): Json<Value>| async move {
            let f = json!({"charge": b["charge"], "payment_intent": b["payment_intent"], "amount": b["amount"].as_i64().map(|a| a.to_string()), "reason": b["reason"]});
            let mut st = lock(&i.state);
            match st.refund(&i.hooks, &f) { Ok(v) => Json(v).into_response(), Err(r) => r }
        }))
        .route("/disputes", post(|State(i): State<St>, Json(b): Json<Value>| async move {
            let id = b["charge"].as_str().or(b["payment_intent"].as_str()).unwrap_or("").to_string();
            let mut st = lock(&i.state);
            match st.dispute(&i.hooks, &id) { Ok(v) => Json(v).into_response(), Err(r) => r }
        }))
        .route("/disputes/{id}/close", post(|State(i): State<St>, Path(id): Path<String>, Json(b): Json<Value>| async move {
            let status = b["status"].as_str().unwrap_or("").to_string();
            let mut st = lock(&i.state);
            match st.close_dispute(&i.hooks, &id, &status) { Ok(v) => Json(v).into_response(), Err(r) => r }
        }))
        .route("/subscriptions/{id}/cancel", post(|State(i): State<St>, Path(id): Path<String>| async move {
            let mut st = lock(&i.state);
            match st.cancel_by_customer(&i.hooks, &id) { Ok(v) => Json(v).into_response(), Err(r) => r }
        }))
        .route("/subscriptions/{id}/fail_next_renewal", post(|State(i): State<St>, Path(id): Path<String>| async move {
            let mut st = lock(&i.state);
            if st.get(&id).is_none() { return control::bad(StatusCode::NOT_FOUND, format!("no subscription {id}")); }
            st.fail_next.insert(id);
            StatusCode::NO_CONTENT.into_response()
        }))
        .route("/subscriptions/{id}/advance", post(|State(i): State<St>, Path(id): Path<String>| async move {
            let mut st = lock(&i.state);
            match st.advance(&i.hooks, &id) { Ok(v) => Json(v).into_response(), Err(r) => r }
        }))
        .with_state(inner)
}

#[derive(Deserialize)]
struct PriceSeed {
    unit_amount: i64,
    #[serde(default = "usd")]
    currency: String,
    #[serde(default)]
    interval: Option<String>,
    #[serde(default = "one")]
    interval_count: i64,
    #[serde(default = "plan")]
    product_name: String,
    #[serde(default)]
    lookup_key: Option<String>,
}

fn usd() -> String {
    "usd".into()
}
fn one() -> i64 {
    1
}
fn plan() -> String {
    "Plan".into()
}

async fn control_price(State(i): State<St>, Json(b): Json<PriceSeed>) -> Response {
    let mut st = lock(&i.state);
    let p = st.price(
        b.unit_amount,
        &b.currency,
        b.interval.as_deref(),
        b.interval_count,
        &b.product_name,
        b.lookup_key.as_deref(),
    );
    (StatusCode::CREATED, Json(p)).into_response()
}

#[derive(Deserialize)]
struct PaymentSeed {
    amount: i64,
    #[serde(default = "usd")]
    currency: String,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    description: Option<String>,
}

async fn control_payment(State(i): State<St>, Json(b): Json<PaymentSeed>) -> Response {
    if b.amount <= 0 {
        return control::bad(
            StatusCode::UNPROCESSABLE_ENTITY,
            "amount must be positive (minor units)",
        );
    }
    let mut st = lock(&i.state);
    let email = b.email.unwrap_or_else(|| "payer@example.com".into());
    let cus = st.customer(&email, "");
    let (_, ch) = st.charge(
        b.amount,
        &b.currency.to_ascii_lowercase(),
        Some(&cus),
        (&email, ""),
        b.description.as_deref(),
        json!({}),
    );
    st.event(&i.hooks, "charge.succeeded", ch.clone(), None);
    (StatusCode::CREATED, Json(ch)).into_response()
}
