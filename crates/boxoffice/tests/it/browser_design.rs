//! In a real browser: the admin shell's navigation is a sidebar on a desktop and a drawer on a
//! phone, a settings section saves a choice from a select and a flag from a switch, and every page
//! loads its look from this site alone. Screenshots of the main pages in both themes land in
//! target/screenshots for a person to look at.

use crate::browser::Browser;
use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD};
use crate::users_page::{admin_app, seed_five};

/// A few payments over the last months, so the dashboard's chart has bars to draw.
async fn seed_payments(t: &crate::helpers::TestApp) {
    let now = t.app.now();
    let rows = [
        (150, 1500),
        (120, 2000),
        (95, 2500),
        (60, 4500),
        (30, 4000),
        (1, 5200),
    ];
    for (i, (days_ago, amount)) in rows.into_iter().enumerate() {
        boxoffice_store::affected!(t.app.db.ex(), |e| sqlx::query(
            "INSERT INTO payments (customer_id, plan_id, amount_minor, currency, period_from, period_to, method, transaction_id, created_at)
             VALUES (1, 1, $1, 'USD', $2, $3, 'manual', $4, $2)"
        )
        .bind(amount)
        .bind(now - days_ago * 86_400)
        .bind(now - days_ago * 86_400 + 30 * 86_400)
        .bind(format!("seed-{i}"))
        .execute(e)
        .await)
        .expect("payment");
    }
}

async fn login(b: &Browser, base: &str) {
    b.goto(&format!("{base}/login")).await;
    b.fill("input[name=email]", ADMIN_EMAIL).await;
    b.fill("input[name=password]", ADMIN_PASSWORD).await;
    b.click("form[action='/login'] button[type=submit]").await;
    b.on_page("dashboard").await;
}

/// The right edge of the navigation drawer in CSS pixels (≤ 0 when it is off screen).
async fn drawer_right(b: &Browser) -> f64 {
    b.script("return document.getElementById('mainnav').getBoundingClientRect().right;")
        .await
        .as_f64()
        .unwrap_or(-1.0)
}

/// The drawer's right edge once its slide has finished.
async fn settled_right(b: &Browser) -> f64 {
    b.script_async(
        "var el = document.getElementById('mainnav');
         Promise.all(el.getAnimations().map(function (a) { return a.finished; }))
           .then(function () { done(el.getBoundingClientRect().right); });",
    )
    .await
    .as_f64()
    .unwrap_or(-1.0)
}

/// Every resource the page loaded came from `base`.
async fn assert_only_this_host(b: &Browser, base: &str) {
    let v = b
        .script(
            "return performance.getEntriesByType('resource').map(function (e) { return e.name; });",
        )
        .await;
    let names: Vec<String> = v
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    assert!(!names.is_empty(), "the stylesheet and script were loaded");
    for n in &names {
        assert!(n.starts_with(base), "{n} is from another host");
    }
}

/// Every visible form control has an accessible name (a label, aria-label or aria-labelledby).
async fn assert_every_control_is_labelled(b: &Browser, path: &str) {
    let v = b
        .script(
            "return Array.from(document.querySelectorAll('input, select, textarea'))
               .filter(function (el) { return el.type !== 'hidden' && el.getClientRects().length > 0; })
               .filter(function (el) {
                 return !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                   && !el.getAttribute('aria-labelledby') && !el.getAttribute('title');
               })
               .map(function (el) { return el.outerHTML.slice(0, 120); });",
        )
        .await;
    let unlabelled = v.as_array().cloned().unwrap_or_default();
    assert!(unlabelled.is_empty(), "{path}: {unlabelled:?}");
}

/// Screenshots of one page in the light and the dark theme (the stored choice).
async fn shoot(b: &Browser, base: &str, path: &str, page: &str, name: &str) {
    for theme in ["light", "dark"] {
        b.goto(&format!("{base}{path}")).await;
        b.on_page(page).await;
        b.script(&format!(
            "localStorage.setItem('theme', '{theme}'); return 1;"
        ))
        .await;
        b.goto(&format!("{base}{path}")).await;
        b.on_page(page).await;
        b.screenshot(&format!("design-{name}-{theme}")).await;
    }
    b.script("localStorage.removeItem('theme'); return 1;")
        .await;
}

