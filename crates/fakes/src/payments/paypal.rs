//! Fake PayPal: REST (OAuth client credentials, Orders v2, Payments v2 captures and refunds,
//! Catalog products, Billing plans and subscriptions v1, webhook verification and certificates,
//! webhook events, the Reporting API) and the NVP endpoint (`POST /nvp`: TransactionSearch,
//! GetTransactionDetails) for a primary and a secondary account, on one loopback server.
//! Errors use PayPal's body (`{name, message, debug_id, details[{issue, description}]}`);
//! `PayPal-Request-Id` replays the first answer with 200.
//!
//! Buyer pages: an order's `payer-action`/`approve` link is `/checkoutnow?token={id}`, a
//! subscription's `approve` link `/webapps/billing/subscriptions?ba_token={token}`; each has
//! Approve and Cancel buttons and redirects as PayPal does (`return_url?token=…&PayerID=…`;
//! for subscriptions `?subscription_id=…&ba_token=…&token=…`; `cancel_url?token=…`).
//!
//! Webhooks are signed with the fake's RSA key as PayPal documents (docs/payments.md): five
//! `PAYPAL-*` headers, the certificate at `/v1/notifications/certs/CERT-fake`.
//!
//! Control API: `GET /state`, `GET|PUT /webhook`, `GET /deliveries`, `POST /deliveries/retry`,
//! `POST /plans`, `POST /orders/{id}/approve`, `POST /subscriptions/{id}/approve`,
//! `POST /payments` (a payment outside checkout, on either account), `POST /captures/{id}/refund`,
//! `POST /subscriptions/{id}/fail_next_renewal`, `POST /subscriptions/{id}/advance`,
//! `POST /subscriptions/{id}/cancel` (the buyer cancels), `POST /captures/{id}/reverse` (a
//! chargeback and its dispute), `POST /disputes/{id}/resolve` (`{"outcome"}`).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use ring::signature::{
    RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, RsaKeyPair, UnparsedPublicKey,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::common::{self, form_action, now, origin, pairs, redirect, rfc3339};
use super::webhooks::{Delivery, Dispatcher, Signer, WebhookSettings};
use crate::control;
use crate::faults::{Core, Flavor, lock};
use crate::http_util::header_str;
use crate::routing::{PathStyle, Routes};
use crate::server::{Running, serve};

/// The fake's webhook signing key (PKCS#8) and its self-signed certificate. A test key: it
/// signs deliveries of this fake and nothing else.
const SIGNER_KEY: &[u8] = include_bytes!("paypal_signer.pk8");
pub const SIGNER_CERT: &str = include_str!("paypal_signer.pem");
const CERT_PATH: &str = "/v1/notifications/certs/CERT-fake";

/// NVP API-signature credentials of one fake account.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PayPalNvpAccount {
    pub role: String,
    pub email: String,
    pub username: String,
    pub password: String,
    pub signature: String,
}

/// One money movement as the account's history shows it (NVP and reporting read these).
#[derive(Debug, Clone, Serialize)]
struct Txn {
    id: String,
    account: String,
    time: i64,
    /// NVP `L_TYPE`: `Payment`, `Recurring Payment`, `Refund`.
    kind: String,
    /// Reporting event code: T0006 checkout, T0002 subscription, T1107 refund, T0000 sent to us.
    event_code: String,
    transaction_type: String,
    email: String,
    name: String,
    status: String,
    /// Signed minor units.
    amount: i64,
    currency: String,
    fee: i64,
    custom: String,
    subscription_id: Option<String>,
    parent: Option<String>,
}

#[derive(Debug)]
struct PpState {
    client_id: String,
    client_secret: String,
    webhook_id: String,
    base: String,
    tokens: HashSet<String>,
    nvp: Vec<PayPalNvpAccount>,
    orders: Vec<Value>,
    captures: Vec<Value>,
    refunds: Vec<Value>,
    products: Vec<Value>,
    plans: Vec<Value>,
    subscriptions: Vec<Value>,
    events: Vec<Value>,
    ledger: Vec<Txn>,
    idem: HashMap<String, (String, Value)>,
    fail_next: HashSet<String>,
    disputes: Vec<Value>,
}

struct Inner {
    state: Mutex<PpState>,
    hooks: Arc<Dispatcher>,
    key: Arc<RsaKeyPair>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PayPalFake")
    }
}

type St = Arc<Inner>;

#[derive(Debug)]
pub struct PayPalFake {
    running: Running,
    core: Arc<Core>,
    inner: St,
}

/// PayPal ids: upper-case letters and digits.
fn pid(n: usize) -> String {
    crate::ids::hex(n).to_ascii_uppercase()
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut c = 0xFFFF_FFFFu32;
    for b in bytes {
        c ^= u32::from(*b);
        for _ in 0..8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
    }
    c ^ 0xFFFF_FFFF
}

fn perr(status: StatusCode, name: &str, message: &str, issue: Option<(&str, &str)>) -> Response {
    let mut body =
        json!({"name": name, "message": message, "debug_id": crate::ids::hex(13), "details": []});
    if let Some((i, d)) = issue {
        body["details"] = json!([{"issue": i, "description": d}]);
        body["links"] = json!([{"href": format!("https://developer.paypal.com/docs/api/orders/v2/#error-{i}"), "rel": "information_link", "method": "GET"}]);
    }
    (status, Json(body)).into_response()
}

fn unprocessable(issue: &str, description: &str) -> Response {
    perr(
        StatusCode::UNPROCESSABLE_ENTITY,
        "UNPROCESSABLE_ENTITY",
        "The requested action could not be performed, semantically incorrect, or failed business validation.",
        Some((issue, description)),
    )
}

fn not_found(issue: &str) -> Response {
    perr(
        StatusCode::NOT_FOUND,
        "RESOURCE_NOT_FOUND",
        "The specified resource does not exist.",
        Some((
            issue,
            "Specified resource ID does not exist. Please check the resource ID and try again.",
        )),
    )
}

fn invalid(field: &str, issue: &str, description: &str) -> Response {
    let mut r = perr(
        StatusCode::BAD_REQUEST,
        "INVALID_REQUEST",
        "Request is not well-formed, syntactically incorrect, or violates schema.",
        None,
    );
    let body = json!({"name": "INVALID_REQUEST", "message": "Request is not well-formed, syntactically incorrect, or violates schema.", "debug_id": crate::ids::hex(13), "details": [{"field": field, "location": "body", "issue": issue, "description": description}]});
    *r.body_mut() = axum::body::Body::from(body.to_string());
    r
}

/// `"10.00"` → 1000.
fn minor(v: &str) -> Option<i64> {
    let v = v.trim();
    let (neg, v) = v.strip_prefix('-').map(|r| (true, r)).unwrap_or((false, v));
    let (w, f) = v.split_once('.').unwrap_or((v, ""));
    if w.is_empty()
        || !w.bytes().all(|b| b.is_ascii_digit())
        || f.len() > 2
        || !f.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let m = w.parse::<i64>().ok()? * 100 + format!("{f:0<2}").parse::<i64>().ok()?;
    Some(if neg { -m } else { m })
}

fn dec(m: i64) -> String {
    let sign = if m < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", m.abs() / 100, m.abs() % 100)
}

fn money(m: i64, cur: &str) -> Value {
    json!({"currency_code": cur, "value": dec(m)})
}

fn fee_of(m: i64) -> i64 {
    (m * 349 + 5000) / 10_000 + 49
}

impl PpState {
    fn event(
        &mut self,
        hooks: &Dispatcher,
        typ: &str,
        resource_type: &str,
        resource: Value,
        summary: &str,
    ) {
        let id = format!("WH-{}-{}", pid(17), pid(17));
        let ev = json!({
            "id": id, "event_version": "1.0", "create_time": rfc3339(now()), "resource_type": resource_type,
            "resource_version": if resource_type == "sale" { "1.0" } else { "2.0" },
            "event_type": typ, "summary": summary, "resource": resource,
            "links": [
                {"href": format!("{}/v1/notifications/webhooks-events/{id}", self.base), "rel": "self", "method": "GET"},
                {"href": format!("{}/v1/notifications/webhooks-events/{id}/resend", self.base), "rel": "resend", "method": "POST"},
            ],
        });
        hooks.enqueue(&id, typ, ev.to_string());
        self.events.push(ev);
    }

    /// Cancels a subscription (the merchant's API call, or the buyer in their PayPal account):
    /// `BILLING.SUBSCRIPTION.CANCELLED`, keeping `billing_info.next_billing_time` as paid-through.
    fn cancel_subscription(
        &mut self,
        hooks: &Dispatcher,
        id: &str,
        reason: &str,
    ) -> Result<Value, Response> {
        let Some(s) = self.subscriptions.iter_mut().find(|s| s["id"] == id) else {
            return Err(not_found("INVALID_RESOURCE_ID"));
        };
        if !matches!(s["status"].as_str(), Some("ACTIVE" | "SUSPENDED")) {
            return Err(unprocessable(
                "SUBSCRIPTION_STATUS_INVALID",
                "Invalid subscription status for cancel action; subscription status should be active or suspended.",
            ));
        }
        s["status"] = json!("CANCELLED");
        s["status_change_note"] = json!(reason);
        s["status_update_time"] = json!(rfc3339(now()));
        let sub = public_sub(s);
        self.event(
            hooks,
            "BILLING.SUBSCRIPTION.CANCELLED",
            "subscription",
            sub.clone(),
            "Subscription cancelled",
        );
        Ok(sub)
    }

