//! Transaction sync on the gateway fakes (product §28.6, operations §3.4): payments made outside
//! checkout are found and matched by e-mail, unmatchable ones wait on Unmatched payments until
//! the admin assigns them, a second run records nothing twice, a gateway failure shows on the
//! status and is retried, the Payments CSV, and a refund asked for twice is queued once.

use crate::lifecycle::{invite, jellyfin, set};
use crate::servers::{MediaTest, media_test};
use boxoffice_app::audit::Actor;
use boxoffice_app::payments_sync::{Account, GatewayKind, SYNC_JOB, SyncTarget};
use boxoffice_fakes::{FaultAction, FaultRule};
use boxoffice_store::jobs;
use boxoffice_store::notifications::{self as log, LogFilter};
use reqwest::Method;
use serde_json::{Value, json};

pub(crate) const STRIPE: SyncTarget = SyncTarget {
    gateway: GatewayKind::Stripe,
    account: Account::Primary,
};
const PAYPAL_SECONDARY: SyncTarget = SyncTarget {
    gateway: GatewayKind::PayPal,
    account: Account::Secondary,
};

/// The fakes, a Jellyfin server with plans Basic (10.00 USD) and Premium (20.00 USD), the three
/// gateways configured against their fakes, and e-mail to the sandbox's SMTP catcher so the
/// administrator's notices are written.
pub(crate) async fn sync_test() -> MediaTest {
    let m = media_test().await;
    jellyfin(&m).await;
    let p = &m.world.payments;
    let accounts = p.paypal.nvp_accounts();
    let primary = accounts
        .iter()
        .find(|a| a.role.as_str() == "primary")
        .expect("primary");
    let secondary = accounts
        .iter()
        .find(|a| a.role.as_str() == "secondary")
        .expect("secondary");
    for (k, v) in [
        ("general.site_uri", "https://tv.example.com".to_string()),
        ("general.admin_email", "owner@example.com".into()),
        ("email.enabled", "true".into()),
        ("email.smtp_host", m.world.smtp.host()),
        ("email.smtp_port", m.world.smtp.port().to_string()),
        ("email.smtp_security", "none".into()),
        ("email.from_address", "noreply@example.com".into()),
        ("payments.stripe.enabled", "true".into()),
        ("payments.stripe.secret_key", p.stripe.secret_key()),
        ("payments.stripe.webhook_secret", p.stripe.webhook_secret()),
        ("payments.stripe.api_base", p.stripe.url()),
        ("payments.paypal.enabled", "true".into()),
        ("payments.paypal.environment", "sandbox".into()),
        ("payments.paypal.api_base", p.paypal.url()),
        ("payments.paypal.nvp_url", p.paypal.nvp_url()),
        ("payments.paypal.client_id", p.paypal.client_id()),
        ("payments.paypal.client_secret", p.paypal.client_secret()),
        ("payments.paypal.webhook_id", p.paypal.webhook_id()),
        ("payments.paypal.nvp_username", primary.username.clone()),
        ("payments.paypal.nvp_password", primary.password.clone()),
        ("payments.paypal.nvp_signature", primary.signature.clone()),
        (
            "payments.paypal.secondary_nvp_username",
            secondary.username.clone(),
        ),
        (
            "payments.paypal.secondary_nvp_password",
            secondary.password.clone(),
        ),
        (
            "payments.paypal.secondary_nvp_signature",
            secondary.signature.clone(),
        ),
        ("payments.plisio.enabled", "true".into()),
        ("payments.plisio.secret_key", p.plisio.api_key()),
        ("payments.plisio.api_base", p.plisio.api_url()),
    ] {
        set(&m, k, &v).await;
    }
    m
}

async fn control(url: String, body: Value) -> Value {
    let r = reqwest::Client::new()
        .post(url)
        .json(&body)
        .send()
        .await
        .expect("control call");
    assert!(r.status().is_success(), "control answered {}", r.status());
    r.json().await.unwrap_or(Value::Null)
}

