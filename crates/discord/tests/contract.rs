//! Contract tests: every client operation against the in-process Discord fake, the happy paths
//! and each documented error (ref §10), and the rate limits waited out on a test clock.

use std::sync::Arc;
use std::time::Duration;

use boxoffice_discord::{ClockSleeper, DiscordClient, DiscordError, DiscordOptions, USER_AGENT};
use boxoffice_domain::TestClock;
use boxoffice_fakes::{
    DiscordFake, DiscordFault, DiscordFaultAction, DiscordGuildSeed, DiscordRateLimit,
};

struct Setup {
    fake: DiscordFake,
    client: DiscordClient,
    sleeper: ClockSleeper,
    guild: String,
    viewer: String,
}

async fn setup() -> Setup {
    let fake = DiscordFake::start().await.expect("fake starts");
    let guild = fake
        .seed_guild(&DiscordGuildSeed::new(
            "Movie Club",
            &["Subscriber", "Trial"],
        ))
        .id;
    let viewer = fake.add_member(&guild, "viewer", &[]).expect("member");
    let clock = TestClock::starting_now();
    let sleeper = ClockSleeper::new(clock.clone());
    let client = DiscordClient::new(
        &fake.url(),
        &fake.token(),
        DiscordOptions {
            timeout: Duration::from_secs(5),
            clock: Arc::new(clock),
            sleeper: Arc::new(sleeper.clone()),
            ..DiscordOptions::default()
        },
    )
    .expect("client");
    Setup {
        fake,
        client,
        sleeper,
        guild,
        viewer,
    }
}

#[tokio::test]
async fn the_bot_token_is_checked_and_sent_with_discords_user_agent() {
    let s = setup().await;
    let me = s.client.current_user().await.expect("token works");
    assert_eq!(me.id, s.fake.bot_id());
    assert!(me.bot);
    let req = s.fake.requests().pop().expect("logged");
    let ua = req
        .headers
        .iter()
        .find(|(k, _)| k == "user-agent")
        .expect("ua");
    assert_eq!(ua.1, USER_AGENT);
    assert!(ua.1.starts_with("DiscordBot ("), "{}", ua.1);

    let bad = DiscordClient::new(&s.fake.url(), "not-the-token", DiscordOptions::default())
        .expect("client");
    let err = bad.current_user().await.expect_err("refused");
    assert!(matches!(err, DiscordError::Unauthorized { .. }), "{err:?}");
    assert!(!err.retryable());
    assert!(err.to_string().contains("Bot → Reset Token"), "{err}");
}

#[tokio::test]
async fn a_dm_opens_the_channel_and_sends_a_message_that_pings_nobody() {
    let s = setup().await;
    let m = s
        .client
        .send_dm(&s.viewer, "Your Plex access is active until 2025-02-01.")
        .await
        .expect("dm");
    let log = s.fake.messages();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].recipient_id.as_deref(), Some(s.viewer.as_str()));
    assert_eq!(log[0].id, m.id);
    let sent = s.fake.requests();
    assert!(sent[0].path.ends_with("/users/@me/channels"));
    assert!(
        sent[1].body.contains(r#""allowed_mentions":{"parse":[]}"#),
        "{}",
        sent[1].body
    );
    // The same DM channel is found again.
    let again = s.client.open_dm(&s.viewer).await.expect("dm channel");
    assert_eq!(again.id, m.channel_id);
    assert_eq!(again.kind, 1);
}

#[tokio::test]
async fn a_user_with_dms_closed_or_no_shared_server_cannot_be_messaged() {
    let s = setup().await;
    s.fake.set_dm_closed(&s.viewer, true);
    let err = s
        .client
        .send_dm(&s.viewer, "hello")
        .await
        .expect_err("closed");
    assert!(
        matches!(err, DiscordError::CannotDm { ref user_id } if user_id == &s.viewer),
        "{err:?}"
    );
    assert!(err.is_dm_refused() && !err.retryable());

    let err = s
        .client
        .send_dm("80351110224678912", "hello")
        .await
        .expect_err("unknown");
    assert!(matches!(err, DiscordError::UnknownUser { .. }), "{err:?}");
}