    /// The buyer's bank reverses a capture (a chargeback): the capture becomes `REVERSED`
    /// (`PAYMENT.CAPTURE.REVERSED`) and a dispute in the chargeback stage is opened
    /// (`CUSTOMER.DISPUTE.CREATED`). Answers the dispute.
    fn reverse_capture(&mut self, hooks: &Dispatcher, id: &str) -> Result<Value, Response> {
        let Some(c) = self.captures.iter_mut().find(|c| c["id"] == id) else {
            return Err(not_found("INVALID_RESOURCE_ID"));
        };
        if c["status"] != "COMPLETED" {
            return Err(unprocessable(
                "CAPTURE_NOT_COMPLETED",
                "Only a completed capture can be reversed.",
            ));
        }
        let t = rfc3339(now());
        c["status"] = json!("REVERSED");
        c["status_details"] = json!({"reason": "CHARGEBACK"});
        c["update_time"] = json!(t);
        let capture = c.clone();
        let amount = capture["amount"].clone();
        let did = format!("PP-D-{}", pid(5));
        let dispute = json!({
            "dispute_id": did,
            "create_time": t, "update_time": t,
            "disputed_transactions": [{
                "seller_transaction_id": id, "create_time": capture["create_time"],
                "transaction_status": "REVERSED", "gross_amount": amount,
                "custom": capture["custom_id"],
            }],
            "reason": "UNAUTHORISED", "status": "UNDER_REVIEW", "dispute_amount": amount,
            "dispute_life_cycle_stage": "CHARGEBACK", "dispute_channel": "EXTERNAL",
            "links": [{"href": format!("{}/v1/customer/disputes/{did}", self.base), "rel": "self", "method": "GET"}],
        });
        self.disputes.push(dispute.clone());
        self.event(
            hooks,
            "PAYMENT.CAPTURE.REVERSED",
            "capture",
            capture,
            &format!(
                "Payment reversed for {} {}",
                amount["value"].as_str().unwrap_or(""),
                amount["currency_code"].as_str().unwrap_or("")
            ),
        );
        self.event(
            hooks,
            "CUSTOMER.DISPUTE.CREATED",
            "dispute",
            dispute.clone(),
            "A new dispute opened",
        );
        Ok(dispute)
    }

    /// Settles a dispute: `RESOLVED_SELLER_FAVOUR` (won: the reversed money comes back and
    /// the capture is `COMPLETED` again) or `RESOLVED_BUYER_FAVOUR` (lost):
    /// `CUSTOMER.DISPUTE.RESOLVED`.
    fn resolve_dispute(
        &mut self,
        hooks: &Dispatcher,
        id: &str,
        outcome: &str,
    ) -> Result<Value, Response> {
        if !matches!(outcome, "RESOLVED_SELLER_FAVOUR" | "RESOLVED_BUYER_FAVOUR") {
            return Err(invalid(
                "/outcome",
                "INVALID_PARAMETER_VALUE",
                "outcome is RESOLVED_SELLER_FAVOUR or RESOLVED_BUYER_FAVOUR.",
            ));
        }
        let Some(d) = self.disputes.iter_mut().find(|d| d["dispute_id"] == id) else {
            return Err(not_found("INVALID_RESOURCE_ID"));
        };
        if d["status"] == "RESOLVED" {
            return Err(unprocessable(
                "DISPUTE_ALREADY_RESOLVED",
                "The dispute is already resolved.",
            ));
        }
        d["status"] = json!("RESOLVED");
        d["update_time"] = json!(rfc3339(now()));
        d["dispute_outcome"] = if outcome == "RESOLVED_SELLER_FAVOUR" {
            json!({"outcome_code": outcome})
        } else {
            json!({"outcome_code": outcome, "amount_refunded": d["dispute_amount"]})
        };
        let dispute = d.clone();
        if outcome == "RESOLVED_SELLER_FAVOUR" {
            let cid = dispute["disputed_transactions"][0]["seller_transaction_id"].clone();
            if let Some(c) = self.captures.iter_mut().find(|c| c["id"] == cid) {
                c["status"] = json!("COMPLETED");
                c["status_details"] = Value::Null;
            }
        }
        self.event(
            hooks,
            "CUSTOMER.DISPUTE.RESOLVED",
            "dispute",
            dispute.clone(),
            "A dispute was resolved",
        );
        Ok(dispute)
    }

    fn nvp_primary(&self) -> &PayPalNvpAccount {
        &self.nvp[0]
    }

    fn record(&mut self, t: Txn) {
        self.ledger.push(t);
    }

    fn approve_order(&mut self, hooks: &Dispatcher, id: &str) -> Result<Value, Response> {
        let Some(o) = self.orders.iter_mut().find(|o| o["id"] == id) else {
            return Err(not_found("INVALID_RESOURCE_ID"));
        };
        if !matches!(
            o["status"].as_str(),
            Some("CREATED" | "PAYER_ACTION_REQUIRED")
        ) {
            return Err(unprocessable(
                "ORDER_ALREADY_APPROVED",
                "The order was already approved or completed.",
            ));
        }
        o["status"] = json!("APPROVED");
        o["payer"] = json!({"email_address": "buyer@example.com", "payer_id": pid(13), "name": {"given_name": "Test", "surname": "Buyer"}});
        o["update_time"] = json!(rfc3339(now()));
        let o = o.clone();
        self.event(
            hooks,
            "CHECKOUT.ORDER.APPROVED",
            "checkout-order",
            o.clone(),
            "An order has been approved by buyer",
        );
        Ok(o)
    }

    fn capture(&mut self, hooks: &Dispatcher, id: &str) -> Result<Value, Response> {
        let Some(i) = self.orders.iter().position(|o| o["id"] == id) else {
            return Err(not_found("INVALID_RESOURCE_ID"));
        };
        match self.orders[i]["status"].as_str() {
            Some("APPROVED") => {}
            Some("COMPLETED") => {
                return Err(unprocessable(
                    "ORDER_ALREADY_CAPTURED",
                    "Order already captured.If 'intent=CAPTURE' only one capture per order is allowed.",
                ));
            }
            _ => {
                return Err(unprocessable(
                    "ORDER_NOT_APPROVED",
                    "Payer has not yet approved the Order for payment. Please redirect the payer to the 'rel':'approve' url returned as part of the HATEOAS links within the Create Order call or provide a valid payment_source in the request.",
                ));
            }
        }
        let pu = self.orders[i]["purchase_units"][0].clone();
        let cur = pu["amount"]["currency_code"]
            .as_str()
            .unwrap_or("USD")
            .to_string();
        let gross = minor(pu["amount"]["value"].as_str().unwrap_or("0")).unwrap_or(0);
        let fee = fee_of(gross);
        let cid = pid(17);
        let t = now();
        let base = self.base.clone();
        let capture = json!({
            "id": cid, "status": "COMPLETED", "amount": money(gross, &cur), "final_capture": true,
            "custom_id": pu["custom_id"], "invoice_id": pu["invoice_id"],
            "seller_protection": {"status": "ELIGIBLE"},
            "seller_receivable_breakdown": {"gross_amount": money(gross, &cur), "paypal_fee": money(fee, &cur), "net_amount": money(gross - fee, &cur)},
            "supplementary_data": {"related_ids": {"order_id": id}},
            "create_time": rfc3339(t), "update_time": rfc3339(t),
            "links": [
                {"href": format!("{base}/v2/payments/captures/{cid}"), "rel": "self", "method": "GET"},
                {"href": format!("{base}/v2/payments/captures/{cid}/refund"), "rel": "refund", "method": "POST"},
                {"href": format!("{base}/v2/checkout/orders/{id}"), "rel": "up", "method": "GET"},
            ],
        });
        self.captures.push(capture.clone());
        let o = &mut self.orders[i];
        o["status"] = json!("COMPLETED");
        o["purchase_units"][0]["payments"] = json!({"captures": [capture.clone()]});
        o["update_time"] = json!(rfc3339(t));
        let order = o.clone();
        let email = order["payer"]["email_address"]
            .as_str()
            .unwrap_or("")
            .to_string();
        let acct = self.nvp_primary().role.clone();
        self.record(Txn {
            id: cid,
            account: acct,
            time: t,
            kind: "Payment".into(),
            event_code: "T0006".into(),
            transaction_type: "express-checkout".into(),
            email,
            name: "Test Buyer".into(),
            status: "Completed".into(),
            amount: gross,
            currency: cur.clone(),
            fee,
            custom: pu["custom_id"].as_str().unwrap_or("").into(),
            subscription_id: None,
            parent: None,
        });
        self.event(
            hooks,
            "PAYMENT.CAPTURE.COMPLETED",
            "capture",
            capture,
            &format!("Payment completed for {} {cur}", dec(gross)),
        );
        Ok(order)
    }

    fn refund(
        &mut self,
        hooks: &Dispatcher,
        capture_id: &str,
        body: &Value,
    ) -> Result<Value, Response> {
        let Some(i) = self.captures.iter().position(|c| c["id"] == capture_id) else {
            return Err(not_found("INVALID_RESOURCE_ID"));
        };
        let c = self.captures[i].clone();
        let cur = c["amount"]["currency_code"]
            .as_str()
            .unwrap_or("USD")
            .to_string();
        let gross = minor(c["amount"]["value"].as_str().unwrap_or("0")).unwrap_or(0);
        let done: i64 = self
            .refunds
            .iter()
            .filter(|r| r["capture_id"] == capture_id)
            .map(|r| minor(r["amount"]["value"].as_str().unwrap_or("0")).unwrap_or(0))
            .sum();
        if done >= gross {
            return Err(unprocessable(
                "CAPTURE_FULLY_REFUNDED",
                "The capture has already been fully refunded",
            ));
        }
        let amount = match body["amount"]["value"].as_str() {
            Some(v) => minor(v).ok_or_else(|| {
                invalid(
                    "/amount/value",
                    "INVALID_PARAMETER_VALUE",
                    "The value of a field is invalid.",
                )
            })?,
            None => gross - done,
        };
        if amount <= 0 || amount > gross - done {
            return Err(unprocessable(
                "REFUND_AMOUNT_EXCEEDED",
                "The refund amount must be less than or equal to the capture amount that has not yet been refunded.",
            ));
        }
        let rid = pid(17);
        let t = now();
        let base = self.base.clone();
        let refund = json!({
            "id": rid, "status": "COMPLETED", "amount": money(amount, &cur), "note_to_payer": body["note_to_payer"],
            "seller_payable_breakdown": {"gross_amount": money(amount, &cur), "paypal_fee": money(0, &cur), "net_amount": money(amount, &cur), "total_refunded_amount": money(done + amount, &cur)},
            "custom_id": c["custom_id"], "create_time": rfc3339(t), "update_time": rfc3339(t),
            "links": [
                {"href": format!("{base}/v2/payments/refunds/{rid}"), "rel": "self", "method": "GET"},
                {"href": format!("{base}/v2/payments/captures/{capture_id}"), "rel": "up", "method": "GET"},
            ],
        });
        let mut stored = refund.clone();
        stored["capture_id"] = json!(capture_id);
        self.refunds.push(stored);
        self.captures[i]["status"] = json!(if done + amount >= gross {
            "REFUNDED"
        } else {
            "PARTIALLY_REFUNDED"
        });
        let acct = self
            .ledger
            .iter()
            .find(|l| l.id == capture_id)
            .map(|l| l.account.clone())
            .unwrap_or_else(|| self.nvp_primary().role.clone());
        self.record(Txn {
            id: rid,
            account: acct,
            time: t,
            kind: "Refund".into(),
            event_code: "T1107".into(),
            transaction_type: "refund".into(),
            email: String::new(),
            name: String::new(),
            status: "Completed".into(),
            amount: -amount,
            currency: cur.clone(),
            fee: 0,
            custom: c["custom_id"].as_str().unwrap_or("").into(),
            subscription_id: None,
            parent: Some(capture_id.to_string()),
        });
        self.event(
            hooks,
            "PAYMENT.CAPTURE.REFUNDED",
            "refund",
            refund.clone(),
            &format!("A {} {cur} capture payment was refunded", dec(amount)),
        );
        Ok(refund)
    }

