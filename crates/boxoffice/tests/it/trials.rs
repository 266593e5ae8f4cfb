//! Free trials on the fakes: a customer starts the trial from the checkout page and lands on the
//! server that takes trials; one trial per person, by e-mail and by media account; the cap on
//! trial users; "force a trial before the first purchase"; and buying a plan afterwards moves
//! the customer off a trial-only server.

use crate::helpers::{csrf_from, location};
use crate::lifecycle::{exec, open_server, plan, set};
use crate::payments_webhooks::{STANDARD, count, customer_login, gateway_ref, run_all_jobs, shop};
use crate::servers::MediaTest;
use boxoffice_app::AppError;
use boxoffice_app::payments::trial::{TRIAL_ALREADY_HAD, TRIAL_FIRST, TRIAL_FULL};
use boxoffice_app::payments::{CheckoutMode, CheckoutRefused, CheckoutRequest, Provider};

pub(crate) const TRIAL_GROUP: i64 = 4;
pub(crate) const TRIAL_PLAN: i64 = 3;

/// `shop()` plus a trial plan (7 days free) whose only group is "Trial", held by the Plex
/// server's Movies, with trials switched on and the server allowing trial subscriptions.
pub(crate) async fn trial_shop() -> (MediaTest, i64) {
    let (m, server) = shop().await;
    exec(
        &m.t.app.db,
        format!(
            "INSERT INTO library_groups (id, name, created_at) VALUES ({TRIAL_GROUP}, 'Trial', 0)"
        ),
    )
    .await;
    exec(
        &m.t.app.db,
        format!("UPDATE libraries SET library_group_id = {TRIAL_GROUP} WHERE server_id = {server} AND name = 'TV Shows'"),
    )
    .await;
    plan(&m.t.app.db, TRIAL_PLAN, "Trial", 0, &[TRIAL_GROUP], &[]).await;
    exec(
        &m.t.app.db,
        format!("UPDATE plans SET is_trial = TRUE, duration_count = 7 WHERE id = {TRIAL_PLAN}"),
    )
    .await;
    exec(
        &m.t.app.db,
        format!("UPDATE servers SET allow_trial_subscriptions = TRUE WHERE id = {server}"),
    )
    .await;
    set(&m, "subscriptions.trial_enabled", "true").await;
    (m, server)
}

/// A customer's browser: its own cookies, logged in (the login is created first).
pub(crate) async fn customer_browser(m: &MediaTest, email: &str) -> reqwest::Client {
    customer_login(m, email).await;
    logged_in(m, email).await
}

pub(crate) async fn logged_in(m: &MediaTest, email: &str) -> reqwest::Client {
    let c = crate::helpers::client();
    let page = c
        .get(m.t.url("/login"))
        .send()
        .await
        .expect("login page")
        .text()
        .await
        .expect("body");
    let r = c
        .post(m.t.url("/login"))
        .form(&[
            ("email", email),
            ("password", "Cust0mer-Pass!"),
            ("csrf", &csrf_from(&page)),
        ])
        .send()
        .await
        .expect("login");
    assert_eq!(r.status(), 303, "logged in");
    c
}

pub(crate) async fn page(m: &MediaTest, c: &reqwest::Client, path: &str) -> String {
    c.get(m.t.url(path))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("body")
}

/// Posts the trial form of the checkout page.
pub(crate) async fn post_trial(m: &MediaTest, c: &reqwest::Client) -> reqwest::Response {
    let html = page(m, c, "/checkout").await;
    c.post(m.t.url("/checkout/trial"))
        .form(&[
            ("plan_id", TRIAL_PLAN.to_string().as_str()),
            ("csrf", &csrf_from(&html)),
        ])
        .send()
        .await
        .expect("trial")
}

/// The login of `email`, created the first time.
async fn login_of(m: &MediaTest, email: &str) -> i64 {
    let n = count(
        m,
        &format!("SELECT COUNT(*) FROM logins WHERE email = '{email}'"),
    )
    .await;
    if n == 0 {
        customer_login(m, email).await
    } else {
        count(m, &format!("SELECT id FROM logins WHERE email = '{email}'")).await
    }
}

