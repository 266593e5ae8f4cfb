//! PayPal (docs/payments.md, "PayPal"): OAuth client credentials with the token cached until
//! shortly before it expires; Orders v2 for one-off purchases (create, then capture when the
//! buyer returns); Subscriptions v1 for a plan's PayPal plan id; refunds of captures; webhooks
//! verified locally or by postback; NVP TransactionSearch (or the Reporting API when an account
//! has only REST credentials) for sync. The primary account takes checkouts and may be synced;
//! the secondary is synced only. Every money-moving POST carries `PayPal-Request-Id`.

pub mod nvp;
pub mod webhook;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use boxoffice_domain::{Clock, SystemClock};
use boxoffice_http::{HttpClient, HttpConfig, Request, Response, RetryPolicy, Secret};
use serde_json::{Value, json};

use crate::amounts::to_decimal;
use crate::error::{PaymentError, Result, SignatureError};
use crate::gateway::Gateway;
use crate::json::{fmt_rfc3339, rfc3339, s};
use crate::types::*;
use nvp::NvpAnswer;

const GW: GatewayKind = GatewayKind::PayPal;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayPalEnvironment {
    Sandbox,
    Live,
    /// Any other host (a fake in tests, the sandbox command).
    Custom {
        api_base: String,
        nvp_url: String,
    },
}

impl PayPalEnvironment {
    pub fn api_base(&self) -> &str {
        match self {
            PayPalEnvironment::Sandbox => "https://api-m.sandbox.paypal.com",
            PayPalEnvironment::Live => "https://api-m.paypal.com",
            PayPalEnvironment::Custom { api_base, .. } => api_base,
        }
    }

    /// API-signature credentials use the `api-3t` hosts.
    pub fn nvp_url(&self) -> &str {
        match self {
            PayPalEnvironment::Sandbox => "https://api-3t.sandbox.paypal.com/nvp",
            PayPalEnvironment::Live => "https://api-3t.paypal.com/nvp",
            PayPalEnvironment::Custom { nvp_url, .. } => nvp_url,
        }
    }
}

#[derive(Debug, Clone)]
pub struct RestCredentials {
    pub client_id: String,
    pub secret: Secret,
}

#[derive(Debug, Clone)]
pub struct NvpCredentials {
    pub username: String,
    pub password: Secret,
    pub signature: Secret,
}

#[derive(Debug, Clone, Default)]
pub struct PayPalAccount {
    pub rest: Option<RestCredentials>,
    pub nvp: Option<NvpCredentials>,
}

#[derive(Debug, Clone)]
pub enum WebhookVerification {
    /// CRC-32 + RSA against the certificate, fetched only from these origins.
    Local { cert_origins: Vec<String> },
    /// Ask PayPal (`verify-webhook-signature`) with the primary account's token.
    Postback,
}