    fn plan_period_secs(&self, plan_id: &str) -> i64 {
        let p = self.plans.iter().find(|p| p["id"] == plan_id);
        let cycle = p
            .and_then(|p| p["billing_cycles"].as_array())
            .and_then(|c| c.iter().find(|c| c["tenure_type"] == "REGULAR").cloned())
            .unwrap_or(Value::Null);
        let n = cycle["frequency"]["interval_count"].as_i64().unwrap_or(1);
        let days = match cycle["frequency"]["interval_unit"]
            .as_str()
            .unwrap_or("MONTH")
        {
            "DAY" => 1,
            "WEEK" => 7,
            "YEAR" => 365,
            _ => 30,
        };
        n * days * 86_400
    }

    fn plan_price(&self, plan_id: &str) -> (i64, String) {
        let p = self.plans.iter().find(|p| p["id"] == plan_id);
        let cycle = p
            .and_then(|p| p["billing_cycles"].as_array())
            .and_then(|c| c.iter().find(|c| c["tenure_type"] == "REGULAR").cloned())
            .unwrap_or(Value::Null);
        let fp = &cycle["pricing_scheme"]["fixed_price"];
        (
            minor(fp["value"].as_str().unwrap_or("0")).unwrap_or(0),
            fp["currency_code"].as_str().unwrap_or("USD").to_string(),
        )
    }

    /// One subscription payment (a v1 sale) on the primary account.
    fn sale(&mut self, hooks: &Dispatcher, sub_id: &str) -> Value {
        let sub = self
            .subscriptions
            .iter()
            .find(|s| s["id"] == sub_id)
            .cloned()
            .unwrap_or(Value::Null);
        let (amount, cur) = self.plan_price(sub["plan_id"].as_str().unwrap_or(""));
        let fee = fee_of(amount);
        let id = pid(17);
        let t = now();
        let sale = json!({
            "id": id, "state": "completed", "amount": {"total": dec(amount), "currency": cur, "details": {"subtotal": dec(amount)}},
            "payment_mode": "INSTANT_TRANSFER", "protection_eligibility": "ELIGIBLE",
            "transaction_fee": {"value": dec(fee), "currency": cur}, "billing_agreement_id": sub_id,
            "custom": sub["custom_id"], "create_time": rfc3339(t), "update_time": rfc3339(t),
            "links": [
                {"href": format!("{}/v1/payments/sale/{id}", self.base), "rel": "self", "method": "GET"},
                {"href": format!("{}/v1/payments/sale/{id}/refund", self.base), "rel": "refund", "method": "POST"},
            ],
        });
        let email = sub["subscriber"]["email_address"]
            .as_str()
            .unwrap_or("")
            .to_string();
        let acct = self.nvp_primary().role.clone();
        self.record(Txn {
            id,
            account: acct,
            time: t,
            kind: "Recurring Payment".into(),
            event_code: "T0002".into(),
            transaction_type: "recurring_payment".into(),
            email,
            name: "Test Buyer".into(),
            status: "Completed".into(),
            amount,
            currency: cur.clone(),
            fee,
            custom: sub["custom_id"].as_str().unwrap_or("").into(),
            subscription_id: Some(sub_id.to_string()),
            parent: None,
        });
        self.event(
            hooks,
            "PAYMENT.SALE.COMPLETED",
            "sale",
            sale.clone(),
            &format!("Payment completed for $ {} {cur}", dec(amount)),
        );
        sale
    }

    fn approve_subscription(&mut self, hooks: &Dispatcher, id: &str) -> Result<Value, Response> {
        let Some(i) = self.subscriptions.iter().position(|s| s["id"] == id) else {
            return Err(not_found("INVALID_RESOURCE_ID"));
        };
        if self.subscriptions[i]["status"] != "APPROVAL_PENDING" {
            return Err(unprocessable(
                "SUBSCRIPTION_STATUS_INVALID",
                "Invalid subscription status for activate action; subscription status should be approval pending.",
            ));
        }
        let t = now();
        let period = self.plan_period_secs(self.subscriptions[i]["plan_id"].as_str().unwrap_or(""));
        let (amount, cur) =
            self.plan_price(self.subscriptions[i]["plan_id"].as_str().unwrap_or(""));
        {
            let s = &mut self.subscriptions[i];
            s["status"] = json!("ACTIVE");
            s["status_update_time"] = json!(rfc3339(t));
            s["start_time"] = json!(rfc3339(t));
            if s["subscriber"]["email_address"].is_null() {
                s["subscriber"]["email_address"] = json!("buyer@example.com");
            }
            s["subscriber"]["payer_id"] = json!(pid(13));
            s["subscriber"]["name"] = json!({"given_name": "Test", "surname": "Buyer"});
            s["billing_info"] = json!({
                "outstanding_balance": money(0, &cur),
                "cycle_executions": [{"tenure_type": "REGULAR", "sequence": 1, "cycles_completed": 1, "cycles_remaining": 0, "current_pricing_scheme_version": 1, "total_cycles": 0}],
                "last_payment": {"amount": money(amount, &cur), "time": rfc3339(t)},
                "next_billing_time": rfc3339(t + period), "failed_payments_count": 0,
            });
            s["update_time"] = json!(rfc3339(t));
        }
        let sub = self.subscriptions[i].clone();
        self.event(
            hooks,
            "BILLING.SUBSCRIPTION.ACTIVATED",
            "subscription",
            public_sub(&sub),
            "Subscription activated",
        );
        self.sale(hooks, id);
        Ok(public_sub(&sub))
    }

    fn advance(&mut self, hooks: &Dispatcher, id: &str) -> Result<Value, Response> {
        let Some(i) = self.subscriptions.iter().position(|s| s["id"] == id) else {
            return Err(not_found("INVALID_RESOURCE_ID"));
        };
        if self.subscriptions[i]["status"] != "ACTIVE" {
            return Err(unprocessable(
                "SUBSCRIPTION_STATUS_INVALID",
                "The subscription is not active.",
            ));
        }
        let period = self.plan_period_secs(self.subscriptions[i]["plan_id"].as_str().unwrap_or(""));
        let (amount, cur) =
            self.plan_price(self.subscriptions[i]["plan_id"].as_str().unwrap_or(""));
        let next = self.subscriptions[i]["billing_info"]["next_billing_time"]
            .as_str()
            .and_then(|t| {
                time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
            })
            .map(|t| t.unix_timestamp())
            .unwrap_or_else(now);
        if self.fail_next.remove(id) {
            let s = &mut self.subscriptions[i];
            let n = s["billing_info"]["failed_payments_count"]
                .as_i64()
                .unwrap_or(0)
                + 1;
            s["billing_info"]["failed_payments_count"] = json!(n);
            s["billing_info"]["last_failed_payment"] = json!({"amount": money(amount, &cur), "time": rfc3339(now()), "reason_code": "PAYMENT_DENIED", "next_payment_retry_time": rfc3339(now() + 5 * 86_400)});
            s["billing_info"]["outstanding_balance"] = money(amount, &cur);
            let sub = public_sub(s);
            self.event(
                hooks,
                "BILLING.SUBSCRIPTION.PAYMENT.FAILED",
                "subscription",
                sub.clone(),
                "Subscription payment failed",
            );
            return Ok(sub);
        }
        {
            let s = &mut self.subscriptions[i];
            s["billing_info"]["next_billing_time"] = json!(rfc3339(next + period));
            s["billing_info"]["last_payment"] =
                json!({"amount": money(amount, &cur), "time": rfc3339(now())});
            s["billing_info"]["failed_payments_count"] = json!(0);
            if let Some(c) = s["billing_info"]["cycle_executions"][0]["cycles_completed"].as_i64() {
                s["billing_info"]["cycle_executions"][0]["cycles_completed"] = json!(c + 1);
            }
        }
        self.sale(hooks, id);
        Ok(public_sub(&self.subscriptions[i]))
    }

    fn nvp_account(&self, f: &[(String, String)]) -> Option<PayPalNvpAccount> {
        let g = |k: &str| {
            f.iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
                .unwrap_or("")
        };
        self.nvp
            .iter()
            .find(|a| {
                a.username == g("USER") && a.password == g("PWD") && a.signature == g("SIGNATURE")
            })
            .cloned()
    }
}

