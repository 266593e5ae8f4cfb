//! PayPal webhook authentication (docs/payments.md, "PayPal"), both ways PayPal documents:
//!
//! * locally: `message = <transmission id>|<transmission time>|<webhook id>|<CRC-32 of the raw
//!   body, unsigned decimal>`, and `PAYPAL-TRANSMISSION-SIG` (base64) is an RSASSA-PKCS1-v1_5
//!   SHA-256 signature of it by the certificate at `PAYPAL-CERT-URL`, fetched only from an
//!   allowed PayPal origin (anything else would let a sender choose the key);
//! * by postback: `POST /v1/notifications/verify-webhook-signature` with the raw body spliced
//!   in as `webhook_event` (re-serialising would change the bytes PayPal hashes).

use base64::Engine;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use serde_json::Value;

use crate::crc32::crc32;
use crate::error::{PaymentError, Result, SignatureError};
use crate::json::{i, rfc3339, s};
use crate::types::*;

const GW: GatewayKind = GatewayKind::PayPal;

/// PayPal's certificate hosts (https only).
pub const PAYPAL_CERT_ORIGINS: [&str; 4] = [
    "https://api.paypal.com",
    "https://api.sandbox.paypal.com",
    "https://api-m.paypal.com",
    "https://api-m.sandbox.paypal.com",
];

/// The string PayPal signs for one delivery.
pub fn message(
    transmission_id: &str,
    transmission_time: &str,
    webhook_id: &str,
    body: &[u8],
) -> String {
    format!(
        "{transmission_id}|{transmission_time}|{webhook_id}|{}",
        crc32(body)
    )
}

/// Whether `url`'s origin (scheme, host and port) is one of `allowed`.
pub fn cert_url_allowed(url: &str, allowed: &[String]) -> bool {
    let origin = |u: &str| -> Option<String> {
        let (scheme, rest) = u.split_once("://")?;
        let authority = rest.split(['/', '?', '#']).next()?;
        if authority.is_empty() || authority.contains('@') {
            return None;
        }
        Some(format!(
            "{}://{}",
            scheme.to_ascii_lowercase(),
            authority.to_ascii_lowercase()
        ))
    };
    match origin(url) {
        Some(o) => allowed
            .iter()
            .any(|a| origin(a).as_deref() == Some(o.as_str())),
        None => false,
    }
}

/// Checks `signature_b64` over `message` with the RSA key of the PEM certificate.
pub fn verify_signature(
    cert_pem: &[u8],
    message: &str,
    signature_b64: &str,
) -> Result<(), SignatureError> {
    let der = CertificateDer::from_pem_slice(cert_pem)
        .map_err(|e| SignatureError::Certificate(format!("not a PEM certificate: {e}")))?;
    let cert = webpki::EndEntityCert::try_from(&der)
        .map_err(|e| SignatureError::Certificate(format!("cannot parse it: {e}")))?;
    let sig = base64::engine::general_purpose::STANDARD
        .decode(signature_b64.trim())
        .map_err(|_| SignatureError::Malformed("PAYPAL-TRANSMISSION-SIG is not base64".into()))?;
    cert.verify_signature(
        webpki::ring::RSA_PKCS1_2048_8192_SHA256,
        message.as_bytes(),
        &sig,
    )
    .map_err(|_| SignatureError::NoMatch)
}

/// The five delivery headers.
#[derive(Debug, Clone)]
pub struct Transmission {
    pub id: String,
    pub time: String,
    pub sig: String,
    pub cert_url: String,
    pub auth_algo: String,
}

impl Transmission {
    pub fn from(n: &Notification<'_>) -> Result<Self, SignatureError> {
        let h = |name: &'static str| {
            n.header(name)
                .map(str::to_string)
                .ok_or(SignatureError::MissingHeader(name))
        };
        Ok(Transmission {
            id: h("PAYPAL-TRANSMISSION-ID")?,
            time: h("PAYPAL-TRANSMISSION-TIME")?,
            sig: h("PAYPAL-TRANSMISSION-SIG")?,
            cert_url: h("PAYPAL-CERT-URL")?,
            auth_algo: h("PAYPAL-AUTH-ALGO")?,
        })
    }

    /// The body of a verify-webhook-signature call with the raw event spliced in.
    pub fn postback_body(&self, webhook_id: &str, raw_event: &[u8]) -> Vec<u8> {
        let q = |v: &str| Value::String(v.to_string()).to_string();
        let mut out = format!(
            "{{\"auth_algo\":{},\"cert_url\":{},\"transmission_id\":{},\"transmission_sig\":{},\"transmission_time\":{},\"webhook_id\":{},\"webhook_event\":",
            q(&self.auth_algo), q(&self.cert_url), q(&self.id), q(&self.sig), q(&self.time), q(webhook_id)
        )
        .into_bytes();
        out.extend_from_slice(raw_event);
        out.push(b'}');
        out
    }
}

