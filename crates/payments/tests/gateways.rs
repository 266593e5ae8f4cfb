//! The three gateway clients against the sandbox's fakes on 127.0.0.1: checkout, the buyer's
//! page, confirmation, webhooks signed by the fake and verified by the client, sync lists,
//! refunds, renewals and cancellation, retries of faults with the same idempotency key.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use boxoffice_domain::money::Currency;
use boxoffice_domain::{Money, SystemClock, TestClock};
use boxoffice_fakes::{FaultAction, FaultRule, PayPalFake, PlisioFake, StripeFake};
use boxoffice_http::{ClockSleeper, HttpConfig, RetryPolicy};
use boxoffice_payments::paypal::{
    NvpCredentials, PayPalAccount, PayPalConfig, PayPalEnvironment, PayPalGateway, RestCredentials,
    WebhookVerification,
};
use boxoffice_payments::plisio::{PlisioConfig, PlisioGateway};
use boxoffice_payments::stripe::{StripeConfig, StripeGateway};
use boxoffice_payments::*;
use tokio::sync::mpsc;

type Received = (HeaderMap, Vec<u8>);

/// A webhook endpoint on 127.0.0.1 that answers 200 and hands each delivery to the test.
async fn receiver() -> (String, mpsc::UnboundedReceiver<Received>) {
    let (tx, rx) = mpsc::unbounded_channel::<Received>();
    let app = Router::new()
        .route(
            "/hook",
            post(
                |State(tx): State<mpsc::UnboundedSender<Received>>,
                 h: HeaderMap,
                 body: axum::body::Bytes| async move {
                    let _ = tx.send((h, body.to_vec()));
                    "ok"
                },
            ),
        )
        .with_state(tx);
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    (url, rx)
}

/// The next delivery whose body contains `needle`.
async fn next_with(rx: &mut mpsc::UnboundedReceiver<Received>, needle: &str) -> Received {
    loop {
        let got = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("a webhook within 10 s")
            .expect("channel open");
        if String::from_utf8_lossy(&got.1).contains(needle) {
            return got;
        }
    }
}

