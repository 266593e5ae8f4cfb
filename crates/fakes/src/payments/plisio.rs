//! Fake Plisio (API v1): `GET /api/v1/invoices/new`, `GET /api/v1/operations`,
//! `GET /api/v1/operations/{id}`, all authenticated by the `api_key` query parameter and
//! answering `{"status":"success","data":…}` or `{"status":"error","data":{name,message,code}}`.
//! The invoice page `/invoice/{txn_id}` has Pay and Cancel buttons; paying sends the status
//! callback to the invoice's `callback_url`, as JSON when that URL has `json=true` and
//! form-encoded otherwise, with `verify_hash` computed as Plisio does (docs/payments.md), and
//! redirects to `success_callback_url`; Cancel redirects to `cancel_url`.
//!
//! Control API: `GET /state`, `POST /invoices/{txn_id}/status` (`{"status", "amount"?}`: any
//! status, with its callback: `completed`, `mismatch`, `pending`, `expired`, `cancelled`,
//! `error`), `POST /operations` (a paid invoice made outside checkout), deliveries and faults.

use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;
use serde_json::{Value, json};

use super::common::{self, form_action, now, origin, pairs, redirect};
use super::webhooks::{Delivery, Dispatcher, Signer};
use crate::control;
use crate::faults::{Core, Flavor, lock};
use crate::routing::{PathStyle, Routes};
use crate::server::{Running, serve};

/// BTC per USD in the fake's world (Plisio quotes its own rate).
const RATE: &str = "0.00002000";

#[derive(Debug)]
struct PlState {
    api_key: String,
    shop: String,
    merchant_id: String,
    shop_id: String,
    invoices: Vec<Value>,
}

#[derive(Debug)]
struct Inner {
    state: Mutex<PlState>,
    hooks: Arc<Dispatcher>,
}

type St = Arc<Inner>;

#[derive(Debug)]
pub struct PlisioFake {
    running: Running,
    core: Arc<Core>,
    inner: St,
}

fn ok(data: Value) -> Response {
    Json(json!({"status": "success", "data": data})).into_response()
}

fn err(status: StatusCode, name: &str, message: &str) -> Response {
    (status, Json(json!({"status": "error", "data": {"name": name, "message": message, "code": status.as_u16()}}))).into_response()
}

/// HMAC-SHA1 hex of the canonical string.
fn hmac_hex(key: &str, data: &str) -> String {
    let mut m =
        Hmac::<sha1::Sha1>::new_from_slice(key.as_bytes()).unwrap_or_else(|_| unreachable!());
    m.update(data.as_bytes());
    hex::encode(m.finalize().into_bytes())
}

/// BTC amount of a fiat amount at the fake's rate, 8 decimals.
fn crypto(fiat: &str) -> String {
    let cents: i64 = {
        let (w, f) = fiat.split_once('.').unwrap_or((fiat, "0"));
        let f = format!("{:0<2}", &f[..f.len().min(2)]);
        w.parse::<i64>().unwrap_or(0) * 100 + f.parse::<i64>().unwrap_or(0)
    };
    // 0.00002 BTC per USD = 2000 satoshi per USD = 20 satoshi per cent.
    let sat = cents * 20;
    format!("{}.{:08}", sat / 100_000_000, sat % 100_000_000)
}

impl PlState {
    /// The callback fields, in the order Plisio sends them.
    fn callback_fields(&self, inv: &Value) -> Vec<(String, String)> {
        let g = |k: &str| inv[k].as_str().unwrap_or("").to_string();
        let amount = g("amount");
        vec![
            ("txn_id".into(), g("id")),
            ("ipn_type".into(), "invoice".into()),
            ("merchant".into(), self.shop.clone()),
            ("merchant_id".into(), self.merchant_id.clone()),
            (
                "amount".into(),
                inv["actual_sum"]
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or(amount.clone()),
            ),
            ("currency".into(), g("currency")),
            (
                "order_number".into(),
                inv["params"]["order_number"].as_str().unwrap_or("").into(),
            ),
            (
                "order_name".into(),
                inv["params"]["order_name"].as_str().unwrap_or("").into(),
            ),
            (
                "confirmations".into(),
                inv["confirmations"].as_i64().unwrap_or(0).to_string(),
            ),
            ("status".into(), g("status")),
            ("source_currency".into(), g("source_currency")),
            (
                "source_amount".into(),
                inv["params"]["source_amount"].as_str().unwrap_or("").into(),
            ),
            ("source_rate".into(), g("source_rate")),
            ("comment".into(), String::new()),
            ("invoice_commission".into(), g("invoice_commission")),
            ("invoice_sum".into(), amount),
            ("invoice_total_sum".into(), g("invoice_total_sum")),
        ]
    }