async fn trial_of(m: &MediaTest, email: &str) -> Result<(), String> {
    let login = login_of(m, email).await;
    match m.t.app.start_trial(login, email, TRIAL_PLAN, None).await {
        Ok(_) => Ok(()),
        Err(CheckoutRefused::App(AppError::Conflict(why))) => Err(why),
        Err(e) => panic!("unexpected refusal: {e:?}"),
    }
}

/// (server id, state) of every share of the customer with this e-mail.
pub(crate) async fn shares_of(m: &MediaTest, email: &str) -> Vec<(i64, String)> {
    let email = email.to_string();
    boxoffice_store::run!(m.t.app.db.ex(), |e| sqlx::query_as::<_, (i64, String)>(
        "SELECT s.server_id, s.state FROM shares s JOIN customers c ON c.id = s.customer_id
         WHERE c.email = $1 ORDER BY s.server_id"
    )
    .bind(email.clone())
    .fetch_all(e)
    .await)
    .expect("shares")
}

#[tokio::test]
async fn a_customer_starts_the_free_trial_from_the_checkout_page_and_sees_it_on_my_account() {
    let (m, server) = trial_shop().await;
    let c = customer_browser(&m, "tina@example.com").await;
    let html = page(&m, &c, "/checkout").await;
    assert!(
        html.contains("id=\"trial-form\"") && html.contains("free for 7 days"),
        "{html}"
    );

    let r = post_trial(&m, &c).await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/account?done=trial_started");
    run_all_jobs(&m).await;
    let account = page(&m, &c, &location(&r)).await;
    assert!(
        account.contains("id=\"sub-trial\"") && account.contains("Your free trial has started"),
        "{account}"
    );
    assert!(account.contains("Trial"), "{account}");
    assert_eq!(
        shares_of(&m, "tina@example.com").await,
        vec![(server, "invited".to_string())]
    );
    assert_eq!(
        count(
            &m,
            "SELECT COUNT(*) FROM payments WHERE method = 'trial' AND amount_minor = 0"
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &m,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'trial.started'"
        )
        .await,
        1,
        "the trial is in the audit log"
    );
}

#[tokio::test]
async fn one_trial_per_person_by_login_email_and_by_media_account_even_after_deletion() {
    let (m, _) = trial_shop().await;
    trial_of(&m, "uma@example.com").await.expect("first trial");
    assert_eq!(
        trial_of(&m, "uma@example.com").await,
        Err("Your subscription is running: a free trial is for new customers.".into())
    );

    // Another login whose customer names the same Plex account.
    exec(
        &m.t.app.db,
        "INSERT INTO customers (email, email_key, plex_email, jellyfin_username, emby_username, created_at, updated_at)
         VALUES ('vic@example.com', 'vic@example.com', 'UMA@example.com', 'vic', 'vic', 0, 0)"
            .to_string(),
    )
    .await;
    assert_eq!(
        trial_of(&m, "vic@example.com").await,
        Err(TRIAL_ALREADY_HAD.into())
    );

    // The customer is deleted and comes back with the same e-mail: still no second trial.
    exec(
        &m.t.app.db,
        "DELETE FROM customers WHERE email = 'uma@example.com'".to_string(),
    )
    .await;
    let login: i64 = count(&m, "SELECT id FROM logins WHERE email = 'uma@example.com'").await;
    let again =
        m.t.app
            .start_trial(login, "uma@example.com", TRIAL_PLAN, None)
            .await;
    assert!(
        matches!(&again, Err(CheckoutRefused::App(AppError::Conflict(w))) if w == TRIAL_ALREADY_HAD),
        "{again:?}"
    );
    assert_eq!(
        count(&m, "SELECT COUNT(*) FROM payments WHERE method = 'trial'").await,
        0,
        "the refused trials wrote nothing (the first went with its customer)"
    );
}

#[tokio::test]
async fn the_trial_user_cap_refuses_new_trials_until_a_trial_ends() {
    let (m, _) = trial_shop().await;
    set(&m, "subscriptions.max_trial_users", "1").await;
    trial_of(&m, "walt@example.com").await.expect("first trial");
    assert_eq!(
        trial_of(&m, "xena@example.com").await,
        Err(TRIAL_FULL.into())
    );
    let c = logged_in(&m, "xena@example.com").await;
    let html = page(&m, &c, "/checkout").await;
    assert!(html.contains("id=\"trial-refused\""), "{html}");

    m.t.advance_clock(time::Duration::days(8));
    trial_of(&m, "xena@example.com")
        .await
        .expect("a place came free when the first trial ended");
}