/// A card payment made at Stripe outside checkout.
pub(crate) async fn stripe_payment(m: &MediaTest, amount: i64, email: &str) -> Value {
    let url = format!("{}/payments", m.world.payments.stripe.control_url());
    control(
        url,
        json!({"amount": amount, "currency": "usd", "email": email, "description": "Sent by hand"}),
    )
    .await
}

/// A friends-and-family payment received on a PayPal account.
async fn paypal_payment(m: &MediaTest, account: &str, amount: &str, email: &str) -> Value {
    let url = format!("{}/payments", m.world.payments.paypal.control_url());
    control(
        url,
        json!({"account": account, "amount": amount, "currency": "USD", "email": email, "name": "Pat Friend"}),
    )
    .await
}

/// The fakes stamp transactions with the wall clock; the app's test clock stands still, so it
/// is moved past them before a sync reads "up to now".
pub(crate) fn a_minute_later(m: &MediaTest) {
    m.t.advance_clock(time::Duration::minutes(1));
}

async fn payments_of(m: &MediaTest, customer: i64) -> Vec<Value> {
    let (s, v) = m
        .api(
            Method::GET,
            &format!("/customers/{customer}/payments"),
            None,
        )
        .await;
    assert_eq!(s, 200, "{v}");
    v.as_array().cloned().unwrap_or_default()
}

async fn queued(m: &MediaTest, kind: &str) -> Vec<jobs::Job> {
    jobs::list(m.t.app.db.ex(), Some("queued"), Some(kind), 100)
        .await
        .expect("jobs")
}

async fn admin_notices(m: &MediaTest, event: &str) -> usize {
    log::log(
        m.t.app.db.ex(),
        &LogFilter {
            limit: 1000,
            ..LogFilter::default()
        },
    )
    .await
    .expect("log")
    .into_iter()
    .filter(|n| n.event == event && n.recipient == "owner@example.com")
    .count()
}

#[tokio::test]
async fn sync_finds_a_payment_made_outside_checkout_and_matches_it_by_email() {
    let m = sync_test().await;
    let inv = invite(&m, json!({"email": "alice@example.com", "plan_id": 1})).await;
    let customer = inv["customer_id"].as_i64().expect("customer");
    let paid_until = inv["period_to"].as_i64().expect("period");
    m.t.run_pending_jobs().await;
    let charge = stripe_payment(&m, 1000, "Alice@Example.com").await;
    a_minute_later(&m);

    let report = m.t.app.run_payment_sync(STRIPE).await.expect("sync");
    assert_eq!((report.counts.matched, report.counts.unmatched), (1, 0));

    let payments = payments_of(&m, customer).await;
    assert_eq!(payments.len(), 2, "{payments:?}");
    let found = payments
        .iter()
        .find(|p| p["transaction_id"] == charge["id"])
        .expect("the charge is recorded under its id");
    assert_eq!(found["amount_minor"], 1000);
    assert_eq!(found["method"], "stripe");
    let (_, ledger) = m
        .api(Method::GET, "/payments?customer=alice&gateway=stripe", None)
        .await;
    assert_eq!(ledger["payments"][0]["source"], "sync", "{ledger}");
    assert_eq!(ledger["payments"][0]["transaction_id"], charge["id"]);
    assert_eq!(
        found["period_from"].as_i64(),
        Some(paid_until),
        "coverage extends from the current expiry"
    );
    assert_eq!(
        found["period_to"].as_i64().unwrap_or(0) - paid_until,
        30 * 86_400,
        "by the plan's period"
    );
    assert!(
        !queued(&m, "shares.apply").await.is_empty(),
        "the payment implies the share job"
    );
    m.t.run_pending_jobs().await;

    // The Payments page shows it with its gateway and the totals.
    let html = m.t.get_html("/admin/payments?gateway=stripe").await;
    assert!(
        html.contains(charge["id"].as_str().unwrap_or("?")),
        "{html}"
    );
    assert!(html.contains("10.00 USD"), "{html}");
}