fn public_sub(s: &Value) -> Value {
    let mut v = s.clone();
    if let Some(m) = v.as_object_mut() {
        m.remove("ba_token");
        m.remove("return_url");
        m.remove("cancel_url");
    }
    v
}

impl PayPalFake {
    pub async fn start() -> crate::Result<Self> {
        let key = Arc::new(
            RsaKeyPair::from_pkcs8(SIGNER_KEY)
                .map_err(|e| crate::FakeError::Invalid(format!("PayPal signer key: {e}")))?,
        );
        let webhook_id = pid(17);
        let base = Arc::new(Mutex::new(String::new()));
        let (k, w, b) = (key.clone(), webhook_id.clone(), base.clone());
        let signer: Signer = Arc::new(move |body: &[u8]| {
            let tid = format!(
                "{}-{}-{}-{}-{}",
                crate::ids::hex(8),
                crate::ids::hex(4),
                crate::ids::hex(4),
                crate::ids::hex(4),
                crate::ids::hex(12)
            );
            let time = rfc3339(now());
            let msg = format!("{tid}|{time}|{w}|{}", crc32(body));
            let mut sig = vec![0u8; k.public().modulus_len()];
            let rng = ring::rand::SystemRandom::new();
            let sig = match k.sign(&RSA_PKCS1_SHA256, &rng, msg.as_bytes(), &mut sig) {
                Ok(()) => base64::engine::general_purpose::STANDARD.encode(&sig),
                Err(_) => String::new(),
            };
            vec![
                ("Content-Type".into(), "application/json".into()),
                ("User-Agent".into(), "PayPal/AUHD-214.0-58315880".into()),
                ("PAYPAL-TRANSMISSION-ID".into(), tid),
                ("PAYPAL-TRANSMISSION-TIME".into(), time),
                ("PAYPAL-TRANSMISSION-SIG".into(), sig),
                ("PAYPAL-CERT-URL".into(), format!("{}{CERT_PATH}", lock(&b))),
                ("PAYPAL-AUTH-ALGO".into(), "SHA256withRSA".into()),
                ("PAYPAL-AUTH-VERSION".into(), "v2".into()),
            ]
        });
        let account = |role: &str, email: &str| PayPalNvpAccount {
            role: role.into(),
            email: email.into(),
            username: format!(
                "{}_api1.example.com",
                email.split('@').next().unwrap_or(role)
            ),
            password: pid(16),
            signature: format!("A{}", crate::ids::hex(55)),
        };
        let inner = Arc::new(Inner {
            state: Mutex::new(PpState {
                client_id: format!("A{}", crate::ids::hex(79)),
                client_secret: format!("E{}", crate::ids::hex(79)),
                webhook_id,
                base: String::new(),
                tokens: HashSet::new(),
                nvp: vec![
                    account("primary", "merchant@example.com"),
                    account("secondary", "friends@example.com"),
                ],
                orders: Vec::new(),
                captures: Vec::new(),
                refunds: Vec::new(),
                products: Vec::new(),
                plans: Vec::new(),
                subscriptions: Vec::new(),
                events: Vec::new(),
                ledger: Vec::new(),
                idem: HashMap::new(),
                fail_next: HashSet::new(),
                disputes: Vec::new(),
            }),
            hooks: Dispatcher::start(signer),
            key,
        });
        let (provider, table) = Routes::new(PathStyle::default())
            .post("/v1/oauth2/token", token)
            .post("/v2/checkout/orders", create_order)
            .get("/v2/checkout/orders/{id}", get_order)
            .post("/v2/checkout/orders/{id}/capture", capture_order)
            .get("/v2/payments/captures/{id}", get_capture)
            .post("/v2/payments/captures/{id}/refund", refund_capture)
            .get("/v2/payments/refunds/{id}", get_refund)
            .post("/v1/catalogs/products", create_product)
            .post("/v1/billing/plans", create_plan)
            .get("/v1/billing/plans/{id}", get_plan)
            .post("/v1/billing/subscriptions", create_subscription)
            .get("/v1/billing/subscriptions/{id}", get_subscription)
            .post("/v1/billing/subscriptions/{id}/cancel", cancel_subscription)
            .get(
                "/v1/billing/subscriptions/{id}/transactions",
                subscription_transactions,
            )
            .post(
                "/v1/notifications/verify-webhook-signature",
                verify_signature,
            )
            .get("/v1/notifications/certs/{name}", cert)
            .get("/v1/notifications/webhooks-events", list_events)
            .get("/v1/notifications/webhooks-events/{id}", get_event)
            .post(
                "/v1/notifications/webhooks-events/{id}/resend",
                resend_event,
            )
            .get("/v1/reporting/transactions", reporting)
            .post("/nvp", nvp)
            .get("/checkoutnow", order_page)
            .post("/checkoutnow", order_submit)
            .get("/webapps/billing/subscriptions", subscription_page)
            .post("/webapps/billing/subscriptions", subscription_submit)
            .fallback(|| async { not_found("INVALID_RESOURCE_ID") })
            .with_state(inner.clone());
        let core = Core::new(Flavor::PayPal, table);
        let control =
            control_routes(inner.clone()).merge(common::webhook_control(inner.hooks.clone()));
        let app = control::assemble(provider, control, core.clone());
        let running = serve(app).await?;
        *lock(&base) = running.url();
        lock(&inner.state).base = running.url();
        Ok(PayPalFake {
            running,
            core,
            inner,
        })
    }

