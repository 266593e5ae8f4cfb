//! Playback sessions seeded through the control API, shared by all fakes. Each fake
//! renders them in its own wire shape (PMS `Video` elements, Jellyfin/Emby SessionInfo).

use serde::{Deserialize, Serialize};

fn d_device() -> String {
    "Living Room TV".into()
}
fn d_ip() -> String {
    "203.0.113.10".into()
}
fn d_res() -> String {
    "1080".into()
}
fn d_direct() -> String {
    "direct".into()
}
fn d_kind() -> String {
    "movie".into()
}

/// A playback session to start on a fake (`POST /__control/sessions`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionSeed {
    /// Plex: username, email or `"owner"`; Jellyfin/Emby: user name or id.
    pub user: String,
    #[serde(default = "d_device")]
    pub device: String,
    /// Defaults to a fresh id.
    #[serde(default)]
    pub device_id: Option<String>,
    /// Client application, e.g. `Plex Web`, `Jellyfin Web`, `Emby Theater`.
    #[serde(default)]
    pub product: Option<String>,
    #[serde(default)]
    pub platform: Option<String>,
    /// Client IP as the server sees it.
    #[serde(default = "d_ip")]
    pub ip: String,
    /// LAN client (Plex `Player local="1"`, `Session location="lan"`).
    #[serde(default)]
    pub local: bool,
    pub title: String,
    /// `movie`, `episode` or `track`.
    #[serde(default = "d_kind")]
    pub kind: String,
    /// Series title for episodes.
    #[serde(default)]
    pub grandparent_title: Option<String>,
    /// Library title the item lives in (first matching library when absent).
    #[serde(default)]
    pub library: Option<String>,
    /// `4k`, `1080`, `720`, `480` or `sd`.
    #[serde(default = "d_res")]
    pub resolution: String,
    /// `direct`, `copy` or `transcode` (Plex decision words, ref §1.2 P26).
    #[serde(default = "d_direct")]
    pub video_decision: String,
    #[serde(default = "d_direct")]
    pub audio_decision: String,
    #[serde(default)]
    pub paused: bool,
    /// Bandwidth in kbit/s.
    #[serde(default)]
    pub bandwidth: Option<u64>,
}

impl SessionSeed {
    pub fn new(user: &str, title: &str) -> Self {
        SessionSeed {
            user: user.into(),
            device: d_device(),
            device_id: None,
            product: None,
            platform: None,
            ip: d_ip(),
            local: false,
            title: title.into(),
            kind: d_kind(),
            grandparent_title: None,
            library: None,
            resolution: d_res(),
            video_decision: d_direct(),
            audio_decision: d_direct(),
            paused: false,
            bandwidth: None,
        }
    }

    /// (width, height) for the seeded resolution.
    pub fn dimensions(&self) -> (u32, u32) {
        match self.resolution.to_ascii_lowercase().as_str() {
            "4k" | "2160" | "2160p" | "uhd" => (3840, 2160),
            "720" | "720p" => (1280, 720),
            "480" | "480p" | "sd" => (720, 480),
            _ => (1920, 1080),
        }
    }

    /// Plex `videoResolution` word: `4k`, `1080`, `720`, `480`, `sd`.
    pub fn plex_resolution(&self) -> &'static str {
        match self.dimensions().1 {
            2160 => "4k",
            1080 => "1080",
            720 => "720",
            _ => "sd",
        }
    }

    pub fn is_transcode(&self) -> bool {
        self.video_decision == "transcode" || self.audio_decision == "transcode"
    }
}

/// A session that ended, with how and the message shown to the viewer, if any.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StoppedSession {
    pub id: String,
    pub user: String,
    pub title: String,
    /// `terminate` (Plex P28), `stop_command` (Jellyfin/Emby Playing/Stop),
    /// `user_disabled`, `user_deleted`, `device_deleted`, `share_removed`, `control`.
    pub by: String,
    /// Plex `reason` / the last message sent to the session.
    pub message: Option<String>,
    pub at: i64,
}