fn money(v: &Value, ptr: &str) -> Option<boxoffice_domain::Money> {
    let o = v.pointer(ptr)?;
    let cur = s(o, "/currency_code").or_else(|| s(o, "/currency"))?;
    let val = s(o, "/value").or_else(|| s(o, "/total"))?;
    let cur = crate::amounts::currency(&cur).ok()?;
    crate::amounts::parse_decimal(&val, cur).ok()
}

fn sub_status(st: Option<String>) -> SubscriptionStatus {
    match st.as_deref() {
        Some("APPROVAL_PENDING" | "APPROVED") => SubscriptionStatus::ApprovalPending,
        Some("ACTIVE") => SubscriptionStatus::Active,
        Some("SUSPENDED") => SubscriptionStatus::Suspended,
        Some("CANCELLED") => SubscriptionStatus::Cancelled,
        Some("EXPIRED") => SubscriptionStatus::Expired,
        o => SubscriptionStatus::Other(o.unwrap_or("").to_string()),
    }
}

/// The capture id a v2 refund belongs to: its `up` link ends in `/captures/{id}`.
fn capture_of_refund(r: &Value) -> Option<String> {
    r["links"].as_array()?.iter().find_map(|l| {
        (s(l, "/rel").as_deref() == Some("up"))
            .then(|| s(l, "/href"))
            .flatten()
            .and_then(|h| h.rsplit('/').next().map(str::to_string))
    })
}