#[tokio::test]
async fn force_trial_first_holds_a_new_customer_to_the_trial_before_buying() {
    let (m, _) = trial_shop().await;
    set(&m, "subscriptions.force_trial_first", "true").await;
    let c = customer_browser(&m, "yann@example.com").await;
    let html = page(&m, &c, "/checkout").await;
    assert!(
        html.contains("id=\"trial-first\"") && !html.contains("id=\"checkout-form\""),
        "{html}"
    );
    let login: i64 = count(&m, "SELECT id FROM logins WHERE email = 'yann@example.com'").await;
    let req = || CheckoutRequest {
        plan_id: 1,
        provider: Provider::Stripe,
        mode: CheckoutMode::OneOff,
        discount_code: None,
        origin: m.t.base.clone(),
    };
    let refused =
        m.t.app
            .start_checkout(login, "yann@example.com", req())
            .await;
    assert!(
        matches!(&refused, Err(CheckoutRefused::App(AppError::Invalid { message, .. })) if message == TRIAL_FIRST),
        "{refused:?}"
    );
    assert_eq!(count(&m, "SELECT COUNT(*) FROM checkouts").await, 0);

    assert_eq!(post_trial(&m, &c).await.status(), 303);
    m.t.app
        .start_checkout(login, "yann@example.com", req())
        .await
        .expect("after the trial, plans can be bought");
}

#[tokio::test]
async fn trials_switched_off_are_neither_offered_nor_started() {
    let (m, _) = trial_shop().await;
    set(&m, "subscriptions.trial_enabled", "false").await;
    let c = customer_browser(&m, "zoe@example.com").await;
    let html = page(&m, &c, "/checkout").await;
    assert!(!html.contains("id=\"trial-form\""), "{html}");
    let r = c
        .post(m.t.url("/checkout/trial"))
        .form(&[("plan_id", "3"), ("csrf", &csrf_from(&html))])
        .send()
        .await
        .expect("trial");
    assert_eq!(r.status(), 409);
    assert_eq!(count(&m, "SELECT COUNT(*) FROM payments").await, 0);
}

#[tokio::test]
async fn buying_a_plan_after_a_trial_moves_the_customer_off_the_trial_only_server() {
    let (m, plex) = trial_shop().await;
    // The Plex server becomes trial-only: its Standard libraries go to the Trial group too, and
    // a Jellyfin server carries the paid plan.
    exec(
        &m.t.app.db,
        format!("UPDATE libraries SET library_group_id = {TRIAL_GROUP} WHERE server_id = {plex} AND library_group_id = {STANDARD}"),
    )
    .await;
    let jf = m.add_jellyfin().await;
    m.t.run_pending_jobs().await;
    open_server(&m.t.app.db, jf, &[("Movies", STANDARD)]).await;

    trial_of(&m, "abe@example.com").await.expect("trial");
    run_all_jobs(&m).await;
    assert_eq!(
        shares_of(&m, "abe@example.com").await,
        vec![(plex, "invited".to_string())],
        "the trial lands on the only server allowing trials"
    );

    // The trial customer buys Basic as a plan change: the trial ends now.
    m.world.payments.stripe.set_webhook_url(None, None);
    let login: i64 = count(&m, "SELECT id FROM logins WHERE email = 'abe@example.com'").await;
    let started =
        m.t.app
            .start_checkout_with(
                login,
                "abe@example.com",
                CheckoutRequest {
                    plan_id: 1,
                    provider: Provider::Stripe,
                    mode: CheckoutMode::OneOff,
                    discount_code: None,
                    origin: m.t.base.clone(),
                },
                boxoffice_app::payments::CheckoutExtras {
                    location_id: None,
                    change_plan: true,
                },
            )
            .await
            .expect("checkout");
    let cs = gateway_ref(&m, started.checkout_id).await;
    m.world.payments.stripe.pay_session(&cs).expect("paid");
    m.t.app
        .confirm_checkout(started.checkout_id)
        .await
        .expect("confirmed");
    run_all_jobs(&m).await;
    let shares = shares_of(&m, "abe@example.com").await;
    assert!(
        shares.contains(&(plex, "removed".to_string()))
            && shares.iter().any(|(s, st)| *s == jf && st != "removed"),
        "moved from the trial server to the paid one: {shares:?}"
    );
}