    pub fn url(&self) -> String {
        self.running.url()
    }
    pub fn nvp_url(&self) -> String {
        format!("{}/nvp", self.running.url())
    }
    pub fn control_url(&self) -> String {
        format!("{}{}", self.url(), control::PREFIX)
    }
    pub fn cert_url(&self) -> String {
        format!("{}{CERT_PATH}", self.url())
    }
    pub fn client_id(&self) -> String {
        lock(&self.inner.state).client_id.clone()
    }
    pub fn client_secret(&self) -> String {
        lock(&self.inner.state).client_secret.clone()
    }
    pub fn webhook_id(&self) -> String {
        lock(&self.inner.state).webhook_id.clone()
    }
    pub fn nvp_accounts(&self) -> Vec<PayPalNvpAccount> {
        lock(&self.inner.state).nvp.clone()
    }
    pub fn plans(&self) -> Vec<Value> {
        lock(&self.inner.state).plans.clone()
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
    /// A plan with one regular cycle; returns its id (`P-…`).
    pub fn add_plan(
        &self,
        name: &str,
        price: &str,
        currency: &str,
        interval_unit: &str,
        interval_count: i64,
    ) -> String {
        let mut st = lock(&self.inner.state);
        let product = json!({"id": format!("PROD-{}", pid(17)), "name": name, "type": "SERVICE", "create_time": rfc3339(now())});
        st.products.push(product.clone());
        let plan = plan_json(
            &product["id"],
            name,
            price,
            currency,
            interval_unit,
            interval_count,
        );
        st.plans.push(plan.clone());
        plan["id"].as_str().unwrap_or("").to_string()
    }
    pub fn approve_order(&self, id: &str) -> crate::Result<Value> {
        let mut st = lock(&self.inner.state);
        st.approve_order(&self.inner.hooks, id)
            .map_err(|_| crate::FakeError::NotFound(id.to_string()))
    }
    pub fn approve_subscription(&self, id: &str) -> crate::Result<Value> {
        let mut st = lock(&self.inner.state);
        st.approve_subscription(&self.inner.hooks, id)
            .map_err(|_| crate::FakeError::NotFound(id.to_string()))
    }
    pub fn subscription(&self, id: &str) -> Option<Value> {
        lock(&self.inner.state)
            .subscriptions
            .iter()
            .find(|s| s["id"] == id)
            .map(public_sub)
    }
    pub fn fail_next_renewal(&self, id: &str) {
        lock(&self.inner.state).fail_next.insert(id.to_string());
    }
    /// The buyer cancels the subscription from their PayPal account.
    pub fn cancel_subscription_by_buyer(&self, id: &str) -> crate::Result<Value> {
        let mut st = lock(&self.inner.state);
        st.cancel_subscription(&self.inner.hooks, id, "Cancelled by the buyer")
            .map_err(|_| crate::FakeError::NotFound(id.to_string()))
    }
    /// A chargeback on capture `id`; answers the dispute (its `dispute_id` settles it).
    pub fn reverse_capture(&self, id: &str) -> crate::Result<Value> {
        let mut st = lock(&self.inner.state);
        st.reverse_capture(&self.inner.hooks, id)
            .map_err(|_| crate::FakeError::NotFound(id.to_string()))
    }
    /// Settles dispute `id` with `outcome` (`RESOLVED_SELLER_FAVOUR` = won).
    pub fn resolve_dispute(&self, id: &str, outcome: &str) -> crate::Result<Value> {
        let mut st = lock(&self.inner.state);
        st.resolve_dispute(&self.inner.hooks, id, outcome)
            .map_err(|_| crate::FakeError::NotFound(id.to_string()))
    }
    pub fn advance_subscription(&self, id: &str) -> crate::Result<Value> {
        let mut st = lock(&self.inner.state);
        st.advance(&self.inner.hooks, id)
            .map_err(|_| crate::FakeError::NotFound(id.to_string()))
    }
    /// A payment received outside checkout (a "send money" payment) on `role`'s account.
    pub fn receive_payment(
        &self,
        role: &str,
        amount: &str,
        currency: &str,
        email: &str,
        name: &str,
    ) -> crate::Result<String> {
        let mut st = lock(&self.inner.state);
        receive(&mut st, role, amount, currency, email, name, None)
    }
}

fn receive(
    st: &mut PpState,
    role: &str,
    amount: &str,
    currency: &str,
    email: &str,
    name: &str,
    subscription_id: Option<String>,
) -> crate::Result<String> {
    if !st.nvp.iter().any(|a| a.role == role) {
        return Err(crate::FakeError::Invalid(format!(
            "no account {role:?}: use primary or secondary"
        )));
    }
    let m = minor(amount).filter(|m| *m > 0).ok_or_else(|| {
        crate::FakeError::Invalid(format!("{amount:?} is not an amount such as 10.00"))
    })?;
    let id = pid(17);
    let recurring = subscription_id.is_some();
    st.record(Txn {
        id: id.clone(),
        account: role.into(),
        time: now(),
        kind: if recurring {
            "Recurring Payment".into()
        } else {
            "Payment".into()
        },
        event_code: if recurring {
            "T0002".into()
        } else {
            "T0000".into()
        },
        transaction_type: if recurring {
            "recurring_payment".into()
        } else {
            "send_money".into()
        },
        email: email.into(),
        name: name.into(),
        status: "Completed".into(),
        amount: m,
        currency: currency.to_ascii_uppercase(),
        fee: if role == "primary" { fee_of(m) } else { 0 },
        custom: String::new(),
        subscription_id,
        parent: None,
    });
    Ok(id)
}

fn plan_json(
    product: &Value,
    name: &str,
    price: &str,
    currency: &str,
    unit: &str,
    count: i64,
) -> Value {
    json!({
        "id": format!("P-{}", pid(24)), "product_id": product, "name": name, "status": "ACTIVE", "description": name,
        "usage_type": "LICENSED", "create_time": rfc3339(now()),
        "billing_cycles": [{"frequency": {"interval_unit": unit, "interval_count": count}, "tenure_type": "REGULAR", "sequence": 1, "total_cycles": 0,
            "pricing_scheme": {"fixed_price": {"value": price, "currency_code": currency}, "version": 1}}],
        "payment_preferences": {"auto_bill_outstanding": true, "setup_fee_failure_action": "CONTINUE", "payment_failure_threshold": 3},
    })
}

fn bearer(st: &PpState, h: &HeaderMap) -> Result<(), Response> {
    let t = header_str(h, "authorization")
        .and_then(|a| a.strip_prefix("Bearer "))
        .map(str::trim);
    match t {
        Some(t) if st.tokens.contains(t) => Ok(()),
        _ => Err(perr(
            StatusCode::UNAUTHORIZED,
            "AUTHENTICATION_FAILURE",
            "Authentication failed due to invalid authentication credentials or a missing Authorization header.",
            Some(("INVALID_TOKEN", "Token is invalid or expired.")),
        )),
    }
}

/// Runs a POST once per `PayPal-Request-Id`: a repeat answers the stored body with 200.
fn once(
    inner: &Inner,
    h: &HeaderMap,
    path: &str,
    run: impl FnOnce(&mut PpState, &Dispatcher) -> Result<(StatusCode, Value), Response>,
) -> Response {
    let mut st = lock(&inner.state);
    if let Err(r) = bearer(&st, h) {
        return r;
    }
    let key = header_str(h, "paypal-request-id").map(|k| format!("{path}#{k}"));
    if let Some(k) = &key
        && let Some((_, v)) = st.idem.get(k)
    {
        return (StatusCode::OK, Json(v.clone())).into_response();
    }
    match run(&mut st, &inner.hooks) {
        Ok((status, v)) => {
            if let Some(k) = key {
                st.idem.insert(k, (path.to_string(), v.clone()));
            }
            if status == StatusCode::NO_CONTENT {
                return StatusCode::NO_CONTENT.into_response();
            }
            (status, Json(v)).into_response()
        }
        Err(r) => r,
    }
}

fn body_json(body: &str) -> Result<Value, Response> {
    crate::http_util::parse_json(body.as_bytes()).ok_or_else(|| {
        invalid(
            "",
            "MALFORMED_REQUEST_JSON",
            "The request JSON is not well formed.",
        )
    })
}

async fn token(State(inner): State<St>, h: HeaderMap, body: String) -> Response {
    let mut st = lock(&inner.state);
    let basic = header_str(&h, "authorization")
        .and_then(|a| a.strip_prefix("Basic "))
        .and_then(|b| {
            base64::engine::general_purpose::STANDARD
                .decode(b.trim())
                .ok()
        })
        .map(|b| String::from_utf8_lossy(&b).into_owned());
    let ok = basic
        .as_deref()
        .and_then(|b| b.split_once(':'))
        .is_some_and(|(id, secret)| id == st.client_id && secret == st.client_secret);
    if !ok {
        return (StatusCode::UNAUTHORIZED, Json(json!({"error": "invalid_client", "error_description": "Client Authentication failed"}))).into_response();
    }
    if !pairs(&body)
        .iter()
        .any(|(k, v)| k == "grant_type" && v == "client_credentials")
    {
        return (StatusCode::BAD_REQUEST, Json(json!({"error": "unsupported_grant_type", "error_description": "Grant Type is NULL"}))).into_response();
    }
    let t = format!("A21AA{}", crate::ids::hex(90));
    st.tokens.insert(t.clone());
    Json(json!({
        "scope": "https://uri.paypal.com/services/payments/payment https://uri.paypal.com/services/reporting/search/read https://uri.paypal.com/services/subscriptions",
        "access_token": t, "token_type": "Bearer", "app_id": "APP-80W284485P519543T", "expires_in": 32400, "nonce": format!("{}-{}", rfc3339(now()), crate::ids::hex(20)),
    }))
    .into_response()
}

async fn create_order(State(inner): State<St>, h: HeaderMap, body: String) -> Response {
    let base = origin(&h);
    once(&inner, &h, "/v2/checkout/orders", |st, _| {
        let b = body_json(&body)?;
        let intent = b["intent"].as_str().ok_or_else(|| {
            invalid(
                "/intent",
                "MISSING_REQUIRED_PARAMETER",
                "A required field / parameter is missing.",
            )
        })?;
        if !matches!(intent, "CAPTURE" | "AUTHORIZE") {
            return Err(invalid(
                "/intent",
                "INVALID_PARAMETER_VALUE",
                "The value of a field is invalid.",
            ));
        }
        let units = b["purchase_units"]
            .as_array()
            .filter(|u| !u.is_empty())
            .ok_or_else(|| {
                invalid(
                    "/purchase_units",
                    "MISSING_REQUIRED_PARAMETER",
                    "A required field / parameter is missing.",
                )
            })?;
        let mut units = units.clone();
        for (i, u) in units.iter_mut().enumerate() {
            let cur = u["amount"]["currency_code"].as_str().ok_or_else(|| {
                invalid(
                    &format!("/purchase_units/{i}/amount/currency_code"),
                    "MISSING_REQUIRED_PARAMETER",
                    "A required field / parameter is missing.",
                )
            })?;
            let v = u["amount"]["value"]
                .as_str()
                .and_then(minor)
                .filter(|m| *m > 0);
            if v.is_none() {
                return Err(invalid(
                    &format!("/purchase_units/{i}/amount/value"),
                    "INVALID_PARAMETER_VALUE",
                    "The value of a field is invalid.",
                ));
            }
            let _ = cur;
            if u["reference_id"].is_null() {
                u["reference_id"] = json!("default");
            }
            u["payee"] =
                json!({"email_address": st.nvp_primary().email, "merchant_id": "FAKEMERCHANT1"});
        }
        let id = pid(17);
        let ctx = if b["payment_source"]["paypal"]["experience_context"].is_object() {
            b["payment_source"]["paypal"]["experience_context"].clone()
        } else {
            b["application_context"].clone()
        };
        let with_source = b["payment_source"]["paypal"].is_object();
        let approve = format!("{base}/checkoutnow?token={id}");
        let order = json!({
            "id": id, "intent": intent, "status": if with_source { "PAYER_ACTION_REQUIRED" } else { "CREATED" },
            "purchase_units": units, "create_time": rfc3339(now()),
            "links": [
                {"href": format!("{base}/v2/checkout/orders/{id}"), "rel": "self", "method": "GET"},
                {"href": approve, "rel": if with_source { "payer-action" } else { "approve" }, "method": "GET"},
                {"href": format!("{base}/v2/checkout/orders/{id}"), "rel": "update", "method": "PATCH"},
                {"href": format!("{base}/v2/checkout/orders/{id}/capture"), "rel": "capture", "method": "POST"},
            ],
            "return_url": ctx["return_url"], "cancel_url": ctx["cancel_url"],
        });
        st.orders.push(order.clone());
        Ok((StatusCode::CREATED, public_order(&order)))
    })
}

fn public_order(o: &Value) -> Value {
    let mut v = o.clone();
    if let Some(m) = v.as_object_mut() {
        m.remove("return_url");
        m.remove("cancel_url");
    }
    v
}

async fn get_order(State(inner): State<St>, Path(id): Path<String>, h: HeaderMap) -> Response {
    let st = lock(&inner.state);
    if let Err(r) = bearer(&st, &h) {
        return r;
    }
    match st.orders.iter().find(|o| o["id"] == id.as_str()) {
        Some(o) => Json(public_order(o)).into_response(),
        None => not_found("INVALID_RESOURCE_ID"),
    }
}

async fn capture_order(State(inner): State<St>, Path(id): Path<String>, h: HeaderMap) -> Response {
    once(
        &inner,
        &h,
        &format!("/v2/checkout/orders/{id}/capture"),
        |st, hooks| {
            st.capture(hooks, &id)
                .map(|o| (StatusCode::CREATED, public_order(&o)))
        },
    )
}

async fn get_capture(State(inner): State<St>, Path(id): Path<String>, h: HeaderMap) -> Response {
    let st = lock(&inner.state);
    if let Err(r) = bearer(&st, &h) {
        return r;
    }
    match st.captures.iter().find(|o| o["id"] == id.as_str()) {
        Some(o) => Json(o.clone()).into_response(),
        None => not_found("INVALID_RESOURCE_ID"),
    }
}

async fn refund_capture(
    State(inner): State<St>,
    Path(id): Path<String>,
    h: HeaderMap,
    body: String,
) -> Response {
    once(
        &inner,
        &h,
        &format!("/v2/payments/captures/{id}/refund"),
        |st, hooks| {
            let b = body_json(&body)?;
            st.refund(hooks, &id, &b).map(|r| (StatusCode::CREATED, r))
        },
    )
}

async fn get_refund(State(inner): State<St>, Path(id): Path<String>, h: HeaderMap) -> Response {
    let st = lock(&inner.state);
    if let Err(r) = bearer(&st, &h) {
        return r;
    }
    match st.refunds.iter().find(|o| o["id"] == id.as_str()) {
        Some(o) => {
            let mut o = o.clone();
            if let Some(m) = o.as_object_mut() {
                m.remove("capture_id");
            }
            Json(o).into_response()
        }
        None => not_found("INVALID_RESOURCE_ID"),
    }
}

async fn create_product(State(inner): State<St>, h: HeaderMap, body: String) -> Response {
    once(&inner, &h, "/v1/catalogs/products", |st, _| {
        let b = body_json(&body)?;
        let name = b["name"].as_str().ok_or_else(|| {
            invalid(
                "/name",
                "MISSING_REQUIRED_PARAMETER",
                "A required field / parameter is missing.",
            )
        })?;
        let p = json!({"id": b["id"].as_str().map(str::to_string).unwrap_or_else(|| format!("PROD-{}", pid(17))), "name": name, "type": b["type"].as_str().unwrap_or("SERVICE"), "description": b["description"], "create_time": rfc3339(now())});
        st.products.push(p.clone());
        Ok((StatusCode::CREATED, p))
    })
}

async fn create_plan(State(inner): State<St>, h: HeaderMap, body: String) -> Response {
    once(&inner, &h, "/v1/billing/plans", |st, _| {
        let b = body_json(&body)?;
        let product = b["product_id"].as_str().ok_or_else(|| {
            invalid(
                "/product_id",
                "MISSING_REQUIRED_PARAMETER",
                "A required field / parameter is missing.",
            )
        })?;
        if !st.products.iter().any(|p| p["id"] == product) {
            return Err(unprocessable("INVALID_PRODUCT_ID", "Invalid product id."));
        }
        let cycles = b["billing_cycles"]
            .as_array()
            .filter(|c| !c.is_empty())
            .ok_or_else(|| {
                invalid(
                    "/billing_cycles",
                    "MISSING_REQUIRED_PARAMETER",
                    "A required field / parameter is missing.",
                )
            })?;
        let mut plan = b.clone();
        plan["id"] = json!(format!("P-{}", pid(24)));
        plan["status"] = json!(b["status"].as_str().unwrap_or("ACTIVE"));
        plan["billing_cycles"] = json!(cycles);
        plan["create_time"] = json!(rfc3339(now()));
        st.plans.push(plan.clone());
        Ok((StatusCode::CREATED, plan))
    })
}

async fn get_plan(State(inner): State<St>, Path(id): Path<String>, h: HeaderMap) -> Response {
    let st = lock(&inner.state);
    if let Err(r) = bearer(&st, &h) {
        return r;
    }
    match st.plans.iter().find(|o| o["id"] == id.as_str()) {
        Some(o) => Json(o.clone()).into_response(),
        None => not_found("INVALID_RESOURCE_ID"),
    }
}

async fn create_subscription(State(inner): State<St>, h: HeaderMap, body: String) -> Response {
    let base = origin(&h);
    once(&inner, &h, "/v1/billing/subscriptions", |st, _| {
        let b = body_json(&body)?;
        let plan = b["plan_id"].as_str().ok_or_else(|| {
            invalid(
                "/plan_id",
                "MISSING_REQUIRED_PARAMETER",
                "A required field / parameter is missing.",
            )
        })?;
        match st.plans.iter().find(|p| p["id"] == plan) {
            None => return Err(not_found("INVALID_RESOURCE_ID")),
            Some(p) if p["status"] != "ACTIVE" => {
                return Err(unprocessable(
                    "PLAN_STATUS_INVALID",
                    "Invalid plan status. Subscription can not be created if plan is not in active status.",
                ));
            }
            Some(_) => {}
        }
        let ctx = &b["application_context"];
        if ctx["return_url"].as_str().is_none() {
            return Err(invalid(
                "/application_context/return_url",
                "MISSING_REQUIRED_PARAMETER",
                "A required field / parameter is missing.",
            ));
        }
        let id = format!("I-{}", pid(12));
        let ba = format!("BA-{}", pid(17));
        let t = now();
        let sub = json!({
            "id": id, "plan_id": plan, "status": "APPROVAL_PENDING", "status_update_time": rfc3339(t), "custom_id": b["custom_id"],
            "quantity": "1", "subscriber": if b["subscriber"].is_object() { b["subscriber"].clone() } else { json!({}) },
            "create_time": rfc3339(t), "update_time": rfc3339(t), "plan_overridden": false,
            "links": [
                {"href": format!("{base}/webapps/billing/subscriptions?ba_token={ba}"), "rel": "approve", "method": "GET"},
                {"href": format!("{base}/v1/billing/subscriptions/{id}"), "rel": "edit", "method": "PATCH"},
                {"href": format!("{base}/v1/billing/subscriptions/{id}"), "rel": "self", "method": "GET"},
            ],
            "ba_token": ba, "return_url": ctx["return_url"], "cancel_url": ctx["cancel_url"],
        });
        st.subscriptions.push(sub.clone());
        Ok((StatusCode::CREATED, public_sub(&sub)))
    })
}

async fn get_subscription(
    State(inner): State<St>,
    Path(id): Path<String>,
    h: HeaderMap,
) -> Response {
    let st = lock(&inner.state);
    if let Err(r) = bearer(&st, &h) {
        return r;
    }
    match st.subscriptions.iter().find(|o| o["id"] == id.as_str()) {
        Some(o) => Json(public_sub(o)).into_response(),
        None => not_found("INVALID_RESOURCE_ID"),
    }
}

async fn cancel_subscription(
    State(inner): State<St>,
    Path(id): Path<String>,
    h: HeaderMap,
    body: String,
) -> Response {
    once(
        &inner,
        &h,
        &format!("/v1/billing/subscriptions/{id}/cancel"),
        |st, hooks| {
            let b = body_json(&body)?;
            let reason = b["reason"]
                .as_str()
                .ok_or_else(|| {
                    invalid(
                        "/reason",
                        "MISSING_REQUIRED_PARAMETER",
                        "A required field / parameter is missing.",
                    )
                })?
                .to_string();
            st.cancel_subscription(hooks, &id, &reason)?;
            Ok((StatusCode::NO_CONTENT, Value::Null))
        },
    )
}

async fn subscription_transactions(
    State(inner): State<St>,
    Path(id): Path<String>,
    h: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let st = lock(&inner.state);
    if let Err(r) = bearer(&st, &h) {
        return r;
    }
    let q = pairs(q.as_deref().unwrap_or(""));
    let get = |k: &str| {
        q.iter()
            .find(|(key, _)| key == k)
            .and_then(|(_, v)| {
                time::OffsetDateTime::parse(v, &time::format_description::well_known::Rfc3339).ok()
            })
            .map(|t| t.unix_timestamp())
    };
    let (Some(from), Some(to)) = (get("start_time"), get("end_time")) else {
        return invalid(
            "start_time",
            "MISSING_REQUIRED_PARAMETER",
            "A required field / parameter is missing.",
        );
    };
    if !st.subscriptions.iter().any(|s| s["id"] == id.as_str()) {
        return not_found("INVALID_RESOURCE_ID");
    }
    let rows: Vec<Value> = st
        .ledger
        .iter()
        .filter(|t| t.subscription_id.as_deref() == Some(id.as_str()) && t.time >= from && t.time <= to)
        .map(|t| json!({
            "id": t.id, "status": "COMPLETED", "time": rfc3339(t.time), "payer_email": t.email,
            "payer_name": {"given_name": "Test", "surname": "Buyer"},
            "amount_with_breakdown": {"gross_amount": money(t.amount, &t.currency), "fee_amount": money(t.fee, &t.currency), "net_amount": money(t.amount - t.fee, &t.currency)},
        }))
        .collect();
    Json(json!({"transactions": rows, "total_items": rows.len(), "total_pages": 1, "links": []}))
        .into_response()
}

/// Recomputes the signature over the event as the fake serialises it, like PayPal does: a
/// caller that re-serialised the event differently gets FAILURE.
async fn verify_signature(State(inner): State<St>, h: HeaderMap, body: String) -> Response {
    let st = lock(&inner.state);
    if let Err(r) = bearer(&st, &h) {
        return r;
    }
    let Ok(b) = serde_json::from_str::<Value>(&body) else {
        return invalid(
            "",
            "MALFORMED_REQUEST_JSON",
            "The request JSON is not well formed.",
        );
    };
    for f in [
        "auth_algo",
        "cert_url",
        "transmission_id",
        "transmission_sig",
        "transmission_time",
        "webhook_id",
    ] {
        if b[f].as_str().is_none() {
            return invalid(
                &format!("/{f}"),
                "MISSING_REQUIRED_PARAMETER",
                "A required field / parameter is missing.",
            );
        }
    }
    if b["webhook_event"].is_null() {
        return invalid(
            "/webhook_event",
            "MISSING_REQUIRED_PARAMETER",
            "A required field / parameter is missing.",
        );
    }
    let event = b["webhook_event"].to_string();
    let s = |k: &str| b[k].as_str().unwrap_or("");
    let msg = format!(
        "{}|{}|{}|{}",
        s("transmission_id"),
        s("transmission_time"),
        s("webhook_id"),
        crc32(event.as_bytes())
    );
    let sig = base64::engine::general_purpose::STANDARD
        .decode(s("transmission_sig"))
        .unwrap_or_default();
    let key = UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, inner.key.public().as_ref());
    let ok = s("webhook_id") == st.webhook_id
        && s("auth_algo") == "SHA256withRSA"
        && key.verify(msg.as_bytes(), &sig).is_ok();
    Json(json!({"verification_status": if ok { "SUCCESS" } else { "FAILURE" }})).into_response()
}

