//! Encryption at rest, random tokens and hashes.
//!
//! Secrets the product stores for external services (tokens, API keys, passwords) and TOTP
//! secrets are sealed with XChaCha20-Poly1305 under the instance key. The key lives in
//! `<data_dir>/secret.key` (created on first start) or comes from `BOXOFFICE_SECRET_KEY`.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use sha2::{Digest, Sha256};
use std::fmt;

const PREFIX: &str = "v1:";

#[derive(Clone)]
pub struct SecretBox {
    cipher: XChaCha20Poly1305,
    /// A one-way digest of the key: a stable, non-secret id for this installation.
    installation: [u8; 32],
}

impl fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretBox(<redacted>)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error(
        "the secret key must be 32 bytes in base64 (44 characters); generate one with `openssl rand -base64 32`"
    )]
    BadKey,
    #[error(
        "a stored secret could not be decrypted: the secret key is not the one it was stored with"
    )]
    Decrypt,
    #[error("the system random source failed: {0}")]
    Random(String),
}

impl SecretBox {
    pub fn from_base64(key_b64: &str) -> Result<Self, CryptoError> {
        let raw = STANDARD
            .decode(key_b64.trim())
            .map_err(|_| CryptoError::BadKey)?;
        if raw.len() != 32 {
            return Err(CryptoError::BadKey);
        }
        let cipher = XChaCha20Poly1305::new_from_slice(&raw).map_err(|_| CryptoError::BadKey)?;
        let mut h = Sha256::new();
        h.update(b"boxoffice installation id\0");
        h.update(&raw);
        Ok(Self {
            cipher,
            installation: h.finalize().into(),
        })
    }

    /// Stable per installation (every instance sharing the key agrees) and reveals nothing about
    /// the key: used where a provider wants a client identifier (plex.tv, Jellyfin devices).
    pub fn installation_id(&self) -> String {
        hex::encode(&self.installation[..16])
    }

    pub fn generate_key_base64() -> Result<String, CryptoError> {
        Ok(STANDARD.encode(random_bytes::<32>()?))
    }

    pub fn seal(&self, plaintext: &str) -> Result<String, CryptoError> {
        let nonce_bytes = random_bytes::<24>()?;
        let nonce = XNonce::from(nonce_bytes);
        let ct = self
            .cipher
            .encrypt(&nonce, plaintext.as_bytes())
            .map_err(|_| CryptoError::Decrypt)?;
        let mut out = nonce_bytes.to_vec();
        out.extend_from_slice(&ct);
        Ok(format!("{PREFIX}{}", STANDARD.encode(out)))
    }

    pub fn open(&self, sealed: &str) -> Result<String, CryptoError> {
        let body = sealed.strip_prefix(PREFIX).ok_or(CryptoError::Decrypt)?;
        let raw = STANDARD.decode(body).map_err(|_| CryptoError::Decrypt)?;
        if raw.len() < 24 {
            return Err(CryptoError::Decrypt);
        }
        let (n, ct) = raw.split_at(24);
        let nonce = XNonce::try_from(n).map_err(|_| CryptoError::Decrypt)?;
        let pt = self
            .cipher
            .decrypt(&nonce, ct)
            .map_err(|_| CryptoError::Decrypt)?;
        String::from_utf8(pt).map_err(|_| CryptoError::Decrypt)
    }
}

pub fn random_bytes<const N: usize>() -> Result<[u8; N], CryptoError> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(|e| CryptoError::Random(e.to_string()))?;
    Ok(b)
}

/// A URL-safe random token with 256 bits of entropy.
pub fn random_token() -> Result<String, CryptoError> {
    Ok(URL_SAFE_NO_PAD.encode(random_bytes::<32>()?))
}

/// Hash of a high-entropy token, for lookups. (Passwords use argon2 instead.)
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Equality that takes the same time wherever the inputs differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_with_their_key() {
        let k = SecretBox::from_base64(&SecretBox::generate_key_base64().unwrap()).unwrap();
        let sealed = k.seal("plex-token-123").unwrap();
        assert!(!sealed.contains("plex-token-123"));
        assert_eq!(k.open(&sealed).unwrap(), "plex-token-123");
        let other = SecretBox::from_base64(&SecretBox::generate_key_base64().unwrap()).unwrap();
        assert!(matches!(other.open(&sealed), Err(CryptoError::Decrypt)));
        assert_ne!(
            k.seal("x").unwrap(),
            k.seal("x").unwrap(),
            "fresh nonce each time"
        );
    }

    #[test]
    fn a_short_key_is_refused_with_advice() {
        assert!(
            SecretBox::from_base64("c2hvcnQ=")
                .unwrap_err()
                .to_string()
                .contains("32 bytes")
        );
    }
}
