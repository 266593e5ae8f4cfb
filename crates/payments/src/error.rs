//! What a gateway call answers when it does not succeed. Each message says what failed and
//! what the owner can do; [`PaymentError::is_retryable`] tells the job layer whether the same
//! call (with the same idempotency key) may succeed later.

use std::time::Duration;

use boxoffice_http::HttpError;

use crate::types::GatewayKind;

pub type Result<T, E = PaymentError> = std::result::Result<T, E>;

#[derive(Debug, Clone, thiserror::Error)]
pub enum PaymentError {
    /// The gateway refused the credentials (401).
    #[error("{gateway} refused the {credential} ({op}): {advice}")]
    Auth {
        gateway: GatewayKind,
        op: String,
        credential: &'static str,
        advice: &'static str,
    },

    /// Valid credentials without the permission for this call (403).
    #[error(
        "{gateway} refused {op} (403 Forbidden): {message}. Check the account's permissions for this API"
    )]
    Forbidden {
        gateway: GatewayKind,
        op: String,
        message: String,
    },

    /// The object does not exist for these credentials (404, `resource_missing`,
    /// `RESOURCE_NOT_FOUND`). Usually a sandbox id used with live keys, or another account's.
    #[error(
        "{gateway} has no {what} {id} ({op}): it does not exist for these credentials. Check the id, and that it was made in the same account and environment (test/sandbox or live) as the configured keys"
    )]
    NotFound {
        gateway: GatewayKind,
        op: String,
        what: &'static str,
        id: String,
    },

    /// The payment method was declined (Stripe 402 `card_error`, PayPal `INSTRUMENT_DECLINED`).
    #[error("{gateway} declined the payment ({code}): {message}")]
    Declined {
        gateway: GatewayKind,
        code: String,
        message: String,
    },

    /// The request was refused as invalid (400/422), with the provider's machine code.
    #[error("{gateway} refused {op}{}: {message}{}", code.as_deref().map(|c| format!(" ({c})")).unwrap_or_default(), param.as_deref().map(|p| format!(" [field {p}]")).unwrap_or_default())]
    Rejected {
        gateway: GatewayKind,
        op: String,
        status: u16,
        code: Option<String>,
        message: String,
        param: Option<String>,
    },

    /// An idempotency key was reused with other parameters, or a duplicate is still running.
    #[error("{gateway} refused {op}: the idempotency key was already used {message}")]
    Idempotency {
        gateway: GatewayKind,
        op: String,
        message: String,
    },

    #[error("{gateway} is rate limiting {op} (HTTP 429){}; the job will retry", retry_after.map(|d| format!(", retry after {}s", d.as_secs())).unwrap_or_default())]
    RateLimited {
        gateway: GatewayKind,
        op: String,
        retry_after: Option<Duration>,
    },

    /// The gateway failed or could not be reached; the same call may succeed later.
    #[error(
        "{gateway} is unavailable for {op}: {detail}. Usually transient; the job will retry with the same idempotency key"
    )]
    Unavailable {
        gateway: GatewayKind,
        op: String,
        detail: String,
    },

    /// The answer could not be read.
    #[error("{gateway} answered {op} with something unexpected: {detail}")]
    BadResponse {
        gateway: GatewayKind,
        op: String,
        detail: String,
    },

    /// The gateway cannot do this (Plisio has no recurring billing or refunds).
    #[error("{gateway} does not support {operation}")]
    Unsupported {
        gateway: GatewayKind,
        operation: &'static str,
    },

    /// A setting needed for this call is empty.
    #[error("{gateway} is not configured for {op}: {what} is not set")]
    NotConfigured {
        gateway: GatewayKind,
        op: &'static str,
        what: &'static str,
    },

    /// Our own input cannot be sent (an amount the currency cannot express, an empty id).
    #[error("{field}: {detail}")]
    Input { field: &'static str, detail: String },

    #[error("\"{value}\" is not an amount in {currency}")]
    BadAmount { value: String, currency: String },

    /// A webhook or callback failed authentication: answer 400 and do nothing else.
    #[error("{gateway} notification refused: {source}")]
    Signature {
        gateway: GatewayKind,
        #[source]
        source: SignatureError,
    },
}

/// Why an inbound notification was not accepted as the provider's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the {0} header is missing")]
    MissingHeader(&'static str),
    #[error("the signature header is malformed: {0}")]
    Malformed(String),
    #[error("no signature matches the body with the configured secret")]
    NoMatch,
    #[error(
        "the signed timestamp is {age_secs}s from now, outside the {tolerance_secs}s tolerance (a replay, or the server clock is off)"
    )]
    OutsideTolerance { age_secs: i64, tolerance_secs: i64 },
    #[error("the certificate URL {0} is not on the allowed list of PayPal hosts")]
    CertUrlNotAllowed(String),
    #[error("the signing certificate cannot be used: {0}")]
    Certificate(String),
    #[error("{0} answered verification with FAILURE")]
    Refused(&'static str),
    #[error("the body is not a notification: {0}")]
    Payload(String),
    #[error("no webhook secret or webhook id is configured")]
    NotConfigured,
}

impl PaymentError {
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            PaymentError::RateLimited { .. } | PaymentError::Unavailable { .. }
        )
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            PaymentError::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    pub(crate) fn signature(gateway: GatewayKind, source: SignatureError) -> Self {
        PaymentError::Signature { gateway, source }
    }

    /// The transport-level failures every gateway maps the same way.
    pub(crate) fn from_http(gateway: GatewayKind, e: HttpError) -> Self {
        match e {
            HttpError::RateLimited {
                op, retry_after, ..
            } => PaymentError::RateLimited {
                gateway,
                op,
                retry_after,
            },
            HttpError::Decode { op, detail, .. } => PaymentError::BadResponse {
                gateway,
                op,
                detail,
            },
            HttpError::Client {
                op, status, body, ..
            } => PaymentError::Rejected {
                gateway,
                op,
                status,
                code: None,
                message: body,
                param: None,
            },
            HttpError::Config { detail, .. } => PaymentError::Input {
                field: "gateway settings",
                detail,
            },
            other => {
                let op = match &other {
                    HttpError::Timeout { op, .. }
                    | HttpError::Connect { op, .. }
                    | HttpError::Server { op, .. } => op.clone(),
                    _ => String::new(),
                };
                PaymentError::Unavailable {
                    gateway,
                    op,
                    detail: other.to_string(),
                }
            }
        }
    }
}
