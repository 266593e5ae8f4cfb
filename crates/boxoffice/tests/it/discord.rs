//! The Discord integration against the fake Discord with the test clock: roles at activation
//! and expiry, kicks after N days (once), permanent customers left alone, a 429's retry_after
//! honoured without doubling, and the DMs and admin posts the notification sender calls.

use crate::servers::{MediaTest, media_test};
use boxoffice_app::audit::Actor;
use boxoffice_app::subscriptions::{InviteInput, RenewInput};
use boxoffice_discord::ClockSleeper;
use boxoffice_fakes::{DiscordFault, DiscordFaultAction, DiscordRoleChange};
use boxoffice_store::{Db, affected};
use std::time::Duration;

const DAY: i64 = 86_400;
const BASIC: i64 = 1;
const TRIAL: i64 = 4;

async fn exec(db: &Db, sql: String) {
    affected!(db.ex(), |e| sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
        .execute(e)
        .await)
    .expect("sql");
}

struct DiscordTest {
    m: MediaTest,
    guild: String,
    sleeper: ClockSleeper,
}

/// A logged-in admin whose app talks to the world's fake Discord, with the integration on,
/// a Jellyfin server open to new subscriptions and a paid plan and a trial plan.
async fn discord_test() -> DiscordTest {
    let m = media_test().await;
    let jf = m.add_jellyfin().await;
    m.t.run_pending_jobs().await;
    let db = &m.t.app.db;
    exec(db, format!("UPDATE servers SET enabled = TRUE, allow_new_subscriptions = TRUE, allow_trial_subscriptions = TRUE WHERE id = {jf}")).await;
    exec(
        db,
        format!("UPDATE libraries SET library_group_id = 2 WHERE server_id = {jf}"),
    )
    .await;
    for (id, name, cost, trial) in [(BASIC, "Basic", 1000, false), (TRIAL, "Trial", 0, true)] {
        exec(db, format!("INSERT INTO plans (id, name, cost_minor, currency, duration_unit, duration_count, downloads, is_trial, created_at, updated_at) VALUES ({id}, '{name}', {cost}, 'USD', 'days', 30, TRUE, {trial}, 0, 0)")).await;
        exec(db, format!("INSERT INTO plan_library_groups (plan_id, library_group_id, grace) VALUES ({id}, 2, FALSE)")).await;
    }
    let fake = &m.world.discord;
    let guild = fake.guilds()[0].id.clone();
    m.t.app.discord.set_api_url(&fake.url());
    let sleeper = ClockSleeper::new(m.t.clock.clone());
    let (s, clock) = (sleeper.clone(), m.t.clock.clone());
    m.t.app.discord.configure(move |o| {
        o.sleeper = std::sync::Arc::new(s);
        o.clock = std::sync::Arc::new(clock);
    });
    for (k, v) in [
        ("discord.bot_token", fake.token()),
        ("discord.sync_enabled", "true".into()),
        ("discord.guild_id", guild.clone()),
        ("discord.subscriber_role", "Subscriber".into()),
        ("discord.trial_role", "Trial".into()),
    ] {
        set(&m, k, &v).await;
    }
    DiscordTest { m, guild, sleeper }
}

async fn set(m: &MediaTest, key: &str, value: &str) {
    m.t.app
        .set_setting(&Actor::system(), key, value)
        .await
        .expect("setting");
}

impl DiscordTest {
    fn fake(&self) -> &boxoffice_fakes::DiscordFake {
        &self.m.world.discord
    }

    /// A customer whose paid month ended 30 days ago, with a Discord member of their own.
    async fn lapsed_customer(&self, email: &str, permanent: bool) -> (i64, String) {
        let now = self.m.t.app.now();
        let out = self
            .m
            .t
            .app
            .invite(
                &Actor::system(),
                InviteInput {
                    email: email.into(),
                    plan_id: BASIC,
                    payment_date: Some(now - 60 * DAY),
                    permanent: Some(permanent),
                    ..InviteInput::default()
                },
            )
            .await
            .expect("invite");
        let user = self
            .fake()
            .add_member(&self.guild, email, &[])
            .expect("member");
        self.m
            .t
            .app
            .set_customer_discord_id(&Actor::system(), out.customer_id, &user)
            .await
            .expect("discord id");
        self.m.t.run_pending_jobs().await;
        (out.customer_id, user)
    }

