//! One request to send, built by the caller.

use std::time::Duration;

use reqwest::Method;
use reqwest::header::{HeaderName, HeaderValue};

use crate::secret::Secret;

#[derive(Debug, Clone, Default)]
pub enum Body {
    #[default]
    Empty,
    /// Serialised JSON, sent as `application/json`.
    Json(Vec<u8>),
    /// `application/x-www-form-urlencoded` pairs, in order.
    Form(Vec<(String, String)>),
    /// Bytes sent as they are, with this content type.
    Raw {
        content_type: String,
        bytes: Vec<u8>,
    },
}

#[derive(Debug, Clone)]
pub struct Request {
    pub(crate) method: Method,
    /// A path under the client's base URL, or an absolute `http(s)://` URL.
    pub(crate) target: String,
    pub(crate) op: String,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) secret_query: Vec<(String, Secret)>,
    pub(crate) headers: Vec<(String, String, bool)>,
    pub(crate) body: Body,
    pub(crate) bearer: Option<Secret>,
    pub(crate) basic: Option<(String, Secret)>,
    pub(crate) retry_safe: Option<bool>,
    pub(crate) timeout: Option<Duration>,
}

impl Request {
    pub fn new(method: Method, target: impl Into<String>) -> Self {
        let target = target.into();
        Request {
            op: format!("{method} {}", target.split('?').next().unwrap_or("")),
            method,
            target,
            query: Vec::new(),
            secret_query: Vec::new(),
            headers: Vec::new(),
            body: Body::Empty,
            bearer: None,
            basic: None,
            retry_safe: None,
            timeout: None,
        }
    }

    pub fn get(target: impl Into<String>) -> Self {
        Self::new(Method::GET, target)
    }
    pub fn post(target: impl Into<String>) -> Self {
        Self::new(Method::POST, target)
    }
    pub fn put(target: impl Into<String>) -> Self {
        Self::new(Method::PUT, target)
    }
    pub fn patch(target: impl Into<String>) -> Self {
        Self::new(Method::PATCH, target)
    }
    pub fn delete(target: impl Into<String>) -> Self {
        Self::new(Method::DELETE, target)
    }

    /// What the call does, in the owner's words ("create checkout"): used in errors, logs and
    /// the latency hook. Defaults to the method and path.
    pub fn op(mut self, op: impl Into<String>) -> Self {
        self.op = op.into();
        self
    }

    pub fn query(mut self, k: impl Into<String>, v: impl Into<String>) -> Self {
        self.query.push((k.into(), v.into()));
        self
    }

    pub fn queries<K: Into<String>, V: Into<String>>(
        mut self,
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        self.query
            .extend(pairs.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }

    /// A query parameter carrying a secret (Plisio's `api_key`): sent, never logged.
    pub fn secret_query(mut self, k: impl Into<String>, v: &Secret) -> Self {
        self.secret_query.push((k.into(), v.clone()));
        self
    }

    pub fn header(mut self, k: impl Into<String>, v: impl Into<String>) -> Self {
        self.headers.push((k.into(), v.into(), false));
        self
    }

    /// A header whose value is a secret: marked sensitive, never logged.
    pub fn secret_header(mut self, k: impl Into<String>, v: &Secret) -> Self {
        self.headers.push((k.into(), v.expose().to_string(), true));
        self
    }

    /// An idempotency key under the provider's header name (`Idempotency-Key`,
    /// `PayPal-Request-Id`). The provider answers a repeat with the first result, so the
    /// request becomes safe to retry whatever its method.
    pub fn idempotency_key(mut self, header: &str, key: impl Into<String>) -> Self {
        self.headers.push((header.to_string(), key.into(), false));
        self.retry_safe = Some(true);
        self
    }

    /// Overrides whether a timeout or 5xx may be retried (default: GET, HEAD, PUT, DELETE,
    /// and any request with an idempotency key).
    pub fn retry_safe(mut self, yes: bool) -> Self {
        self.retry_safe = Some(yes);
        self
    }

    pub fn bearer(mut self, token: &Secret) -> Self {
        self.bearer = Some(token.clone());
        self
    }

    pub fn basic_auth(mut self, user: impl Into<String>, password: &Secret) -> Self {
        self.basic = Some((user.into(), password.clone()));
        self
    }

    pub fn json<T: serde::Serialize + ?Sized>(mut self, v: &T) -> Self {
        self.body = Body::Json(serde_json::to_vec(v).unwrap_or_else(|_| b"null".to_vec()));
        self
    }

    /// JSON text sent exactly as given (a webhook body spliced into a verification call).
    pub fn raw_json(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.body = Body::Raw {
            content_type: "application/json".into(),
            bytes: bytes.into(),
        };
        self
    }

    pub fn form<K: Into<String>, V: Into<String>>(
        mut self,
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        self.body = Body::Form(
            pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        );
        self
    }

    pub fn body(mut self, body: Body) -> Self {
        self.body = body;
        self
    }

    /// A timeout for this call instead of the client's.
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = Some(d);
        self
    }

    pub fn method(&self) -> &Method {
        &self.method
    }

    pub(crate) fn is_retry_safe(&self) -> bool {
        self.retry_safe.unwrap_or(matches!(
            self.method,
            Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS
        ))
    }

    pub(crate) fn secrets(&self) -> Vec<&Secret> {
        let mut v: Vec<&Secret> = self.secret_query.iter().map(|(_, s)| s).collect();
        v.extend(self.bearer.iter());
        v.extend(self.basic.iter().map(|(_, s)| s));
        v
    }

    pub(crate) fn header_pairs(&self) -> Result<Vec<(HeaderName, HeaderValue)>, String> {
        self.headers
            .iter()
            .map(|(k, v, sensitive)| {
                let name = HeaderName::from_bytes(k.as_bytes())
                    .map_err(|_| format!("{k:?} is not a header name"))?;
                let mut value = HeaderValue::from_str(v)
                    .map_err(|_| format!("the {k} header has characters a header cannot carry"))?;
                value.set_sensitive(*sensitive);
                Ok((name, value))
            })
            .collect()
    }
}
