//! The customer's way in (product §8.5, §28.1, §5.5): registration under the Registration
//! settings, the confirmation e-mail read from the SMTP catcher, login only once confirmed, a
//! referral link's code recorded, the forgotten-password link (once), and the home page's
//! pricing section.

use crate::helpers::{client, csrf_from, location};
use crate::lifecycle::set;
use crate::media_password::email_to_catcher;
use crate::servers::{MediaTest, media_test};
use boxoffice_app::audit::Actor;
use boxoffice_domain::RoleKind;
use boxoffice_fakes::PlexAccountSeed;
use boxoffice_store::{Db, StoreError, affected, customers, logins, referrals};

const PASSWORD: &str = "Cust0mer-Secret!";

/// Someone not logged in, with a browser's cookie jar.
struct Visitor {
    c: reqwest::Client,
    base: String,
}

impl Visitor {
    fn new(m: &MediaTest) -> Self {
        Visitor {
            c: client(),
            base: m.t.base.clone(),
        }
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.c
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("request")
    }

    async fn html(&self, path: &str) -> String {
        self.get(path).await.text().await.expect("body")
    }

    async fn post(&self, page: &str, action: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let csrf = csrf_from(&self.html(page).await);
        let mut all = fields.to_vec();
        all.push(("csrf", &csrf));
        self.c
            .post(format!("{}{action}", self.base))
            .form(&all)
            .send()
            .await
            .expect("request")
    }

    async fn register(&self, fields: &[(&str, &str)]) -> (u16, String) {
        let r = self.post("/register", "/register", fields).await;
        let status = r.status().as_u16();
        (status, r.text().await.expect("body"))
    }

    async fn login(&self, email: &str, password: &str) -> reqwest::Response {
        self.post(
            "/login",
            "/login",
            &[("email", email), ("password", password)],
        )
        .await
    }
}

fn ann() -> Vec<(&'static str, &'static str)> {
    vec![
        ("email", "Ann@Example.com"),
        ("password", PASSWORD),
        ("confirm", PASSWORD),
    ]
}

/// The link on the site URI that the one message to `rcpt` whose subject starts with
/// `subject` carries, for `path` (e.g. "/register/confirm/").
async fn emailed_link(m: &MediaTest, rcpt: &str, subject: &str, path: &str) -> String {
    m.t.run_pending_jobs().await;
    let msg = crate::media_password::message(m, rcpt, subject);
    let text = msg.text.clone().expect("text part");
    let start = format!("{}{path}", m.t.base);
    let at = text
        .find(&start)
        .unwrap_or_else(|| panic!("a {start}… link in {text}"));
    text[at..]
        .split_whitespace()
        .next()
        .expect("link")
        .to_string()
}

async fn login_count(db: &Db) -> i64 {
    boxoffice_store::run!(db.ex(), |e| sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM logins"
    )
    .fetch_one(e)
    .await)
    .expect("count")
}

async fn customer_count(db: &Db) -> i64 {
    boxoffice_store::run!(db.ex(), |e| sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM customers"
    )
    .fetch_one(e)
    .await)
    .expect("count")
}

async fn exec(db: &Db, sql: &str) {
    affected!(db.ex(), |e| sqlx::query(sqlx::AssertSqlSafe(
        sql.to_string()
    ))
    .execute(e)
    .await)
    .expect("sql");
}

