//! Stripe events (API 2025-03-31.basil) to [`EventKind`]. Readers prefer the basil location of
//! a field and fall back to the older one (invoice `parent.subscription_details.subscription`
//! before `subscription`; item `current_period_end` before the subscription's).

use serde_json::Value;

use super::{GW, money};
use crate::error::{PaymentError, Result, SignatureError};
use crate::json::{b, i, id, s};
use crate::types::*;

fn sub_status(s: Option<String>) -> SubscriptionStatus {
    match s.as_deref() {
        Some("incomplete" | "incomplete_expired") => SubscriptionStatus::Incomplete,
        Some("trialing") => SubscriptionStatus::Trialing,
        Some("active") => SubscriptionStatus::Active,
        Some("past_due") => SubscriptionStatus::PastDue,
        Some("unpaid") => SubscriptionStatus::Unpaid,
        Some("paused") => SubscriptionStatus::Paused,
        Some("canceled") => SubscriptionStatus::Cancelled,
        other => SubscriptionStatus::Other(other.unwrap_or("").to_string()),
    }
}

fn invoice_subscription(o: &Value) -> Option<String> {
    s(o, "/parent/subscription_details/subscription").or_else(|| id(o, "/subscription"))
}

fn invoice_reference(o: &Value) -> Option<String> {
    s(o, "/parent/subscription_details/metadata/reference").or_else(|| s(o, "/metadata/reference"))
}

