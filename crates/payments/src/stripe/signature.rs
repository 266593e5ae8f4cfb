//! `Stripe-Signature` (docs/payments.md, "Stripe"): `t=<unix>,v1=<hex>[,v1=<hex>…][,v0=…]`.
//! `v1` is lowercase hex HMAC-SHA256 over `"<t>.<raw body>"`, keyed with the whole endpoint
//! secret as UTF-8 (the `whsec_` prefix included, nothing base64-decoded). Any `v1` may match
//! (several are sent while a secret is rolled); `v0` and other schemes are ignored. The
//! timestamp must be within the tolerance of now, either way.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::error::SignatureError;
use boxoffice_http::Secret;

/// stripe-python's default tolerance.
pub const DEFAULT_TOLERANCE_SECS: i64 = 300;

type HmacSha256 = Hmac<Sha256>;

fn mac(secret: &str, timestamp: i64, body: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    let mut m = HmacSha256::new_from_slice(secret.as_bytes()).unwrap_or_else(|_| unreachable!());
    m.update(timestamp.to_string().as_bytes());
    m.update(b".");
    m.update(body);
    m
}

/// The `v1` signature of `body` at `timestamp`: what Stripe (and the fake) send.
pub fn compute_v1(secret: &str, timestamp: i64, body: &[u8]) -> String {
    hex::encode(mac(secret, timestamp, body).finalize().into_bytes())
}

/// A whole `Stripe-Signature` header for one secret.
pub fn header(secret: &str, timestamp: i64, body: &[u8]) -> String {
    format!("t={timestamp},v1={}", compute_v1(secret, timestamp, body))
}

