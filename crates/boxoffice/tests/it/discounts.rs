//! Discount codes and referrals (product §16, §8.11; acceptance checks 9 and 10): a code made
//! through the API is quoted and redeemed once per customer, a use limit refuses the next
//! customer, an expired code is refused, refused fields are named on the page and in the API, and
//! a referrer is credited once however often the first-payment hook runs.

use crate::helpers::{TestApp, client, csrf_from, spawn_app};
use boxoffice_app::audit::Actor;
use boxoffice_app::discounts::DiscountRefused;
use boxoffice_domain::RoleKind;
use boxoffice_domain::discounts::Refusal;
use boxoffice_domain::referrals::Bonus;
use boxoffice_store::customers::{self, NewCustomer};
use boxoffice_store::payments::{self, NewPayment};
use reqwest::Method;
use serde_json::{Value, json};

const DAY: i64 = 86_400;

async fn api(
    t: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = t
        .client
        .request(method, t.url(&format!("/api/v1{path}")))
        .bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.expect("api request");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn admin_app() -> (TestApp, String) {
    let t = spawn_app().await;
    t.create_admin().await;
    t.login_admin().await;
    let token = t.admin_token().await;
    (t, token)
}

/// A 15.00 USD monthly plan on the Standard group.
async fn plan(t: &TestApp, token: &str, name: &str) -> i64 {
    let (_, groups) = api(t, token, Method::GET, "/library-groups", None).await;
    let standard = groups
        .as_array()
        .expect("groups")
        .iter()
        .find(|g| g["name"] == "Standard")
        .and_then(|g| g["id"].as_i64())
        .expect("Standard");
    let (s, v) = api(
        t,
        token,
        Method::POST,
        "/plans",
        Some(
            json!({"name": name, "cost_minor": 1500, "duration_unit": "months", "duration_count": 1,
            "library_group_ids": [standard], "is_default": true}),
        ),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    v["id"].as_i64().expect("plan id")
}

async fn customer(t: &TestApp, email: &str, plan_id: Option<i64>) -> i64 {
    customers::insert(
        t.app.db.ex(),
        NewCustomer {
            email,
            email_key: &email.to_lowercase(),
            plex_email: "",
            jellyfin_username: "",
            emby_username: "",
            paypal_email: "",
            permanent: false,
            plan_id,
            now: t.app.now(),
        },
    )
    .await
    .expect("customer")
    .id
}

/// Records a paid period for `customer_id` starting now, as a checkout would.
async fn pay(
    t: &TestApp,
    customer_id: i64,
    plan_id: i64,
    minor: i64,
    days: i64,
    tx_id: &str,
) -> i64 {
    let now = t.app.now();
    let mut tx = t.app.db.begin().await.expect("tx");
    let p = payments::insert(
        tx.ex(),
        NewPayment {
            customer_id,
            plan_id,
            amount_minor: minor,
            currency: "USD",
            period_from: now,
            period_to: now + days * DAY,
            method: "test",
            transaction_id: tx_id,
            sequence: 1,
            subscription_id: "",
            notes: "",
            source: "checkout",
            now,
        },
    )
    .await
    .expect("payment");
    customers::set_coverage(
        tx.ex(),
        customer_id,
        Some(plan_id),
        Some(now + days * DAY),
        now,
    )
    .await
    .expect("coverage");
    tx.commit().await.expect("commit");
    p.id
}

/// `redeem_in_tx` in a transaction of its own, committed.
async fn redeem(
    t: &TestApp,
    customer_id: i64,
    plan_id: i64,
    code: &str,
    reference: &str,
) -> Result<boxoffice_app::discounts::Redeemed, DiscountRefused> {
    let mut tx = t.app.db.begin().await.expect("tx");
    let r = t
        .app
        .redeem_in_tx(tx.ex(), customer_id, plan_id, code, reference)
        .await
        .expect("redeem runs");
    tx.commit().await.expect("commit");
    r
}

async fn quote(t: &TestApp, token: &str, customer_id: i64, plan_id: i64, code: &str) -> Value {
    let (s, v) = api(
        t,
        token,
        Method::POST,
        "/discount-codes/quote",
        Some(json!({"customer_id": customer_id, "plan_id": plan_id, "code": code})),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    v
}

async fn code_by_id(t: &TestApp, token: &str, id: i64) -> Value {
    let (s, v) = api(
        t,
        token,
        Method::GET,
        &format!("/discount-codes/{id}"),
        None,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    v
}

#[tokio::test]
async fn a_code_made_through_the_api_is_quoted_and_redeemed_once_per_customer() {
    let (t, token) = admin_app().await;
    let plan_id = plan(&t, &token, "Standard").await;
    let alex = customer(&t, "alex@example.com", Some(plan_id)).await;
    let sam = customer(&t, "sam@example.com", Some(plan_id)).await;

    let (s, v) = api(
        &t,
        &token,
        Method::POST,
        "/discount-codes",
        Some(json!({"code": " summer-10 ", "percent_off": 10, "description": "Summer sale"})),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["code"], "SUMMER-10");
    assert_eq!(v["state"], "usable");
    assert_eq!(v["used_count"], 0);
    assert_eq!(v["once_per_customer"], true);
    let id = v["id"].as_i64().expect("id");

    // The customer may type it in any case: 10 % of 15.00 comes off.
    let q = quote(&t, &token, alex, plan_id, "Summer-10").await;
    assert_eq!(q["applies"], true, "{q}");
    assert_eq!(
        (
            &q["price_minor"],
            &q["discount_minor"],
            &q["to_pay_minor"],
            &q["currency"]
        ),
        (&json!(1500), &json!(150), &json!(1350), &json!("USD"))
    );

    let first = redeem(&t, alex, plan_id, "summer-10", "checkout:a1")
        .await
        .expect("first use");
    assert_eq!(first.quote.to_pay.minor, 1350);
    assert!(!first.replayed);
    // The same checkout again (a retried webhook) is the same use, counted once.
    let again = redeem(&t, alex, plan_id, "SUMMER-10", "checkout:a1")
        .await
        .expect("replay");
    assert!(again.replayed);
    assert_eq!(again.redemption_id, first.redemption_id);
    // Another checkout of the same customer is refused.
    assert_eq!(
        redeem(&t, alex, plan_id, "SUMMER-10", "checkout:a2")
            .await
            .unwrap_err(),
        DiscountRefused::Refused(Refusal::AlreadyUsed)
    );
    let q = quote(&t, &token, alex, plan_id, "SUMMER-10").await;
    assert_eq!(q["applies"], false);
    assert_eq!(q["refusal"]["code"], "already_used");
    assert_eq!(q["refusal"]["message"], "you have already used this code");
    // Someone else still may.
    redeem(&t, sam, plan_id, "SUMMER-10", "checkout:s1")
        .await
        .expect("sam's use");
    assert_eq!(code_by_id(&t, &token, id).await["used_count"], 2);

    // An unknown code says so.
    let q = quote(&t, &token, alex, plan_id, "NOPE").await;
    assert_eq!(q["refusal"]["code"], "unknown");

    // The list page shows uses and state; the code's page lists each use.
    let page = t.get_html("/admin/discount-codes").await;
    assert!(page.contains("SUMMER-10"), "{page}");
    assert!(page.contains("2 / unlimited"), "{page}");
    let page = t.get_html(&format!("/admin/discount-codes/{id}")).await;
    assert!(
        page.contains("sam@example.com") && page.contains("checkout:s1"),
        "{page}"
    );

    // Adding, deactivating: each in the audit log; a deactivated code is refused.
    let (s, v) = api(
        &t,
        &token,
        Method::POST,
        &format!("/discount-codes/{id}/deactivate"),
        None,
    )
    .await;
    assert_eq!((s, &v["state"]), (200, &json!("inactive")), "{v}");
    let q = quote(
        &t,
        &token,
        customer(&t, "kim@example.com", None).await,
        plan_id,
        "SUMMER-10",
    )
    .await;
    assert_eq!(q["refusal"]["code"], "inactive");
    let actions: Vec<String> = t
        .app
        .recent_audit(50)
        .await
        .expect("audit")
        .into_iter()
        .map(|a| a.action)
        .collect();
    assert!(
        actions.iter().any(|a| a == "discount_codes.add"),
        "{actions:?}"
    );
    assert!(
        actions.iter().any(|a| a == "discount_codes.deactivate"),
        "{actions:?}"
    );
}

#[tokio::test]
async fn a_use_limit_reached_refuses_the_next_customer() {
    let (t, token) = admin_app().await;
    let plan_id = plan(&t, &token, "Standard").await;
    let alex = customer(&t, "alex@example.com", Some(plan_id)).await;
    let sam = customer(&t, "sam@example.com", Some(plan_id)).await;
    let (s, v) = api(
        &t,
        &token,
        Method::POST,
        "/discount-codes",
        Some(
            json!({"code": "FIRST", "amount_off_minor": 500, "max_uses": 1, "plan_ids": [plan_id]}),
        ),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(
        (&v["currency"], &v["use_limit"]),
        (&json!("USD"), &json!(1))
    );
    let id = v["id"].as_i64().expect("id");

    let r = redeem(&t, alex, plan_id, "FIRST", "payment:1")
        .await
        .expect("first use");
    assert_eq!(r.quote.to_pay.minor, 1000);
    let q = quote(&t, &token, sam, plan_id, "FIRST").await;
    assert_eq!(q["refusal"]["code"], "used_up", "{q}");
    assert_eq!(
        redeem(&t, sam, plan_id, "FIRST", "payment:2")
            .await
            .unwrap_err(),
        DiscountRefused::Refused(Refusal::UsedUp)
    );
    let v = code_by_id(&t, &token, id).await;
    assert_eq!(
        (&v["used_count"], &v["state"]),
        (&json!(1), &json!("used_up"))
    );
}

#[tokio::test]
async fn an_expired_code_is_refused() {
    let (t, token) = admin_app().await;
    let plan_id = plan(&t, &token, "Standard").await;
    let alex = customer(&t, "alex@example.com", Some(plan_id)).await;
    let now = t.app.now();

    // An expiry already past is refused when the code is made.
    let (s, v) = api(
        &t,
        &token,
        Method::POST,
        "/discount-codes",
        Some(json!({"code": "LATE", "percent_off": 5, "expires_at": now - 60})),
    )
    .await;
    assert_eq!(
        (s, &v["error"]["field"]),
        (422, &json!("expires_at")),
        "{v}"
    );

    let (s, v) = api(
        &t,
        &token,
        Method::POST,
        "/discount-codes",
        Some(json!({"code": "TODAY", "percent_off": 5, "expires_at": now + 3600})),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let id = v["id"].as_i64().expect("id");
    assert_eq!(
        quote(&t, &token, alex, plan_id, "TODAY").await["applies"],
        true
    );

    t.advance_clock(time::Duration::hours(2));
    let q = quote(&t, &token, alex, plan_id, "TODAY").await;
    assert_eq!(q["refusal"]["code"], "expired", "{q}");
    assert_eq!(
        redeem(&t, alex, plan_id, "TODAY", "checkout:x")
            .await
            .unwrap_err(),
        DiscountRefused::Refused(Refusal::Expired)
    );
    assert_eq!(code_by_id(&t, &token, id).await["state"], "expired");
    // Its other fields can still be edited while the past expiry stays as it was.
    let (s, v) = api(
        &t,
        &token,
        Method::PUT,
        &format!("/discount-codes/{id}"),
        Some(json!({"code": "TODAY", "percent_off": 5, "expires_at": now + 3600, "description": "over"})),
    )
    .await;
    assert_eq!((s, &v["description"]), (200, &json!("over")), "{v}");
}

#[tokio::test]
async fn refused_fields_are_named_in_the_api_and_marked_on_the_page() {
    let (t, token) = admin_app().await;
    let (s, v) = api(
        &t,
        &token,
        Method::POST,
        "/discount-codes",
        Some(json!({"code": "BOTH", "percent_off": 10, "amount_off_minor": 100})),
    )
    .await;
    assert_eq!(
        (s, &v["error"]["field"]),
        (422, &json!("percent_off")),
        "{v}"
    );
    assert_eq!(
        v["error"]["message"],
        "give either a percentage or an amount off, not both"
    );
    let (s, v) = api(
        &t,
        &token,
        Method::POST,
        "/discount-codes",
        Some(json!({"code": "ZERO", "amount_off_minor": 0})),
    )
    .await;
    assert_eq!(
        (s, &v["error"]["field"]),
        (422, &json!("amount_off_minor")),
        "{v}"
    );
    let (s, _) = api(
        &t,
        &token,
        Method::POST,
        "/discount-codes",
        Some(json!({"code": "ONCE", "percent_off": 10})),
    )
    .await;
    assert_eq!(s, 201);
    let (s, v) = api(
        &t,
        &token,
        Method::POST,
        "/discount-codes",
        Some(json!({"code": "once", "percent_off": 20})),
    )
    .await;
    assert_eq!((s, &v["error"]["field"]), (422, &json!("code")), "{v}");
    assert_eq!(v["error"]["message"], "the code ONCE already exists");

    // The form marks every field that needs a change, and keeps what was typed.
    let r = t
        .post_form(
            "/admin/discount-codes/new",
            "/admin/discount-codes",
            &[
                ("code", "10 OFF"),
                ("percent_off", "150"),
                ("customer_email", "not-an-address"),
                ("max_uses", "0"),
                ("expires_at", "tomorrow"),
                ("once_per_customer", "true"),
                ("active", "true"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.expect("body");
    for id in [
        "code-error",
        "percent_off-error",
        "customer_email-error",
        "max_uses-error",
        "expires_at-error",
    ] {
        assert!(
            html.contains(&format!("id=\"{id}\"")),
            "{id} missing: {html}"
        );
    }
    assert!(
        html.contains("Nothing was saved: 5 fields need a change."),
        "{html}"
    );
    assert!(html.contains("value=\"10 OFF\""), "{html}");

    // A good form saves and shows the code.
    let r = t
        .post_form(
            "/admin/discount-codes/new",
            "/admin/discount-codes",
            &[
                ("code", "spring"),
                ("amount_off", "2.50"),
                ("expires_at", "2099-01-01T00:00"),
                ("active", "true"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let page = t.get_html("/admin/discount-codes").await;
    assert!(
        page.contains("SPRING")
            && page.contains("2.50 USD")
            && page.contains("2099-01-01 00:00:00 UTC"),
        "{page}"
    );
}

#[tokio::test]
async fn a_referrer_is_credited_once_even_if_the_first_payment_hook_runs_twice() {
    let (t, token) = admin_app().await;
    let plan_id = plan(&t, &token, "Standard").await;
    t.app
        .set_settings(
            &Actor::cli(),
            &[
                ("referrals.bonus_enabled".into(), "true".into()),
                ("referrals.bonus_type".into(), "days".into()),
                ("referrals.bonus_value".into(), "7".into()),
                ("email.enabled".into(), "true".into()),
                ("general.admin_email".into(), "owner@example.com".into()),
            ],
        )
        .await
        .expect("settings");
    let referrer = customer(&t, "alex@example.com", Some(plan_id)).await;
    pay(&t, referrer, plan_id, 1500, 30, "tx-alex").await;
    let code = t.app.referral_code(referrer).await.expect("code");
    assert_eq!(
        t.app.referral_code(referrer).await.expect("same code"),
        code
    );

    let referred = customer(&t, "sam@example.com", None).await;
    let mut tx = t.app.db.begin().await.expect("tx");
    assert_eq!(
        t.app
            .record_referral_in_tx(tx.ex(), referred, &code.to_lowercase())
            .await
            .expect("referral"),
        Some(referrer)
    );
    tx.commit().await.expect("commit");
    let mut tx = t.app.db.begin().await.expect("tx");
    let own = t.app.record_referral_in_tx(tx.ex(), referrer, &code).await;
    assert!(
        matches!(
            own,
            Err(boxoffice_app::AppError::Invalid { field: "ref", .. })
        ),
        "{own:?}"
    );
    drop(tx);

    let first_payment = pay(&t, referred, plan_id, 1500, 30, "tx-sam").await;
    let before = customers::find(t.app.db.ex(), referrer)
        .await
        .expect("referrer")
        .covered_until;
    let mut credited = Vec::new();
    for _ in 0..2 {
        let mut tx = t.app.db.begin().await.expect("tx");
        credited.push(
            t.app
                .credit_referral_in_tx(tx.ex(), referred, first_payment)
                .await
                .expect("hook runs"),
        );
        tx.commit().await.expect("commit");
    }
    let first = credited[0].clone().expect("credited the first time");
    assert_eq!((first.bonus, first.applied_now), (Bonus::Days(7), true));
    assert_eq!(credited[1], None, "the second run credits nothing");

    let after = customers::find(t.app.db.ex(), referrer)
        .await
        .expect("referrer")
        .covered_until;
    assert_eq!(after, before.map(|b| b + 7 * DAY));
    let history = payments::list_for_customer(t.app.db.ex(), referrer)
        .await
        .expect("payments");
    assert_eq!(history.iter().filter(|p| p.source == "referral").count(), 1);

    // The referrer is told once, and so is the administrator.
    let (_, log) = api(&t, &token, Method::GET, "/notifications/log", None).await;
    let sent: Vec<(String, String)> = log["items"]
        .as_array()
        .expect("log")
        .iter()
        .map(|n| {
            (
                n["event"].as_str().unwrap_or_default().to_string(),
                n["recipient"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let count = |event: &str, to: &str| sent.iter().filter(|(e, r)| e == event && r == to).count();
    assert_eq!(count("referral_bonus", "alex@example.com"), 1, "{sent:?}");
    assert_eq!(count("system_message", "owner@example.com"), 1, "{sent:?}");

    // The referrer sees the link and the credit on My account.
    t.app
        .create_login(
            &Actor::cli(),
            "alex@example.com",
            "Sup3r-Secret!",
            RoleKind::User,
        )
        .await
        .expect("login");
    let http = client();
    let login_page = http
        .get(t.url("/login"))
        .send()
        .await
        .expect("login page")
        .text()
        .await
        .expect("body");
    let r = http
        .post(t.url("/login"))
        .form(&[
            ("email", "alex@example.com"),
            ("password", "Sup3r-Secret!"),
            ("csrf", &csrf_from(&login_page)),
        ])
        .send()
        .await
        .expect("login");
    assert_eq!(r.status(), 303);
    let page = http
        .get(t.url("/account"))
        .send()
        .await
        .expect("account")
        .text()
        .await
        .expect("body");
    assert!(page.contains(&format!("/register?ref={code}")), "{page}");
    assert!(
        page.contains("7 days") && page.contains("Added to your access"),
        "{page}"
    );
}

#[tokio::test]
async fn a_percentage_referral_bonus_is_clamped_and_waits_for_the_next_payment() {
    let (t, token) = admin_app().await;
    let plan_id = plan(&t, &token, "Standard").await;
    t.app
        .set_settings(
            &Actor::cli(),
            &[
                ("referrals.bonus_enabled".into(), "true".into()),
                ("referrals.bonus_type".into(), "percentage".into()),
                ("referrals.bonus_value".into(), "20".into()),
                ("referrals.bonus_max_amount".into(), "1".into()),
            ],
        )
        .await
        .expect("settings");
    let referrer = customer(&t, "alex@example.com", Some(plan_id)).await;
    let code = t.app.referral_code(referrer).await.expect("code");
    let referred = customer(&t, "sam@example.com", None).await;
    let mut tx = t.app.db.begin().await.expect("tx");
    t.app
        .record_referral_in_tx(tx.ex(), referred, &code)
        .await
        .expect("referral");
    // A free period (a trial) earns nothing and leaves the bonus for the real first payment.
    let trial = {
        let now = t.app.now();
        payments::insert(
            tx.ex(),
            NewPayment {
                customer_id: referred,
                plan_id,
                amount_minor: 0,
                currency: "USD",
                period_from: now,
                period_to: now + DAY,
                method: "trial",
                transaction_id: "trial-sam",
                sequence: 1,
                subscription_id: "",
                notes: "",
                source: "manual",
                now,
            },
        )
        .await
        .expect("trial")
        .id
    };
    assert_eq!(
        t.app
            .credit_referral_in_tx(tx.ex(), referred, trial)
            .await
            .expect("hook"),
        None
    );
    tx.commit().await.expect("commit");

    let paid = pay(&t, referred, plan_id, 1000, 30, "tx-sam").await;
    let mut tx = t.app.db.begin().await.expect("tx");
    let c = t
        .app
        .credit_referral_in_tx(tx.ex(), referred, paid)
        .await
        .expect("hook")
        .expect("credited");
    // 20 % of 10.00 is 2.00, clamped to the 1.00 maximum; it waits for the next payment.
    assert!(!c.applied_now);
    assert!(
        matches!(c.bonus, Bonus::Credit(m) if m.minor == 100),
        "{:?}",
        c.bonus
    );
    let used = t
        .app
        .use_referral_credits_in_tx(tx.ex(), referrer, "checkout:next")
        .await
        .expect("use");
    assert_eq!(
        used.money.iter().map(|m| m.minor).collect::<Vec<_>>(),
        vec![100]
    );
    let again = t
        .app
        .use_referral_credits_in_tx(tx.ex(), referrer, "checkout:later")
        .await
        .expect("use");
    assert!(again.credit_ids.is_empty());
    tx.commit().await.expect("commit");
}

#[tokio::test]
async fn checkouts_racing_for_the_last_uses_never_take_more_than_the_limit() {
    let (t, token) = admin_app().await;
    let plan_id = plan(&t, &token, "Standard").await;
    let (s, v) = api(
        &t,
        &token,
        Method::POST,
        "/discount-codes",
        Some(json!({"code": "RUSH", "percent_off": 50, "max_uses": 3})),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let id = v["id"].as_i64().expect("id");
    let mut ids = Vec::new();
    for i in 0..10 {
        ids.push(customer(&t, &format!("c{i}@example.com"), Some(plan_id)).await);
    }
    let mut tasks = Vec::new();
    for (i, c) in ids.into_iter().enumerate() {
        let app = t.app.clone();
        tasks.push(tokio::spawn(async move {
            let mut tx = app.db.begin().await.expect("tx");
            let r = app
                .redeem_in_tx(tx.ex(), c, plan_id, "RUSH", &format!("checkout:{i}"))
                .await
                .expect("redeem runs");
            tx.commit().await.expect("commit");
            r
        }));
    }
    let mut won = 0;
    for task in tasks {
        match task.await.expect("task") {
            Ok(_) => won += 1,
            Err(r) => assert_eq!(r, DiscountRefused::Refused(Refusal::UsedUp)),
        }
    }
    assert_eq!(won, 3);
    let v = code_by_id(&t, &token, id).await;
    assert_eq!(
        (&v["used_count"], &v["state"]),
        (&json!(3), &json!("used_up"))
    );
    let page = t.get_html(&format!("/admin/discount-codes/{id}")).await;
    assert_eq!(page.matches("checkout:").count(), 3, "three uses listed");
}
