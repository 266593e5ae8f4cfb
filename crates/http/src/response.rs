//! A final answer, whatever its status.

use std::borrow::Cow;
use std::time::Duration;

use reqwest::header::HeaderMap;
use serde::de::DeserializeOwned;

use crate::error::{HttpError, excerpt};

#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    /// The parsed `Retry-After`, when the answer carried one.
    pub retry_after: Option<Duration>,
    pub(crate) service: String,
    pub(crate) op: String,
    /// Secret values to keep out of error messages quoting this body.
    pub(crate) redact: Vec<crate::Secret>,
}

impl Response {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    pub fn text(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.body)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn service(&self) -> &str {
        &self.service
    }

    pub fn op(&self) -> &str {
        &self.op
    }

    /// The body decoded into `T`; a body that does not fit is a [`HttpError::Decode`] naming
    /// the field serde stopped at.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, HttpError> {
        serde_json::from_slice(&self.body)
            .map_err(|e| self.decode_error(format!("invalid JSON: {e}")))
    }

    pub fn decode_error(&self, detail: impl Into<String>) -> HttpError {
        HttpError::Decode {
            service: self.service.clone(),
            op: self.op.clone(),
            detail: detail.into(),
        }
    }

    /// A short, redacted excerpt of the body for messages and logs.
    pub fn excerpt(&self) -> String {
        let secrets: Vec<&crate::Secret> = self.redact.iter().collect();
        crate::redact(&excerpt(&self.text(), 300), &secrets)
    }

    /// The generic error for a non-2xx answer. Clients map their provider's error bodies
    /// first and fall back to this.
    pub fn to_error(&self) -> HttpError {
        let (service, op, body) = (self.service.clone(), self.op.clone(), self.excerpt());
        match self.status {
            429 => HttpError::RateLimited {
                service,
                op,
                retry_after: self.retry_after,
                body,
            },
            s if s >= 500 => HttpError::Server {
                service,
                op,
                status: s,
                body,
            },
            s => HttpError::Client {
                service,
                op,
                status: s,
                body,
            },
        }
    }

    /// `self` when 2xx, else the generic error.
    pub fn error_for_status(self) -> Result<Self, HttpError> {
        if self.is_success() {
            Ok(self)
        } else {
            Err(self.to_error())
        }
    }
}