async fn cert() -> Response {
    (
        [(axum::http::header::CONTENT_TYPE, "text/plain;charset=UTF-8")],
        SIGNER_CERT,
    )
        .into_response()
}

async fn list_events(State(inner): State<St>, h: HeaderMap) -> Response {
    let st = lock(&inner.state);
    if let Err(r) = bearer(&st, &h) {
        return r;
    }
    let events: Vec<Value> = st.events.iter().rev().cloned().collect();
    Json(json!({"events": events, "count": events.len(), "links": []})).into_response()
}

async fn get_event(State(inner): State<St>, Path(id): Path<String>, h: HeaderMap) -> Response {
    let st = lock(&inner.state);
    if let Err(r) = bearer(&st, &h) {
        return r;
    }
    match st.events.iter().find(|e| e["id"] == id.as_str()) {
        Some(e) => Json(e.clone()).into_response(),
        None => not_found("INVALID_RESOURCE_ID"),
    }
}

async fn resend_event(State(inner): State<St>, Path(id): Path<String>, h: HeaderMap) -> Response {
    let st = lock(&inner.state);
    if let Err(r) = bearer(&st, &h) {
        return r;
    }
    match st.events.iter().find(|e| e["id"] == id.as_str()) {
        Some(e) => {
            inner
                .hooks
                .enqueue(&id, e["event_type"].as_str().unwrap_or(""), e.to_string());
            (StatusCode::ACCEPTED, Json(e.clone())).into_response()
        }
        None => not_found("INVALID_RESOURCE_ID"),
    }
}