/// Checks `header` against `body` with any of `secrets` (several while rotating). Returns the
/// signed timestamp.
pub fn verify(
    header: &str,
    body: &[u8],
    secrets: &[Secret],
    now: i64,
    tolerance_secs: i64,
) -> Result<i64, SignatureError> {
    if secrets.iter().all(Secret::is_empty) {
        return Err(SignatureError::NotConfigured);
    }
    let mut timestamp = None;
    let mut v1 = Vec::new();
    for item in header.split(',') {
        let Some((k, v)) = item.trim().split_once('=') else {
            continue;
        };
        match k.trim() {
            "t" => {
                let t = v.trim().parse::<i64>().map_err(|_| {
                    SignatureError::Malformed(format!("the timestamp {v:?} is not a number"))
                })?;
                timestamp = Some(t);
            }
            "v1" => v1.push(v.trim()),
            _ => {}
        }
    }
    let t = timestamp.ok_or_else(|| SignatureError::Malformed("no t= timestamp".into()))?;
    if v1.is_empty() {
        return Err(SignatureError::Malformed(
            "no v1 signature (other schemes are not trusted)".into(),
        ));
    }
    let matched = secrets.iter().filter(|s| !s.is_empty()).any(|s| {
        v1.iter().any(|sig| match hex::decode(sig) {
            // `verify_slice` compares in constant time.
            Ok(bytes) => mac(s.expose(), t, body).verify_slice(&bytes).is_ok(),
            Err(_) => false,
        })
    });
    if !matched {
        return Err(SignatureError::NoMatch);
    }
    let age = now - t;
    if age > tolerance_secs || -age > tolerance_secs {
        return Err(SignatureError::OutsideTolerance {
            age_secs: age,
            tolerance_secs,
        });
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    //! The vectors of docs/payments.md ("Test vectors", Stripe).
    use super::*;

    const SECRET: &str = "whsec_fake_0123456789abcdef";
    const T: i64 = 1_735_689_600;
    const BODY: &str = r#"{"id":"evt_test_0001","object":"event","api_version":"2025-03-31.basil","created":1735689600,"type":"checkout.session.completed","data":{"object":{"id":"cs_test_0001","object":"checkout.session","mode":"payment","status":"complete","payment_status":"paid","client_reference_id":"order_42","amount_total":1500,"currency":"usd"}}}"#;
    const V1: &str = "3a76cf79843aa4a03185728301a438d158a5bfc96a30c3cded6262ebe08d0e77";

    fn secrets() -> Vec<Secret> {
        vec![Secret::new(SECRET)]
    }

    fn hdr() -> String {
        format!("t={T},v1={V1}")
    }

    #[test]
    fn the_reference_vector_signs_and_verifies() {
        assert_eq!(BODY.len(), 328);
        assert_eq!(compute_v1(SECRET, T, BODY.as_bytes()), V1);
        assert_eq!(header(SECRET, T, BODY.as_bytes()), hdr());
        assert_eq!(verify(&hdr(), BODY.as_bytes(), &secrets(), T, 300), Ok(T));
    }

    #[test]
    fn one_changed_byte_of_the_body_is_refused() {
        let tampered = BODY.replace("\"amount_total\":1500", "\"amount_total\":1501");
        assert_eq!(
            compute_v1(SECRET, T, tampered.as_bytes()),
            "6457fc4304a0711f8db1e0db82f7e01cb655c2d54bebc782573e36322a779269"
        );
        assert_eq!(
            verify(&hdr(), tampered.as_bytes(), &secrets(), T, 300),
            Err(SignatureError::NoMatch)
        );
    }

    #[test]
    fn one_changed_byte_of_the_secret_or_signature_is_refused() {
        let wrong = vec![Secret::new("whsec_fake_0123456789abcdeF")];
        assert_eq!(
            verify(&hdr(), BODY.as_bytes(), &wrong, T, 300),
            Err(SignatureError::NoMatch)
        );
        let sig = format!("t={T},v1={}0", &V1[..63]);
        assert_eq!(
            verify(&sig, BODY.as_bytes(), &secrets(), T, 300),
            Err(SignatureError::NoMatch)
        );
        let t = format!("t={},v1={V1}", T + 1);
        assert_eq!(
            verify(&t, BODY.as_bytes(), &secrets(), T, 300),
            Err(SignatureError::NoMatch)
        );
    }

    #[test]
    fn the_whsec_prefix_is_part_of_the_key() {
        assert_eq!(
            compute_v1("fake_0123456789abcdef", T, BODY.as_bytes()),
            "fdf5bd0c380e605832e3dd44498ba7fd1fd3a908d58c139b272b44c89573aa13"
        );
        let stripped = vec![Secret::new("fake_0123456789abcdef")];
        assert!(verify(&hdr(), BODY.as_bytes(), &stripped, T, 300).is_err());
    }

    #[test]
    fn the_tolerance_is_300_seconds() {
        for now in [T, T + 150, T + 300] {
            assert_eq!(
                verify(&hdr(), BODY.as_bytes(), &secrets(), now, 300),
                Ok(T),
                "now {now}"
            );
        }
        assert_eq!(
            verify(&hdr(), BODY.as_bytes(), &secrets(), T + 301, 300),
            Err(SignatureError::OutsideTolerance {
                age_secs: 301,
                tolerance_secs: 300
            })
        );
        assert!(verify(&hdr(), BODY.as_bytes(), &secrets(), T - 301, 300).is_err());
    }

    #[test]
    fn only_v1_is_trusted_and_any_v1_may_match() {
        let v0_only = format!("t={T},v0={V1}");
        assert!(matches!(
            verify(&v0_only, BODY.as_bytes(), &secrets(), T, 300),
            Err(SignatureError::Malformed(_))
        ));
        let two = format!("t={T},v1={},v1={V1}", "0".repeat(64));
        assert_eq!(verify(&two, BODY.as_bytes(), &secrets(), T, 300), Ok(T));
        assert!(verify(&format!("v1={V1}"), BODY.as_bytes(), &secrets(), T, 300).is_err());
    }

    #[test]
    fn a_rotated_secret_verifies_alongside_the_new_one() {
        let rotating = vec![Secret::new("whsec_new_secret_value"), Secret::new(SECRET)];
        assert_eq!(verify(&hdr(), BODY.as_bytes(), &rotating, T, 300), Ok(T));
        let new_sig = header("whsec_new_secret_value", T, BODY.as_bytes());
        assert_eq!(verify(&new_sig, BODY.as_bytes(), &rotating, T, 300), Ok(T));
        assert!(verify(&new_sig, BODY.as_bytes(), &secrets(), T, 300).is_err());
    }
}