    async fn renew(&self, customer: i64, plan: i64) {
        self.m
            .t
            .app
            .renew(
                &Actor::system(),
                customer,
                RenewInput {
                    plan_id: Some(plan),
                    ..RenewInput::default()
                },
            )
            .await
            .expect("renew");
    }

    fn changes_for(&self, user: &str) -> Vec<DiscordRoleChange> {
        self.fake()
            .role_log()
            .into_iter()
            .filter(|c| c.user_id == user)
            .collect()
    }

    fn roles(&self, user: &str) -> Option<Vec<String>> {
        self.fake().member_roles(&self.guild, user)
    }
}

fn summary(changes: &[DiscordRoleChange]) -> Vec<(String, String)> {
    changes
        .iter()
        .map(|c| (c.action.clone(), c.role_name.clone().unwrap_or_default()))
        .collect()
}

fn pair(a: &str, b: &str) -> (String, String) {
    (a.to_string(), b.to_string())
}

#[tokio::test]
async fn activation_adds_the_subscriber_role_and_expiry_removes_it() {
    let d = discord_test().await;
    let (customer, user) = d.lapsed_customer("ann@example.com", false).await;
    assert!(
        d.changes_for(&user).is_empty(),
        "an expired customer gets no role"
    );

    d.renew(customer, BASIC).await;
    d.m.t.run_pending_jobs().await;
    assert_eq!(
        summary(&d.changes_for(&user)),
        vec![pair("add", "Subscriber")]
    );
    assert_eq!(d.roles(&user), Some(vec!["Subscriber".to_string()]));
    let page = d.m.t.get_html(&format!("/admin/users/{customer}")).await;
    assert!(page.contains("id=\"discord\""), "{page}");
    assert!(
        page.contains(&user) && page.contains("Subscriber"),
        "{page}"
    );

    // The month runs out; the hourly expiry pass takes the role away through the member job.
    d.m.t.advance_clock(time::Duration::days(31));
    d.m.t.app.run_expiry().await.expect("expiry");
    d.m.t.run_pending_jobs().await;
    assert_eq!(
        summary(&d.changes_for(&user)),
        vec![pair("add", "Subscriber"), pair("remove", "Subscriber")]
    );
    assert_eq!(d.roles(&user), Some(vec![]));
    let state =
        d.m.t
            .app
            .customer_discord_state(customer)
            .await
            .expect("state");
    assert!(
        state.roles.is_empty() && state.last_error.is_empty(),
        "{state:?}"
    );
}

#[tokio::test]
async fn a_trial_plan_gets_the_trial_role_and_a_paid_plan_swaps_it_for_the_subscriber_role() {
    let d = discord_test().await;
    let (customer, user) = d.lapsed_customer("tia@example.com", false).await;
    d.renew(customer, TRIAL).await;
    d.m.t.run_pending_jobs().await;
    assert_eq!(d.roles(&user), Some(vec!["Trial".to_string()]));

    d.m.t.advance_clock(time::Duration::days(1));
    d.m.t
        .app
        .change_plan(&Actor::system(), customer, BASIC)
        .await
        .expect("plan change");
    d.m.t.run_pending_jobs().await;
    assert_eq!(d.roles(&user), Some(vec!["Subscriber".to_string()]));
    assert_eq!(
        summary(&d.changes_for(&user)),
        vec![
            pair("add", "Trial"),
            pair("add", "Subscriber"),
            pair("remove", "Trial")
        ]
    );
}