async fn reporting(State(inner): State<St>, h: HeaderMap, RawQuery(q): RawQuery) -> Response {
    let st = lock(&inner.state);
    if let Err(r) = bearer(&st, &h) {
        return r;
    }
    let q = pairs(q.as_deref().unwrap_or(""));
    let get = |k: &str| q.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
    let parse = |v: Option<String>| {
        v.and_then(|v| {
            time::OffsetDateTime::parse(&v, &time::format_description::well_known::Rfc3339).ok()
        })
        .map(|t| t.unix_timestamp())
    };
    let (Some(from), Some(to)) = (parse(get("start_date")), parse(get("end_date"))) else {
        return invalid(
            "start_date",
            "INVALID_REQUEST",
            "Data for the given start date is not available.",
        );
    };
    if to - from > 31 * 86_400 || to < from {
        return invalid(
            "end_date",
            "INVALID_REQUEST",
            "Date range is greater than 31 days",
        );
    }
    let size: usize = get("page_size")
        .and_then(|v| v.parse().ok())
        .unwrap_or(100)
        .clamp(1, 500);
    let page: usize = get("page").and_then(|v| v.parse().ok()).unwrap_or(1).max(1);
    let primary = st.nvp_primary().role.clone();
    let rows: Vec<&Txn> = st
        .ledger
        .iter()
        .filter(|t| t.account == primary && t.time >= from && t.time <= to)
        .collect();
    let total = rows.len();
    let details: Vec<Value> = rows
        .iter()
        .skip((page - 1) * size)
        .take(size)
        .map(|t| json!({
            "transaction_info": {
                "paypal_account_id": "FAKEMERCHANT1", "transaction_id": t.id, "transaction_event_code": t.event_code,
                "transaction_initiation_date": rfc3339(t.time), "transaction_updated_date": rfc3339(t.time),
                "transaction_amount": money(t.amount, &t.currency), "fee_amount": money(-t.fee, &t.currency),
                "transaction_status": "S", "custom_field": t.custom,
                "paypal_reference_id": t.subscription_id.clone().or(t.parent.clone()),
                "paypal_reference_id_type": if t.subscription_id.is_some() { json!("SUB") } else if t.parent.is_some() { json!("TXN") } else { Value::Null },
            },
            "payer_info": {"email_address": t.email, "payer_name": {"alternate_full_name": t.name}},
        }))
        .collect();
    Json(json!({
        "transaction_details": details, "account_number": "FAKEMERCHANT1", "start_date": rfc3339(from), "end_date": rfc3339(to),
        "last_refreshed_datetime": rfc3339(now()), "page": page, "total_items": total, "total_pages": total.div_ceil(size).max(1), "links": [],
    }))
    .into_response()
}

fn nvp_encode(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{k}={}",
                percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

fn nvp_head(ack: &str) -> Vec<(String, String)> {
    vec![
        ("TIMESTAMP".into(), rfc3339(now())),
        ("CORRELATIONID".into(), crate::ids::hex(13)),
        ("ACK".into(), ack.into()),
        ("VERSION".into(), "204.0".into()),
        ("BUILD".into(), "1".into()),
    ]
}

fn nvp_failure(code: &str, short: &str, long: &str) -> Response {
    let mut p = nvp_head("Failure");
    p.push(("L_ERRORCODE0".into(), code.into()));
    p.push(("L_SHORTMESSAGE0".into(), short.into()));
    p.push(("L_LONGMESSAGE0".into(), long.into()));
    p.push(("L_SEVERITYCODE0".into(), "Error".into()));
    nvp_answer(&p)
}

fn nvp_answer(p: &[(String, String)]) -> Response {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; charset=utf-8",
        )],
        nvp_encode(p),
    )
        .into_response()
}

