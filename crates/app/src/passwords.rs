//! Password hashing with argon2id, run off the async threads.

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Version};
use std::sync::OnceLock;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Params {
    pub memory_kib: u32,
    pub iterations: u32,
}

impl Default for Params {
    /// OWASP's first argon2id configuration: 19 MiB, 2 passes, 1 lane.
    fn default() -> Self {
        Self {
            memory_kib: 19_456,
            iterations: 2,
        }
    }
}

fn hasher(p: Params) -> Argon2<'static> {
    let params = argon2::Params::new(p.memory_kib, p.iterations, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

pub async fn hash(password: &str, p: Params) -> Result<String, crate::AppError> {
    let pw = password.to_string();
    tokio::task::spawn_blocking(move || {
        hasher(p)
            .hash_password(pw.as_bytes())
            .map(|h| h.to_string())
    })
    .await
    .map_err(|e| crate::AppError::Internal(format!("password hashing task failed: {e}")))?
    .map_err(|e| crate::AppError::Internal(format!("password hashing failed: {e}")))
}

/// Verifies a password; with `None` for the hash it does the same work against a throw-away hash,
/// so "no such login" takes as long as "wrong password".
pub async fn verify(password: &str, hash: Option<&str>, p: Params) -> bool {
    let pw = password.to_string();
    let stored = hash.map(str::to_string);
    tokio::task::spawn_blocking(move || {
        static DUMMY: OnceLock<String> = OnceLock::new();
        let dummy = DUMMY.get_or_init(|| {
            hasher(p)
                .hash_password(b"boxoffice-timing-equaliser")
                .map(|h| h.to_string())
                .unwrap_or_default()
        });
        let target = stored.as_deref().unwrap_or(dummy);
        let ok = hasher(p).verify_password(pw.as_bytes(), target).is_ok();
        ok && stored.is_some()
    })
    .await
    .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let p = Params::default();
        let h = hash("Corr3ct-Horse", p).await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("Corr3ct-Horse", Some(&h), p).await);
        assert!(!verify("wrong", Some(&h), p).await);
        assert!(!verify("Corr3ct-Horse", None, p).await);
    }
}