    /// The callback body and its `verify_hash`, JSON (received order) or form (PHP
    /// `serialize` of the sorted fields).
    fn callback_body(&self, inv: &Value, json_form: bool) -> String {
        let fields = self.callback_fields(inv);
        if json_form {
            let inner: Vec<String> = fields
                .iter()
                .map(|(k, v)| format!("{}:{}", Value::String(k.clone()), Value::String(v.clone())))
                .collect();
            let canonical = format!("{{{}}}", inner.join(","));
            let hash = hmac_hex(&self.api_key, &canonical);
            format!(
                "{},\"verify_hash\":\"{hash}\"}}",
                &canonical[..canonical.len() - 1]
            )
        } else {
            let mut sorted = fields.clone();
            sorted.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            let mut ser = format!("a:{}:{{", sorted.len());
            for (k, v) in &sorted {
                ser.push_str(&format!("s:{}:\"{k}\";s:{}:\"{v}\";", k.len(), v.len()));
            }
            ser.push('}');
            let hash = hmac_hex(&self.api_key, &ser);
            let enc = |s: &str| {
                percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC)
                    .to_string()
            };
            let mut parts: Vec<String> = fields
                .iter()
                .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
                .collect();
            parts.push(format!("verify_hash={hash}"));
            parts.join("&")
        }
    }

    fn set_status(
        &mut self,
        hooks: &Dispatcher,
        id: &str,
        status: &str,
        amount: Option<String>,
    ) -> Result<Value, Response> {
        let shop = self.shop.clone();
        let _ = shop;
        let Some(i) = self
            .invoices
            .iter()
            .position(|v| v["id"] == id || v["txn_id"] == id)
        else {
            return Err(err(StatusCode::NOT_FOUND, "Not Found", "Invoice not found"));
        };
        let inv = &mut self.invoices[i];
        inv["status"] = json!(status);
        if matches!(status, "completed" | "mismatch") {
            inv["confirmations"] = json!(2);
            inv["actual_sum"] =
                json!(amount.unwrap_or_else(|| inv["amount"].as_str().unwrap_or("").to_string()));
            inv["tx_id"] = json!([crate::ids::hex(64)]);
        }
        let inv = inv.clone();
        if let Some(cb) = inv["params"]["callback_url"]
            .as_str()
            .filter(|u| !u.is_empty())
        {
            let body = self.callback_body(&inv, cb.contains("json=true"));
            hooks.enqueue_to(cb, &format!("{id}:{status}"), status, body);
        }
        Ok(inv)
    }
}

impl PlisioFake {
    pub async fn start() -> crate::Result<Self> {
        let signer: Signer = Arc::new(|body: &[u8]| {
            let ct = if body.first() == Some(&b'{') {
                "application/json"
            } else {
                "application/x-www-form-urlencoded"
            };
            vec![
                ("Content-Type".into(), ct.into()),
                ("User-Agent".into(), "Plisio".into()),
            ]
        });
        let inner = Arc::new(Inner {
            state: Mutex::new(PlState {
                api_key: crate::ids::hex(64),
                shop: "TestShop".into(),
                merchant_id: crate::ids::hex(24),
                shop_id: crate::ids::hex(24),
                invoices: Vec::new(),
            }),
            hooks: Dispatcher::start(signer),
        });
        let (provider, table) = Routes::new(PathStyle::default())
            .get("/api/v1/invoices/new", new_invoice)
            .get("/api/v1/operations", operations)
            .get("/api/v1/operations/{id}", operation)
            .get("/invoice/{id}", invoice_page)
            .post("/invoice/{id}", invoice_submit)
            .fallback(|| async { err(StatusCode::NOT_FOUND, "Not Found", "Page not found.") })
            .with_state(inner.clone());
        let core = Core::new(Flavor::Plisio, table);
        let control =
            control_routes(inner.clone()).merge(common::webhook_control(inner.hooks.clone()));
        let app = control::assemble(provider, control, core.clone());
        Ok(PlisioFake {
            running: serve(app).await?,
            core,
            inner,
        })
    }

