//! My account's subscription actions on the fakes: change plan with the credit shown first and
//! applied when the new plan is paid; cancel a recurring payment at the gateway through a job;
//! a printable receipt per payment, for its customer only; request-app account details; and a
//! new "set your password" link for a Jellyfin server.

use crate::helpers::{csrf_from, location};
use crate::lifecycle::{exec, jellyfin, plan, set};
use crate::media_password::{email_to_catcher, invite_to, link_in};
use crate::payments_webhooks::{STANDARD, count, gateway_ref, run_all_jobs, shop};
use crate::servers::{MediaTest, media_test};
use crate::trials::{customer_browser, logged_in, page};
use boxoffice_app::audit::Actor;
use boxoffice_domain::RoleKind;

/// The customer pays plan `plan_id` through the checkout form with Stripe (`extra` fields
/// added), confirmed on return; answers the checkout id.
async fn pay(m: &MediaTest, c: &reqwest::Client, from: &str, extra: &[(&str, &str)]) -> i64 {
    let html = page(m, c, from).await;
    let mut form: Vec<(&str, String)> =
        vec![("provider", "stripe".into()), ("csrf", csrf_from(&html))];
    form.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
    let r = c
        .post(m.t.url("/checkout"))
        .form(&form)
        .send()
        .await
        .expect("checkout");
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap_or_default());
    let id = count(m, "SELECT MAX(id) FROM checkouts").await;
    let cs = gateway_ref(m, id).await;
    m.world.payments.stripe.pay_session(&cs).expect("paid");
    m.t.app.confirm_checkout(id).await.expect("confirmed");
    run_all_jobs(m).await;
    id
}

async fn payments_of(m: &MediaTest) -> Vec<(i64, i64, i64, i64, String)> {
    boxoffice_store::run!(m.t.app.db.ex(), |e| sqlx::query_as::<
        _,
        (i64, i64, i64, i64, String),
    >(
        "SELECT plan_id, amount_minor, period_from, period_to, notes FROM payments ORDER BY id"
    )
    .fetch_all(e)
    .await)
    .expect("payments")
}

#[tokio::test]
async fn changing_plan_previews_the_credit_and_paying_the_new_plan_applies_it() {
    let (m, _) = shop().await;
    plan(&m.t.app.db, 2, "Premium", 2000, &[STANDARD, 3], &[]).await;
    m.world.payments.stripe.set_webhook_url(None, None);
    let c = customer_browser(&m, "carl@example.com").await;
    pay(&m, &c, "/checkout", &[("plan_id", "1")]).await;

    // Ten days into thirty: twenty are left, worth 6.67 USD, which buy ten days of Premium.
    m.t.advance_clock(time::Duration::days(10));
    // Ten days on, the session has lapsed: log in again.
    let c = logged_in(&m, "carl@example.com").await;
    let account = page(&m, &c, "/account").await;
    assert!(account.contains("id=\"change-plan-link\""), "{account}");
    let html = page(&m, &c, "/account/plan").await;
    assert!(
        html.contains("id=\"plan-change-2\"")
            && html.contains("20 days")
            && html.contains("6.67 USD")
            && html.contains("10 days"),
        "{html}"
    );
    pay(
        &m,
        &c,
        "/account/plan",
        &[("plan_id", "2"), ("change_plan", "1"), ("mode", "one_off")],
    )
    .await;

    let now = m.t.app.now();
    let p = payments_of(&m).await;
    assert_eq!(p.len(), 2, "{p:?}");
    assert_eq!(
        (p[0].0, p[0].1, p[0].3),
        (1, 333, now),
        "Basic ends now, less the credit"
    );
    assert_eq!(
        (p[1].0, p[1].1, p[1].2),
        (2, 2667, now),
        "Premium paid 20.00 plus the credit"
    );
    let extra = p[1].3 - p[1].2 - 30 * 86_400;
    assert!(
        (extra - 10 * 86_400).abs() < 3_600,
        "30 days plus the 10 the credit bought (6.67 of 20.00 over 30 days): {extra} s"
    );
    assert!(p[1].4.contains("credit of 6.67 USD"), "{}", p[1].4);
    let account = page(&m, &c, "/account").await;
    assert!(account.contains("Premium"), "{account}");

    // The same plan again is a renewal, not a change.
    let html = page(&m, &c, "/account/plan").await;
    let r = c
        .post(m.t.url("/checkout"))
        .form(&[
            ("plan_id", "2"),
            ("provider", "stripe"),
            ("change_plan", "1"),
            ("csrf", &csrf_from(&html)),
        ])
        .send()
        .await
        .expect("checkout");
    assert_eq!(r.status(), 422);
    assert!(r.text().await.expect("body").contains("renew it instead"));
}