#[tokio::test]
async fn a_visitor_registers_confirms_by_the_emailed_link_and_then_logs_in() {
    let m = media_test().await;
    email_to_catcher(&m).await;
    let v = Visitor::new(&m);

    let form = v.html("/register").await;
    assert!(form.contains("id=\"register-form\""), "{form}");
    assert!(
        form.contains("At least 8 characters, with an upper-case letter"),
        "the password rule is shown"
    );
    let (status, page) = v.register(&ann()).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("id=\"register-done\""), "{page}");
    assert!(page.contains("Ann@Example.com"), "{page}");

    let login = logins::find_by_email_key(m.t.app.db.ex(), "ann@example.com")
        .await
        .expect("the login exists");
    assert!(!login.email_confirmed);
    let customer = customers::find_by_email_key(m.t.app.db.ex(), "ann@example.com")
        .await
        .expect("the customer exists");
    assert_eq!(customer.email, "Ann@Example.com");
    // No user name given: the Jellyfin and Emby user will be named by the e-mail, so a
    // Jellyfin or Emby server can take her at checkout; Plex waits for a Plex e-mail.
    assert_eq!(
        (
            customer.jellyfin_username.as_str(),
            customer.emby_username.as_str(),
            customer.plex_email.as_str()
        ),
        ("Ann@Example.com", "Ann@Example.com", "")
    );

    // Before the link is followed, the right password is not enough.
    let r = v.login("ann@example.com", PASSWORD).await;
    assert_eq!(r.status(), 403);
    let body = r.text().await.expect("body");
    assert!(body.contains("Confirm your e-mail address first"), "{body}");

    let link = emailed_link(&m, "Ann@Example.com", "Confirm your", "/register/confirm/").await;
    let path = link.trim_start_matches(&m.t.base);
    let r = v.get(path).await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/login?notice=confirmed");
    let again = v.get(path).await;
    assert_eq!(again.status(), 404, "the link works once");

    let r = v.login("ann@example.com", PASSWORD).await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/account");
    let account = v.get("/account").await;
    assert_eq!(account.status(), 200);
    // Two-factor authentication with an authenticator app, as for staff.
    let security = v.html("/security").await;
    assert!(security.contains("/security/totp/start"), "{security}");
    // A customer login reaches no admin page.
    assert_eq!(v.get("/admin/users").await.status(), 403);
}

#[tokio::test]
async fn registration_names_every_bad_field_and_writes_nothing() {
    let m = media_test().await;
    email_to_catcher(&m).await;
    set(&m, "registration.require_discord", "true").await;
    let v = Visitor::new(&m);
    let (logins_before, customers_before) = (
        login_count(&m.t.app.db).await,
        customer_count(&m.t.app.db).await,
    );

    let (status, page) = v
        .register(&[
            ("email", "not-an-email"),
            ("password", "weakpass"),
            ("confirm", "weakpass"),
            ("media_username", "bad/name"),
            ("discord_username", ""),
            ("discord_id", "ann#1234"),
            ("referral_code", "NOSUCHCODE"),
        ])
        .await;
    assert_eq!(status, 422, "{page}");
    for id in [
        "email-error",
        "password-error",
        "media_username-error",
        "discord_username-error",
        "discord_id-error",
        "referral_code-error",
    ] {
        assert!(page.contains(&format!("id=\"{id}\"")), "{id} in {page}");
    }
    assert!(page.contains("The password needs"), "{page}");
    assert!(page.contains("is not a referral code"), "{page}");
    assert!(
        page.contains("value=\"NOSUCHCODE\""),
        "typed values are kept"
    );

    // The two passwords differ.
    let (status, page) = v
        .register(&[
            ("email", "bob@example.com"),
            ("password", PASSWORD),
            ("confirm", "Cust0mer-Secret?"),
            ("discord_username", "bob"),
            ("discord_id", "123456789012345678"),
        ])
        .await;
    assert_eq!(status, 422);
    assert!(page.contains("id=\"confirm-error\""), "{page}");

    // An e-mail a login already uses.
    let (status, page) = v
        .register(&[
            ("email", crate::helpers::ADMIN_EMAIL),
            ("password", PASSWORD),
            ("confirm", PASSWORD),
            ("discord_username", "bob"),
            ("discord_id", "123456789012345678"),
        ])
        .await;
    assert_eq!(status, 422);
    assert!(
        page.contains("An account with this e-mail already exists"),
        "{page}"
    );

    assert_eq!(login_count(&m.t.app.db).await, logins_before);
    assert_eq!(customer_count(&m.t.app.db).await, customers_before);
    m.t.run_pending_jobs().await;
    assert!(m.world.smtp.messages().is_empty(), "no e-mail went out");
}