/// A verified PayPal event to [`EventKind`].
pub fn parse(body: &[u8]) -> Result<WebhookEvent> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| PaymentError::signature(GW, SignatureError::Payload(e.to_string())))?;
    let event_id = s(&v, "/id").ok_or_else(|| {
        PaymentError::signature(GW, SignatureError::Payload("no event id".into()))
    })?;
    let typ = s(&v, "/event_type").unwrap_or_default();
    let r = &v["resource"];
    let rid = s(r, "/id").unwrap_or_default();
    let kind = match typ.as_str() {
        "CHECKOUT.ORDER.APPROVED" => EventKind::CheckoutApproved {
            checkout_id: rid,
            reference: s(r, "/purchase_units/0/custom_id"),
        },
        "PAYMENT.CAPTURE.COMPLETED" => EventKind::PaymentSucceeded {
            payment_id: rid,
            checkout_id: s(r, "/supplementary_data/related_ids/order_id"),
            subscription_id: None,
            reference: s(r, "/custom_id"),
            amount: money(r, "/amount").ok_or_else(|| {
                PaymentError::signature(
                    GW,
                    SignatureError::Payload("capture without amount".into()),
                )
            })?,
            fee: money(r, "/seller_receivable_breakdown/paypal_fee"),
            payer_email: None,
            period_end: None,
            renewal: false,
        },
        "PAYMENT.CAPTURE.PENDING" => EventKind::PaymentPending {
            payment_id: rid,
            reference: s(r, "/custom_id"),
            amount: money(r, "/amount"),
        },
        "PAYMENT.CAPTURE.DENIED" | "PAYMENT.CAPTURE.DECLINED" | "PAYMENT.SALE.DENIED" => {
            EventKind::PaymentFailed {
                payment_id: Some(rid),
                subscription_id: s(r, "/billing_agreement_id"),
                reference: s(r, "/custom_id").or_else(|| s(r, "/custom")),
                amount: money(r, "/amount"),
                attempt_count: None,
                next_attempt: None,
            }
        }
        "PAYMENT.CAPTURE.REFUNDED" => EventKind::Refunded {
            payment_id: capture_of_refund(r).unwrap_or_default(),
            refund_id: Some(rid),
            amount: money(r, "/amount")
                .map(|m| boxoffice_domain::Money::new(m.minor.abs(), m.currency))
                .ok_or_else(|| {
                    PaymentError::signature(
                        GW,
                        SignatureError::Payload("refund without amount".into()),
                    )
                })?,
            full: None,
        },
        "PAYMENT.CAPTURE.REVERSED" | "PAYMENT.SALE.REVERSED" => EventKind::Reversed {
            payment_id: rid,
            reason: s(r, "/reason_code").or_else(|| s(r, "/status_details/reason")),
        },
        "PAYMENT.SALE.COMPLETED" => EventKind::PaymentSucceeded {
            payment_id: rid,
            checkout_id: None,
            subscription_id: s(r, "/billing_agreement_id"),
            reference: s(r, "/custom"),
            amount: money(r, "/amount").ok_or_else(|| {
                PaymentError::signature(GW, SignatureError::Payload("sale without amount".into()))
            })?,
            fee: money(r, "/transaction_fee"),
            payer_email: None,
            period_end: None,
            renewal: true,
        },
        "PAYMENT.SALE.PENDING" => EventKind::PaymentPending {
            payment_id: rid,
            reference: s(r, "/custom"),
            amount: money(r, "/amount"),
        },
        "PAYMENT.SALE.REFUNDED" => EventKind::Refunded {
            payment_id: s(r, "/sale_id").unwrap_or_default(),
            refund_id: Some(rid),
            // Older payloads carry a negative total.
            amount: money(r, "/amount")
                .map(|m| boxoffice_domain::Money::new(m.minor.abs(), m.currency))
                .ok_or_else(|| {
                    PaymentError::signature(
                        GW,
                        SignatureError::Payload("refund without amount".into()),
                    )
                })?,
            full: None,
        },
        "BILLING.SUBSCRIPTION.ACTIVATED" => EventKind::SubscriptionActivated {
            subscription_id: rid,
            reference: s(r, "/custom_id"),
            payer_email: s(r, "/subscriber/email_address"),
            paid_through: rfc3339(r, "/billing_info/next_billing_time"),
        },
        "BILLING.SUBSCRIPTION.UPDATED"
        | "BILLING.SUBSCRIPTION.RE-ACTIVATED"
        | "BILLING.SUBSCRIPTION.SUSPENDED"
        | "BILLING.SUBSCRIPTION.CREATED" => EventKind::SubscriptionUpdated {
            subscription_id: rid,
            status: sub_status(s(r, "/status")),
            cancel_at_period_end: false,
            current_period_end: rfc3339(r, "/billing_info/next_billing_time"),
            plan_id: s(r, "/plan_id"),
        },
        "BILLING.SUBSCRIPTION.CANCELLED" | "BILLING.SUBSCRIPTION.EXPIRED" => {
            EventKind::SubscriptionEnded {
                subscription_id: rid,
                status: sub_status(s(r, "/status")),
                ended_at: rfc3339(r, "/status_update_time"),
                paid_through: rfc3339(r, "/billing_info/next_billing_time"),
                reason: s(r, "/status_change_note"),
            }
        }
        // A dispute (chargeback) settled in the seller's favour: the reversed money is back.
        "CUSTOMER.DISPUTE.RESOLVED"
            if s(r, "/dispute_outcome/outcome_code").as_deref()
                == Some("RESOLVED_SELLER_FAVOUR") =>
        {
            EventKind::DisputeWon {
                payment_id: s(r, "/disputed_transactions/0/seller_transaction_id")
                    .unwrap_or_default(),
                dispute_id: s(r, "/dispute_id"),
            }
        }
        "BILLING.SUBSCRIPTION.PAYMENT.FAILED" => EventKind::PaymentFailed {
            payment_id: None,
            subscription_id: Some(rid),
            reference: s(r, "/custom_id"),
            amount: money(r, "/billing_info/last_failed_payment/amount"),
            attempt_count: i(r, "/billing_info/failed_payments_count").map(|n| n as u32),
            next_attempt: rfc3339(
                r,
                "/billing_info/last_failed_payment/next_payment_retry_time",
            ),
        },
        _ => EventKind::Ignored,
    };
    Ok(WebhookEvent {
        gateway: GW,
        event_id,
        provider_type: typ,
        created: rfc3339(&v, "/create_time"),
        kind,
    })
}