#[tokio::test]
async fn an_expired_customer_is_kicked_after_the_configured_days_and_only_once() {
    let d = discord_test().await;
    set(&d.m, "discord.kick_enabled", "true").await;
    set(&d.m, "discord.kick_after_days", "40").await;
    // Coverage ended 30 days ago: 10 more days to go.
    let (customer, user) = d.lapsed_customer("kim@example.com", false).await;
    let r = d.m.t.app.run_discord_sync().await.expect("pass");
    assert_eq!(r.kicked, 0);
    assert!(d.roles(&user).is_some(), "still a member");

    d.m.t.advance_clock(time::Duration::days(10));
    let r = d.m.t.app.run_discord_sync().await.expect("pass");
    assert_eq!(r.kicked, 1, "{r:?}");
    assert!(d.roles(&user).is_none(), "kicked from the server");

    d.m.t.advance_clock(time::Duration::days(1));
    let r = d.m.t.app.run_discord_sync().await.expect("pass");
    assert_eq!(r.kicked, 0);
    let kicks = d
        .changes_for(&user)
        .into_iter()
        .filter(|c| c.action == "kick")
        .count();
    assert_eq!(kicks, 1, "kicked once, not twice");
    let state =
        d.m.t
            .app
            .customer_discord_state(customer)
            .await
            .expect("state");
    assert!(state.kicked_at.is_some(), "{state:?}");
    // Days passed: the admin's session idled out.
    d.m.t.login_admin().await;
    let page = d.m.t.get_html(&format!("/admin/users/{customer}")).await;
    assert!(page.contains("Kicked"), "{page}");
}

#[tokio::test]
async fn a_permanent_customer_is_left_alone() {
    let d = discord_test().await;
    set(&d.m, "discord.kick_enabled", "true").await;
    let (customer, user) = d.lapsed_customer("pat@example.com", true).await;
    d.renew(customer, BASIC).await;
    d.m.t.run_pending_jobs().await;
    d.m.t.advance_clock(time::Duration::days(90));
    d.m.t.app.run_discord_sync().await.expect("pass");
    d.m.t.run_pending_jobs().await;
    assert!(d.changes_for(&user).is_empty());
    assert!(d.roles(&user).is_some(), "not kicked");
    let asked = d
        .fake()
        .requests()
        .iter()
        .filter(|r| r.path.contains(&user))
        .count();
    assert_eq!(asked, 0, "Discord is not even asked about them");
}

#[tokio::test]
async fn a_rate_limit_delays_the_role_change_and_it_is_applied_once() {
    let d = discord_test().await;
    let (customer, user) = d.lapsed_customer("ray@example.com", false).await;

    // A short retry_after is waited out inline, once.
    d.fake().add_fault(
        DiscordFault::next(
            1,
            DiscordFaultAction::RateLimit {
                retry_after: 2.5,
                global: false,
            },
        )
        .method("PUT"),
    );
    d.renew(customer, BASIC).await;
    d.m.t.run_pending_jobs().await;
    assert_eq!(d.sleeper.waits(), vec![Duration::from_secs_f64(2.5)]);
    assert_eq!(
        summary(&d.changes_for(&user)),
        vec![pair("add", "Subscriber")]
    );

    // A long one goes back to the queue with Discord's wait, then succeeds once.
    d.m.t.advance_clock(time::Duration::days(31));
    d.fake().add_fault(
        DiscordFault::next(
            1,
            DiscordFaultAction::RateLimit {
                retry_after: 120.0,
                global: true,
            },
        )
        .method("DELETE"),
    );
    d.m.t.app.run_expiry().await.expect("expiry");
    d.m.t.run_pending_jobs().await;
    assert_eq!(
        d.roles(&user),
        Some(vec!["Subscriber".to_string()]),
        "not yet"
    );
    d.m.t.advance_clock(time::Duration::seconds(60));
    d.m.t.run_pending_jobs().await;
    assert_eq!(
        d.roles(&user),
        Some(vec!["Subscriber".to_string()]),
        "not before retry_after"
    );
    d.m.t.advance_clock(time::Duration::seconds(121));
    d.m.t.run_pending_jobs().await;
    assert_eq!(d.roles(&user), Some(vec![]));
    assert_eq!(
        summary(&d.changes_for(&user)),
        vec![pair("add", "Subscriber"), pair("remove", "Subscriber")]
    );
}