#[tokio::test]
async fn an_unmatchable_payment_lands_in_unmatched_payments_and_once_assigned_extends_that_customer()
 {
    let m = sync_test().await;
    let inv = invite(&m, json!({"email": "bob@example.com", "plan_id": 1})).await;
    let bob = inv["customer_id"].as_i64().expect("customer");
    let paid_until = inv["period_to"].as_i64().expect("period");
    m.t.run_pending_jobs().await;
    let sent = paypal_payment(&m, "secondary", "20.00", "pat.friend@example.net").await;
    a_minute_later(&m);

    let report =
        m.t.app
            .run_payment_sync(PAYPAL_SECONDARY)
            .await
            .expect("sync");
    assert_eq!((report.counts.matched, report.counts.unmatched), (0, 1));
    assert_eq!(admin_notices(&m, "unmatched_payment").await, 1);

    let (s, list) = m.api(Method::GET, "/unmatched-payments", None).await;
    assert_eq!(s, 200, "{list}");
    assert_eq!(list["open"], 1, "{list}");
    let row = &list["unmatched"][0];
    assert_eq!(row["gateway"], "paypal");
    assert_eq!(row["account"], "secondary");
    assert_eq!(row["payer_email"], "pat.friend@example.net");
    assert_eq!(row["amount_minor"], 2000);
    if let Some(id) = sent["transaction_id"].as_str().or(sent["id"].as_str()) {
        assert_eq!(row["transaction_id"], id);
    }
    let id = row["id"].as_i64().expect("id");
    let html = m.t.get_html("/admin/unmatched-payments").await;
    assert!(html.contains("pat.friend@example.net"), "{html}");

    // The admin assigns it to Bob on Premium, from the page.
    let page = format!("/admin/unmatched-payments/{id}?q=bob");
    assert!(m.t.get_html(&page).await.contains("bob@example.com"));
    let r =
        m.t.post_form(
            &page,
            &format!("/admin/unmatched-payments/{id}/assign"),
            &[("customer_id", &bob.to_string()), ("plan_id", "2")],
        )
        .await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap_or_default());

    let payments = payments_of(&m, bob).await;
    assert_eq!(payments.len(), 2, "{payments:?}");
    let assigned = payments
        .iter()
        .find(|p| p["transaction_id"] == row["transaction_id"])
        .expect("recorded under the gateway's id");
    assert_eq!(assigned["amount_minor"], 2000);
    assert_eq!(assigned["plan_id"], 2);
    assert_eq!(assigned["period_from"].as_i64(), Some(paid_until));
    let (_, one) = m
        .api(Method::GET, &format!("/unmatched-payments/{id}"), None)
        .await;
    assert_eq!(one["state"], "assigned");
    assert_eq!(one["payment_id"], assigned["id"]);
    let audit = m.t.app.recent_audit(20).await.expect("audit");
    assert!(audit.iter().any(|a| a.action == "payment.unmatched_assign"));

    // Assigning again is refused and records nothing.
    let (s, v) = m
        .api(
            Method::POST,
            &format!("/unmatched-payments/{id}/assign"),
            Some(json!({"customer_id": bob})),
        )
        .await;
    assert_eq!(s, 409, "{v}");
    assert_eq!(payments_of(&m, bob).await.len(), 2);
}