#[cfg(test)]
mod tests {
    //! The vector of docs/payments.md ("Test vectors", PayPal).
    use super::*;

    pub(crate) const BODY: &str = r#"{"id":"WH-TEST-0001","event_version":"1.0","create_time":"2025-01-01T00:00:00.000Z","resource_type":"capture","resource_version":"2.0","event_type":"PAYMENT.CAPTURE.COMPLETED","summary":"Payment completed for $ 10.0 USD","resource":{"id":"5O190127TN364715T","status":"COMPLETED","amount":{"currency_code":"USD","value":"10.00"},"custom_id":"order_42","supplementary_data":{"related_ids":{"order_id":"5O190127TN364715T0"}}}}"#;
    const TID: &str = "69cd13f0-d67a-11e5-baa3-778b53f4ae55";
    const TTIME: &str = "2025-01-01T00:00:01Z";
    const WEBHOOK: &str = "1JE4291016473214C";
    const SIG: &str = "lHc9hStYJi7+q585RHy/U+EAmXGIOZGQTdy/1FuSipNEoLvHjOp21vbCvgbPnP8O3eOA9dwGCfCG8nfcpQRJlZrXtAB/fhloKpu9eWPnLPosM02nmD8yLWmiE4LLsmw0mO/idK+YwSXEtPJUHZ4MKkv4dq77pBjq34BKG5sO+0cw43OLMxOapb6pSO3xujvgVjyXlcnv6IQ5mMVpfPTLaiMLze4q8UhRb0tP5bzA4Q3+kup3y4dDBWFaFkKK9o7RfhYF0PX0CLkEK7kTeXdrafw+Ek5ChK1wQdBatwJmzx7JqtAUarhCKKojAjU0Jgd2ys4ynTE9DQ9ZoTW4/isAnQ==";
    pub(crate) const CERT: &str = "-----BEGIN CERTIFICATE-----
MIIDLTCCAhWgAwIBAgIUSRTStSAfWBfGphZzD4+vJJPZUcwwDQYJKoZIhvcNAQEL
BQAwJTEjMCEGA1UEAwwaZmFrZS1wYXlwYWwtd2ViaG9vay1zaWduZXIwIBcNMjYx
MTI4MDAxODA5WhgPMjEyNjExMDQwMDE4MDlaMCUxIzAhBgNVBAMMGmZha2UtcGF5
cGFsLXdlYmhvb2stc2lnbmVyMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKC
AQEAyWtv0z/dnmP6PG+ComRvRfFV+LLJSPiGWjCPWTvkZ49FUbskbzAfMRxAqhYI
Crpm/2qDiSDaWtejAiAdWeYbLhoUXgMDJexZeDuo+0Pjib+Orrb/AKzAoTWz62TQ
hhphY/fd3ga+lwztFpaLpZu6trK57viiilbl44/L81OFZtT5c8PdpPOWsKCgdAje
u5mf5DFdOs36TxwCd0uDG0DPnpe8h3oFfqVQt54l89JnRzjtNhhf8X00EWwoVXVB
Syqb2pxZHAXK2zBukVj8YopJpNdN0JVGpb2Gy3g+BhhCqNCle393u7/ccv7rGJcK
hMXw45WnumSIipFWOH4oSvKRWQIDAQABo1MwUTAdBgNVHQ4EFgQUqLoTsFUva7ls
gXx70T5+qFLrWo4wHwYDVR0jBBgwFoAUqLoTsFUva7lsgXx70T5+qFLrWo4wDwYD
VR0TAQH/BAUwAwEB/zANBgkqhkiG9w0BAQsFAAOCAQEACV52u7Rm+WEXXBLCwA8E
bciWimAnJtO/79NO7RbJEr3IktQ4Z2rvyNZifm0MpL3rHWAhQN8+RhBwlxMqyxVf
hInsF4WA5kK21kjVZcfIuFq3Q1hoHylF4FLBTacm0cHC7fxrbSqlD98pMGJ67F2D
rXNIv1n2uioTSuVq+PdrwhzHmgZj3TlmBLGZjZIgB6VxjI7xfYcpCkjrYt7W4SWv
sVvRtYl7CP+mqB99v91oZbhVsapkvm7SnYM/ToIXegrT1o4Eo7Sv9Ff67+J5mtxJ
5eDgM7J1AA2ryv0vRbfCiL/hZLubFf/5kOo0i1jKokrjoUs81N/xf1aNzl44x0+5
mg==
-----END CERTIFICATE-----
";