pub(super) fn parse(body: &[u8]) -> Result<WebhookEvent> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| PaymentError::signature(GW, SignatureError::Payload(e.to_string())))?;
    let event_id = s(&v, "/id").ok_or_else(|| {
        PaymentError::signature(GW, SignatureError::Payload("no event id".into()))
    })?;
    let typ = s(&v, "/type").unwrap_or_default();
    let o = &v["data"]["object"];
    let kind = match typ.as_str() {
        "checkout.session.completed" | "checkout.session.async_payment_succeeded" => {
            let ps = s(o, "/payment_status");
            EventKind::CheckoutCompleted {
                checkout_id: s(o, "/id").unwrap_or_default(),
                reference: s(o, "/client_reference_id").or_else(|| s(o, "/metadata/reference")),
                paid: matches!(ps.as_deref(), Some("paid" | "no_payment_required")),
                payment_id: id(o, "/payment_intent"),
                subscription_id: id(o, "/subscription"),
                customer_id: id(o, "/customer"),
                payer_email: s(o, "/customer_details/email").or_else(|| s(o, "/customer_email")),
                amount: money(o, "/amount_total", "/currency"),
            }
        }
        "checkout.session.async_payment_failed" => EventKind::PaymentFailed {
            payment_id: id(o, "/payment_intent"),
            subscription_id: id(o, "/subscription"),
            reference: s(o, "/client_reference_id"),
            amount: money(o, "/amount_total", "/currency"),
            attempt_count: None,
            next_attempt: None,
        },
        "checkout.session.expired" => EventKind::CheckoutExpired {
            checkout_id: s(o, "/id").unwrap_or_default(),
            reference: s(o, "/client_reference_id"),
        },
        "invoice.paid" => {
            let payment = o["payments"]["data"]
                .as_array()
                .and_then(|a| a.iter().find_map(|p| id(p, "/payment/payment_intent")))
                .or_else(|| id(o, "/payment_intent"))
                .or_else(|| s(o, "/id"))
                .unwrap_or_default();
            let lines = o["lines"]["data"].as_array().cloned().unwrap_or_default();
            let period_end = lines.iter().filter_map(|l| i(l, "/period/end")).max();
            EventKind::PaymentSucceeded {
                payment_id: payment,
                checkout_id: None,
                subscription_id: invoice_subscription(o),
                reference: invoice_reference(o),
                amount: money(o, "/amount_paid", "/currency").ok_or_else(|| {
                    PaymentError::signature(
                        GW,
                        SignatureError::Payload("invoice without amount_paid".into()),
                    )
                })?,
                fee: None,
                payer_email: s(o, "/customer_email"),
                period_end,
                renewal: s(o, "/billing_reason").as_deref() == Some("subscription_cycle"),
            }
        }
        "invoice.payment_failed" => EventKind::PaymentFailed {
            payment_id: s(o, "/id"),
            subscription_id: invoice_subscription(o),
            reference: invoice_reference(o),
            amount: money(o, "/amount_due", "/currency"),
            attempt_count: i(o, "/attempt_count").map(|n| n as u32),
            next_attempt: i(o, "/next_payment_attempt"),
        },
        "customer.subscription.updated" | "customer.subscription.created" => {
            EventKind::SubscriptionUpdated {
                subscription_id: s(o, "/id").unwrap_or_default(),
                status: sub_status(s(o, "/status")),
                cancel_at_period_end: b(o, "/cancel_at_period_end").unwrap_or(false),
                current_period_end: i(o, "/items/data/0/current_period_end")
                    .or_else(|| i(o, "/current_period_end")),
                plan_id: s(o, "/items/data/0/price/id"),
            }
        }
        "customer.subscription.deleted" => EventKind::SubscriptionEnded {
            subscription_id: s(o, "/id").unwrap_or_default(),
            status: sub_status(s(o, "/status")),
            ended_at: i(o, "/ended_at"),
            paid_through: i(o, "/items/data/0/current_period_end")
                .or_else(|| i(o, "/current_period_end")),
            reason: s(o, "/cancellation_details/reason"),
        },
        "charge.refunded" => EventKind::Refunded {
            payment_id: id(o, "/payment_intent")
                .or_else(|| s(o, "/id"))
                .unwrap_or_default(),
            refund_id: o["refunds"]["data"].get(0).and_then(|r| s(r, "/id")),
            amount: money(o, "/amount_refunded", "/currency").ok_or_else(|| {
                PaymentError::signature(
                    GW,
                    SignatureError::Payload("charge without amount_refunded".into()),
                )
            })?,
            full: b(o, "/refunded"),
        },
        "charge.dispute.created" => EventKind::Reversed {
            payment_id: id(o, "/payment_intent")
                .or_else(|| id(o, "/charge"))
                .unwrap_or_default(),
            reason: s(o, "/reason"),
        },
        // A dispute lost changes nothing more: its chargeback already took the coverage.
        "charge.dispute.closed" if s(o, "/status").as_deref() == Some("won") => {
            EventKind::DisputeWon {
                payment_id: id(o, "/payment_intent")
                    .or_else(|| id(o, "/charge"))
                    .unwrap_or_default(),
                dispute_id: s(o, "/id"),
            }
        }
        _ => EventKind::Ignored,
    };
    Ok(WebhookEvent {
        gateway: GW,
        event_id,
        provider_type: typ,
        created: i(&v, "/created"),
        kind,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dispute_closed_as_won_names_its_payment_and_one_lost_is_ignored() {
        let won = br#"{"id":"evt_d","type":"charge.dispute.closed","created":5,"data":{"object":{"id":"du_1","object":"dispute","amount":1000,"currency":"usd","charge":"ch_1","payment_intent":"pi_1","reason":"fraudulent","status":"won"}}}"#;
        match parse(won).unwrap().kind {
            EventKind::DisputeWon {
                payment_id,
                dispute_id,
            } => {
                assert_eq!(payment_id, "pi_1");
                assert_eq!(dispute_id.as_deref(), Some("du_1"));
            }
            k => panic!("{k:?}"),
        }
        let lost = String::from_utf8_lossy(won).replace("\"won\"", "\"lost\"");
        assert_eq!(parse(lost.as_bytes()).unwrap().kind, EventKind::Ignored);
    }

    #[test]
    fn the_reference_event_parses_as_a_paid_checkout() {
        let body = br#"{"id":"evt_test_0001","object":"event","api_version":"2025-03-31.basil","created":1735689600,"type":"checkout.session.completed","data":{"object":{"id":"cs_test_0001","object":"checkout.session","mode":"payment","status":"complete","payment_status":"paid","client_reference_id":"order_42","amount_total":1500,"currency":"usd"}}}"#;
        let e = parse(body).unwrap();
        assert_eq!(e.event_id, "evt_test_0001");
        match e.kind {
            EventKind::CheckoutCompleted {
                checkout_id,
                reference,
                paid,
                amount,
                ..
            } => {
                assert_eq!(checkout_id, "cs_test_0001");
                assert_eq!(reference.as_deref(), Some("order_42"));
                assert!(paid);
                assert_eq!(amount.unwrap().minor, 1500);
            }
            k => panic!("{k:?}"),
        }
    }

    #[test]
    fn a_basil_invoice_names_its_subscription_under_parent_and_its_period_on_the_line() {
        let body = br#"{"id":"evt_2","type":"invoice.paid","created":1,"data":{"object":{"id":"in_1","amount_paid":999,"currency":"eur","billing_reason":"subscription_cycle","period_start":10,"period_end":20,"parent":{"type":"subscription_details","subscription_details":{"subscription":"sub_9","metadata":{"reference":"p77"}}},"lines":{"data":[{"period":{"start":100,"end":200}}]}}}}"#;
        match parse(body).unwrap().kind {
            EventKind::PaymentSucceeded {
                subscription_id,
                period_end,
                renewal,
                reference,
                ..
            } => {
                assert_eq!(subscription_id.as_deref(), Some("sub_9"));
                assert_eq!(
                    period_end,
                    Some(200),
                    "the line period, never invoice.period_end"
                );
                assert!(renewal);
                assert_eq!(reference.as_deref(), Some("p77"));
            }
            k => panic!("{k:?}"),
        }
    }
}
