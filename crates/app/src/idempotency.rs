//! Retry-safe API writes: a client that sends `Idempotency-Key` with a write gets, for a repeat of
//! that request, the first answer back instead of a second invite, payment or share. Keys belong
//! to one API token; a key reused with another request is refused; answers are kept a day.

use crate::crypto::token_hash;
use crate::{App, AppError};
use boxoffice_store::idempotency::{self, Begin};
use sha2::{Digest, Sha256};

/// A claim whose request has not answered after this long died with its process, so a retry may
/// take the key over. API writes answer in well under a second: they queue their slow work.
const STALE_AFTER_SECS: i64 = 300;

/// Longest key accepted (Stripe's limit, which clients are used to).
pub const MAX_KEY_LEN: usize = 255;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// First use: run the request, then [`App::finish_idempotent`] or [`App::release_idempotent`].
    Run,
    /// The saved answer of the first request.
    Replay { status: u16, body: String },
    /// The first request is still running.
    InFlight,
    /// The key was first used with another method, path or body.
    Mismatch,
}

/// Who the key belongs to: the caller's bearer credential, hashed (never stored as sent).
pub fn scope_for(credential: &str) -> String {
    format!("api:{}", token_hash(credential))
}

/// What makes two requests "the same": method, path with query, and body bytes.
pub fn request_hash(method: &str, path_and_query: &str, body: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(method.as_bytes());
    h.update(b" ");
    h.update(path_and_query.as_bytes());
    h.update(b"\n");
    h.update(body);
    hex::encode(h.finalize())
}

/// A key must be 1 to 255 visible ASCII characters.
pub fn valid_key(key: &str) -> bool {
    !key.is_empty() && key.len() <= MAX_KEY_LEN && key.bytes().all(|b| b.is_ascii_graphic())
}

impl App {
    pub async fn claim_idempotent(
        &self,
        scope: &str,
        key: &str,
        request_hash: &str,
    ) -> Result<Claim, AppError> {
        let now = self.now();
        Ok(
            match idempotency::begin(
                self.db.ex(),
                scope,
                key,
                request_hash,
                now,
                now - STALE_AFTER_SECS,
            )
            .await?
            {
                Begin::Started => Claim::Run,
                Begin::Done { status, body } => Claim::Replay {
                    status: u16::try_from(status).unwrap_or(500),
                    body,
                },
                Begin::InFlight => Claim::InFlight,
                Begin::Mismatch => Claim::Mismatch,
            },
        )
    }

    /// Saves the answer a repeat of the request will get.
    pub async fn finish_idempotent(
        &self,
        scope: &str,
        key: &str,
        status: u16,
        body: &str,
    ) -> Result<(), AppError> {
        idempotency::complete(self.db.ex(), scope, key, i64::from(status), body).await?;
        Ok(())
    }

    /// Gives the key back: the request changed nothing (refused credentials, a server error), so
    /// a retry must run it for real.
    pub async fn release_idempotent(&self, scope: &str, key: &str) -> Result<(), AppError> {
        idempotency::abandon(self.db.ex(), scope, key).await?;
        Ok(())
    }
}