#[tokio::test]
async fn admin_messages_go_to_a_server_channel() {
    let s = setup().await;
    let channel = s.fake.add_text_channel(&s.guild, "admin").expect("channel");
    s.client
        .create_message(&channel, "New payment: $5.00")
        .await
        .expect("posted");
    assert_eq!(s.fake.messages()[0].channel_id, channel);
    let err = s
        .client
        .create_message("123456789012345678", "x")
        .await
        .expect_err("unknown channel");
    assert!(
        matches!(err, DiscordError::UnknownChannel { .. }),
        "{err:?}"
    );
    let long = "x".repeat(2001);
    let err = s
        .client
        .create_message(&channel, &long)
        .await
        .expect_err("long");
    assert!(matches!(
        err,
        DiscordError::InvalidInput {
            field: "content",
            ..
        }
    ));
}

#[tokio::test]
async fn roles_are_listed_added_and_removed() {
    let s = setup().await;
    let roles = s.client.guild_roles(&s.guild).await.expect("roles");
    let sub = roles.iter().find(|r| r.name == "Subscriber").expect("role");
    assert!(roles.iter().any(|r| r.name == "@everyone"));
    s.client
        .add_member_role(
            &s.guild,
            &s.viewer,
            &sub.id,
            "boxoffice: subscription active",
        )
        .await
        .expect("added");
    // Adding a held role is a no-op.
    s.client
        .add_member_role(&s.guild, &s.viewer, &sub.id, "")
        .await
        .expect("no-op");
    let m = s
        .client
        .guild_member(&s.guild, &s.viewer)
        .await
        .expect("member");
    assert_eq!(m.roles, vec![sub.id.clone()]);
    s.client
        .remove_member_role(&s.guild, &s.viewer, &sub.id, "boxoffice: expired")
        .await
        .expect("removed");
    let log = s.fake.role_log();
    assert_eq!(log.len(), 2);
    assert_eq!(log[0].action, "add");
    assert_eq!(
        log[0].reason.as_deref(),
        Some("boxoffice: subscription active")
    );
    assert_eq!(log[1].action, "remove");
}

#[tokio::test]
async fn unknown_member_role_and_server_are_named() {
    let s = setup().await;
    let sub = s.fake.role_id(&s.guild, "Subscriber").expect("role");
    let err = s
        .client
        .guild_member(&s.guild, "80351110224678912")
        .await
        .expect_err("not a member");
    assert!(
        matches!(err, DiscordError::UnknownMember { ref user_id } if user_id == "80351110224678912")
    );
    let err = s
        .client
        .add_member_role(&s.guild, &s.viewer, "999999999999999999", "")
        .await
        .expect_err("no role");
    assert!(matches!(err, DiscordError::UnknownRole { .. }), "{err:?}");
    let err = s
        .client
        .add_member_role("999999999999999999", &s.viewer, &sub, "")
        .await
        .expect_err("no guild");
    assert!(matches!(err, DiscordError::UnknownGuild { .. }), "{err:?}");
    let err = s.client.guild_roles("../admin").await.expect_err("bad id");
    assert!(matches!(
        err,
        DiscordError::InvalidInput {
            field: "discord.guild_id",
            ..
        }
    ));
}