#[tokio::test]
async fn dms_and_admin_messages_reach_discord() {
    let d = discord_test().await;
    let fake = d.fake();
    let user = fake.add_member(&d.guild, "viewer", &[]).expect("member");
    let refused = d.m.t.app.discord_dm(&user, "hello").await.expect_err("off");
    assert!(!refused.retryable(), "{refused}");

    set(&d.m, "discord.enabled", "true").await;
    d.m.t
        .app
        .discord_dm(&user, "Your access is active until 2026-12-28.")
        .await
        .expect("dm");
    let channel = fake.channels_of(&d.guild)[0]["id"]
        .as_str()
        .expect("channel")
        .to_string();
    set(&d.m, "discord.admin_channel_id", &channel).await;
    d.m.t
        .app
        .discord_post_channel("New payment from ann@example.com")
        .await
        .expect("posted");
    let log = fake.messages();
    assert_eq!(log.len(), 2);
    assert_eq!(log[0].recipient_id.as_deref(), Some(user.as_str()));
    assert_eq!(log[0].content, "Your access is active until 2026-12-28.");
    assert_eq!(log[1].channel_id, channel);

    fake.set_dm_closed(&user, true);
    let e = d.m.t.app.discord_dm(&user, "x").await.expect_err("closed");
    assert!(e.is_dm_refused() && !e.retryable(), "{e}");
    fake.add_fault(DiscordFault::next(
        1,
        DiscordFaultAction::Status { status: 502 },
    ));
    let e = d.m.t.app.discord_post_channel("x").await.expect_err("down");
    assert!(e.retryable(), "{e}");
    let bot = d.m.t.app.discord_test_bot().await.expect("token works");
    assert!(bot.contains("sees 3 roles"), "{bot}");
}

#[tokio::test]
async fn a_discord_id_that_is_not_a_number_is_refused_and_changes_nothing() {
    let d = discord_test().await;
    let (customer, user) = d.lapsed_customer("nia@example.com", false).await;
    let e =
        d.m.t
            .app
            .set_customer_discord_id(&Actor::system(), customer, "nia#1234")
            .await
            .expect_err("a name, not an id");
    assert!(e.to_string().contains("Copy User ID"), "{e}");
    let state =
        d.m.t
            .app
            .customer_discord_state(customer)
            .await
            .expect("state");
    assert_eq!(state.discord_id, user);

    let page = format!("/admin/users/{customer}");
    let r =
        d.m.t
            .post_form(&page, &format!("{page}/discord"), &[("discord_id", "nia")])
            .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.expect("body").contains("Copy User ID"));

    // The form saves a real id and the sync follows in the background.
    let other = d.fake().add_member(&d.guild, "nia2", &[]).expect("member");
    let r =
        d.m.t
            .post_form(&page, &format!("{page}/discord"), &[("discord_id", &other)])
            .await;
    assert_eq!(r.status(), 303);
    d.renew(customer, BASIC).await;
    d.m.t.run_pending_jobs().await;
    assert_eq!(d.roles(&other), Some(vec!["Subscriber".to_string()]));
    assert!(d.changes_for(&user).is_empty(), "the old id is left alone");
}

#[tokio::test]
async fn activation_is_told_by_dm_and_gives_the_role_and_expiry_takes_it_away() {
    let d = discord_test().await;
    let (customer, user) = d.lapsed_customer("dan@example.com", false).await;
    set(&d.m, "discord.enabled", "true").await;
    d.renew(customer, BASIC).await;
    d.m.t.run_pending_jobs().await;
    let dms: Vec<_> = d
        .fake()
        .messages()
        .into_iter()
        .filter(|m| m.recipient_id.as_deref() == Some(user.as_str()))
        .collect();
    assert_eq!(dms.len(), 1, "{dms:?}");
    assert!(
        dms[0].content.starts_with("Thank you dan:") && dms[0].content.contains("**Basic**"),
        "{}",
        dms[0].content
    );
    assert_eq!(d.roles(&user), Some(vec!["Subscriber".to_string()]));

    d.m.t.advance_clock(time::Duration::days(31));
    d.m.t.app.run_expiry().await.expect("expiry");
    d.m.t.run_pending_jobs().await;
    assert_eq!(d.roles(&user), Some(vec![]));
    let last = d.fake().messages().into_iter().last().expect("a DM");
    assert!(last.content.contains("ended on"), "{}", last.content);
    // Delivered once each: the log says sent, and a second pass sends nothing more.
    d.m.t.run_pending_jobs().await;
    assert_eq!(
        d.fake()
            .messages()
            .iter()
            .filter(|m| m.recipient_id.as_deref() == Some(user.as_str()))
            .count(),
        2
    );
}
