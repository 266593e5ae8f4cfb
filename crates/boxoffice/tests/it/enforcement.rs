//! The enforcement pass on the Jellyfin fake with the test clock: stream limits by policy,
//! confirmation over two readings, transcoding rules, permanent users and the activity readings.

use crate::lifecycle::{exec, invite, jellyfin, set};
use crate::servers::{MediaTest, media_test};
use boxoffice_fakes::SessionSeed;
use serde_json::json;

pub(crate) const ANN: &str = "ann@example.com";

/// Ann on the Basic plan, limited to two streams, with her Jellyfin user created.
pub(crate) async fn ann_with_two_streams(m: &MediaTest) -> i64 {
    let jf = jellyfin(m).await;
    exec(
        &m.t.app.db,
        "UPDATE plans SET stream_limit = 2, video_transcoding = FALSE WHERE id = 1".into(),
    )
    .await;
    invite(
        m,
        json!({"email": ANN, "plan_id": 1, "transaction_id": "tx-ann"}),
    )
    .await;
    m.t.run_pending_jobs().await;
    assert!(m.world.jellyfin.user(ANN).is_some());
    jf
}

pub(crate) fn play(m: &MediaTest, device: &str, title: &str) -> String {
    let mut seed = SessionSeed::new(ANN, title);
    seed.device_id = Some(device.into());
    seed.device = device.into();
    m.world.jellyfin.start_session(seed).expect("session")
}

pub(crate) fn stopped(m: &MediaTest) -> Vec<String> {
    let mut ids: Vec<String> = m
        .world
        .jellyfin
        .stopped_sessions()
        .into_iter()
        .map(|s| s.id)
        .collect();
    ids.sort();
    ids
}

pub(crate) async fn pass(m: &MediaTest) -> boxoffice_app::enforcement::PassReport {
    m.t.advance_clock(time::Duration::minutes(5));
    m.t.app.run_enforcement_pass().await.expect("pass")
}

pub(crate) async fn queued_notices(m: &MediaTest, event: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM notifications WHERE event = '{event}'");
    let n: (i64,) = boxoffice_store::run!(m.t.app.db.ex(), |e| sqlx::query_as(
        sqlx::AssertSqlSafe(sql.clone())
    )
    .fetch_one(e)
    .await)
    .expect("count");
    n.0
}

pub(crate) async fn email_on(m: &MediaTest) {
    set(m, "email.enabled", "true").await;
    set(m, "email.smtp_host", "127.0.0.1").await;
    set(m, "email.smtp_security", "none").await;
    set(m, "email.from_address", "noreply@example.com").await;
}

#[tokio::test]
async fn three_streams_over_a_limit_of_two_stop_every_stream_after_two_readings() {
    let m = media_test().await;
    ann_with_two_streams(&m).await;
    email_on(&m).await;
    let mut ids = vec![
        play(&m, "tv", "Movie A"),
        play(&m, "phone", "Movie B"),
        play(&m, "laptop", "Movie C"),
    ];
    ids.sort();

    let first = pass(&m).await;
    assert_eq!(first.sessions, 3);
    assert!(
        stopped(&m).is_empty(),
        "one reading over the limit stops nothing"
    );

    let second = pass(&m).await;
    assert_eq!(second.stopped, 3, "{second:?}");
    assert_eq!(stopped(&m), ids);
    let messages = m.world.jellyfin.session_messages(&ids[0]);
    assert!(
        messages
            .iter()
            .any(|(_, text)| text.contains("Too many devices")),
        "{messages:?}"
    );
    assert_eq!(queued_notices(&m, "stream_limit_exceeded").await, 1);

    // The streams start again: stopped again, not notified again for the same incident.
    play(&m, "tv", "Movie A");
    play(&m, "phone", "Movie B");
    play(&m, "laptop", "Movie C");
    let again = pass(&m).await;
    assert_eq!(again.stopped, 3);
    assert_eq!(queued_notices(&m, "stream_limit_exceeded").await, 1);
}

#[tokio::test]
async fn over_the_limit_only_the_newest_stream_stops_when_the_owner_chose_so() {
    let m = media_test().await;
    ann_with_two_streams(&m).await;
    set(&m, "enforcement.stream_policy", "stop_newest").await;
    play(&m, "tv", "Movie A");
    play(&m, "phone", "Movie B");
    assert_eq!(pass(&m).await.stopped, 0);
    let newest = play(&m, "laptop", "Movie C");
    assert_eq!(pass(&m).await.stopped, 0, "first reading over the limit");
    let r = pass(&m).await;
    assert_eq!(r.stopped, 1, "{r:?}");
    assert_eq!(stopped(&m), vec![newest]);
}

