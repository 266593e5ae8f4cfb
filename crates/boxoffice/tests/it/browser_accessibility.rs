//! The automated accessibility check in a real browser: axe-core (installed from npm into
//! `tests/axe/node_modules` by `.ci/run`; nothing is fetched at test time) is injected into each
//! page over WebDriver and run there. The customer pages (home with pricing, register, login,
//! forgotten password, FAQ, My account, checkout) and the main admin pages are checked at 375 px
//! and 1280 px; any serious or critical violation fails the test, listed by page and rule.

use crate::browser::Browser;
use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, TestApp};
use crate::users_page::{admin_app, seed_five};
use boxoffice_app::audit::Actor;

const CUSTOMER_PASSWORD: &str = "Cust0mer-Pass!";

/// axe-core's browser build, or None (with a note) when it is not installed and not required.
fn axe_source() -> Option<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/axe/node_modules/axe-core/axe.min.js");
    match std::fs::read_to_string(&path) {
        Ok(s) => Some(s),
        Err(_) if std::env::var("BOXOFFICE_REQUIRE_BROWSER").as_deref() == Ok("1") => {
            panic!("BOXOFFICE_REQUIRE_BROWSER=1 but axe-core is missing: (cd tests/axe && npm ci)")
        }
        Err(_) => {
            eprintln!("accessibility test skipped: run `npm ci` in tests/axe to install axe-core");
            None
        }
    }
}

/// Runs axe on the page shown and returns its serious and critical violations as
/// "rule: help (first elements)".
async fn violations(b: &Browser, axe: &str) -> Vec<String> {
    let loaded = b
        .script(&format!("{axe}\n;return typeof window.axe;"))
        .await;
    assert_eq!(loaded, "object", "axe-core is loaded in the page");
    let v = b
        .script_async(
            "window.axe.run(document, {resultTypes: ['violations']}).then(function (r) {
               done(r.violations
                 .filter(function (v) { return v.impact === 'serious' || v.impact === 'critical'; })
                 .map(function (v) {
                   return v.id + ' (' + v.impact + '): ' + v.help + ' at ' +
                     v.nodes.slice(0, 3).map(function (n) { return n.target.join(' '); }).join(', ');
                 }));
             }, function (e) { done(['axe failed: ' + e]); });",
        )
        .await;
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// Custom content worth checking: sections, the FAQ, pricing (the seeded plans).
async fn seed_content(t: &TestApp) {
    let changes: Vec<(String, String)> = [
        ("content.home_section1_title", "Welcome"),
        (
            "content.home_section1_body",
            "Films and series in **4K**.\n\n- Plex, Jellyfin and Emby\n- [Rules](https://example.com/rules)",
        ),
        ("content.faq_body", "## How do I watch?\n\nAccept the invite from your e-mail."),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    t.app
        .set_settings(&Actor::cli(), &changes)
        .await
        .expect("content");
}

async fn check(
    b: &Browser,
    axe: &str,
    base: &str,
    path: &str,
    width: u32,
    found: &mut Vec<String>,
) {
    b.goto(&format!("{base}{path}")).await;
    b.find("main").await;
    for v in violations(b, axe).await {
        found.push(format!("{path} at {width} px: {v}"));
    }
    b.screenshot(&format!("a11y-{width}{}", path.replace('/', "-")))
        .await;
}

async fn log_in(b: &Browser, base: &str, email: &str, password: &str) {
    b.clear_cookies().await;
    b.goto(&format!("{base}/login")).await;
    b.fill("input[name=email]", email).await;
    b.fill("input[name=password]", password).await;
    b.click("form[action='/login'] button[type=submit]").await;
}

#[tokio::test]
async fn customer_and_admin_pages_have_no_serious_or_critical_accessibility_violation() {
    let Some(axe) = axe_source() else {
        return;
    };
    let (t, _) = admin_app().await;
    seed_five(&t).await;
    seed_content(&t).await;
    t.app
        .create_customer_login(&Actor::cli(), 1, CUSTOMER_PASSWORD)
        .await
        .expect("customer login");
    let customer = boxoffice_store::customers::find(t.app.db.ex(), 1)
        .await
        .expect("customer")
        .email;
    let base = t.base.clone();
    let mut found = Vec::new();
    for (width, height) in [(375, 812), (1280, 900)] {
        let Some(b) = Browser::start(width, height).await else {
            return;
        };
        for path in ["/", "/register", "/login", "/password/forgot", "/faq"] {
            check(&b, &axe, &base, path, width, &mut found).await;
        }
        log_in(&b, &base, &customer, CUSTOMER_PASSWORD).await;
        b.on_page("account").await;
        for path in ["/account", "/checkout", "/faq"] {
            check(&b, &axe, &base, path, width, &mut found).await;
        }
        log_in(&b, &base, ADMIN_EMAIL, ADMIN_PASSWORD).await;
        b.on_page("dashboard").await;
        for path in [
            "/admin",
            "/admin/users",
            "/admin/users/1",
            "/admin/users/new",
            "/admin/plans",
            "/admin/servers",
            "/admin/libraries",
            "/admin/payments",
            "/admin/activity",
            "/admin/settings",
            "/admin/settings/general",
            "/admin/settings/custom-content",
            "/admin/notifications",
            "/admin/jobs",
            "/security",
        ] {
            check(&b, &axe, &base, path, width, &mut found).await;
        }
        b.quit().await;
    }
    assert!(
        found.is_empty(),
        "{} serious or critical accessibility violations:\n{}",
        found.len(),
        found.join("\n")
    );
}
