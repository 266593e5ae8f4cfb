use super::*;
use crate::enforcement::sessions::VideoMode;
use crate::platform::Platform;

const PLEX: ServerId = 1;
const JELLYFIN: ServerId = 2;
const PLEX_NO_PASS: ServerId = 3;
const CUSTOMER: i64 = 7;

fn session(server: ServerId, id: &str, device: &str, started_at: i64) -> Session {
    let platform = if server == JELLYFIN {
        Platform::Jellyfin
    } else {
        Platform::Plex
    };
    Session {
        server,
        platform,
        session_id: id.into(),
        device: device.into(),
        customer: Some(CUSTOMER),
        started_at,
        video: VideoMode::DirectPlay,
        source_is_4k: false,
    }
}

fn customers(limit: u32, permanent: bool) -> BTreeMap<i64, CustomerRules> {
    let rules = CustomerRules {
        customer: CUSTOMER,
        permanent,
        max_streams: Some(limit),
        video_transcoding_allowed: true,
    };
    BTreeMap::from([(CUSTOMER, rules)])
}

fn servers() -> BTreeMap<ServerId, ServerRules> {
    BTreeMap::from([
        (PLEX, ServerRules::new(PLEX, Platform::Plex, true)),
        (
            JELLYFIN,
            ServerRules::new(JELLYFIN, Platform::Jellyfin, false),
        ),
        (
            PLEX_NO_PASS,
            ServerRules::new(PLEX_NO_PASS, Platform::Plex, false),
        ),
    ])
}

fn settings(policy: StreamPolicy) -> StreamSettings {
    StreamSettings {
        streams_enabled: true,
        transcoding_enabled: true,
        policy,
        confirm_readings: 2,
    }
}

fn three_streams() -> Vec<Session> {
    vec![
        session(PLEX, "a", "tv", 100),
        session(PLEX, "b", "phone", 200),
        session(JELLYFIN, "c", "laptop", 300),
    ]
}

/// Runs `readings` consecutive passes over the same sessions and returns the last.
fn passes(
    sessions: &[Session],
    c: &BTreeMap<i64, CustomerRules>,
    s: StreamSettings,
    readings: u32,
) -> StreamPass {
    let mut memory = PassMemory::default();
    let mut last = StreamPass::default();
    for i in 0..readings {
        last = plan_stream_pass(
            sessions,
            c,
            &servers(),
            &memory,
            &s,
            1_000 + i64::from(i) * 300,
        );
        memory = last.memory.clone();
    }
    last
}

fn stopped(pass: &StreamPass) -> Vec<&str> {
    let mut ids: Vec<&str> = pass
        .actions
        .iter()
        .filter_map(|a| match a {
            StreamAction::Stop { session_id, .. } => Some(session_id.as_str()),
            _ => None,
        })
        .collect();
    ids.sort();
    ids
}

fn notices(pass: &StreamPass) -> Vec<&'static str> {
    pass.actions
        .iter()
        .filter_map(|a| match a {
            StreamAction::Notify { template, .. } => Some(*template),
            _ => None,
        })
        .collect()
}

#[test]
fn the_same_customer_on_plex_and_jellyfin_is_counted_together() {
    let pass = passes(
        &three_streams(),
        &customers(2, false),
        settings(StreamPolicy::StopAll),
        1,
    );
    assert_eq!(pass.streams.get(&CUSTOMER), Some(&3));
}

#[test]
fn three_streams_over_a_limit_of_two_stop_every_stream_under_the_reference_policy() {
    let pass = passes(
        &three_streams(),
        &customers(2, false),
        settings(StreamPolicy::StopAll),
        2,
    );
    assert_eq!(stopped(&pass), vec!["a", "b", "c"]);
    assert_eq!(notices(&pass), vec!["stream_limit_exceeded"]);
}

#[test]
fn three_streams_over_a_limit_of_two_stop_only_the_newest_under_that_policy() {
    let pass = passes(
        &three_streams(),
        &customers(2, false),
        settings(StreamPolicy::StopNewest),
        2,
    );
    assert_eq!(stopped(&pass), vec!["c"]);
}

#[test]
fn the_customer_is_offered_a_choice_and_the_newest_stops_when_the_grace_ends() {
    let s = settings(StreamPolicy::CustomerChooses { grace_secs: 120 });
    let c = customers(2, false);
    let first = plan_stream_pass(
        &three_streams(),
        &c,
        &servers(),
        &PassMemory::default(),
        &s,
        1_000,
    );
    let confirmed = plan_stream_pass(&three_streams(), &c, &servers(), &first.memory, &s, 1_300);
    assert!(stopped(&confirmed).is_empty());
    assert!(
        notices(&confirmed).is_empty(),
        "the offer is the notice; nothing was stopped yet"
    );
    assert!(confirmed.actions.iter().any(|a| matches!(
        a,
        StreamAction::OfferChoice {
            until: 1_420,
            streams: 3,
            limit: 2,
            ..
        }
    )));
    let waiting = plan_stream_pass(
        &three_streams(),
        &c,
        &servers(),
        &confirmed.memory,
        &s,
        1_400,
    );
    assert!(stopped(&waiting).is_empty());
    let ended = plan_stream_pass(&three_streams(), &c, &servers(), &waiting.memory, &s, 1_420);
    assert_eq!(stopped(&ended), vec!["c"]);
    assert_eq!(
        notices(&ended),
        vec!["stream_limit_exceeded"],
        "the customer is told the newest stream was stopped"
    );
    let still = plan_stream_pass(&three_streams(), &c, &servers(), &ended.memory, &s, 1_720);
    assert_eq!(stopped(&still), vec!["c"]);
    assert!(notices(&still).is_empty(), "told once per incident");
}