#[tokio::test]
async fn a_flickering_third_stream_stops_nothing() {
    let m = media_test().await;
    ann_with_two_streams(&m).await;
    play(&m, "tv", "Movie A");
    play(&m, "phone", "Movie B");
    let third = play(&m, "laptop", "Movie C");
    pass(&m).await;
    // The viewer closes the third player before the next reading.
    let r = crate::helpers::client()
        .delete(format!(
            "{}/sessions/{third}",
            m.world.jellyfin.control_url()
        ))
        .send()
        .await
        .expect("control API");
    assert!(r.status().is_success(), "{}", r.status());
    pass(&m).await;
    play(&m, "laptop", "Movie C");
    pass(&m).await;
    let by_boxoffice = m
        .world
        .jellyfin
        .stopped_sessions()
        .into_iter()
        .filter(|s| s.by != "control")
        .count();
    assert_eq!(by_boxoffice, 0);
}

#[tokio::test]
async fn a_video_transcode_on_a_plan_without_transcoding_stops_and_an_audio_only_one_plays_on() {
    let m = media_test().await;
    ann_with_two_streams(&m).await;
    email_on(&m).await;
    let mut video = SessionSeed::new(ANN, "Transcoded");
    video.device_id = Some("tv".into());
    video.video_decision = "transcode".into();
    let video = m.world.jellyfin.start_session(video).expect("session");
    let mut audio = SessionSeed::new(ANN, "Audio only");
    audio.device_id = Some("phone".into());
    audio.video_decision = "copy".into();
    audio.audio_decision = "transcode".into();
    m.world.jellyfin.start_session(audio).expect("session");

    let r = pass(&m).await;
    assert_eq!(r.stopped, 1, "{r:?}");
    assert_eq!(stopped(&m), vec![video]);
    assert_eq!(queued_notices(&m, "transcoding_not_allowed").await, 1);
    let readings = m.t.app.live_streams().await.expect("readings");
    assert_eq!(readings.len(), 2);
    assert!(readings.iter().any(|r| r.title == "Transcoded"
        && r.action == "stopped"
        && r.video_decision == "transcode"));
    assert!(readings.iter().any(|r| r.title == "Audio only"
        && r.action.is_empty()
        && r.audio_decision == "transcode"));
}

#[tokio::test]
async fn a_permanent_customer_is_never_stopped() {
    let m = media_test().await;
    ann_with_two_streams(&m).await;
    exec(
        &m.t.app.db,
        format!("UPDATE customers SET permanent = TRUE WHERE email = '{ANN}'"),
    )
    .await;
    play(&m, "tv", "Movie A");
    play(&m, "phone", "Movie B");
    play(&m, "laptop", "Movie C");
    for _ in 0..3 {
        pass(&m).await;
    }
    assert!(stopped(&m).is_empty());
}

#[tokio::test]
async fn switched_off_stream_enforcement_stops_nothing() {
    let m = media_test().await;
    ann_with_two_streams(&m).await;
    set(&m, "enforcement.streams_enabled", "false").await;
    play(&m, "tv", "Movie A");
    play(&m, "phone", "Movie B");
    play(&m, "laptop", "Movie C");
    for _ in 0..3 {
        pass(&m).await;
    }
    assert!(stopped(&m).is_empty());
}

#[tokio::test]
async fn a_session_of_a_user_no_customer_owns_is_listed_and_left_alone() {
    let m = media_test().await;
    ann_with_two_streams(&m).await;
    m.world
        .jellyfin
        .seed_user(boxoffice_fakes::MbUserSeed::new("stranger"));
    let mut seed = SessionSeed::new("stranger", "Someone else's film");
    seed.video_decision = "transcode".into();
    m.world.jellyfin.start_session(seed).expect("session");
    for _ in 0..3 {
        pass(&m).await;
    }
    assert!(stopped(&m).is_empty());
    let readings = m.t.app.live_streams().await.expect("readings");
    assert!(
        readings
            .iter()
            .any(|r| r.user_name == "stranger" && r.customer_id.is_none())
    );
}

