//! The admin dashboard: numbers first (customers by status, this month's revenue), each server's
//! fill, what needs attention, and only what the login's role may see.

use crate::helpers::spawn_app;
use crate::users_page::{Seed, seed_customer, seed_five};

const DAY: i64 = 86_400;

/// The page's text without tags, whitespace collapsed.
fn text(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[tokio::test]
async fn the_dashboard_counts_customers_revenue_and_server_fill_instead_of_listing_links() {
    let t = spawn_app().await;
    t.create_admin().await;
    t.login_admin().await;
    seed_five(&t).await;
    let now = t.app.now();
    boxoffice_store::affected!(t.app.db.ex(), |e| sqlx::query(
        "INSERT INTO plans (id, name, cost_minor, currency, duration_unit, duration_count, is_trial, created_at, updated_at)
         VALUES (3, 'Trial', 0, 'USD', 'days', 7, TRUE, $1, $1)"
    )
    .bind(now)
    .execute(e)
    .await)
    .expect("trial plan");
    for (id, email, plan, days) in [
        (6, "trial@example.com", 3, 3),
        (7, "soon@example.com", 1, 2),
    ] {
        seed_customer(
            &t,
            &Seed {
                id,
                email,
                plan_id: Some(plan),
                covered_days: Some(days),
                created_days_ago: 1,
                ..Seed::default()
            },
        )
        .await;
    }
    for (tx, amount, created) in [
        ("this-month", 1250, now),
        ("long-ago", 9900, now - 40 * DAY),
    ] {
        boxoffice_store::affected!(t.app.db.ex(), |e| sqlx::query(
            "INSERT INTO payments (customer_id, plan_id, amount_minor, currency, period_from, period_to, method, transaction_id, created_at)
             VALUES (1, 1, $1, 'USD', $2, $3, 'manual', $4, $2)"
        )
        .bind(amount)
        .bind(created)
        .bind(created + 30 * DAY)
        .bind(tx)
        .execute(e)
        .await)
        .expect("payment");
    }
    boxoffice_store::admin_events::record(
        t.app.db.ex(),
        now,
        "no_capacity",
        Some(2),
        Some(1),
        "No server has room for bob@example.com",
    )
    .await
    .unwrap();

    let c = t.app.dashboard_customers().await.unwrap();
    assert_eq!(
        (c.active, c.permanent, c.trial, c.expiring, c.expired),
        (5, 1, 1, 2, 2)
    );
    let page = t.get_html("/admin").await;
    let words = text(&page);
    assert!(words.contains("Active customers 5 1 permanent"), "{words}");
    assert!(words.contains("On a trial 1"), "{words}");
    assert!(
        words.contains("Expiring this week 2 within 7 days"),
        "{words}"
    );
    assert!(words.contains("Expired 2"), "{words}");
    assert!(words.contains("Revenue this month 12.50 USD"), "{words}");
    // The chart's numbers: this month last, the payment of 40 days ago in an earlier month.
    assert!(words.contains("Revenue, last 6 months (USD)"), "{words}");
    let numbers = &words[words.find("The numbers").expect("chart table")..];
    assert!(numbers.contains("99.00 USD"), "{numbers}");
    let today = time::OffsetDateTime::from_unix_timestamp(now).unwrap();
    let this_month = format!("{} {}", &today.month().to_string()[..3], today.year());
    assert!(
        numbers.contains(&format!("{this_month} 12.50 USD")),
        "{this_month}: {numbers}"
    );
    assert!(words.contains("Alpha jellyfin"), "{words}");
    assert!(
        page.contains("Alpha: 2 of ") || words.contains("Alpha jellyfin 2 (no limit)"),
        "Alpha has two shares that are not removed: {words}"
    );
    assert!(words.contains("No server has room for bob@example.com"));
    assert!(
        !page.contains("class=\"card tile\""),
        "no copy of the navigation"
    );
}

#[tokio::test]
async fn a_role_sees_on_the_dashboard_only_the_numbers_its_permissions_allow() {
    let t = spawn_app().await;
    use boxoffice_domain::Permission;
    seed_five(&t).await;
    let role = boxoffice_store::roles::create_custom(
        t.app.db.ex(),
        "Support",
        &[Permission::UsersRead],
        0,
    )
    .await
    .unwrap();
    let login = t
        .app
        .create_login(
            &boxoffice_app::audit::Actor::cli(),
            "helper@example.com",
            "Supp0rt-pw!",
            boxoffice_domain::RoleKind::User,
        )
        .await
        .unwrap();
    boxoffice_store::logins::set_role(t.app.db.ex(), login.id, role.id)
        .await
        .unwrap();
    t.login("helper@example.com", "Supp0rt-pw!").await;
    let page = t.get_html("/admin").await;
    assert!(
        text(&page).contains("Active customers 3 1 permanent"),
        "{page}"
    );
    for hidden in [
        "Revenue this month",
        "id=\"dash-servers\"",
        "id=\"dash-notices\"",
        "id=\"dash-jobs\"",
        "New customer",
    ] {
        assert!(!page.contains(hidden), "{hidden} is not for this role");
    }
}