/// The NVP endpoint: HTTP 200 whatever the outcome, `ACK` says.
async fn nvp(State(inner): State<St>, body: String) -> Response {
    let st = lock(&inner.state);
    let f = pairs(&body);
    let g = |k: &str| {
        f.iter()
            .rev()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let Some(acct) = st.nvp_account(&f) else {
        return nvp_failure("10002", "Security error", "Security header is not valid");
    };
    let parse = |v: &str| {
        time::OffsetDateTime::parse(v, &time::format_description::well_known::Rfc3339)
            .ok()
            .map(|t| t.unix_timestamp())
    };
    match g("METHOD").as_str() {
        "TransactionSearch" => {
            let Some(from) = parse(&g("STARTDATE")) else {
                return nvp_failure(
                    "10004",
                    "Invalid argument",
                    "Start date is a required parameter",
                );
            };
            let to = parse(&g("ENDDATE")).unwrap_or(i64::MAX);
            let mut rows: Vec<&Txn> = st
                .ledger
                .iter()
                .filter(|t| t.account == acct.role && t.time >= from && t.time <= to)
                .collect();
            for (k, pick) in [("TRANSACTIONID", 0), ("EMAIL", 1), ("PROFILEID", 2)] {
                let v = g(k);
                if !v.is_empty() {
                    rows.retain(|t| match pick {
                        0 => t.id == v,
                        1 => t.email == v,
                        _ => t.subscription_id.as_deref() == Some(v.as_str()),
                    });
                }
            }
            rows.reverse();
            let truncated = rows.len() > 100;
            let mut p = nvp_head(if truncated {
                "SuccessWithWarning"
            } else {
                "Success"
            });
            if truncated {
                p.push(("L_ERRORCODE0".into(), "11002".into()));
                p.push(("L_SHORTMESSAGE0".into(), "Search warning".into()));
                p.push(("L_LONGMESSAGE0".into(), "The number of results were truncated. Please change your search parameters if you wish to see all your results.".into()));
                p.push(("L_SEVERITYCODE0".into(), "Warning".into()));
            }
            for (n, t) in rows.iter().take(100).enumerate() {
                let fee = if t.fee == 0 {
                    "0.00".to_string()
                } else {
                    dec(-t.fee)
                };
                for (k, v) in [
                    ("L_TIMESTAMP", rfc3339(t.time)),
                    ("L_TIMEZONE", "GMT".to_string()),
                    ("L_TYPE", t.kind.clone()),
                    ("L_EMAIL", t.email.clone()),
                    ("L_NAME", t.name.clone()),
                    ("L_TRANSACTIONID", t.id.clone()),
                    ("L_STATUS", t.status.clone()),
                    ("L_AMT", dec(t.amount)),
                    ("L_CURRENCYCODE", t.currency.clone()),
                    ("L_FEEAMT", fee),
                    ("L_NETAMT", dec(t.amount - t.fee)),
                ] {
                    p.push((format!("{k}{n}"), v));
                }
            }
            nvp_answer(&p)
        }
        "GetTransactionDetails" => {
            let id = g("TRANSACTIONID");
            let Some(t) = st
                .ledger
                .iter()
                .find(|t| t.id == id && t.account == acct.role)
            else {
                return nvp_failure(
                    "10004",
                    "Transaction refused because of an invalid argument. See additional error messages for details.",
                    "The transaction id is not valid",
                );
            };
            let (first, last) = t.name.split_once(' ').unwrap_or((t.name.as_str(), ""));
            let mut p = nvp_head("Success");
            for (k, v) in [
                ("RECEIVEREMAIL", acct.email.clone()),
                ("EMAIL", t.email.clone()),
                ("PAYERID", pid(13)),
                ("PAYERSTATUS", "verified".into()),
                ("FIRSTNAME", first.to_string()),
                ("LASTNAME", last.to_string()),
                ("TRANSACTIONID", t.id.clone()),
                ("PARENTTRANSACTIONID", t.parent.clone().unwrap_or_default()),
                ("TRANSACTIONTYPE", t.transaction_type.clone()),
                ("PAYMENTTYPE", "instant".into()),
                ("ORDERTIME", rfc3339(t.time)),
                ("AMT", dec(t.amount)),
                ("FEEAMT", dec(t.fee)),
                ("CURRENCYCODE", t.currency.clone()),
                ("PAYMENTSTATUS", t.status.clone()),
                ("PENDINGREASON", "None".into()),
                ("REASONCODE", "None".into()),
                ("CUSTOM", t.custom.clone()),
                (
                    "SUBSCRIPTIONID",
                    t.subscription_id.clone().unwrap_or_default(),
                ),
            ] {
                if !v.is_empty() {
                    p.push((k.to_string(), v));
                }
            }
            nvp_answer(&p)
        }
        m => nvp_failure(
            "81002",
            "Unspecified Method",
            &format!("Method Specified is not Supported: {m}"),
        ),
    }
}

async fn order_page(State(inner): State<St>, RawQuery(q): RawQuery) -> Response {
    let q = pairs(q.as_deref().unwrap_or(""));
    let token = q
        .iter()
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let st = lock(&inner.state);
    let Some(o) = st.orders.iter().find(|o| o["id"] == token.as_str()) else {
        return (
            StatusCode::NOT_FOUND,
            common::message_page(
                "PayPal",
                "Things don't appear to be working at the moment",
                "Unknown order.",
            ),
        )
            .into_response();
    };
    if !matches!(
        o["status"].as_str(),
        Some("CREATED" | "PAYER_ACTION_REQUIRED")
    ) {
        return common::message_page(
            "PayPal",
            "This order was already handled",
            &format!("Status: {}", o["status"].as_str().unwrap_or("")),
        );
    }
    let pu = &o["purchase_units"][0];
    let lines = vec![
        (
            "Item".to_string(),
            pu["description"].as_str().unwrap_or("").to_string(),
        ),
        (
            "Amount".to_string(),
            format!(
                "{} {}",
                pu["amount"]["value"].as_str().unwrap_or(""),
                pu["amount"]["currency_code"].as_str().unwrap_or("")
            ),
        ),
    ];
    common::page(
        "PayPal",
        "Pay with PayPal",
        &lines,
        &format!("/checkoutnow?token={token}"),
        &[("approve", "Approve"), ("cancel", "Cancel")],
    )
}

async fn order_submit(State(inner): State<St>, RawQuery(q): RawQuery, body: String) -> Response {
    let q = pairs(q.as_deref().unwrap_or(""));
    let token = q
        .iter()
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let mut st = lock(&inner.state);
    let Some(o) = st
        .orders
        .iter()
        .find(|o| o["id"] == token.as_str())
        .cloned()
    else {
        return (
            StatusCode::NOT_FOUND,
            common::message_page("PayPal", "Unknown order", ""),
        )
            .into_response();
    };
    let sep = |u: &str| if u.contains('?') { '&' } else { '?' };
    if form_action(&body) == "cancel" {
        let u = o["cancel_url"].as_str().unwrap_or("/");
        return redirect(&format!("{u}{}token={token}", sep(u)));
    }
    match st.approve_order(&inner.hooks, &token) {
        Ok(o) => {
            let u = o["return_url"].as_str().unwrap_or("/");
            redirect(&format!(
                "{u}{}token={token}&PayerID={}",
                sep(u),
                o["payer"]["payer_id"].as_str().unwrap_or("")
            ))
        }
        Err(_) => common::message_page("PayPal", "This order was already handled", ""),
    }
}

async fn subscription_page(State(inner): State<St>, RawQuery(q): RawQuery) -> Response {
    let q = pairs(q.as_deref().unwrap_or(""));
    let ba = q
        .iter()
        .find(|(k, _)| k == "ba_token")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let st = lock(&inner.state);
    let Some(s) = st
        .subscriptions
        .iter()
        .find(|s| s["ba_token"] == ba.as_str())
    else {
        return (
            StatusCode::NOT_FOUND,
            common::message_page(
                "PayPal",
                "Things don't appear to be working at the moment",
                "Unknown subscription.",
            ),
        )
            .into_response();
    };
    let (amount, cur) = st.plan_price(s["plan_id"].as_str().unwrap_or(""));
    let plan_name = st
        .plans
        .iter()
        .find(|p| p["id"] == s["plan_id"])
        .and_then(|p| p["name"].as_str())
        .unwrap_or("")
        .to_string();
    let lines = vec![
        ("Plan".to_string(), plan_name),
        ("Price".to_string(), format!("{} {cur}", dec(amount))),
    ];
    common::page(
        "PayPal",
        "Subscribe with PayPal",
        &lines,
        &format!("/webapps/billing/subscriptions?ba_token={ba}"),
        &[("approve", "Approve"), ("cancel", "Cancel")],
    )
}

async fn subscription_submit(
    State(inner): State<St>,
    RawQuery(q): RawQuery,
    body: String,
) -> Response {
    let q = pairs(q.as_deref().unwrap_or(""));
    let ba = q
        .iter()
        .find(|(k, _)| k == "ba_token")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let mut st = lock(&inner.state);
    let Some(s) = st
        .subscriptions
        .iter()
        .find(|s| s["ba_token"] == ba.as_str())
        .cloned()
    else {
        return (
            StatusCode::NOT_FOUND,
            common::message_page("PayPal", "Unknown subscription", ""),
        )
            .into_response();
    };
    let id = s["id"].as_str().unwrap_or("").to_string();
    let sep = |u: &str| if u.contains('?') { '&' } else { '?' };
    if form_action(&body) == "cancel" {
        let u = s["cancel_url"].as_str().unwrap_or("/");
        return redirect(&format!(
            "{u}{}subscription_id={id}&ba_token={ba}&token={ba}",
            sep(u)
        ));
    }
    match st.approve_subscription(&inner.hooks, &id) {
        Ok(_) => {
            let u = s["return_url"].as_str().unwrap_or("/");
            redirect(&format!(
                "{u}{}subscription_id={id}&ba_token={ba}&token={ba}",
                sep(u)
            ))
        }
        Err(_) => common::message_page("PayPal", "This subscription was already handled", ""),
    }
}

#[derive(Deserialize)]
struct PlanSeed {
    name: String,
    price: String,
    #[serde(default = "usd")]
    currency: String,
    #[serde(default = "month")]
    interval_unit: String,
    #[serde(default = "one")]
    interval_count: i64,
}

#[derive(Deserialize)]
struct PaymentSeed {
    #[serde(default = "primary")]
    account: String,
    amount: String,
    #[serde(default = "usd")]
    currency: String,
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    subscription_id: Option<String>,
}

fn usd() -> String {
    "USD".into()
}
fn month() -> String {
    "MONTH".into()
}
fn one() -> i64 {
    1
}
fn primary() -> String {
    "primary".into()
}

fn control_routes(inner: St) -> axum::Router {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/state", get(|State(i): State<St>| async move {
            let st = lock(&i.state);
            Json(json!({
                "client_id": st.client_id, "webhook_id": st.webhook_id, "accounts": st.nvp, "orders": st.orders, "captures": st.captures,
                "refunds": st.refunds, "plans": st.plans, "subscriptions": st.subscriptions, "events": st.events, "transactions": st.ledger,
            }))
        }))
        .route("/plans", post(|State(i): State<St>, Json(b): Json<PlanSeed>| async move {
            let mut st = lock(&i.state);
            let product = json!({"id": format!("PROD-{}", pid(17)), "name": b.name, "type": "SERVICE", "create_time": rfc3339(now())});
            st.products.push(product.clone());
            let plan = plan_json(&product["id"], &b.name, &b.price, &b.currency, &b.interval_unit, b.interval_count);
            st.plans.push(plan.clone());
            (StatusCode::CREATED, Json(plan))
        }))
        .route("/orders/{id}/approve", post(|State(i): State<St>, Path(id): Path<String>| async move {
            let mut st = lock(&i.state);
            match st.approve_order(&i.hooks, &id) { Ok(v) => Json(public_order(&v)).into_response(), Err(r) => r }
        }))
        .route("/subscriptions/{id}/approve", post(|State(i): State<St>, Path(id): Path<String>| async move {
            let mut st = lock(&i.state);
            match st.approve_subscription(&i.hooks, &id) { Ok(v) => Json(v).into_response(), Err(r) => r }
        }))
        .route("/payments", post(|State(i): State<St>, Json(b): Json<PaymentSeed>| async move {
            let mut st = lock(&i.state);
            match receive(&mut st, &b.account, &b.amount, &b.currency, &b.email, &b.name, b.subscription_id) {
                Ok(id) => (StatusCode::CREATED, Json(json!({"id": id}))).into_response(),
                Err(e) => control::bad(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()),
            }
        }))
        .route("/captures/{id}/refund", post(|State(i): State<St>, Path(id): Path<String>, body: String| async move {
            let b = crate::http_util::parse_json(body.as_bytes()).unwrap_or(Value::Null);
            let mut st = lock(&i.state);
            match st.refund(&i.hooks, &id, &b) { Ok(v) => Json(v).into_response(), Err(r) => r }
        }))
        .route("/captures/{id}/reverse", post(|State(i): State<St>, Path(id): Path<String>| async move {
            let mut st = lock(&i.state);
            match st.reverse_capture(&i.hooks, &id) { Ok(v) => Json(v).into_response(), Err(r) => r }
        }))
        .route("/disputes/{id}/resolve", post(|State(i): State<St>, Path(id): Path<String>, body: String| async move {
            let b = crate::http_util::parse_json(body.as_bytes()).unwrap_or(Value::Null);
            let outcome = b["outcome"].as_str().unwrap_or("RESOLVED_SELLER_FAVOUR").to_string();
            let mut st = lock(&i.state);
            match st.resolve_dispute(&i.hooks, &id, &outcome) { Ok(v) => Json(v).into_response(), Err(r) => r }
        }))
        .route("/subscriptions/{id}/cancel", post(|State(i): State<St>, Path(id): Path<String>| async move {
            let mut st = lock(&i.state);
            match st.cancel_subscription(&i.hooks, &id, "Cancelled by the buyer") { Ok(v) => Json(v).into_response(), Err(r) => r }
        }))
        .route("/subscriptions/{id}/fail_next_renewal", post(|State(i): State<St>, Path(id): Path<String>| async move {
            let mut st = lock(&i.state);
            if !st.subscriptions.iter().any(|s| s["id"] == id.as_str()) { return control::bad(StatusCode::NOT_FOUND, format!("no subscription {id}")); }
            st.fail_next.insert(id);
            StatusCode::NO_CONTENT.into_response()
        }))
        .route("/subscriptions/{id}/advance", post(|State(i): State<St>, Path(id): Path<String>| async move {
            let mut st = lock(&i.state);
            match st.advance(&i.hooks, &id) { Ok(v) => Json(v).into_response(), Err(r) => r }
        }))
        .with_state(inner)
}