#[tokio::test]
async fn a_plex_email_plex_tv_does_not_know_is_refused() {
    let m = media_test().await;
    email_to_catcher(&m).await;
    m.add_plex_account_via_page().await;
    m.world.plex_tv.register_account(PlexAccountSeed {
        username: "ann-plex".into(),
        email: "ann.plex@example.com".into(),
        id: None,
        token: None,
        home: false,
    });
    let v = Visitor::new(&m);
    let mut fields = ann();
    fields.push(("plex_email", "nobody@example.com"));
    let (status, page) = v.register(&fields).await;
    assert_eq!(status, 422, "{page}");
    assert!(page.contains("id=\"plex_email-error\""), "{page}");
    assert!(
        page.contains("plex.tv knows no account with the e-mail nobody@example.com"),
        "{page}"
    );
    assert_eq!(
        logins::find_by_email_key(m.t.app.db.ex(), "ann@example.com")
            .await
            .err()
            .map(|e| e.is_not_found()),
        Some(true)
    );

    let mut fields = ann();
    fields.push(("plex_email", "ann.plex@example.com"));
    let (status, page) = v.register(&fields).await;
    assert_eq!(status, 200, "{page}");
    let c = customers::find_by_email_key(m.t.app.db.ex(), "ann@example.com")
        .await
        .expect("customer");
    assert_eq!(c.plex_email, "ann.plex@example.com");
}

#[tokio::test]
async fn closed_registrations_refuse_with_a_clear_page() {
    let m = media_test().await;
    email_to_catcher(&m).await;
    set(&m, "registration.enabled", "false").await;
    let v = Visitor::new(&m);
    let page = v.html("/register").await;
    assert!(page.contains("id=\"register-closed\""), "{page}");
    assert!(page.contains("Registrations are closed"), "{page}");
    // A form opened before registrations closed is answered with the same page.
    let r = v.post("/login", "/register", &ann()).await;
    assert_eq!(r.status(), 403);
    let page = r.text().await.expect("body");
    assert!(page.contains("Registrations are closed"), "{page}");

    // Not public, and neither sharers nor referral codes let anyone in: closed too.
    set(&m, "registration.enabled", "true").await;
    set(&m, "registration.public", "false").await;
    set(&m, "registration.sharers_allowed", "false").await;
    assert!(v.html("/register").await.contains("id=\"register-closed\""));
    let r = v.post("/login", "/register", &ann()).await;
    assert_eq!(r.status(), 403);

    // Current sharers only: an e-mail on no server is refused on its field.
    set(&m, "registration.sharers_allowed", "true").await;
    let (status, page) = v.register(&ann()).await;
    assert_eq!(status, 422, "{page}");
    assert!(page.contains("already use one of our servers"), "{page}");

    assert!(
        logins::find_by_email_key(m.t.app.db.ex(), "ann@example.com")
            .await
            .is_err_and(|e| matches!(e, StoreError::NotFound))
    );
}

#[tokio::test]
async fn a_referral_link_prefills_the_code_and_records_who_referred_whom() {
    let m = media_test().await;
    email_to_catcher(&m).await;
    let first = Visitor::new(&m);
    let (status, _) = first
        .register(&[
            ("email", "rita@example.com"),
            ("password", PASSWORD),
            ("confirm", PASSWORD),
        ])
        .await;
    assert_eq!(status, 200);
    let rita = customers::find_by_email_key(m.t.app.db.ex(), "rita@example.com")
        .await
        .expect("rita")
        .id;
    let code = m.t.app.referral_code(rita).await.expect("code");

    // Referral codes only: no code is refused, the link's code lets Ann in.
    set(&m, "registration.public", "false").await;
    set(&m, "registration.sharers_allowed", "false").await;
    set(&m, "referrals.allow_registrations", "true").await;
    let v = Visitor::new(&m);
    let (status, page) = v.register(&ann()).await;
    assert_eq!(status, 422, "{page}");
    assert!(page.contains("id=\"referral_code-error\""), "{page}");

    let form = v.html(&format!("/register?ref={code}")).await;
    assert!(form.contains(&format!("value=\"{code}\"")), "{form}");
    let mut fields = ann();
    fields.push(("referral_code", &code));
    let (status, page) = v.register(&fields).await;
    assert_eq!(status, 200, "{page}");
    let ann = customers::find_by_email_key(m.t.app.db.ex(), "ann@example.com")
        .await
        .expect("ann")
        .id;
    let (referrer, used) = referrals::referrer_of(m.t.app.db.ex(), ann)
        .await
        .expect("read")
        .expect("Ann was referred");
    assert_eq!(referrer, rita);
    assert_eq!(used, code);
}