#[test]
fn one_flickering_reading_stops_nothing() {
    let c = customers(2, false);
    let s = settings(StreamPolicy::StopAll);
    let over = plan_stream_pass(
        &three_streams(),
        &c,
        &servers(),
        &PassMemory::default(),
        &s,
        1_000,
    );
    assert!(over.actions.is_empty());
    let under = plan_stream_pass(
        &three_streams()[..2],
        &c,
        &servers(),
        &over.memory,
        &s,
        1_300,
    );
    assert!(under.actions.is_empty());
    let over_again = plan_stream_pass(&three_streams(), &c, &servers(), &under.memory, &s, 1_600);
    assert!(over_again.actions.is_empty());
}

#[test]
fn two_sessions_on_one_device_are_one_stream() {
    let sessions = vec![
        session(PLEX, "a", "tv", 100),
        session(JELLYFIN, "b", "tv", 200),
    ];
    let pass = passes(
        &sessions,
        &customers(1, false),
        settings(StreamPolicy::StopAll),
        3,
    );
    assert_eq!(pass.streams.get(&CUSTOMER), Some(&1));
    assert!(pass.actions.is_empty());
}

#[test]
fn a_permanent_user_is_never_touched() {
    let mut sessions = three_streams();
    sessions[0].video = VideoMode::Transcode;
    let mut c = customers(2, true);
    if let Some(r) = c.get_mut(&CUSTOMER) {
        r.video_transcoding_allowed = false;
    }
    let pass = passes(&sessions, &c, settings(StreamPolicy::StopAll), 3);
    assert!(pass.actions.is_empty());
}

#[test]
fn plex_without_plex_pass_is_notified_and_not_stopped() {
    let sessions = vec![
        session(PLEX_NO_PASS, "a", "tv", 100),
        session(PLEX_NO_PASS, "b", "phone", 200),
        session(PLEX_NO_PASS, "c", "laptop", 300),
    ];
    let pass = passes(
        &sessions,
        &customers(2, false),
        settings(StreamPolicy::StopAll),
        2,
    );
    assert!(stopped(&pass).is_empty());
    assert_eq!(notices(&pass), vec!["stream_limit_exceeded"]);
    let notes = pass
        .actions
        .iter()
        .filter(|a| matches!(a, StreamAction::CannotStop { .. }))
        .count();
    assert_eq!(notes, 3);
}

#[test]
fn a_session_of_an_unknown_user_is_never_stopped() {
    let mut sessions = three_streams();
    for s in &mut sessions {
        s.customer = None;
        s.video = VideoMode::Transcode;
    }
    let pass = passes(
        &sessions,
        &customers(0, false),
        settings(StreamPolicy::StopAll),
        3,
    );
    assert!(pass.actions.is_empty());
    assert!(pass.streams.is_empty());
}

#[test]
fn a_forbidden_transcode_is_stopped_at_once_and_an_audio_only_one_is_left_alone() {
    let mut c = customers(5, false);
    if let Some(r) = c.get_mut(&CUSTOMER) {
        r.video_transcoding_allowed = false;
    }
    let mut sessions = three_streams();
    sessions[0].video = VideoMode::Transcode;
    sessions[1].video = VideoMode::DirectStream;
    let pass = passes(&sessions, &c, settings(StreamPolicy::StopAll), 1);
    assert_eq!(stopped(&pass), vec!["a"]);
    assert_eq!(notices(&pass), vec!["transcoding_not_allowed"]);
}

#[test]
fn a_transcode_that_cannot_be_stopped_is_notified_once() {
    let mut c = customers(5, false);
    if let Some(r) = c.get_mut(&CUSTOMER) {
        r.video_transcoding_allowed = false;
    }
    let mut s = session(PLEX_NO_PASS, "a", "tv", 100);
    s.video = VideoMode::Transcode;
    let pass = passes(&[s], &c, settings(StreamPolicy::StopAll), 3);
    assert!(
        notices(&pass).is_empty(),
        "the first pass notified; later passes stay quiet"
    );
    assert!(matches!(
        pass.actions.as_slice(),
        [StreamAction::CannotStop { .. }]
    ));
}

#[test]
fn each_kind_of_enforcement_can_be_switched_off() {
    let mut c = customers(2, false);
    if let Some(r) = c.get_mut(&CUSTOMER) {
        r.video_transcoding_allowed = false;
    }
    let mut sessions = three_streams();
    sessions[0].video = VideoMode::Transcode;
    let mut s = settings(StreamPolicy::StopAll);
    s.streams_enabled = false;
    let pass = passes(&sessions, &c, s, 2);
    assert_eq!(stopped(&pass), vec!["a"], "only the transcoding rule acts");
    s.streams_enabled = true;
    s.transcoding_enabled = false;
    let pass = passes(&sessions[1..], &c, s, 2);
    assert!(
        stopped(&pass).is_empty(),
        "two streams are within the limit and transcoding is off"
    );
}
