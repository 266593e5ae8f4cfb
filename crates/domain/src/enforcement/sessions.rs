//! One live session as the enforcement rules see it, and the facts about its customer and server.

use crate::ids::ServerId;
use crate::platform::Platform;
use serde::{Deserialize, Serialize};

/// What the server does with the video stream. Audio is ignored on purpose: an audio-only
/// transcode is always allowed (operations §3.8).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum VideoMode {
    /// The file is sent as it is.
    DirectPlay,
    /// The video is copied into a new container; only audio or container may be converted.
    DirectStream,
    /// The video itself is re-encoded.
    Transcode,
}

/// A live session read from a server, already matched to a customer where one of the customer's
/// media identities owns it. A session with `customer: None` is listed and never acted on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub server: ServerId,
    pub platform: Platform,
    /// The server's own id of the session, used to stop it and to message it.
    pub session_id: String,
    /// The player or machine identifier; several sessions on one device count as one stream.
    pub device: String,
    pub customer: Option<i64>,
    /// When the session started (Unix seconds); "newest" is by this, then by session id.
    pub started_at: i64,
    pub video: VideoMode,
    /// Source video is 4K: width ≥ 3840 or height ≥ 2160 (operations §3.8).
    pub source_is_4k: bool,
}

/// What the rules need to know about one customer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerRules {
    pub customer: i64,
    /// Permanent users are exempt from every kind of enforcement.
    pub permanent: bool,
    /// `None`: no active plan or no limit; nothing is counted against it.
    pub max_streams: Option<u32>,
    pub video_transcoding_allowed: bool,
}

/// What the rules need to know about one server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerRules {
    pub server: ServerId,
    /// Plex stops sessions only for an owner account with Plex Pass; Jellyfin and Emby always can.
    pub can_stop: bool,
    pub allows_4k_transcoding: bool,
}

impl ServerRules {
    pub fn new(server: ServerId, platform: Platform, owner_has_plex_pass: bool) -> ServerRules {
        ServerRules {
            server,
            can_stop: platform != Platform::Plex || owner_has_plex_pass,
            allows_4k_transcoding: true,
        }
    }
}