#[tokio::test]
async fn on_a_phone_the_admin_navigation_is_a_drawer_that_opens_and_navigates() {
    let Some(b) = Browser::start(390, 844).await else {
        return;
    };
    let (t, _) = admin_app().await;
    seed_five(&t).await;
    seed_payments(&t).await;
    let base = t.base.clone();
    login(&b, &base).await;
    assert_only_this_host(&b, &base).await;
    assert!(drawer_right(&b).await <= 0.0, "closed at first");
    b.click(".nav-toggle").await;
    // The drawer slides in: measure once its transition has finished.
    let right = settled_right(&b).await;
    assert!(right > 200.0, "open: right edge at {right}");
    let current = b.text("#mainnav a[aria-current='page']").await;
    assert_eq!(current.trim(), "Dashboard");
    b.screenshot("design-phone-drawer-open").await;
    // Its close button closes it; the menu button opens it again.
    b.click(".drawer-head label[for='nav-open']").await;
    assert!(settled_right(&b).await <= 0.0, "closed by its close button");
    b.click(".nav-toggle").await;
    assert!(settled_right(&b).await > 200.0, "open again");
    b.click("#mainnav a[href='/admin/users']").await;
    b.on_page("users").await;
    assert!(
        drawer_right(&b).await <= 0.0,
        "closed again on the new page"
    );
    assert!(
        b.attr("#mainnav a[aria-current='page']", "href")
            .await
            .ends_with("/admin/users")
    );
    shoot(&b, &base, "/admin", "dashboard", "phone-dashboard").await;
    shoot(&b, &base, "/admin/users", "users", "phone-users").await;
    shoot(
        &b,
        &base,
        "/admin/settings/e-mail",
        "settings",
        "phone-settings",
    )
    .await;
    b.quit().await;
}

#[tokio::test]
async fn a_settings_section_page_saves_a_choice_from_a_select_and_a_flag_from_a_switch() {
    let Some(b) = Browser::start(1280, 900).await else {
        return;
    };
    let (t, _) = admin_app().await;
    seed_five(&t).await;
    seed_payments(&t).await;
    let base = t.base.clone();
    login(&b, &base).await;
    // The sidebar is there on a desktop, and lists the settings sections under Settings.
    assert!(drawer_right(&b).await > 200.0);
    b.click("#mainnav a[href='/admin/settings']").await;
    b.on_page("settings").await;
    b.click("#mainnav a[href='/admin/settings/enforcement']")
        .await;
    b.find("form[action='/admin/settings/enforcement']").await;
    b.click("select[name='enforcement.stream_policy'] option[value='stop_newest']")
        .await;
    // Switched on by default: one click turns it off.
    b.click("#f-enforcement-streams-enabled").await;
    b.click("form.settings button[type=submit]").await;
    b.find(".alert.info").await;
    assert!(
        b.url()
            .await
            .ends_with("/admin/settings/enforcement?saved=1")
    );
    let s = t.app.settings().await.unwrap();
    assert_eq!(s.get("enforcement.stream_policy"), "stop_newest");
    assert!(!s.bool("enforcement.streams_enabled"));
    assert_eq!(
        b.attr(
            "select[name='enforcement.stream_policy'] option[selected]",
            "value"
        )
        .await,
        "stop_newest"
    );
    assert_eq!(
        b.script("return document.getElementById('f-enforcement-streams-enabled').checked;")
            .await,
        serde_json::Value::Bool(false)
    );

    // A value out of range comes back under its field, with what was typed.
    b.fill("input[name='enforcement.confirm_readings']", "42")
        .await;
    b.click("form.settings button[type=submit]").await;
    let err = b.text("#f-enforcement-confirm-readings-error").await;
    assert!(err.contains("42 is outside 1 to 10"), "{err}");
    assert_eq!(
        b.attr("input[name='enforcement.confirm_readings']", "value")
            .await,
        "42"
    );
    b.screenshot("design-settings-error").await;
    assert_eq!(
        t.app
            .settings()
            .await
            .unwrap()
            .get("enforcement.confirm_readings"),
        "2"
    );

    shoot(&b, &base, "/admin", "dashboard", "desktop-dashboard").await;
    shoot(&b, &base, "/admin/users", "users", "desktop-users").await;
    shoot(
        &b,
        &base,
        "/admin/settings/e-mail",
        "settings",
        "desktop-settings",
    )
    .await;
    shoot(
        &b,
        &base,
        "/admin/settings",
        "settings",
        "desktop-settings-index",
    )
    .await;
    b.quit().await;
}

