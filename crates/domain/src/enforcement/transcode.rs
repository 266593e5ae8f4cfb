//! The transcoding rules (operations §3.8): only video transcoding is ever punished, and the 4K
//! rule is checked first so the customer gets the more specific message.

use super::sessions::{CustomerRules, ServerRules, Session, VideoMode};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TranscodeVerdict {
    Allowed,
    /// The server does not transcode 4K video (rule B).
    Forbidden4k,
    /// The customer's plan does not include video transcoding (rule A).
    ForbiddenByPlan,
}

impl TranscodeVerdict {
    /// The notification template sent to the customer.
    pub fn template(self) -> Option<&'static str> {
        match self {
            TranscodeVerdict::Allowed => None,
            TranscodeVerdict::Forbidden4k => Some("transcoding_4k_not_allowed"),
            TranscodeVerdict::ForbiddenByPlan => Some("transcoding_not_allowed"),
        }
    }

    /// The text shown on the player when the session is stopped.
    pub fn message(self) -> &'static str {
        match self {
            TranscodeVerdict::Allowed => "",
            TranscodeVerdict::Forbidden4k => {
                "This server does not transcode 4K video. Play it in original quality or pick the HD version."
            }
            TranscodeVerdict::ForbiddenByPlan => {
                "Your plan does not include video transcoding. Set your player to original quality."
            }
        }
    }
}

pub fn transcode_verdict(
    session: &Session,
    customer: &CustomerRules,
    server: &ServerRules,
) -> TranscodeVerdict {
    if customer.permanent || session.video != VideoMode::Transcode {
        return TranscodeVerdict::Allowed;
    }
    if session.source_is_4k && !server.allows_4k_transcoding {
        return TranscodeVerdict::Forbidden4k;
    }
    if !customer.video_transcoding_allowed {
        return TranscodeVerdict::ForbiddenByPlan;
    }
    TranscodeVerdict::Allowed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::Platform;

    fn session(video: VideoMode, source_is_4k: bool) -> Session {
        Session {
            server: 1,
            platform: Platform::Jellyfin,
            session_id: "s".into(),
            device: "d".into(),
            customer: Some(7),
            started_at: 0,
            video,
            source_is_4k,
        }
    }

    fn customer(transcoding: bool, permanent: bool) -> CustomerRules {
        CustomerRules {
            customer: 7,
            permanent,
            max_streams: Some(2),
            video_transcoding_allowed: transcoding,
        }
    }

    fn server(allows_4k: bool) -> ServerRules {
        ServerRules {
            server: 1,
            can_stop: true,
            allows_4k_transcoding: allows_4k,
        }
    }

    #[test]
    fn an_audio_only_transcode_is_never_stopped() {
        let v = transcode_verdict(
            &session(VideoMode::DirectStream, true),
            &customer(false, false),
            &server(false),
        );
        assert_eq!(v, TranscodeVerdict::Allowed);
    }

    #[test]
    fn a_video_transcode_is_stopped_when_the_plan_forbids_it() {
        let v = transcode_verdict(
            &session(VideoMode::Transcode, false),
            &customer(false, false),
            &server(true),
        );
        assert_eq!(v, TranscodeVerdict::ForbiddenByPlan);
        assert_eq!(v.template(), Some("transcoding_not_allowed"));
    }

    #[test]
    fn a_4k_transcode_is_stopped_only_on_a_server_that_forbids_it() {
        let s = session(VideoMode::Transcode, true);
        let c = customer(true, false);
        assert_eq!(
            transcode_verdict(&s, &c, &server(true)),
            TranscodeVerdict::Allowed
        );
        assert_eq!(
            transcode_verdict(&s, &c, &server(false)),
            TranscodeVerdict::Forbidden4k
        );
    }

    #[test]
    fn the_4k_rule_wins_over_the_plan_rule_for_the_more_specific_message() {
        let v = transcode_verdict(
            &session(VideoMode::Transcode, true),
            &customer(false, false),
            &server(false),
        );
        assert_eq!(v, TranscodeVerdict::Forbidden4k);
    }

    #[test]
    fn a_permanent_user_is_never_stopped_for_transcoding() {
        let v = transcode_verdict(
            &session(VideoMode::Transcode, true),
            &customer(false, true),
            &server(false),
        );
        assert_eq!(v, TranscodeVerdict::Allowed);
    }
}