/// Ann also holds a share on the Plex fake (as after a migration or a second plan), with her
/// plex.tv account; answers the Plex server's id. `plex_pass` is the owner account's.
pub(crate) async fn ann_also_on_plex(m: &MediaTest, plex_pass: bool) -> i64 {
    m.world.plex_tv.set_plex_pass(plex_pass);
    let account = m
        .world
        .plex_tv
        .register_account(boxoffice_fakes::PlexAccountSeed {
            username: "ann".into(),
            email: ANN.into(),
            id: None,
            token: None,
            home: false,
        });
    let plex = m.add_plex_server_via_page().await;
    exec(
        &m.t.app.db,
        format!("UPDATE servers SET enabled = TRUE WHERE id = {plex}"),
    )
    .await;
    exec(
        &m.t.app.db,
        format!(
            "INSERT INTO shares (customer_id, server_id, state, remote_user_id, desired_libraries, downloads, video_transcoding, stream_limit, created_at, updated_at)
             SELECT id, {plex}, 'active', '{}', '[]', FALSE, FALSE, 2, 0, 0 FROM customers WHERE email = '{ANN}'",
            account.id
        ),
    )
    .await;
    plex
}

pub(crate) fn play_on_plex(m: &MediaTest, device: &str, title: &str) -> String {
    let mut seed = SessionSeed::new("ann", title);
    seed.device_id = Some(device.into());
    seed.device = device.into();
    m.world.plex_servers[0]
        .start_session(seed)
        .expect("plex session")
}

#[tokio::test]
async fn the_same_customer_on_plex_and_jellyfin_is_counted_together() {
    let m = media_test().await;
    ann_with_two_streams(&m).await;
    ann_also_on_plex(&m, true).await;
    play(&m, "tv", "Movie A");
    play(&m, "phone", "Movie B");
    let on_plex = play_on_plex(&m, "laptop", "Movie C");
    let first = pass(&m).await;
    assert_eq!(first.sessions, 3, "{first:?}");
    assert_eq!(first.stopped, 0);
    let second = pass(&m).await;
    assert_eq!(second.stopped, 3, "{second:?}");
    let plex_stops = m.world.plex_servers[0].stopped_sessions();
    assert_eq!(plex_stops.len(), 1, "{plex_stops:?}");
    assert_eq!(plex_stops[0].id, on_plex);
    assert_eq!(plex_stops[0].by, "terminate");
    assert!(
        plex_stops[0]
            .message
            .as_deref()
            .unwrap_or_default()
            .contains("Too many devices")
    );
    assert_eq!(m.world.jellyfin.stopped_sessions().len(), 2);
}

#[tokio::test]
async fn plex_without_plex_pass_is_notified_and_nothing_is_stopped() {
    let m = media_test().await;
    ann_with_two_streams(&m).await;
    email_on(&m).await;
    ann_also_on_plex(&m, false).await;
    play_on_plex(&m, "tv", "Movie A");
    play_on_plex(&m, "phone", "Movie B");
    play_on_plex(&m, "laptop", "Movie C");
    pass(&m).await;
    let r = pass(&m).await;
    assert_eq!((r.stopped, r.not_stopped), (0, 3), "{r:?}");
    assert!(m.world.plex_servers[0].stopped_sessions().is_empty());
    assert_eq!(queued_notices(&m, "stream_limit_exceeded").await, 1);
    let audit = m.t.app.recent_audit(50).await.expect("audit");
    assert!(
        audit
            .iter()
            .any(|a| a.action == "enforcement.stream_not_stopped"
                && a.detail.contains("no Plex Pass")),
        "{audit:?}"
    );
}