    pub fn url(&self) -> String {
        self.running.url()
    }
    /// The API base a client is configured with (`…/api/v1`).
    pub fn api_url(&self) -> String {
        format!("{}/api/v1", self.running.url())
    }
    pub fn control_url(&self) -> String {
        format!("{}{}", self.url(), control::PREFIX)
    }
    pub fn api_key(&self) -> String {
        lock(&self.inner.state).api_key.clone()
    }
    pub fn add_fault(&self, rule: crate::FaultRule) -> u64 {
        self.core.add_fault(rule)
    }
    pub fn requests(&self) -> Vec<crate::LoggedRequest> {
        self.core.requests()
    }
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.inner.hooks.deliveries()
    }
    pub fn set_retry_schedule(&self, schedule_ms: Vec<u64>) {
        self.inner.hooks.configure(None, Some(schedule_ms));
    }
    /// Sets an invoice's status and sends its callback.
    pub fn set_status(
        &self,
        txn_id: &str,
        status: &str,
        amount: Option<&str>,
    ) -> crate::Result<Value> {
        let mut st = lock(&self.inner.state);
        st.set_status(
            &self.inner.hooks,
            txn_id,
            status,
            amount.map(str::to_string),
        )
        .map_err(|_| crate::FakeError::NotFound(txn_id.to_string()))
    }
    pub fn invoice(&self, txn_id: &str) -> Option<Value> {
        lock(&self.inner.state)
            .invoices
            .iter()
            .find(|v| v["id"] == txn_id)
            .cloned()
    }
    /// The callback body the fake would send for this invoice now.
    pub fn callback_body(&self, txn_id: &str, json_form: bool) -> Option<String> {
        let st = lock(&self.inner.state);
        let inv = st.invoices.iter().find(|v| v["id"] == txn_id)?;
        Some(st.callback_body(inv, json_form))
    }
}

fn authed(st: &PlState, q: &[(String, String)]) -> Result<(), Response> {
    match q.iter().find(|(k, _)| k == "api_key") {
        Some((_, k)) if *k == st.api_key => Ok(()),
        _ => Err(err(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "Invalid API key",
        )),
    }
}

