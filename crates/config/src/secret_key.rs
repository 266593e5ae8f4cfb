use crate::secret::Secret;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD_PAD_INDIFFERENT, URL_SAFE_PAD_INDIFFERENT};

/// Length in bytes of the decoded `secret_key`.
pub const SECRET_KEY_LEN: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("secret_key must be the base64 encoding of exactly {SECRET_KEY_LEN} bytes")]
pub struct InvalidSecretKey;

/// Both alphabets are accepted because people paste keys from `openssl rand -base64 32` as well
/// as from URL-safe generators, and padding is easily lost when copying.
pub(crate) fn decode(key: &Secret) -> Result<[u8; SECRET_KEY_LEN], InvalidSecretKey> {
    let text = key.expose().trim();
    let bytes = STANDARD_PAD_INDIFFERENT
        .decode(text)
        .or_else(|_| URL_SAFE_PAD_INDIFFERENT.decode(text))
        .map_err(|_| InvalidSecretKey)?;
    bytes.try_into().map_err(|_| InvalidSecretKey)
}