fn browser() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Presses a button on a hosted page; returns where the provider redirects the buyer.
async fn press(page_url: &str, action: &str) -> String {
    let b = browser();
    let html = b.get(page_url).send().await.unwrap().text().await.unwrap();
    assert!(
        html.contains(&format!("value=\"{action}\"")),
        "the page has a {action} button: {html}"
    );
    let r = b
        .post(page_url)
        .form(&[("action", action)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303, "a redirect back to the shop");
    r.headers()["location"].to_str().unwrap().to_string()
}

fn usd(minor: i64) -> Money {
    Money::new(minor, Currency::parse("USD").unwrap())
}

fn test_http(service: &str) -> (HttpConfig, ClockSleeper) {
    let clock = TestClock::starting_now();
    let sleeper = ClockSleeper::new(clock.clone());
    (
        HttpConfig::new(service, "").clock(Arc::new(clock), Arc::new(sleeper.clone())),
        sleeper,
    )
}

fn stripe(fake: &StripeFake) -> StripeGateway {
    let (http, _) = test_http("Stripe");
    let cfg = StripeConfig::new(
        Secret::new(fake.secret_key()),
        Secret::new(fake.webhook_secret()),
    )
    .api_base(&fake.url());
    StripeGateway::with_clock(cfg, Arc::new(SystemClock), Some(http)).unwrap()
}

fn checkout(reference: &str, amount: Money) -> CheckoutRequest {
    CheckoutRequest {
        reference: reference.into(),
        description: "Plex access, 30 days".into(),
        amount,
        customer_email: Some("buyer@example.com".into()),
        success_url: "https://shop.example/pay/done?sid={CHECKOUT_SESSION_ID}".into(),
        cancel_url: "https://shop.example/pay/cancel".into(),
        callback_url: None,
        idempotency_key: format!("checkout:{reference}:1"),
    }
}

#[tokio::test]
async fn a_stripe_checkout_paid_on_the_hosted_page_is_confirmed_signed_synced_and_refunded() {
    let fake = StripeFake::start().await.unwrap();
    let (hook, mut rx) = receiver().await;
    fake.set_webhook_url(Some(&hook), None);
    let gw = stripe(&fake);

    let c = gw
        .create_checkout(&checkout("order_42", usd(1500)))
        .await
        .unwrap();
    assert!(c.id.starts_with("cs_test_"));
    assert_eq!(
        gw.confirm_checkout(&c.id).await.unwrap().state,
        CheckoutState::Pending
    );

    let back = press(&c.redirect_url, "pay").await;
    assert_eq!(back, format!("https://shop.example/pay/done?sid={}", c.id));
    let done = gw.confirm_checkout(&c.id).await.unwrap();
    assert_eq!(done.state, CheckoutState::Paid);
    assert_eq!(done.reference.as_deref(), Some("order_42"));
    assert_eq!(done.amount, Some(usd(1500)));
    let pi = done.payment_id.clone().unwrap();

    let (headers, body) = next_with(&mut rx, "checkout.session.completed").await;
    let ev = gw
        .verify_webhook(Notification {
            headers: &headers,
            body: &body,
        })
        .await
        .unwrap();
    assert!(ev.event_id.starts_with("evt_"));
    assert!(
        matches!(ev.kind, EventKind::CheckoutCompleted { paid: true, ref reference, .. } if reference.as_deref() == Some("order_42"))
    );
    let mut tampered = body.clone();
    tampered[10] ^= 1;
    let refused = gw
        .verify_webhook(Notification {
            headers: &headers,
            body: &tampered,
        })
        .await
        .unwrap_err();
    assert!(
        matches!(refused, PaymentError::Signature { .. }),
        "{refused}"
    );

    let page = gw
        .list_transactions(&TransactionQuery::since(0))
        .await
        .unwrap();
    let t = page
        .transactions
        .iter()
        .find(|t| t.reference.as_deref() == Some("order_42"))
        .expect("the charge is listed");
    assert_eq!(t.amount, usd(1500));
    assert_eq!(t.status, TransactionStatus::Succeeded);
    assert!(
        t.fee.is_some() && t.net.is_some(),
        "fee and net from the balance transaction"
    );
    assert_eq!(t.payer_email.as_deref(), Some("buyer@example.com"));

    let r = gw
        .refund(&RefundRequest {
            payment_id: pi.clone(),
            amount: Some(usd(500)),
            reason: None,
            idempotency_key: "refund:order_42:1".into(),
        })
        .await
        .unwrap();
    assert_eq!((r.amount, r.status), (usd(500), RefundStatus::Succeeded));
    let again = gw
        .refund(&RefundRequest {
            payment_id: pi.clone(),
            amount: Some(usd(500)),
            reason: None,
            idempotency_key: "refund:order_42:1".into(),
        })
        .await
        .unwrap();
    assert_eq!(
        again.id, r.id,
        "the same key answers the first refund, not a second one"
    );
    let (headers, body) = next_with(&mut rx, "charge.refunded").await;
    match gw
        .verify_webhook(Notification {
            headers: &headers,
            body: &body,
        })
        .await
        .unwrap()
        .kind
    {
        EventKind::Refunded { amount, full, .. } => {
            assert_eq!((amount, full), (usd(500), Some(false)))
        }
        k => panic!("{k:?}"),
    }
    let t = gw.fetch_transaction(Account::Primary, &pi).await.unwrap();
    assert_eq!(t.status, TransactionStatus::PartiallyRefunded);
}

#[tokio::test]
async fn a_stripe_subscription_renews_fails_and_ends_at_period_end() {
    let fake = StripeFake::start().await.unwrap();
    let (hook, mut rx) = receiver().await;
    fake.set_webhook_url(Some(&hook), None);
    let price = fake.add_price(999, "usd", "month", "Monthly access");
    let gw = stripe(&fake);

    let c = gw
        .create_recurring_checkout(&RecurringCheckoutRequest {
            reference: "purchase_77".into(),
            plan_id: price,
            customer_email: Some("sub@example.com".into()),
            success_url: "https://shop.example/ok".into(),
            cancel_url: "https://shop.example/no".into(),
            trial_days: None,
            idempotency_key: "checkout:purchase_77:1".into(),
        })
        .await
        .unwrap();
    press(&c.redirect_url, "pay").await;
    let sub = gw
        .confirm_checkout(&c.id)
        .await
        .unwrap()
        .subscription_id
        .expect("a subscription");
    let (h, b) = next_with(&mut rx, "\"invoice.paid\"").await;
    match gw
        .verify_webhook(Notification {
            headers: &h,
            body: &b,
        })
        .await
        .unwrap()
        .kind
    {
        EventKind::PaymentSucceeded {
            subscription_id,
            renewal,
            period_end,
            reference,
            ..
        } => {
            assert_eq!(subscription_id.as_deref(), Some(sub.as_str()));
            assert!(!renewal);
            assert!(period_end.is_some());
            assert_eq!(reference.as_deref(), Some("purchase_77"));
        }
        k => panic!("{k:?}"),
    }

    fake.advance_subscription(&sub).unwrap();
    let (h, b) = next_with(&mut rx, "subscription_cycle").await;
    assert!(matches!(
        gw.verify_webhook(Notification {
            headers: &h,
            body: &b
        })
        .await
        .unwrap()
        .kind,
        EventKind::PaymentSucceeded { renewal: true, .. }
    ));
    let synced = gw
        .list_transactions(&TransactionQuery::since(0))
        .await
        .unwrap();
    assert_eq!(
        synced
            .transactions
            .iter()
            .filter(|t| t.subscription_id.as_deref() == Some(sub.as_str()))
            .count(),
        2,
        "both payments name the subscription"
    );

    fake.fail_next_renewal(&sub);
    fake.advance_subscription(&sub).unwrap();
    let (h, b) = next_with(&mut rx, "invoice.payment_failed").await;
    assert!(matches!(
        gw.verify_webhook(Notification {
            headers: &h,
            body: &b
        })
        .await
        .unwrap()
        .kind,
        EventKind::PaymentFailed {
            attempt_count: Some(1),
            ..
        }
    ));

    gw.cancel_subscription(&sub, CancelWhen::AtPeriodEnd)
        .await
        .unwrap();
    let (h, b) = next_with(&mut rx, "cancel_at_period_end\":true").await;
    assert!(matches!(
        gw.verify_webhook(Notification {
            headers: &h,
            body: &b
        })
        .await
        .unwrap()
        .kind,
        EventKind::SubscriptionUpdated {
            cancel_at_period_end: true,
            ..
        }
    ));
    fake.advance_subscription(&sub).unwrap();
    let (h, b) = next_with(&mut rx, "customer.subscription.deleted").await;
    assert!(matches!(
        gw.verify_webhook(Notification {
            headers: &h,
            body: &b
        })
        .await
        .unwrap()
        .kind,
        EventKind::SubscriptionEnded { .. }
    ));
}

#[tokio::test]
async fn stripe_errors_are_typed_and_a_5xx_is_retried_with_the_same_idempotency_key() {
    let fake = StripeFake::start().await.unwrap();
    let gw = stripe(&fake);
    fake.add_fault(
        FaultRule::path(
            "/v1/checkout/sessions",
            FaultAction::Status {
                status: 500,
                body: None,
            },
        )
        .method("POST")
        .times(1),
    );
    let c = gw
        .create_checkout(&checkout("order_5xx", usd(700)))
        .await
        .unwrap();
    let posts: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .collect();
    assert_eq!(posts.len(), 2);
    let keys: Vec<_> = posts
        .iter()
        .map(|r| {
            r.headers
                .iter()
                .find(|(k, _)| k == "idempotency-key")
                .map(|(_, v)| v.clone())
        })
        .collect();
    assert_eq!(keys[0], keys[1]);
    assert_eq!(
        fake.objects_of("checkout.session").len(),
        1,
        "one session for two attempts"
    );
    assert!(c.id.starts_with("cs_test_"));

    let other = checkout("order_5xx", usd(800));
    let e = gw.create_checkout(&other).await.unwrap_err();
    assert!(
        matches!(e, PaymentError::Idempotency { .. }),
        "same key, other amount: {e}"
    );

    let e = gw.confirm_checkout("cs_test_nope").await.unwrap_err();
    assert!(matches!(e, PaymentError::NotFound { .. }), "{e}");

    let bad = StripeGateway::new(
        StripeConfig::new(Secret::new("sk_test_wrong"), Secret::new("whsec_x"))
            .api_base(&fake.url()),
    )
    .unwrap();
    let e = bad.confirm_checkout(&c.id).await.unwrap_err();
    assert!(matches!(e, PaymentError::Auth { .. }), "{e}");
    assert!(
        !e.to_string().contains("sk_test_wrong"),
        "the key never shows: {e}"
    );

    fake.add_fault(
        FaultRule::path("/v1/charges", FaultAction::RateLimit { retry_after: 600 }).method("GET"),
    );
    let e = gw
        .list_transactions(&TransactionQuery::since(0))
        .await
        .unwrap_err();
    assert_eq!(e.retry_after(), Some(Duration::from_secs(600)));
    assert!(e.is_retryable());
}

fn paypal(fake: &PayPalFake, verification: WebhookVerification) -> PayPalGateway {
    let accts = fake.nvp_accounts();
    let nvp = |i: usize| NvpCredentials {
        username: accts[i].username.clone(),
        password: Secret::new(accts[i].password.clone()),
        signature: Secret::new(accts[i].signature.clone()),
    };
    let mut cfg = PayPalConfig::new(
        PayPalEnvironment::Custom {
            api_base: fake.url(),
            nvp_url: fake.nvp_url(),
        },
        PayPalAccount {
            rest: Some(RestCredentials {
                client_id: fake.client_id(),
                secret: Secret::new(fake.client_secret()),
            }),
            nvp: Some(nvp(0)),
        },
    );
    cfg.secondary = Some(PayPalAccount {
        rest: None,
        nvp: Some(nvp(1)),
    });
    cfg.webhook_id = Some(fake.webhook_id());
    cfg.verification = verification;
    let (http, _) = test_http("PayPal");
    PayPalGateway::with_clock(cfg, Arc::new(SystemClock), Some(http)).unwrap()
}

#[tokio::test]
async fn a_paypal_order_is_approved_captured_once_verified_both_ways_synced_and_refunded() {
    let fake = PayPalFake::start().await.unwrap();
    let (hook, mut rx) = receiver().await;
    fake.set_webhook_url(Some(&hook), None);
    let local = paypal(
        &fake,
        WebhookVerification::Local {
            cert_origins: vec![fake.url()],
        },
    );
    let postback = paypal(&fake, WebhookVerification::Postback);

    let c = local
        .create_checkout(&checkout("purchase_78", usd(1000)))
        .await
        .unwrap();
    let not_yet = local.confirm_checkout(&c.id).await.unwrap();
    assert_eq!(
        not_yet.state,
        CheckoutState::Pending,
        "ORDER_NOT_APPROVED reads as pending"
    );
    let back = press(&c.redirect_url, "approve").await;
    assert!(
        back.starts_with(&format!(
            "https://shop.example/pay/done?sid={{CHECKOUT_SESSION_ID}}&token={}&PayerID=",
            c.id
        )),
        "{back}"
    );

    let paid = local.confirm_checkout(&c.id).await.unwrap();
    assert_eq!(paid.state, CheckoutState::Paid);
    assert_eq!(paid.reference.as_deref(), Some("purchase_78"));
    let capture = paid.payment_id.clone().unwrap();
    let again = local.confirm_checkout(&c.id).await.unwrap();
    assert_eq!(
        again.payment_id.as_deref(),
        Some(capture.as_str()),
        "a second confirmation is the same capture"
    );

    let (h, b) = next_with(&mut rx, "PAYMENT.CAPTURE.COMPLETED").await;
    for gw in [&local, &postback] {
        let ev = gw
            .verify_webhook(Notification {
                headers: &h,
                body: &b,
            })
            .await
            .unwrap();
        assert!(ev.event_id.starts_with("WH-"));
        assert!(
            matches!(ev.kind, EventKind::PaymentSucceeded { ref payment_id, .. } if *payment_id == capture)
        );
        let mut tampered = b.clone();
        let i = tampered.len() - 5;
        tampered[i] ^= 1;
        assert!(
            gw.verify_webhook(Notification {
                headers: &h,
                body: &tampered
            })
            .await
            .is_err()
        );
    }
    // A certificate from anywhere but the allowed origin is never fetched.
    let elsewhere = paypal(&fake, WebhookVerification::local());
    let e = elsewhere
        .verify_webhook(Notification {
            headers: &h,
            body: &b,
        })
        .await
        .unwrap_err();
    assert!(e.to_string().contains("not on the allowed list"), "{e}");

    let primary = local
        .list_transactions(&TransactionQuery::since(0))
        .await
        .unwrap();
    let t = primary
        .transactions
        .iter()
        .find(|t| t.id == capture)
        .expect("NVP TransactionSearch lists the capture");
    assert_eq!((t.amount, t.account), (usd(1000), Account::Primary));
    let details = local
        .fetch_transaction(Account::Primary, &capture)
        .await
        .unwrap();
    assert_eq!(details.reference.as_deref(), Some("purchase_78"));

    fake.receive_payment(
        "secondary",
        "12.50",
        "USD",
        "friend@example.com",
        "Pat Friend",
    )
    .unwrap();
    let secondary = local
        .list_transactions(&TransactionQuery {
            account: Account::Secondary,
            ..TransactionQuery::since(0)
        })
        .await
        .unwrap();
    assert_eq!(secondary.transactions.len(), 1);
    assert_eq!(
        secondary.transactions[0].payer_email.as_deref(),
        Some("friend@example.com")
    );
    assert_eq!(secondary.transactions[0].amount, usd(1250));

    let r = local
        .refund(&RefundRequest {
            payment_id: capture.clone(),
            amount: None,
            reason: None,
            idempotency_key: "refund:78:1".into(),
        })
        .await
        .unwrap();
    assert_eq!((r.amount, r.status), (usd(1000), RefundStatus::Succeeded));
    let (h, b) = next_with(&mut rx, "PAYMENT.CAPTURE.REFUNDED").await;
    match local
        .verify_webhook(Notification {
            headers: &h,
            body: &b,
        })
        .await
        .unwrap()
        .kind
    {
        EventKind::Refunded {
            payment_id, amount, ..
        } => assert_eq!((payment_id, amount), (capture.clone(), usd(1000))),
        k => panic!("{k:?}"),
    }
}

#[tokio::test]
async fn a_paypal_subscription_activates_renews_into_sync_and_is_cancelled() {
    let fake = PayPalFake::start().await.unwrap();
    let plan = fake.add_plan("Monthly", "9.99", "USD", "MONTH", 1);
    let (hook, mut rx) = receiver().await;
    fake.set_webhook_url(Some(&hook), None);
    let gw = paypal(
        &fake,
        WebhookVerification::Local {
            cert_origins: vec![fake.url()],
        },
    );
    let req = |plan_id: &str| RecurringCheckoutRequest {
        reference: "purchase_90".into(),
        plan_id: plan_id.into(),
        customer_email: Some("sub@example.com".into()),
        success_url: "https://shop.example/pp/return".into(),
        cancel_url: "https://shop.example/pp/cancel".into(),
        trial_days: None,
        idempotency_key: format!("sub:{plan_id}:1"),
    };
    let e = gw
        .create_recurring_checkout(&req("P-DOESNOTEXIST"))
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("RESOURCE_NOT_FOUND") && e.to_string().contains("P-DOESNOTEXIST"),
        "{e}"
    );

    let c = gw.create_recurring_checkout(&req(&plan)).await.unwrap();
    assert!(c.id.starts_with("I-"));
    let back = press(&c.redirect_url, "approve").await;
    assert!(
        back.contains(&format!("subscription_id={}", c.id)),
        "{back}"
    );
    let ok = gw.confirm_checkout(&c.id).await.unwrap();
    assert_eq!(
        (ok.state, ok.reference.as_deref()),
        (CheckoutState::Paid, Some("purchase_90"))
    );

    let (h, b) = next_with(&mut rx, "BILLING.SUBSCRIPTION.ACTIVATED").await;
    assert!(matches!(
        gw.verify_webhook(Notification {
            headers: &h,
            body: &b
        })
        .await
        .unwrap()
        .kind,
        EventKind::SubscriptionActivated {
            paid_through: Some(_),
            ..
        }
    ));
    fake.advance_subscription(&c.id).unwrap();
    let synced = gw
        .list_transactions(&TransactionQuery::since(0))
        .await
        .unwrap();
    let renewals: Vec<_> = synced
        .transactions
        .iter()
        .filter(|t| t.subscription_id.as_deref() == Some(c.id.as_str()))
        .collect();
    assert_eq!(
        renewals.len(),
        2,
        "first payment and renewal, matched by subscription id through GetTransactionDetails"
    );

    gw.cancel_subscription(&c.id, CancelWhen::Now)
        .await
        .unwrap();
    gw.cancel_subscription(&c.id, CancelWhen::Now)
        .await
        .unwrap();
    let (h, b) = next_with(&mut rx, "BILLING.SUBSCRIPTION.CANCELLED").await;
    assert!(matches!(
        gw.verify_webhook(Notification {
            headers: &h,
            body: &b
        })
        .await
        .unwrap()
        .kind,
        EventKind::SubscriptionEnded { .. }
    ));
}