#[tokio::test]
async fn running_sync_twice_records_nothing_twice() {
    let m = sync_test().await;
    let inv = invite(&m, json!({"email": "carol@example.com", "plan_id": 1})).await;
    let carol = inv["customer_id"].as_i64().expect("customer");
    stripe_payment(&m, 1000, "carol@example.com").await;
    stripe_payment(&m, 1500, "nobody@example.org").await;
    paypal_payment(&m, "secondary", "12.50", "friend@example.net").await;
    a_minute_later(&m);

    // Through the job, as the hourly tick and "Sync now" run it.
    let r =
        m.t.post_form("/admin/payments", "/admin/payments/sync", &[])
            .await;
    assert_eq!(r.status(), 303);
    let sync_jobs = queued(&m, SYNC_JOB).await;
    assert_eq!(
        sync_jobs.len(),
        4,
        "stripe, paypal primary and secondary, plisio"
    );
    m.t.run_pending_jobs().await;
    let after_first = payments_of(&m, carol).await.len();
    assert_eq!(after_first, 2);
    let (_, list) = m.api(Method::GET, "/unmatched-payments", None).await;
    assert_eq!(list["open"], 2, "{list}");
    let notices = admin_notices(&m, "unmatched_payment").await;
    assert_eq!(notices, 2);

    // Again, an hour later: everything is read again, nothing is recorded again.
    m.t.advance_clock(time::Duration::hours(1));
    m.t.app
        .queue_payment_sync_now(&Actor::cli())
        .await
        .expect("queued");
    m.t.run_pending_jobs().await;
    let again = m.t.app.run_payment_sync(STRIPE).await.expect("sync");
    assert_eq!(again.counts.seen, 2, "the overlap reads both charges again");
    assert_eq!((again.counts.matched, again.counts.unmatched), (0, 0));
    assert_eq!(payments_of(&m, carol).await.len(), after_first);
    let (_, list) = m
        .api(Method::GET, "/unmatched-payments?state=all", None)
        .await;
    assert_eq!(list["total"], 2, "{list}");
    assert_eq!(admin_notices(&m, "unmatched_payment").await, notices);

    let (s, status) = m.api(Method::GET, "/payments/sync", None).await;
    assert_eq!(s, 200, "{status}");
    let stripe = status
        .as_array()
        .and_then(|a| a.iter().find(|r| r["gateway"] == "stripe"))
        .cloned()
        .expect("stripe status");
    assert_eq!(stripe["last_error"], "");
    assert_eq!(stripe["total_matched"], 1);
    assert_eq!(stripe["total_unmatched"], 1);
}

#[tokio::test]
async fn a_gateway_failure_shows_on_the_status_and_is_retried() {
    let m = sync_test().await;
    invite(&m, json!({"email": "dave@example.com", "plan_id": 1})).await;
    stripe_payment(&m, 1000, "dave@example.com").await;
    let fault = m.world.payments.stripe.add_fault(FaultRule::path(
        "/v1/charges",
        FaultAction::Status {
            status: 503,
            body: None,
        },
    ));
    a_minute_later(&m);
    m.t.app
        .queue_payment_sync_now(&Actor::cli())
        .await
        .expect("queued");
    m.t.run_pending_jobs().await;

    let retrying = jobs::list(m.t.app.db.ex(), None, Some(SYNC_JOB), 100)
        .await
        .expect("jobs")
        .into_iter()
        .find(|j| j.payload.contains("stripe"))
        .expect("the stripe sync job");
    assert_eq!(retrying.state, "queued", "retried later, not given up");
    assert_eq!(retrying.attempts, 1);
    let html = m.t.get_html("/admin/payments").await;
    assert!(html.contains("sync-failed"), "{html}");
    assert!(html.contains("Stripe is unavailable"), "{html}");
    assert_eq!(admin_notices(&m, "system_message").await, 1);

    // Stripe is back: the retry records the payment and clears the status.
    let r = reqwest::Client::new()
        .delete(format!(
            "{}/faults/{fault}",
            m.world.payments.stripe.control_url()
        ))
        .send()
        .await
        .expect("control");
    assert!(r.status().is_success());
    m.t.advance_clock(time::Duration::hours(1));
    m.t.run_pending_jobs().await;
    let (_, status) = m.api(Method::GET, "/payments/sync", None).await;
    let stripe = status
        .as_array()
        .and_then(|a| a.iter().find(|r| r["gateway"] == "stripe"))
        .cloned()
        .expect("stripe status");
    assert_eq!(stripe["last_error"], "", "{stripe}");
    assert_eq!(stripe["last_matched"], 1, "{stripe}");
    assert_eq!(stripe["consecutive_failures"], 0);
}