#[tokio::test]
async fn registration_attempts_are_throttled_per_address() {
    let m = media_test().await;
    email_to_catcher(&m).await;
    set(&m, "security.login_attempts_before_delay", "1").await;
    let v = Visitor::new(&m);
    let bad = [("email", "x"), ("password", "x"), ("confirm", "x")];
    // Per address, four times the per-account allowance pass before the delay starts.
    for _ in 0..4 {
        let (status, _) = v.register(&bad).await;
        assert_eq!(status, 422);
    }
    let r = v.post("/register", "/register", &bad).await;
    assert_eq!(r.status(), 429);
    assert!(r.headers().get("retry-after").is_some());
    let body = r.text().await.expect("body");
    assert!(body.contains("Too many registrations"), "{body}");
}

#[tokio::test]
async fn a_forgotten_password_is_reset_once_by_the_emailed_link_and_other_sessions_end() {
    let m = media_test().await;
    email_to_catcher(&m).await;
    m.t.app
        .create_login(
            &Actor::system(),
            "cara@example.com",
            PASSWORD,
            RoleKind::User,
        )
        .await
        .expect("login");
    let elsewhere = Visitor::new(&m);
    assert_eq!(
        elsewhere.login("cara@example.com", PASSWORD).await.status(),
        303
    );
    assert_eq!(elsewhere.get("/account").await.status(), 200);

    let v = Visitor::new(&m);
    assert!(v.html("/login").await.contains("href=\"/password/forgot\""));
    // The same answer whether or not the address has an account.
    for who in ["nobody@example.com", "Cara@example.com"] {
        let r = v
            .post("/password/forgot", "/password/forgot", &[("email", who)])
            .await;
        assert_eq!(r.status(), 200);
        let body = r.text().await.expect("body");
        assert!(body.contains("id=\"forgot-sent\""), "{body}");
    }
    let link = emailed_link(&m, "cara@example.com", "Reset your", "/password/reset/").await;
    assert!(m.world.smtp.messages_to("nobody@example.com").is_empty());
    let path = link.trim_start_matches(&m.t.base).to_string();

    assert_eq!(v.get(&path).await.status(), 200);
    let r = v
        .post(&path, &path, &[("password", "short"), ("confirm", "short")])
        .await;
    assert_eq!(r.status(), 422);
    let body = r.text().await.expect("body");
    assert!(body.contains("id=\"password-error\""), "{body}");

    let new = "N3w-Password!";
    let r = v
        .post(&path, &path, &[("password", new), ("confirm", new)])
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/login?notice=password_reset");

    // The link is spent, the old session ended, the old password gone.
    assert_eq!(v.get(&path).await.status(), 404);
    let r = elsewhere.get("/account").await;
    assert_eq!(r.status(), 303, "the other session ended");
    assert_eq!(v.login("cara@example.com", PASSWORD).await.status(), 401);
    let r = v.login("cara@example.com", new).await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/account");
}

#[tokio::test]
async fn the_home_page_lists_the_active_plans_and_hides_inactive_ones() {
    let m = media_test().await;
    email_to_catcher(&m).await;
    let db = &m.t.app.db;
    exec(db, "INSERT INTO plans (name, description, cost_minor, currency, duration_unit, duration_count, stream_limit, created_at, updated_at) VALUES ('Basic', 'HD films and series', 1000, 'USD', 'days', 30, 2, 0, 0)").await;
    exec(db, "INSERT INTO plans (name, cost_minor, currency, duration_unit, duration_count, created_at, updated_at) VALUES ('Family', 4550, 'EUR', 'months', 3, 0, 0)").await;
    exec(db, "INSERT INTO plans (name, cost_minor, currency, duration_unit, duration_count, active, created_at, updated_at) VALUES ('Retired', 500, 'USD', 'days', 30, FALSE, 0, 0)").await;
    set(&m, "content.home_section1_title", "Welcome <b>in</b>").await;
    set(
        &m,
        "content.home_section1_body",
        "First paragraph.\n\n<script>alert(1)</script>",
    )
    .await;

    let v = Visitor::new(&m);
    let r = v.get("/").await;
    assert_eq!(r.status(), 200);
    let page = r.text().await.expect("body");
    assert!(page.contains("id=\"home-pricing\""), "{page}");
    assert!(
        page.contains("Basic") && page.contains("10.00 USD") && page.contains("30 days"),
        "{page}"
    );
    assert!(
        page.contains("2 streams at a time") && page.contains("HD films and series"),
        "{page}"
    );
    assert!(
        page.contains("Family") && page.contains("45.50 EUR") && page.contains("3 months"),
        "{page}"
    );
    assert!(!page.contains("Retired"), "an inactive plan is not offered");
    assert!(
        page.contains("href=\"/register\"") && page.contains("href=\"/login\""),
        "{page}"
    );
    assert!(
        page.contains("Welcome &#60;b&#62;in&#60;/b&#62;"),
        "titles are text: {page}"
    );
    assert!(page.contains("<p>First paragraph.</p>"), "{page}");
    assert!(!page.contains("<script>alert"), "bodies are text");

    // A customer sees it too, with a way to their account.
    m.t.app
        .create_login(
            &Actor::system(),
            "dan@example.com",
            PASSWORD,
            RoleKind::User,
        )
        .await
        .expect("login");
    let dan = Visitor::new(&m);
    assert_eq!(dan.login("dan@example.com", PASSWORD).await.status(), 303);
    let page = dan.html("/").await;
    assert!(page.contains("id=\"home-account\""), "{page}");
    assert!(!page.contains("id=\"home-register\""), "{page}");

    // Login-only home page; the pricing section switched off.
    set(&m, "general.home_page_public", "false").await;
    let r = v.get("/").await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/login");
    set(&m, "content.show_pricing", "false").await;
    let page = dan.html("/").await;
    assert!(!page.contains("id=\"home-pricing\""), "{page}");
    // Staff go to the dashboard.
    let r = m.t.get("/").await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/admin");
}