/// Ann invited to the Emby fake on a plan allowing two Emby devices; answers her Emby user id.
async fn ann_on_emby_with_two_devices(m: &MediaTest) -> String {
    let (s, v) = m
        .api(
            reqwest::Method::POST,
            "/servers",
            Some(json!({"platform": "emby", "url": m.world.emby.url(), "api_key": m.world.emby.api_key()})),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let emby = v["id"].as_i64().expect("id");
    m.t.run_pending_jobs().await;
    let db = &m.t.app.db;
    exec(
        db,
        format!(
            "UPDATE servers SET enabled = TRUE, allow_new_subscriptions = TRUE WHERE id = {emby}"
        ),
    )
    .await;
    exec(
        db,
        format!("UPDATE libraries SET library_group_id = 2 WHERE server_id = {emby}"),
    )
    .await;
    crate::lifecycle::plan(db, 1, "Basic", 1000, &[2], &[]).await;
    exec(
        db,
        "UPDATE plans SET emby_device_limit = 2 WHERE id = 1".into(),
    )
    .await;
    invite(
        m,
        json!({"email": ANN, "plan_id": 1, "transaction_id": "tx-ann"}),
    )
    .await;
    m.t.run_pending_jobs().await;
    m.world.emby.user(ANN).expect("emby user").id
}

fn log_in_from(m: &MediaTest, device: &str) {
    m.world
        .emby
        .seed_device(boxoffice_fakes::MbDeviceSeed {
            user: ANN.into(),
            name: device.into(),
            id: Some(device.into()),
            app_name: None,
            ip: None,
        })
        .expect("device");
}

fn emby_devices_of(m: &MediaTest, user_id: &str) -> Vec<String> {
    let mut ids: Vec<String> = m.world.emby.state()["devices"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter(|d| d["user_id"] == user_id)
        .filter_map(|d| d["id"].as_str().map(str::to_string))
        .collect();
    ids.sort();
    ids
}

fn emby_policy(m: &MediaTest) -> (bool, Vec<String>) {
    let u = m.world.emby.user(ANN).expect("user");
    let mut enabled: Vec<String> =
        serde_json::from_value(u.policy["EnabledDevices"].clone()).unwrap_or_default();
    enabled.sort();
    (u.flag("EnableAllDevices"), enabled)
}

#[tokio::test]
async fn emby_devices_stay_within_the_plans_limit_at_under_and_over_it() {
    let m = media_test().await;
    let user = ann_on_emby_with_two_devices(&m).await;

    log_in_from(&m, "dev-a");
    let under = pass(&m).await;
    assert_eq!(under.device_settings_changed, 0, "{under:?}");
    assert!(emby_policy(&m).0, "under the limit new devices may log in");

    log_in_from(&m, "dev-b");
    let at = pass(&m).await;
    assert_eq!(at.device_settings_changed, 1, "{at:?}");
    assert_eq!(
        emby_policy(&m),
        (false, vec!["dev-a".to_string(), "dev-b".to_string()])
    );

    log_in_from(&m, "dev-c");
    log_in_from(&m, "dev-d");
    let over = pass(&m).await;
    assert_eq!(over.devices_deleted, 2, "{over:?}");
    assert_eq!(emby_devices_of(&m, &user), vec!["dev-c", "dev-d"]);
    let page = m.t.get_html("/admin/devices").await;
    assert!(page.contains("dev-c") && page.contains("dev-d"), "{page}");
    assert!(
        !page.contains("dev-a"),
        "a deleted device is not listed: {page}"
    );
    assert!(
        page.contains(ANN),
        "the devices are listed under the customer"
    );
    assert_eq!(
        emby_policy(&m),
        (false, vec!["dev-c".to_string(), "dev-d".to_string()])
    );

    // Nothing changed: nothing is written again.
    let quiet = pass(&m).await;
    assert_eq!(
        (quiet.devices_deleted, quiet.device_settings_changed),
        (0, 0)
    );

    // The owner lifts the limit: new devices may log in again.
    exec(
        &m.t.app.db,
        "UPDATE plans SET emby_device_limit = NULL WHERE id = 1".into(),
    )
    .await;
    let lifted = pass(&m).await;
    assert_eq!(lifted.device_settings_changed, 1, "{lifted:?}");
    assert!(emby_policy(&m).0);
}

#[tokio::test]
async fn the_activity_page_lists_the_streams_now_with_what_was_done_and_draws_the_day() {
    let m = media_test().await;
    ann_with_two_streams(&m).await;
    let mut video = SessionSeed::new(ANN, "Transcoded <Film>");
    video.device_id = Some("tv".into());
    video.video_decision = "transcode".into();
    m.world.jellyfin.start_session(video).expect("session");
    play(&m, "phone", "Direct Film");
    pass(&m).await;
    let html = m.t.get_html("/admin/activity").await;
    assert!(
        html.contains("Transcoded &#60;Film&#62;") && !html.contains("<Film>"),
        "titles are escaped: {html}"
    );
    assert!(
        html.contains("Transcode (video)") && html.contains("Stopped"),
        "{html}"
    );
    assert!(html.contains("Direct play"), "{html}");
    assert!(html.contains(ANN), "the customer is named by e-mail");
    assert!(html.contains("id=\"streams-chart\""), "{html}");
    assert!(!html.contains("What this page will hold"));
}