#[tokio::test]
async fn the_payments_csv_lists_the_filtered_payments_with_amounts_in_the_currency() {
    let m = sync_test().await;
    invite(&m, json!({"email": "erin@example.com", "plan_id": 1})).await;
    invite(
        &m,
        json!({"email": "frank@example.com", "plan_id": 2, "transaction_id": "=cash-7"}),
    )
    .await;
    let r =
        m.t.client
            .get(m.t.url("/api/v1/payments.csv?customer=erin"))
            .bearer_auth(&m.token)
            .send()
            .await
            .expect("csv");
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/csv"))
    );
    let body = r.text().await.expect("body");
    let lines: Vec<&str> = body.lines().collect();
    assert_eq!(
        lines[0],
        "id,recorded_at,customer_email,plan,amount,currency,method,transaction_id,subscription_id,source,period_from,period_to,refund,notes"
    );
    assert_eq!(lines.len(), 2, "{body}");
    assert!(
        lines[1].contains(",erin@example.com,Basic,10.00,USD,manual,"),
        "{body}"
    );

    // Everyone, from the page; a formula-like cell is made harmless.
    let all = m.t.get_html("/admin/payments.csv").await;
    assert_eq!(all.lines().count(), 3, "{all}");
    assert!(all.contains(",'=cash-7,"), "{all}");
    let (_, v) = m.api(Method::GET, "/payments", None).await;
    assert_eq!(
        v["totals"],
        json!([{"currency": "USD", "count": 2, "amount_minor": 3000}])
    );
}

#[tokio::test]
async fn a_refund_asked_for_twice_is_queued_once_and_carried_out_at_the_gateway() {
    let m = sync_test().await;
    let inv = invite(&m, json!({"email": "gina@example.com", "plan_id": 1})).await;
    let gina = inv["customer_id"].as_i64().expect("customer");
    let charge = stripe_payment(&m, 1000, "gina@example.com").await;
    a_minute_later(&m);
    m.t.app.run_payment_sync(STRIPE).await.expect("sync");
    let payment = payments_of(&m, gina)
        .await
        .into_iter()
        .find(|p| p["transaction_id"] == charge["id"])
        .expect("synced payment");
    let pid = payment["id"].as_i64().expect("id");

    let (s1, v1) = m
        .api(
            Method::POST,
            &format!("/payments/{pid}/refund"),
            Some(json!({"reason": "asked by the customer"})),
        )
        .await;
    assert_eq!(s1, 202, "{v1}");
    let r =
        m.t.post_form(
            "/admin/payments",
            &format!("/admin/payments/{pid}/refund"),
            &[],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        crate::helpers::location(&r),
        "/admin/payments?done=refund-again"
    );
    assert_eq!(queued(&m, "payments.refund").await.len(), 1);

    m.t.run_pending_jobs().await;
    let (_, v) = m.api(Method::GET, "/payments?customer=gina", None).await;
    let row = v["payments"]
        .as_array()
        .and_then(|a| a.iter().find(|p| p["id"] == pid))
        .cloned()
        .expect("payment row");
    assert_eq!(row["refund_state"], "succeeded", "{row}");
    let refunds = m.world.payments.stripe.objects_of("refund");
    assert_eq!(refunds.len(), 1, "one refund at Stripe: {refunds:?}");

    // The next sync sees the charge refunded and gives it back in the ledger, once: the
    // payment's time is taken back and the customer told.
    m.t.advance_clock(time::Duration::hours(1));
    for _ in 0..2 {
        let r = m.t.app.run_payment_sync(STRIPE).await.expect("sync");
        assert_eq!(r.counts.matched, 0);
    }
    let seen = log::log(
        m.t.app.db.ex(),
        &LogFilter {
            limit: 100,
            ..LogFilter::default()
        },
    )
    .await
    .expect("log")
    .into_iter()
    .filter(|n| {
        n.dedupe_key
            .as_deref()
            .is_some_and(|k| k.to_ascii_lowercase().starts_with("refund:stripe:sync:"))
    })
    .count();
    assert_eq!(seen, 1);
    let refunded = boxoffice_store::payments::find(m.t.app.db.ex(), pid)
        .await
        .expect("payment");
    assert_eq!(refunded.refunded_minor, 1000);

    // A manual payment has nothing at a gateway to refund.
    let manual = inv["payment_id"].as_i64().expect("payment");
    let (s, v) = m
        .api(Method::POST, &format!("/payments/{manual}/refund"), None)
        .await;
    assert_eq!(s, 409, "{v}");
}