#[tokio::test]
async fn a_customer_cancels_their_recurring_payment_and_a_job_stops_it_at_stripe() {
    let (m, _) = shop().await;
    let stripe = &m.world.payments.stripe;
    let price = stripe.add_price(1000, "usd", "month", "Basic");
    exec(
        &m.t.app.db,
        format!("UPDATE plans SET stripe_price_id = '{price}' WHERE id = 1"),
    )
    .await;
    set(&m, "payments.stripe.recurring_enabled", "true").await;
    stripe.set_webhook_url(None, None);
    let c = customer_browser(&m, "dora@example.com").await;
    pay(
        &m,
        &c,
        "/checkout",
        &[("plan_id", "1"), ("mode", "recurring")],
    )
    .await;
    let row = count(&m, "SELECT id FROM gateway_subscriptions").await;
    let sub: String = boxoffice_store::run!(m.t.app.db.ex(), |e| sqlx::query_scalar(
        "SELECT subscription_id FROM gateway_subscriptions WHERE id = $1"
    )
    .bind(row)
    .fetch_one(e)
    .await)
    .expect("subscription");

    let html = page(&m, &c, "/account").await;
    assert!(html.contains("Cancel recurring payment"), "{html}");
    let r = c
        .post(m.t.url(&format!("/account/recurring/{row}/cancel")))
        .form(&[("csrf", csrf_from(&html))])
        .send()
        .await
        .expect("cancel");
    assert_eq!(r.status(), 303);
    let html = page(&m, &c, "/account").await;
    assert!(
        html.contains("Cancelling"),
        "the request shows before the job runs: {html}"
    );
    assert_eq!(
        stripe.object(&sub).expect("sub")["cancel_at_period_end"],
        serde_json::json!(false)
    );

    run_all_jobs(&m).await;
    assert_eq!(
        stripe.object(&sub).expect("sub")["cancel_at_period_end"],
        serde_json::json!(true),
        "Stripe stops at the period's end"
    );
    let html = page(&m, &c, "/account").await;
    assert!(
        html.contains("No further charges") && !html.contains("Cancel recurring payment"),
        "{html}"
    );

    // Another customer cannot cancel it.
    let other = customer_browser(&m, "ed@example.com").await;
    let h = page(&m, &other, "/account").await;
    let r = other
        .post(m.t.url(&format!("/account/recurring/{row}/cancel")))
        .form(&[("csrf", csrf_from(&h))])
        .send()
        .await
        .expect("cancel");
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn each_payment_has_a_printable_receipt_for_its_customer_only() {
    let (m, _) = shop().await;
    m.world.payments.stripe.set_webhook_url(None, None);
    let c = customer_browser(&m, "fay@example.com").await;
    pay(&m, &c, "/checkout", &[("plan_id", "1")]).await;
    let id = count(&m, "SELECT id FROM payments").await;
    let account = page(&m, &c, "/account").await;
    assert!(
        account.contains(&format!("/account/receipts/{id}")),
        "{account}"
    );
    let r = c
        .get(m.t.url(&format!("/account/receipts/{id}")))
        .send()
        .await
        .expect("receipt");
    assert_eq!(r.status(), 200);
    let html = r.text().await.expect("body");
    assert!(
        html.contains("id=\"receipt\"")
            && html.contains("10.00 USD")
            && html.contains("Basic")
            && html.contains("Card (Stripe)")
            && html.contains("fay@example.com"),
        "{html}"
    );
    let other = customer_browser(&m, "gus@example.com").await;
    let r = other
        .get(m.t.url(&format!("/account/receipts/{id}")))
        .send()
        .await
        .expect("receipt");
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn my_account_shows_the_request_app_its_address_and_the_login_there() {
    let (m, _) = shop().await;
    m.world.payments.stripe.set_webhook_url(None, None);
    let c = customer_browser(&m, "hal@example.com").await;
    pay(&m, &c, "/checkout", &[("plan_id", "1")]).await;
    let customer = count(
        &m,
        "SELECT id FROM customers WHERE email = 'hal@example.com'",
    )
    .await;
    set(&m, "requests.overseerr.url", "https://requests.example.com").await;
    exec(
        &m.t.app.db,
        format!("INSERT INTO request_app_accounts (customer_id, app, username, state, created_at, updated_at) VALUES ({customer}, 'overseerr', 'hal', 'active', 0, 0)"),
    )
    .await;
    let html = page(&m, &c, "/account").await;
    assert!(
        !html.contains("id=\"sub-request-apps\""),
        "not shown while the app is off: {html}"
    );
    set(&m, "requests.overseerr.enabled", "true").await;
    let html = page(&m, &c, "/account").await;
    assert!(
        html.contains("id=\"sub-request-apps\"")
            && html.contains("https://requests.example.com")
            && html.contains("<code>hal</code>"),
        "{html}"
    );
}

#[tokio::test]
async fn a_jellyfin_customer_gets_a_new_password_link_from_my_account() {
    let m = media_test().await;
    email_to_catcher(&m).await;
    let jf = jellyfin(&m).await;
    invite_to(&m, "ida@example.com", jf).await;
    m.t.app
        .create_login(
            &Actor::cli(),
            "ida@example.com",
            "Cust0mer-Pass!",
            RoleKind::User,
        )
        .await
        .expect("login");
    let c = logged_in(&m, "ida@example.com").await;
    let share = count(&m, "SELECT id FROM shares").await;
    // The invite's link is an old one by now.
    m.t.advance_clock(time::Duration::hours(1));
    let html = page(&m, &c, "/account").await;
    assert!(html.contains("Send me a new password link"), "{html}");
    let before = m.world.smtp.messages_to("ida@example.com").len();
    let r = c
        .post(m.t.url(&format!("/account/media-password/{share}")))
        .form(&[("csrf", csrf_from(&html))])
        .send()
        .await
        .expect("link");
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/account?done=password_link");
    m.t.run_pending_jobs().await;
    let all = m.world.smtp.messages_to("ida@example.com");
    assert_eq!(all.len(), before + 1, "one new message");
    let links: Vec<String> = all
        .iter()
        .filter_map(|x| x.text.as_deref())
        .filter(|t| t.contains("/media-password/"))
        .map(link_in)
        .collect();
    assert_eq!(links.len(), 2, "the invite's link and the new one");
    assert_ne!(links[0], links[1], "the new message carries a new link");

    // At once again: refused, with when to ask.
    let html = page(&m, &c, "/account").await;
    let r = c
        .post(m.t.url(&format!("/account/media-password/{share}")))
        .form(&[("csrf", csrf_from(&html))])
        .send()
        .await
        .expect("link");
    assert_eq!(r.status(), 429);
    assert!(r.text().await.expect("body").contains("check your e-mail"));
}