#[tokio::test]
async fn a_role_above_the_bots_own_is_a_missing_permission() {
    let s = setup().await;
    let mut seed = DiscordGuildSeed::new("Strict", &["Subscriber", "Bot"]);
    seed.bot_position = Some(1);
    let g = s.fake.seed_guild(&seed);
    let user = s.fake.add_member(&g.id, "u", &[]).expect("member");
    let sub = s.fake.role_id(&g.id, "Subscriber").expect("role");
    let err = s
        .client
        .add_member_role(&g.id, &user, &sub, "")
        .await
        .expect_err("hierarchy");
    assert!(
        matches!(err, DiscordError::MissingPermissions { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("Manage Roles"), "{err}");
    assert!(s.fake.role_log().is_empty());
}

#[tokio::test]
async fn a_kick_removes_the_member_once() {
    let s = setup().await;
    s.client
        .kick_member(&s.guild, &s.viewer, "boxoffice: expired 7 days ago")
        .await
        .expect("kicked");
    assert!(s.fake.member_roles(&s.guild, &s.viewer).is_none());
    let err = s
        .client
        .kick_member(&s.guild, &s.viewer, "")
        .await
        .expect_err("gone");
    assert!(matches!(err, DiscordError::UnknownMember { .. }));
    let kicks: Vec<_> = s
        .fake
        .role_log()
        .into_iter()
        .filter(|c| c.action == "kick")
        .collect();
    assert_eq!(kicks.len(), 1);
}

#[tokio::test]
async fn a_429_is_waited_out_once_for_its_retry_after_then_the_call_succeeds() {
    let s = setup().await;
    let sub = s.fake.role_id(&s.guild, "Subscriber").expect("role");
    s.fake.add_fault(
        DiscordFault::next(
            1,
            DiscordFaultAction::RateLimit {
                retry_after: 2.25,
                global: false,
            },
        )
        .path("/guilds"),
    );
    s.client
        .add_member_role(&s.guild, &s.viewer, &sub, "")
        .await
        .expect("added after the wait");
    assert_eq!(s.sleeper.waits(), vec![Duration::from_secs_f64(2.25)]);
    let puts = s
        .fake
        .requests()
        .iter()
        .filter(|r| r.method == "PUT")
        .count();
    assert_eq!(puts, 2, "one refused, one applied");
    assert_eq!(s.fake.role_log().len(), 1, "the role was added once");
}

#[tokio::test]
async fn a_second_429_or_a_long_retry_after_is_handed_back_with_its_wait() {
    let s = setup().await;
    s.fake.add_fault(DiscordFault::next(
        2,
        DiscordFaultAction::RateLimit {
            retry_after: 1.5,
            global: true,
        },
    ));
    let err = s.client.current_user().await.expect_err("still limited");
    assert!(err.retryable());
    assert_eq!(err.retry_after(), Some(Duration::from_secs_f64(1.5)));
    assert!(
        matches!(err, DiscordError::RateLimited { global: true, .. }),
        "{err:?}"
    );

    s.fake.add_fault(DiscordFault::next(
        1,
        DiscordFaultAction::RateLimit {
            retry_after: 600.0,
            global: false,
        },
    ));
    let before = s.sleeper.waits().len();
    let err = s
        .client
        .guild_roles(&s.guild)
        .await
        .expect_err("too long to wait");
    assert_eq!(err.retry_after(), Some(Duration::from_secs(600)));
    // The global limit (1.5 s) was waited once; the 600 s wait is left to the job queue.
    assert!(s.sleeper.waits().len() - before <= 1);
}

#[tokio::test]
async fn server_errors_are_retryable_and_repeatable_calls_are_retried_once() {
    let s = setup().await;
    s.fake
        .add_fault(DiscordFault::next(1, DiscordFaultAction::Status { status: 502 }).method("GET"));
    s.client.guild_roles(&s.guild).await.expect("retried");
    s.fake.add_fault(
        DiscordFault::next(1, DiscordFaultAction::Status { status: 502 }).method("POST"),
    );
    let err = s
        .client
        .send_dm(&s.viewer, "hi")
        .await
        .expect_err("a POST is not repeated");
    assert!(
        matches!(err, DiscordError::Server { status: 502, .. }),
        "{err:?}"
    );
    assert!(err.retryable());
    assert!(s.fake.messages().is_empty());
}

#[tokio::test]
async fn an_exhausted_bucket_is_waited_for_instead_of_earning_a_429() {
    let s = setup().await;
    s.fake.set_rate_limit(DiscordRateLimit {
        limit: 2,
        reset_after: 30.0,
    });
    s.client.guild_roles(&s.guild).await.expect("1");
    s.client.guild_roles(&s.guild).await.expect("2");
    // Remaining is 0 now: the client waits Reset-After (on the test clock) before asking.
    let _ = s.client.guild_roles(&s.guild).await;
    let waits = s.sleeper.waits();
    assert!(
        waits.first().is_some_and(|w| w.as_secs_f64() > 29.0),
        "{waits:?}"
    );
}