#[tokio::test]
async fn the_payment_gateways_page_gives_each_webhook_url_and_tests_the_connection() {
    let m = sync_test().await;
    let html = m.t.get_html("/admin/payment-gateways").await;
    for g in ["stripe", "paypal", "plisio"] {
        assert!(
            html.contains(&format!("value=\"https://tv.example.com/webhooks/{g}\"")),
            "{html}"
        );
    }
    assert!(html.contains("data-copy=\"webhook-stripe\""));
    let r =
        m.t.post_form(
            "/admin/payment-gateways",
            "/admin/payment-gateways/paypal/test",
            &[],
        )
        .await;
    let body = r.text().await.expect("body");
    assert!(body.contains("PayPal: connected"), "{body}");

    set(&m, "payments.stripe.secret_key", "sk_test_wrong").await;
    let (s, v) = m
        .api(Method::POST, "/payment-gateways/stripe/test", None)
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["ok"], false);
    assert!(
        v["message"]
            .as_str()
            .unwrap_or("")
            .contains("Stripe refused"),
        "{v}"
    );
}

#[tokio::test]
async fn an_overdue_paypal_renewal_is_told_in_the_references_words() {
    let m = sync_test().await;
    m.t.app
        .invite(
            &Actor::cli(),
            boxoffice_app::subscriptions::InviteInput {
                email: "hana@example.com".into(),
                plan_id: 1,
                method: Some("paypal".into()),
                transaction_id: Some("8AB12345CD678901E".into()),
                subscription_id: Some("I-HANA0001".into()),
                ..Default::default()
            },
        )
        .await
        .expect("invite");
    // The month paid for ends, and six hours later still no renewal has been posted.
    m.t.advance_clock(time::Duration::days(30) + time::Duration::hours(7));
    let primary = SyncTarget {
        gateway: GatewayKind::PayPal,
        account: Account::Primary,
    };
    let report = m.t.app.run_payment_sync(primary).await.expect("sync");
    assert_eq!(
        report.warnings,
        vec!["PayPal subscription ID: I-HANA0001 does not have any transactions".to_string()]
    );
    let told = log::log(
        m.t.app.db.ex(),
        &LogFilter {
            limit: 100,
            ..LogFilter::default()
        },
    )
    .await
    .expect("log")
    .into_iter()
    .filter(|n| {
        n.dedupe_key
            .as_deref()
            .is_some_and(|k| k.starts_with("paypal_no_transactions:I-HANA0001"))
    })
    .count();
    assert_eq!(told, 1);
    // The next hour says nothing new.
    m.t.advance_clock(time::Duration::hours(1));
    m.t.app.run_payment_sync(primary).await.expect("sync");
    assert_eq!(admin_notices(&m, "system_message").await, 1);
}