impl WebhookVerification {
    pub fn local() -> Self {
        WebhookVerification::Local {
            cert_origins: webhook::PAYPAL_CERT_ORIGINS
                .iter()
                .map(|s| s.to_string())
                .collect(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct PayPalConfig {
    pub environment: PayPalEnvironment,
    pub primary: PayPalAccount,
    pub secondary: Option<PayPalAccount>,
    /// The id of our registered webhook (not an event id).
    pub webhook_id: Option<String>,
    pub verification: WebhookVerification,
    /// Refuse deliveries whose transmission time is further than this from now (a policy:
    /// PayPal publishes none; each retry is a new transmission).
    pub max_transmission_age: Option<Duration>,
    pub brand_name: Option<String>,
    pub timeout: Duration,
    pub retry: RetryPolicy,
}

impl PayPalConfig {
    pub fn new(environment: PayPalEnvironment, primary: PayPalAccount) -> Self {
        PayPalConfig {
            environment,
            primary,
            secondary: None,
            webhook_id: None,
            verification: WebhookVerification::local(),
            max_transmission_age: Some(Duration::from_secs(600)),
            brand_name: None,
            timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
        }
    }
}

#[derive(Debug)]
pub struct PayPalGateway {
    http: HttpClient,
    cfg: PayPalConfig,
    clock: Arc<dyn Clock>,
    tokens: Mutex<HashMap<Account, (Secret, i64)>>,
    certs: Mutex<HashMap<String, Vec<u8>>>,
}

fn kv(k: &str, v: impl Into<String>) -> (String, String) {
    (k.to_string(), v.into())
}

impl PayPalGateway {
    pub fn new(cfg: PayPalConfig) -> Result<Self> {
        Self::with_clock(cfg, Arc::new(SystemClock), None)
    }

    pub fn with_clock(
        cfg: PayPalConfig,
        clock: Arc<dyn Clock>,
        http: Option<HttpConfig>,
    ) -> Result<Self> {
        let mut hc = http.unwrap_or_else(|| {
            HttpConfig::new("PayPal", "")
                .clock(clock.clone(), Arc::new(boxoffice_http::TokioSleeper))
        });
        hc.service = "PayPal".into();
        hc.base_url = cfg.environment.api_base().to_string();
        hc.timeout = cfg.timeout;
        hc.retry = cfg.retry.clone();
        for acct in std::iter::once(&cfg.primary).chain(cfg.secondary.iter()) {
            if let Some(r) = &acct.rest {
                hc.secrets.push(r.secret.clone());
            }
            if let Some(n) = &acct.nvp {
                hc.secrets.push(n.password.clone());
                hc.secrets.push(n.signature.clone());
            }
        }
        let http = HttpClient::new(hc).map_err(|e| PaymentError::from_http(GW, e))?;
        Ok(PayPalGateway {
            http,
            cfg,
            clock,
            tokens: Mutex::new(HashMap::new()),
            certs: Mutex::new(HashMap::new()),
        })
    }

    fn account(&self, a: Account) -> Result<&PayPalAccount> {
        match a {
            Account::Primary => Ok(&self.cfg.primary),
            Account::Secondary => self
                .cfg
                .secondary
                .as_ref()
                .ok_or(PaymentError::NotConfigured {
                    gateway: GW,
                    op: "sync",
                    what: "the secondary account",
                }),
        }
    }

    /// A bearer token for the account, from the cache unless it expires within a minute.
    async fn token(&self, a: Account) -> Result<Secret> {
        let now = self.clock.unix();
        if let Some((t, exp)) = lock(&self.tokens).get(&a)
            && *exp > now + 60
        {
            return Ok(t.clone());
        }
        let rest = self
            .account(a)?
            .rest
            .as_ref()
            .ok_or(PaymentError::NotConfigured {
                gateway: GW,
                op: "REST calls",
                what: "the REST client id and secret",
            })?;
        let req = Request::post("/v1/oauth2/token")
            .op("get access token")
            .basic_auth(
                rest.client_id.trim(),
                &Secret::new(rest.secret.expose().trim()),
            )
            .form([("grant_type", "client_credentials")])
            .retry_safe(true);
        let resp = self
            .http
            .send(req)
            .await
            .map_err(|e| PaymentError::from_http(GW, e))?;
        if resp.status == 401 || resp.status == 400 {
            return Err(auth_error(resp.op()));
        }
        let resp = resp
            .error_for_status()
            .map_err(|e| PaymentError::from_http(GW, e))?;
        let v: Value = resp.json().map_err(|e| PaymentError::from_http(GW, e))?;
        let token = Secret::new(
            s(&v, "/access_token").ok_or_else(|| bad("get access token", "no access_token"))?,
        );
        let expires = now + crate::json::i(&v, "/expires_in").unwrap_or(3600);
        lock(&self.tokens).insert(a, (token.clone(), expires));
        Ok(token)
    }

    /// A REST call with the account's token; a 401 refreshes the token once.
    async fn rest(&self, a: Account, req: Request) -> Result<Response> {
        let mut refreshed = false;
        loop {
            let token = self.token(a).await?;
            let resp = self
                .http
                .send(req.clone().bearer(&token))
                .await
                .map_err(|e| PaymentError::from_http(GW, e))?;
            if resp.status == 401 && !refreshed {
                lock(&self.tokens).remove(&a);
                refreshed = true;
                continue;
            }
            return Ok(resp);
        }
    }

    async fn rest_json(
        &self,
        a: Account,
        req: Request,
        what: &'static str,
        id: &str,
    ) -> Result<Value> {
        let resp = self.rest(a, req).await?;
        if !resp.is_success() {
            return Err(map_error(&resp, what, id));
        }
        if resp.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Null);
        }
        resp.json().map_err(|e| PaymentError::from_http(GW, e))
    }

    async fn nvp(
        &self,
        a: Account,
        method: &str,
        fields: Vec<(String, String)>,
    ) -> Result<NvpAnswer> {
        let creds = self
            .account(a)?
            .nvp
            .as_ref()
            .ok_or(PaymentError::NotConfigured {
                gateway: GW,
                op: "transaction sync",
                what: "the NVP API username, password and signature",
            })?;
        let mut form = vec![
            kv("USER", creds.username.trim()),
            kv("PWD", creds.password.expose().trim()),
            kv("SIGNATURE", creds.signature.expose().trim()),
            kv("VERSION", nvp::VERSION),
            kv("METHOD", method),
        ];
        form.extend(fields);
        let req = Request::post(self.cfg.environment.nvp_url())
            .op(format!("NVP {method}"))
            .form(form)
            .retry_safe(true);
        let resp = self
            .http
            .call(req)
            .await
            .map_err(|e| PaymentError::from_http(GW, e))?;
        let a = NvpAnswer::parse(&resp.text());
        if a.failed() {
            let errors = a.errors();
            if errors.iter().any(|(c, _)| c == "10002" || c == "10001") {
                return Err(PaymentError::Auth {
                    gateway: GW,
                    op: format!("NVP {method}"),
                    credential: "NVP API username, password and signature",
                    advice: "request or view the API signature in the PayPal account (Account Settings → API access → NVP/SOAP API integration) and paste all three for the same environment (Sandbox or Live), without spaces",
                });
            }
            let (code, message) = errors.into_iter().next().unwrap_or_default();
            return Err(PaymentError::Rejected {
                gateway: GW,
                op: format!("NVP {method}"),
                status: 200,
                code: Some(code),
                message,
                param: None,
            });
        }
        Ok(a)
    }

    async fn certificate(&self, url: &str) -> Result<Vec<u8>, SignatureError> {
        if let Some(c) = lock(&self.certs).get(url) {
            return Ok(c.clone());
        }
        let resp = self
            .http
            .call(Request::get(url).op("fetch webhook certificate"))
            .await
            .map_err(|e| SignatureError::Certificate(e.to_string()))?;
        lock(&self.certs).insert(url.to_string(), resp.body.clone());
        Ok(resp.body)
    }

    async fn verify(&self, n: &Notification<'_>) -> Result<(), SignatureError> {
        let webhook_id = self
            .cfg
            .webhook_id
            .as_deref()
            .filter(|w| !w.is_empty())
            .ok_or(SignatureError::NotConfigured)?;
        let t = webhook::Transmission::from(n)?;
        if let Some(max) = self.cfg.max_transmission_age {
            let at = nvp::parse_time(&t.time).ok_or_else(|| {
                SignatureError::Malformed(format!(
                    "PAYPAL-TRANSMISSION-TIME {:?} is not a time",
                    t.time
                ))
            })?;
            let age = self.clock.unix() - at;
            if age.abs() > max.as_secs() as i64 {
                return Err(SignatureError::OutsideTolerance {
                    age_secs: age,
                    tolerance_secs: max.as_secs() as i64,
                });
            }
        }
        match &self.cfg.verification {
            WebhookVerification::Local { cert_origins } => {
                if !t.auth_algo.eq_ignore_ascii_case("SHA256withRSA") {
                    return Err(SignatureError::Malformed(format!(
                        "PAYPAL-AUTH-ALGO {} is not SHA256withRSA",
                        t.auth_algo
                    )));
                }
                if !webhook::cert_url_allowed(&t.cert_url, cert_origins) {
                    return Err(SignatureError::CertUrlNotAllowed(t.cert_url.clone()));
                }
                let pem = self.certificate(&t.cert_url).await?;
                webhook::verify_signature(
                    &pem,
                    &webhook::message(&t.id, &t.time, webhook_id, n.body),
                    &t.sig,
                )
            }
            WebhookVerification::Postback => {
                let req = Request::post("/v1/notifications/verify-webhook-signature")
                    .op("verify webhook signature")
                    .body(boxoffice_http::Body::Raw {
                        content_type: "application/json".into(),
                        bytes: t.postback_body(webhook_id, n.body),
                    })
                    .retry_safe(true);
                let v = self
                    .rest_json(Account::Primary, req, "webhook", webhook_id)
                    .await
                    .map_err(|e| SignatureError::Certificate(e.to_string()))?;
                if s(&v, "/verification_status").as_deref() == Some("SUCCESS") {
                    Ok(())
                } else {
                    Err(SignatureError::Refused("PayPal"))
                }
            }
        }
    }

    async fn read_order(&self, id: &str) -> Result<Value> {
        self.rest_json(
            Account::Primary,
            Request::get(format!("/v2/checkout/orders/{id}")).op("read order"),
            "order",
            id,
        )
        .await
    }

    async fn reporting(&self, a: Account, q: &TransactionQuery) -> Result<TransactionPage> {
        let until = q.until.unwrap_or_else(|| self.clock.unix());
        let page: u32 = q
            .cursor
            .as_deref()
            .and_then(|c| c.parse().ok())
            .unwrap_or(1);
        let req = Request::get("/v1/reporting/transactions")
            .op("list transactions")
            .query("start_date", fmt_rfc3339(q.since))
            .query("end_date", fmt_rfc3339(until))
            .query("fields", "all")
            .query("page_size", "500")
            .query("page", page.to_string());
        let v = self.rest_json(a, req, "transactions", "").await?;
        let rows = v["transaction_details"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let transactions = rows.iter().filter_map(|d| reporting_row(d, a)).collect();
        let total = crate::json::i(&v, "/total_pages").unwrap_or(1) as u32;
        Ok(TransactionPage {
            transactions,
            next_cursor: (page < total).then(|| (page + 1).to_string()),
        })
    }
}

fn reporting_row(d: &Value, account: Account) -> Option<Transaction> {
    let t = &d["transaction_info"];
    let cur = crate::amounts::currency(&s(t, "/transaction_amount/currency_code")?).ok()?;
    let amount = crate::amounts::parse_decimal(&s(t, "/transaction_amount/value")?, cur).ok()?;
    let fee = s(t, "/fee_amount/value")
        .and_then(|v| crate::amounts::parse_decimal(&v, cur).ok())
        .map(|m| boxoffice_domain::Money::new(m.minor.abs(), cur));
    let code = s(t, "/transaction_event_code").unwrap_or_default();
    Some(Transaction {
        gateway: GW,
        account,
        id: s(t, "/transaction_id")?,
        created: rfc3339(t, "/transaction_initiation_date").unwrap_or(0),
        kind: if code.starts_with("T11") || amount.minor < 0 {
            TransactionKind::Refund
        } else if code.starts_with("T00") {
            TransactionKind::Payment
        } else {
            TransactionKind::Other
        },
        status: match s(t, "/transaction_status").as_deref() {
            Some("S") => TransactionStatus::Succeeded,
            Some("P") => TransactionStatus::Pending,
            Some("D") => TransactionStatus::Failed,
            Some("V") => TransactionStatus::Reversed,
            o => TransactionStatus::Other(o.unwrap_or("").to_string()),
        },
        amount,
        fee,
        net: fee.map(|f| boxoffice_domain::Money::new(amount.minor - f.minor, cur)),
        payer_email: s(d, "/payer_info/email_address"),
        payer_name: s(d, "/payer_info/payer_name/alternate_full_name"),
        subscription_id: (s(t, "/paypal_reference_id_type").as_deref() == Some("SUB"))
            .then(|| s(t, "/paypal_reference_id"))
            .flatten(),
        reference: s(t, "/custom_field"),
        description: Some(code).filter(|c| !c.is_empty()),
        aliases: Vec::new(),
        refunded: None,
    })
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn bad(op: &str, detail: &str) -> PaymentError {
    PaymentError::BadResponse {
        gateway: GW,
        op: op.into(),
        detail: detail.into(),
    }
}

fn auth_error(op: &str) -> PaymentError {
    PaymentError::Auth {
        gateway: GW,
        op: op.to_string(),
        credential: "REST client id and secret",
        advice: "copy the Client ID and Secret of the REST app (developer dashboard → Apps & Credentials) made in the same environment (Sandbox or Live) as the one selected, without spaces",
    }
}

/// PayPal's error body (`{name, message, debug_id, details[{issue, description}]}`).
fn map_error(resp: &Response, what: &'static str, id: &str) -> PaymentError {
    let v: Value = serde_json::from_slice(&resp.body).unwrap_or(Value::Null);
    let name = s(&v, "/name");
    let issue = s(&v, "/details/0/issue");
    let message = s(&v, "/details/0/description")
        .or_else(|| s(&v, "/message"))
        .unwrap_or_else(|| resp.excerpt());
    let debug = s(&v, "/debug_id")
        .map(|d| format!(" (debug id {d})"))
        .unwrap_or_default();
    let op = resp.op().to_string();
    match resp.status {
        401 => auth_error(&op),
        403 => PaymentError::Forbidden {
            gateway: GW,
            op,
            message: format!("{message}{debug}"),
        },
        404 => PaymentError::NotFound {
            gateway: GW,
            op,
            what,
            id: id.to_string(),
        },
        409 => PaymentError::Idempotency {
            gateway: GW,
            op,
            message: format!("by a request still running: {message}"),
        },
        429 => PaymentError::RateLimited {
            gateway: GW,
            op,
            retry_after: resp.retry_after,
        },
        st if st >= 500 => PaymentError::Unavailable {
            gateway: GW,
            op,
            detail: format!("HTTP {st} {}{debug}", name.unwrap_or_default()),
        },
        st => match issue.as_deref() {
            Some("INSTRUMENT_DECLINED" | "TRANSACTION_REFUSED" | "PAYER_CANNOT_PAY") => {
                PaymentError::Declined {
                    gateway: GW,
                    code: issue.unwrap_or_default(),
                    message,
                }
            }
            _ => PaymentError::Rejected {
                gateway: GW,
                op,
                status: st,
                code: issue.or(name),
                message: format!("{message}{debug}"),
                param: s(&v, "/details/0/field"),
            },
        },
    }
}

fn link(v: &Value, rels: &[&str]) -> Option<String> {
    v["links"].as_array()?.iter().find_map(|l| {
        rels.contains(&s(l, "/rel")?.as_str())
            .then(|| s(l, "/href"))
            .flatten()
    })
}

fn money(v: &Value, ptr: &str) -> Option<boxoffice_domain::Money> {
    let o = v.pointer(ptr)?;
    let cur = crate::amounts::currency(&s(o, "/currency_code")?).ok()?;
    crate::amounts::parse_decimal(&s(o, "/value")?, cur).ok()
}

fn order_outcome(id: &str, o: &Value) -> CheckoutOutcome {
    let capture = o
        .pointer("/purchase_units/0/payments/captures/0")
        .cloned()
        .unwrap_or(Value::Null);
    let state = match (
        s(o, "/status").as_deref(),
        s(&capture, "/status").as_deref(),
    ) {
        (Some("COMPLETED"), Some("COMPLETED" | "PARTIALLY_REFUNDED" | "REFUNDED")) => {
            CheckoutState::Paid
        }
        (Some("COMPLETED"), Some("DECLINED" | "FAILED")) => CheckoutState::Failed,
        (Some("VOIDED"), _) => CheckoutState::Expired,
        _ => CheckoutState::Pending,
    };
    CheckoutOutcome {
        checkout_id: id.to_string(),
        state,
        reference: s(o, "/purchase_units/0/custom_id").or_else(|| s(&capture, "/custom_id")),
        payment_id: s(&capture, "/id"),
        subscription_id: None,
        customer_id: s(o, "/payer/payer_id"),
        payer_email: s(o, "/payer/email_address"),
        amount: money(&capture, "/amount").or_else(|| money(o, "/purchase_units/0/amount")),
    }
}

#[async_trait]
impl Gateway for PayPalGateway {
    fn kind(&self) -> GatewayKind {
        GW
    }

    async fn create_checkout(&self, r: &CheckoutRequest) -> Result<Checkout> {
        let mut ctx = json!({
            "shipping_preference": "NO_SHIPPING",
            "user_action": "PAY_NOW",
            "return_url": r.success_url,
            "cancel_url": r.cancel_url,
        });
        if let Some(b) = &self.cfg.brand_name {
            ctx["brand_name"] = json!(b);
        }
        let body = json!({
            "intent": "CAPTURE",
            "purchase_units": [{
                "reference_id": r.reference,
                "custom_id": r.reference,
                "description": r.description,
                "amount": {"currency_code": r.amount.currency.as_str(), "value": to_decimal(r.amount)},
            }],
            "payment_source": {"paypal": {"experience_context": ctx}},
        });
        let req = Request::post("/v2/checkout/orders")
            .op("create order")
            .idempotency_key("PayPal-Request-Id", &r.idempotency_key)
            .header("Prefer", "return=representation")
            .json(&body);
        let v = self.rest_json(Account::Primary, req, "order", "").await?;
        Ok(Checkout {
            gateway: GW,
            id: s(&v, "/id").ok_or_else(|| bad("create order", "no order id"))?,
            redirect_url: link(&v, &["payer-action", "approve"])
                .ok_or_else(|| bad("create order", "no approve link"))?,
            expires_at: None,
        })
    }

    async fn create_recurring_checkout(&self, r: &RecurringCheckoutRequest) -> Result<Checkout> {
        let mut ctx = json!({
            "shipping_preference": "NO_SHIPPING",
            "user_action": "SUBSCRIBE_NOW",
            "return_url": r.success_url,
            "cancel_url": r.cancel_url,
        });
        if let Some(b) = &self.cfg.brand_name {
            ctx["brand_name"] = json!(b);
        }
        let mut body =
            json!({"plan_id": r.plan_id, "custom_id": r.reference, "application_context": ctx});
        if let Some(e) = &r.customer_email {
            body["subscriber"] = json!({"email_address": e});
        }
        let req = Request::post("/v1/billing/subscriptions")
            .op("create subscription")
            .idempotency_key("PayPal-Request-Id", &r.idempotency_key)
            .header("Prefer", "return=representation")
            .json(&body);
        let v = match self
            .rest_json(Account::Primary, req, "plan", &r.plan_id)
            .await
        {
            Err(
                PaymentError::Rejected { code: Some(c), .. }
                | PaymentError::NotFound { what: _, id: c, .. },
            ) if c == "RESOURCE_NOT_FOUND" || c == "INVALID_RESOURCE_ID" || c == r.plan_id => {
                return Err(PaymentError::NotFound {
                    gateway: GW,
                    op: "Create Subscription Api response error RESOURCE_NOT_FOUND".into(),
                    what: "plan",
                    id: r.plan_id.clone(),
                });
            }
            other => other?,
        };
        Ok(Checkout {
            gateway: GW,
            id: s(&v, "/id").ok_or_else(|| bad("create subscription", "no subscription id"))?,
            redirect_url: link(&v, &["approve"])
                .ok_or_else(|| bad("create subscription", "no approve link"))?,
            expires_at: None,
        })
    }

    async fn confirm_checkout(&self, id: &str) -> Result<CheckoutOutcome> {
        if id.starts_with("I-") {
            let v = self
                .rest_json(
                    Account::Primary,
                    Request::get(format!("/v1/billing/subscriptions/{id}")).op("read subscription"),
                    "subscription",
                    id,
                )
                .await?;
            let state = match s(&v, "/status").as_deref() {
                Some("ACTIVE") => CheckoutState::Paid,
                Some("CANCELLED" | "EXPIRED") => CheckoutState::Expired,
                Some("SUSPENDED") => CheckoutState::Failed,
                _ => CheckoutState::Pending,
            };
            return Ok(CheckoutOutcome {
                checkout_id: id.to_string(),
                state,
                reference: s(&v, "/custom_id"),
                payment_id: None,
                subscription_id: Some(id.to_string()),
                customer_id: s(&v, "/subscriber/payer_id"),
                payer_email: s(&v, "/subscriber/email_address"),
                amount: money(&v, "/billing_info/last_payment/amount"),
            });
        }
        let req = Request::post(format!("/v2/checkout/orders/{id}/capture"))
            .op("capture order")
            .idempotency_key("PayPal-Request-Id", format!("capture:{id}"))
            .header("Prefer", "return=representation")
            .json(&json!({}));
        match self.rest_json(Account::Primary, req, "order", id).await {
            Ok(v) => Ok(order_outcome(id, &v)),
            Err(PaymentError::Rejected { code: Some(c), .. })
                if c == "ORDER_ALREADY_CAPTURED"
                    || c == "ORDER_NOT_APPROVED"
                    || c == "PAYER_ACTION_REQUIRED" =>
            {
                let v = self.read_order(id).await?;
                Ok(order_outcome(id, &v))
            }
            Err(e) => Err(e),
        }
    }

    async fn cancel_subscription(&self, id: &str, _when: CancelWhen) -> Result<()> {
        let req = Request::post(format!("/v1/billing/subscriptions/{id}/cancel"))
            .op("cancel subscription")
            .json(&json!({"reason": "Cancelled from boxoffice"}))
            .retry_safe(true);
        match self
            .rest_json(Account::Primary, req, "subscription", id)
            .await
        {
            Ok(_) => Ok(()),
            Err(PaymentError::Rejected { code: Some(c), .. })
                if c == "SUBSCRIPTION_STATUS_INVALID" =>
            {
                // Already cancelled or expired: what was asked is true.
                let v = self
                    .rest_json(
                        Account::Primary,
                        Request::get(format!("/v1/billing/subscriptions/{id}"))
                            .op("read subscription"),
                        "subscription",
                        id,
                    )
                    .await?;
                match s(&v, "/status").as_deref() {
                    Some("CANCELLED" | "EXPIRED") => Ok(()),
                    st => Err(PaymentError::Rejected {
                        gateway: GW,
                        op: "cancel subscription".into(),
                        status: 422,
                        code: Some(c),
                        message: format!(
                            "the subscription is {}",
                            st.unwrap_or("in an unknown state")
                        ),
                        param: None,
                    }),
                }
            }
            Err(e) => Err(e),
        }
    }

    async fn refund(&self, r: &RefundRequest) -> Result<Refund> {
        let mut body = json!({});
        if let Some(a) = r.amount {
            body["amount"] = json!({"currency_code": a.currency.as_str(), "value": to_decimal(a)});
        }
        if let Some(n) = &r.reason {
            body["note_to_payer"] = json!(n);
        }
        let req = Request::post(format!("/v2/payments/captures/{}/refund", r.payment_id))
            .op("refund capture")
            .idempotency_key("PayPal-Request-Id", &r.idempotency_key)
            .header("Prefer", "return=representation")
            .json(&body);
        let v = self
            .rest_json(Account::Primary, req, "capture", &r.payment_id)
            .await?;
        Ok(Refund {
            id: s(&v, "/id").unwrap_or_default(),
            payment_id: r.payment_id.clone(),
            amount: money(&v, "/amount")
                .or(r.amount)
                .ok_or_else(|| bad("refund capture", "no amount"))?,
            status: match s(&v, "/status").as_deref() {
                Some("COMPLETED") => RefundStatus::Succeeded,
                Some("CANCELLED" | "FAILED") => RefundStatus::Failed,
                _ => RefundStatus::Pending,
            },
        })
    }

    async fn list_transactions(&self, q: &TransactionQuery) -> Result<TransactionPage> {
        let acct = self.account(q.account)?;
        if acct.nvp.is_none() {
            return self.reporting(q.account, q).await;
        }
        let end = match &q.cursor {
            Some(c) => c.parse::<i64>().map_err(|_| PaymentError::Input {
                field: "cursor",
                detail: format!("{c:?} is not a sync cursor"),
            })?,
            None => q.until.unwrap_or_else(|| self.clock.unix()),
        };
        let a = self
            .nvp(
                q.account,
                "TransactionSearch",
                vec![
                    kv("STARTDATE", nvp::fmt_time(q.since)),
                    kv("ENDDATE", nvp::fmt_time(end)),
                ],
            )
            .await?;
        let mut rows = nvp::search_rows(&a, q.account);
        // Search rows name no subscription: renewals are read in full.
        for t in rows.iter_mut().filter(|t| {
            t.description
                .as_deref()
                .is_some_and(|d| d.contains("Recurring"))
        }) {
            if let Ok(d) = self.fetch_transaction(q.account, &t.id).await {
                t.subscription_id = d.subscription_id;
                t.reference = d.reference;
            }
        }
        let next_cursor = if a.truncated() {
            rows.iter()
                .map(|t| t.created)
                .min()
                .map(|oldest| (oldest - 1).to_string())
        } else {
            None
        };
        Ok(TransactionPage {
            transactions: rows,
            next_cursor,
        })
    }

    async fn fetch_transaction(&self, account: Account, id: &str) -> Result<Transaction> {
        let a = self
            .nvp(
                account,
                "GetTransactionDetails",
                vec![kv("TRANSACTIONID", id)],
            )
            .await?;
        nvp::details(&a, account)
            .ok_or_else(|| bad("NVP GetTransactionDetails", "the answer has no transaction"))
    }

    async fn verify_webhook(&self, n: Notification<'_>) -> Result<WebhookEvent> {
        self.verify(&n)
            .await
            .map_err(|e| PaymentError::signature(GW, e))?;
        webhook::parse(n.body)
    }
}