#[tokio::test]
async fn every_admin_page_draws_in_the_shell_with_labelled_controls_and_nothing_from_another_host()
{
    for (width, height) in [(1280, 900), (390, 844)] {
        tour(width, height).await;
    }
}

/// Visits every admin page at one window size.
async fn tour(width: u32, height: u32) {
    let Some(b) = Browser::start(width, height).await else {
        return;
    };
    let (t, _) = admin_app().await;
    seed_five(&t).await;
    seed_payments(&t).await;
    let base = t.base.clone();
    login(&b, &base).await;
    let mut pages: Vec<String> = boxoffice_web::settings_pages::sections()
        .into_iter()
        .map(|s| format!("/admin/settings/{}", boxoffice_web::settings_pages::slug(s)))
        .collect();
    pages.extend(
        [
            "/admin",
            "/admin/settings",
            "/admin/users",
            "/admin/users/1",
            "/admin/users/new",
            "/admin/site-logins",
            "/admin/plans",
            "/admin/servers",
            "/admin/servers/1",
            "/admin/server-locations",
            "/admin/libraries",
            "/admin/library-groups",
            "/admin/shared-servers",
            "/admin/plex-accounts",
            "/admin/self-test",
            "/admin/devices",
            "/admin/activity",
            "/admin/notifications",
            "/admin/notifications/log",
            "/admin/jobs",
            "/admin/audit",
            "/admin/roles",
            "/security",
        ]
        .map(String::from),
    );
    for path in &pages {
        b.goto(&format!("{base}{path}")).await;
        // Every admin page has the sidebar and a heading in its main column.
        b.find("#mainnav").await;
        b.find("main h1").await;
        assert_only_this_host(&b, &base).await;
        assert_every_control_is_labelled(&b, path).await;
        // Nothing is wider than the window: wide tables scroll inside their frame.
        let overflow = b
            .script("return document.documentElement.scrollWidth - window.innerWidth;")
            .await
            .as_i64()
            .unwrap_or(0);
        assert!(
            overflow <= 0,
            "{path} at {width} px is {overflow} px too wide"
        );
        b.screenshot(&format!("tour-{width}{}", path.replace('/', "-")))
            .await;
    }
    b.quit().await;
}

#[tokio::test]
async fn a_customer_sees_the_plain_frame_without_the_admin_sidebar_and_it_fits_a_phone() {
    let Some(b) = Browser::start(390, 844).await else {
        return;
    };
    let (t, _) = admin_app().await;
    t.app
        .create_login(
            &boxoffice_app::audit::Actor::cli(),
            "viewer@example.com",
            "Cust0mer-pw!",
            boxoffice_domain::RoleKind::User,
        )
        .await
        .unwrap();
    let base = t.base.clone();
    b.goto(&format!("{base}/login")).await;
    b.fill("input[name=email]", "viewer@example.com").await;
    b.fill("input[name=password]", "Cust0mer-pw!").await;
    b.click("form[action='/login'] button[type=submit]").await;
    b.on_page("account").await;
    for (path, page) in [("/account", "account"), ("/security", "security")] {
        b.goto(&format!("{base}{path}")).await;
        b.on_page(page).await;
        assert!(
            !b.source().await.contains("id=\"mainnav\""),
            "no admin navigation for a customer"
        );
        assert_only_this_host(&b, &base).await;
        let overflow = b
            .script("return document.documentElement.scrollWidth - window.innerWidth;")
            .await
            .as_i64()
            .unwrap_or(0);
        assert!(overflow <= 0, "{path} is {overflow} px too wide");
        b.screenshot(&format!("design-customer{}", path.replace('/', "-")))
            .await;
    }
    b.click("form[action='/logout'] button").await;
    b.on_page("login").await;
    b.quit().await;
}