#[tokio::test]
async fn the_hourly_tick_reads_every_configured_account_and_a_dismissed_payment_stays_dismissed() {
    let m = sync_test().await;
    paypal_payment(&m, "primary", "5.00", "donor@example.org").await;
    paypal_payment(&m, "secondary", "7.00", "other@example.org").await;
    a_minute_later(&m);
    // The first tick plans the schedule; an hour later it is due.
    m.t.runner.tick_scheduler().await.expect("tick");
    m.t.advance_clock(time::Duration::hours(1));
    assert!(m.t.runner.tick_scheduler().await.expect("tick") >= 1);
    m.t.run_pending_jobs().await;
    let (_, list) = m.api(Method::GET, "/unmatched-payments", None).await;
    assert_eq!(list["open"], 2, "both PayPal accounts were read: {list}");
    let id = list["unmatched"][0]["id"].as_i64().expect("id");

    let (s, v) = m
        .api(
            Method::POST,
            &format!("/unmatched-payments/{id}/dismiss"),
            Some(json!({"reason": "  "})),
        )
        .await;
    assert_eq!(s, 422, "a reason is required: {v}");
    let r =
        m.t.post_form(
            &format!("/admin/unmatched-payments/{id}"),
            &format!("/admin/unmatched-payments/{id}/dismiss"),
            &[("reason", "a gift, not for the server")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let (_, one) = m
        .api(Method::GET, &format!("/unmatched-payments/{id}"), None)
        .await;
    assert_eq!(one["state"], "dismissed");
    assert_eq!(one["dismiss_reason"], "a gift, not for the server");

    // Later runs read it again and leave it dismissed, listed once.
    m.t.advance_clock(time::Duration::hours(1));
    m.t.runner.tick_scheduler().await.expect("tick");
    m.t.run_pending_jobs().await;
    let (_, all) = m
        .api(Method::GET, "/unmatched-payments?state=all", None)
        .await;
    assert_eq!(all["total"], 2, "{all}");
    assert_eq!(all["open"], 1, "{all}");
    let html =
        m.t.get_html("/admin/unmatched-payments?state=dismissed")
            .await;
    assert!(html.contains("a gift, not for the server"), "{html}");
}

#[tokio::test]
async fn a_paypal_renewal_is_matched_by_its_subscription_id_whoever_paid_it() {
    let m = sync_test().await;
    let plan = m.world.payments.paypal.plans()[0]["id"]
        .as_str()
        .expect("plan id")
        .to_string();
    let gw =
        m.t.app
            .payment_gateway(boxoffice_app::payments::Provider::PayPal)
            .await
            .expect("PayPal is configured");
    let sub = gw
        .create_recurring_checkout(&boxoffice_payments::RecurringCheckoutRequest {
            reference: "purchase-1".into(),
            plan_id: plan,
            customer_email: Some("parent@example.org".into()),
            success_url: "https://tv.example.com/ok".into(),
            cancel_url: "https://tv.example.com/cancel".into(),
            trial_days: None,
            idempotency_key: "checkout:1:1".into(),
        })
        .await
        .expect("subscription");
    control(
        format!(
            "{}/subscriptions/{}/approve",
            m.world.payments.paypal.control_url(),
            sub.id
        ),
        json!({}),
    )
    .await;
    // The customer's earlier payment carries the subscription id (as checkout records it).
    let inv = invite(
        &m,
        json!({"email": "kid@example.com", "plan_id": 1, "subscription_id": sub.id}),
    )
    .await;
    let kid = inv["customer_id"].as_i64().expect("customer");
    a_minute_later(&m);
    let primary = SyncTarget {
        gateway: GatewayKind::PayPal,
        account: Account::Primary,
    };
    let report = m.t.app.run_payment_sync(primary).await.expect("sync");
    assert_eq!((report.counts.matched, report.counts.unmatched), (1, 0));
    let (_, v) = m
        .api(Method::GET, &format!("/payments?customer_id={kid}"), None)
        .await;
    let synced = v["payments"]
        .as_array()
        .and_then(|a| a.iter().find(|p| p["source"] == "sync"))
        .cloned()
        .expect("the first charge of the subscription");
    assert_eq!(synced["subscription_id"], json!(sub.id));
    assert!(
        synced["notes"]
            .as_str()
            .unwrap_or("")
            .contains("matched by subscription id"),
        "{synced}"
    );
}