#[tokio::test]
async fn paypal_credentials_refused_say_which_ones() {
    let fake = PayPalFake::start().await.unwrap();
    let mut cfg = PayPalConfig::new(
        PayPalEnvironment::Custom {
            api_base: fake.url(),
            nvp_url: fake.nvp_url(),
        },
        PayPalAccount {
            rest: Some(RestCredentials {
                client_id: "wrong".into(),
                secret: Secret::new("also-wrong-secret"),
            }),
            nvp: Some(NvpCredentials {
                username: "x".into(),
                password: Secret::new("bad-password"),
                signature: Secret::new("bad-signature"),
            }),
        },
    );
    cfg.retry = RetryPolicy::none();
    let gw = PayPalGateway::new(cfg).unwrap();
    let e = gw
        .create_checkout(&checkout("p1", usd(100)))
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            PaymentError::Auth {
                credential: "REST client id and secret",
                ..
            }
        ),
        "{e}"
    );
    let e = gw
        .list_transactions(&TransactionQuery::since(0))
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            PaymentError::Auth {
                credential: "NVP API username, password and signature",
                ..
            }
        ),
        "{e}"
    );
}

#[tokio::test]
async fn a_plisio_invoice_paid_on_its_page_sends_a_callback_that_verifies_in_both_forms() {
    let fake = PlisioFake::start().await.unwrap();
    let (hook, mut rx) = receiver().await;
    let (http, _) = test_http("Plisio");
    let mut cfg = PlisioConfig::new(Secret::new(fake.api_key()));
    cfg.api_base = fake.api_url();
    let gw = PlisioGateway::with_http(cfg, Some(http)).unwrap();

    let mut req = checkout("1001", usd(1000));
    req.callback_url = Some(hook.clone());
    req.success_url = "https://shop.example/crypto/done".into();
    let c = gw.create_checkout(&req).await.unwrap();
    let same = gw.create_checkout(&req).await.unwrap();
    assert_eq!(
        same.id, c.id,
        "the order number keeps a retried create to one invoice"
    );
    assert_eq!(
        gw.confirm_checkout(&c.id).await.unwrap().state,
        CheckoutState::Pending
    );

    assert_eq!(
        press(&c.redirect_url, "pay").await,
        "https://shop.example/crypto/done"
    );
    let (h, b) = next_with(&mut rx, "completed").await;
    assert!(
        b.starts_with(b"{"),
        "json=true on the callback URL gives a JSON body"
    );
    let ev = gw
        .verify_webhook(Notification {
            headers: &h,
            body: &b,
        })
        .await
        .unwrap();
    assert_eq!(ev.event_id, format!("{}:completed", c.id));
    assert!(matches!(ev.kind, EventKind::PaymentSucceeded { amount, .. } if amount == usd(1000)));

    let form = fake.callback_body(&c.id, false).unwrap();
    assert!(
        gw.verify_webhook(Notification {
            headers: &h,
            body: form.as_bytes()
        })
        .await
        .is_ok(),
        "the form variant verifies too"
    );
    let tampered = form.replace("status=completed", "status=completes");
    assert!(
        gw.verify_webhook(Notification {
            headers: &h,
            body: tampered.as_bytes()
        })
        .await
        .is_err()
    );

    assert_eq!(
        gw.confirm_checkout(&c.id).await.unwrap().state,
        CheckoutState::Paid
    );
    let listed = gw
        .list_transactions(&TransactionQuery::since(0))
        .await
        .unwrap();
    assert_eq!(listed.transactions.len(), 1);
    assert_eq!(listed.transactions[0].reference.as_deref(), Some("1001"));
    assert!(matches!(
        gw.refund(&RefundRequest {
            payment_id: c.id.clone(),
            amount: None,
            reason: None,
            idempotency_key: "r".into()
        })
        .await,
        Err(PaymentError::Unsupported { .. })
    ));

    let mut bad = PlisioConfig::new(Secret::new("not-the-key-at-all"));
    bad.api_base = fake.api_url();
    let e = PlisioGateway::new(bad)
        .unwrap()
        .confirm_checkout(&c.id)
        .await
        .unwrap_err();
    assert!(matches!(e, PaymentError::Auth { .. }), "{e}");
    assert!(!e.to_string().contains("not-the-key-at-all"));
}