fn invoice(st: &PlState, base: &str, q: &[(String, String)]) -> Value {
    let get = |k: &str| {
        q.iter()
            .rev()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let id = crate::ids::hex(24);
    let source_amount = get("source_amount");
    let amount = crypto(&source_amount);
    let t = now();
    json!({
        "id": id, "txn_id": id, "user_id": 1, "shop_id": st.shop_id, "type": "invoice", "status": "new", "status_code": 0,
        "psys_cid": "BTC", "currency": "BTC", "source_currency": get("source_currency"), "source_rate": RATE,
        "fee": "0.00000000", "wallet_hash": crate::ids::hex(34), "amount": amount, "pending_sum": amount, "sum": amount,
        "invoice_commission": "0.00000100", "invoice_total_sum": amount, "commission": "0.00000100",
        "actual_sum": null, "tx_id": [], "tx_url": [], "confirmations": 0, "parent_id": null,
        "created_at_utc": t, "expire_at_utc": t + 24 * 3600,
        "invoice_url": format!("{base}/invoice/{id}"),
        "params": {
            "order_number": get("order_number"), "order_name": get("order_name"), "source_amount": source_amount,
            "source_currency": get("source_currency"), "email": get("email"), "callback_url": get("callback_url"),
            "success_callback_url": get("success_callback_url"), "cancel_url": get("cancel_url"),
        },
    })
}

async fn new_invoice(State(inner): State<St>, h: HeaderMap, RawQuery(q): RawQuery) -> Response {
    let q = pairs(q.as_deref().unwrap_or(""));
    let mut st = lock(&inner.state);
    if let Err(r) = authed(&st, &q) {
        return r;
    }
    let get = |k: &str| {
        q.iter()
            .rev()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
            .filter(|v| !v.is_empty())
    };
    let mut errors = serde_json::Map::new();
    for (k, label) in [
        ("order_number", "Order Number"),
        ("order_name", "Order Name"),
    ] {
        if get(k).is_none() {
            errors.insert(k.into(), json!(format!("{label} cannot be blank.")));
        }
    }
    if get("source_amount").is_none() && get("amount").is_none() {
        errors.insert(
            "source_amount".into(),
            json!("Source Amount cannot be blank."),
        );
    } else if let Some(a) = get("source_amount")
        && a.parse::<f64>().map(|x| x <= 0.0).unwrap_or(true)
    {
        errors.insert(
            "source_amount".into(),
            json!("Source Amount must be a number."),
        );
    }
    if !errors.is_empty() {
        // Plisio puts the field messages in `message` as a JSON string.
        return err(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Unprocessable entity",
            &Value::Object(errors).to_string(),
        );
    }
    let order = get("order_number").unwrap_or_default();
    // A repeated order_number answers the invoice made first (duplicate behaviour is not
    // documented; this keeps a retried create from making a second invoice).
    if let Some(inv) = st
        .invoices
        .iter()
        .find(|v| v["params"]["order_number"] == order.as_str())
    {
        return ok(json!({"txn_id": inv["id"], "invoice_url": inv["invoice_url"]}));
    }
    let inv = invoice(&st, &origin(&h), &q);
    st.invoices.push(inv.clone());
    ok(json!({"txn_id": inv["id"], "invoice_url": inv["invoice_url"]}))
}

fn public(inv: &Value) -> Value {
    let mut v = inv.clone();
    if let Some(p) = v["params"].as_object_mut() {
        p.remove("callback_url");
        p.remove("success_callback_url");
        p.remove("cancel_url");
    }
    v
}

async fn operations(State(inner): State<St>, RawQuery(q): RawQuery) -> Response {
    let q = pairs(q.as_deref().unwrap_or(""));
    let st = lock(&inner.state);
    if let Err(r) = authed(&st, &q) {
        return r;
    }
    let get = |k: &str| {
        q.iter()
            .rev()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
            .filter(|v| !v.is_empty())
    };
    let page: usize = get("page").and_then(|p| p.parse().ok()).unwrap_or(1).max(1);
    let limit: usize = get("limit")
        .and_then(|p| p.parse().ok())
        .unwrap_or(20)
        .clamp(1, 100);
    let mut rows: Vec<&Value> = st.invoices.iter().rev().collect();
    if let Some(t) = get("type") {
        rows.retain(|v| v["type"] == t.as_str());
    }
    if let Some(s) = get("status") {
        rows.retain(|v| v["status"] == s.as_str());
    }
    if let Some(s) = get("search") {
        rows.retain(|v| {
            v["id"] == s.as_str()
                || v["params"]["order_number"] == s.as_str()
                || v["params"]["email"] == s.as_str()
        });
    }
    let total = rows.len();
    let pages = total.div_ceil(limit).max(1);
    let data: Vec<Value> = rows
        .into_iter()
        .skip((page - 1) * limit)
        .take(limit)
        .map(public)
        .collect();
    ok(json!({
        "operations": data,
        "_links": {"self": {"href": format!("/api/v1/operations?page={page}")}},
        "_meta": {"totalCount": total, "pageCount": pages, "currentPage": page, "perPage": limit},
    }))
}

async fn operation(
    State(inner): State<St>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let q = pairs(q.as_deref().unwrap_or(""));
    let st = lock(&inner.state);
    if let Err(r) = authed(&st, &q) {
        return r;
    }
    match st.invoices.iter().find(|v| v["id"] == id.as_str()) {
        Some(v) => ok(public(v)),
        None => err(StatusCode::NOT_FOUND, "Not Found", "Operation not found"),
    }
}

async fn invoice_page(State(inner): State<St>, Path(id): Path<String>) -> Response {
    let st = lock(&inner.state);
    let Some(inv) = st.invoices.iter().find(|v| v["id"] == id.as_str()) else {
        return (
            StatusCode::NOT_FOUND,
            common::message_page("Plisio", "Invoice not found", ""),
        )
            .into_response();
    };
    if inv["status"] != "new" {
        return common::message_page(
            "Plisio",
            "Invoice",
            &format!("Status: {}", inv["status"].as_str().unwrap_or("")),
        );
    }
    let lines = vec![
        (
            "Order".to_string(),
            inv["params"]["order_name"]
                .as_str()
                .unwrap_or("")
                .to_string(),
        ),
        (
            "Amount".to_string(),
            format!(
                "{} {}",
                inv["params"]["source_amount"].as_str().unwrap_or(""),
                inv["source_currency"].as_str().unwrap_or("")
            ),
        ),
        (
            "To pay".to_string(),
            format!("{} BTC", inv["amount"].as_str().unwrap_or("")),
        ),
    ];
    common::page(
        "Plisio",
        "Pay with crypto",
        &lines,
        &format!("/invoice/{id}"),
        &[("pay", "Pay"), ("cancel", "Cancel")],
    )
}

async fn invoice_submit(State(inner): State<St>, Path(id): Path<String>, body: String) -> Response {
    let mut st = lock(&inner.state);
    let Some(inv) = st.invoices.iter().find(|v| v["id"] == id.as_str()).cloned() else {
        return (
            StatusCode::NOT_FOUND,
            common::message_page("Plisio", "Invoice not found", ""),
        )
            .into_response();
    };
    let cancel = form_action(&body) == "cancel";
    let status = if cancel { "cancelled" } else { "completed" };
    if inv["status"] == "new" {
        let _ = st.set_status(&inner.hooks, &id, status, None);
    }
    let to = if cancel {
        inv["params"]["cancel_url"].as_str()
    } else {
        inv["params"]["success_callback_url"].as_str()
    };
    match to.filter(|u| !u.is_empty()) {
        Some(u) => redirect(u),
        None => common::message_page("Plisio", "Invoice", &format!("Status: {status}")),
    }
}

#[derive(Deserialize)]
struct StatusBody {
    status: String,
    #[serde(default)]
    amount: Option<String>,
}

#[derive(Deserialize)]
struct OperationSeed {
    source_amount: String,
    #[serde(default = "usd")]
    source_currency: String,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    order_number: Option<String>,
    #[serde(default)]
    order_name: Option<String>,
}

fn usd() -> String {
    "USD".into()
}

fn control_routes(inner: St) -> axum::Router {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/state", get(|State(i): State<St>| async move {
            let st = lock(&i.state);
            Json(json!({"api_key": st.api_key, "shop": st.shop, "invoices": st.invoices}))
        }))
        .route("/invoices/{id}/status", post(|State(i): State<St>, Path(id): Path<String>, Json(b): Json<StatusBody>| async move {
            const KNOWN: [&str; 8] = ["new", "pending", "pending internal", "completed", "mismatch", "expired", "cancelled", "error"];
            if !KNOWN.contains(&b.status.as_str()) {
                return control::bad(StatusCode::UNPROCESSABLE_ENTITY, format!("unknown status {:?}: use one of {}", b.status, KNOWN.join(", ")));
            }
            let mut st = lock(&i.state);
            match st.set_status(&i.hooks, &id, &b.status, b.amount) { Ok(v) => Json(v).into_response(), Err(r) => r }
        }))
        .route("/operations", post(|State(i): State<St>, Json(b): Json<OperationSeed>| async move {
            let mut st = lock(&i.state);
            let q = vec![
                ("source_amount".to_string(), b.source_amount),
                ("source_currency".to_string(), b.source_currency),
                ("email".to_string(), b.email.unwrap_or_default()),
                ("order_number".to_string(), b.order_number.unwrap_or_else(|| crate::ids::hex(8))),
                ("order_name".to_string(), b.order_name.unwrap_or_else(|| "Payment".into())),
            ];
            let mut inv = invoice(&st, "http://127.0.0.1", &q);
            inv["status"] = json!("completed");
            inv["actual_sum"] = inv["amount"].clone();
            inv["confirmations"] = json!(2);
            st.invoices.push(inv.clone());
            (StatusCode::CREATED, Json(public(&inv))).into_response()
        }))
        .with_state(inner)
}