    fn msg(body: &str) -> String {
        message(TID, TTIME, WEBHOOK, body.as_bytes())
    }

    #[test]
    fn the_reference_vector_verifies() {
        assert_eq!(BODY.len(), 423);
        assert_eq!(crc32(BODY.as_bytes()), 1_684_781_106);
        assert_eq!(msg(BODY), format!("{TID}|{TTIME}|{WEBHOOK}|1684781106"));
        assert_eq!(verify_signature(CERT.as_bytes(), &msg(BODY), SIG), Ok(()));
    }

    #[test]
    fn one_changed_byte_of_the_body_is_refused() {
        let tampered = BODY.replace("\"10.00\"", "\"10.01\"");
        assert_eq!(
            verify_signature(CERT.as_bytes(), &msg(&tampered), SIG),
            Err(SignatureError::NoMatch)
        );
    }

    #[test]
    fn one_changed_byte_of_the_signature_or_message_is_refused() {
        let mut sig = SIG.to_string();
        sig.replace_range(10..11, if &SIG[10..11] == "A" { "B" } else { "A" });
        assert_eq!(
            verify_signature(CERT.as_bytes(), &msg(BODY), &sig),
            Err(SignatureError::NoMatch)
        );
        // The event id instead of the webhook id, and the CRC in hex, are both wrong.
        let with_event_id = message(TID, TTIME, "WH-TEST-0001", BODY.as_bytes());
        assert!(verify_signature(CERT.as_bytes(), &with_event_id, SIG).is_err());
        let hex_crc = format!("{TID}|{TTIME}|{WEBHOOK}|646bb832");
        assert!(verify_signature(CERT.as_bytes(), &hex_crc, SIG).is_err());
        let other_time = message(TID, "2025-01-01T00:00:02Z", WEBHOOK, BODY.as_bytes());
        assert!(verify_signature(CERT.as_bytes(), &other_time, SIG).is_err());
    }

    #[test]
    fn only_allowed_origins_may_serve_the_certificate() {
        let allowed: Vec<String> = PAYPAL_CERT_ORIGINS.iter().map(|s| s.to_string()).collect();
        assert!(cert_url_allowed(
            "https://api.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-1d93a270",
            &allowed
        ));
        assert!(cert_url_allowed(
            "https://API.SANDBOX.PAYPAL.COM/v1/notifications/certs/x",
            &allowed
        ));
        assert!(!cert_url_allowed(
            "http://api.paypal.com/v1/notifications/certs/x",
            &allowed
        ));
        assert!(!cert_url_allowed(
            "https://api.paypal.com.evil.example/x",
            &allowed
        ));
        assert!(!cert_url_allowed(
            "https://evil.example@api.paypal.com/x",
            &allowed
        ));
        assert!(!cert_url_allowed(
            "https://evil.example/https://api.paypal.com",
            &allowed
        ));
    }

    #[test]
    fn the_postback_splices_the_raw_body() {
        let t = Transmission {
            id: TID.into(),
            time: TTIME.into(),
            sig: SIG.into(),
            cert_url: "https://api.paypal.com/c".into(),
            auth_algo: "SHA256withRSA".into(),
        };
        let body = t.postback_body(WEBHOOK, BODY.as_bytes());
        let text = String::from_utf8(body.clone()).unwrap();
        assert!(text.ends_with(&format!("\"webhook_event\":{BODY}}}")));
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["webhook_id"], WEBHOOK);
    }

    #[test]
    fn the_reference_event_is_a_completed_capture() {
        let e = parse(BODY.as_bytes()).unwrap();
        assert_eq!(e.event_id, "WH-TEST-0001");
        match e.kind {
            EventKind::PaymentSucceeded {
                payment_id,
                checkout_id,
                reference,
                amount,
                ..
            } => {
                assert_eq!(payment_id, "5O190127TN364715T");
                assert_eq!(checkout_id.as_deref(), Some("5O190127TN364715T0"));
                assert_eq!(reference.as_deref(), Some("order_42"));
                assert_eq!(amount.minor, 1000);
            }
            k => panic!("{k:?}"),
        }
    }
}