#[tokio::test]
async fn with_public_registration_off_a_current_sharer_registers_onto_their_customer() {
    let m = media_test().await;
    email_to_catcher(&m).await;
    let server = m.add_plex_server_via_page().await;
    let db = &m.t.app.db;
    // Erin is on the server (imported, no login yet), known by her Plex e-mail; Fay's share was
    // removed.
    exec(db, "INSERT INTO customers (email, email_key, plex_email, created_at, updated_at) VALUES ('erin@example.com', 'erin@example.com', 'Erin.Plex@example.com', 0, 0)").await;
    exec(db, "INSERT INTO customers (email, email_key, created_at, updated_at) VALUES ('fay@example.com', 'fay@example.com', 0, 0)").await;
    exec(db, &format!("INSERT INTO shares (customer_id, server_id, state, created_at, updated_at) SELECT id, {server}, 'active', 0, 0 FROM customers WHERE email_key = 'erin@example.com'")).await;
    exec(db, &format!("INSERT INTO shares (customer_id, server_id, state, created_at, updated_at) SELECT id, {server}, 'removed', 0, 0 FROM customers WHERE email_key = 'fay@example.com'")).await;
    set(&m, "registration.public", "false").await;

    let v = Visitor::new(&m);
    assert!(
        v.html("/register")
            .await
            .contains("people who already use one of our servers")
    );
    let (status, page) = v
        .register(&[
            ("email", "fay@example.com"),
            ("password", PASSWORD),
            ("confirm", PASSWORD),
        ])
        .await;
    assert_eq!(status, 422, "a removed share is not a current one: {page}");
    assert!(page.contains("id=\"email-error\""), "{page}");

    // Erin registers with her Plex e-mail: her imported customer gets the login.
    let customers_before = customer_count(db).await;
    let (status, page) = v
        .register(&[
            ("email", "erin.plex@example.com"),
            ("password", PASSWORD),
            ("confirm", PASSWORD),
        ])
        .await;
    assert_eq!(status, 200, "known by her Plex e-mail: {page}");
    assert_eq!(
        customer_count(db).await,
        customers_before,
        "no second customer"
    );
    // Her own e-mail is now taken by that customer's login.
    let (status, page) = v
        .register(&[
            ("email", "Erin@example.com"),
            ("password", PASSWORD),
            ("confirm", PASSWORD),
        ])
        .await;
    assert_eq!(status, 422, "{page}");
    assert!(page.contains("already exists"), "{page}");
    let login = logins::find_by_email_key(db.ex(), "erin.plex@example.com")
        .await
        .expect("login");
    let linked = boxoffice_store::registration::login_of_customer(
        db.ex(),
        customers::find_by_email_key(db.ex(), "erin@example.com")
            .await
            .expect("erin")
            .id,
    )
    .await
    .expect("read");
    assert_eq!(linked, Some(login.id));
}
