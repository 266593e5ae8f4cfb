//! Platform-neutral values the clients return and take.

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Platform {
    /// plex.tv (account service).
    PlexTv,
    /// A Plex Media Server.
    Plex,
    Jellyfin,
    Emby,
}

impl Platform {
    /// Product family as the operator docs name it: plex.tv and the PMS are both "Plex"
    /// (operations §5.6 "Error communicating with Plex 401").
    pub fn family(self) -> &'static str {
        match self {
            Platform::PlexTv | Platform::Plex => "Plex",
            Platform::Jellyfin => "Jellyfin",
            Platform::Emby => "Emby",
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Platform::PlexTv => "plex.tv",
            Platform::Plex => "Plex",
            Platform::Jellyfin => "Jellyfin",
            Platform::Emby => "Emby",
        })
    }
}

/// Who a server says it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerIdentity {
    pub name: String,
    /// Plex `machineIdentifier`; Jellyfin/Emby server `Id`.
    pub id: String,
    pub version: String,
    /// Plex: the owner has Plex Pass (`myPlexSubscription`, ref §1.2 P29). `None` where
    /// the server does not say.
    pub premium: Option<bool>,
}

/// One library on a server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Library {
    /// The id that access is granted by: Plex plex.tv-global section `id`, Jellyfin
    /// folder `Id`, Emby folder `Guid` (ref §1.1 "Library ids", §3.1).
    pub id: String,
    /// The server-local id: Plex section `key`, Jellyfin/Emby item `Id`.
    pub key: String,
    pub name: String,
    /// Plex `movie`/`show`/`artist`/`photo`; Jellyfin/Emby `CollectionType`.
    pub kind: String,
    /// Top-level items: movies, shows, artists or photos.
    pub item_count: u64,
    /// Episodes of a show library, tracks of a music library.
    pub child_count: Option<u64>,
}

/// How a user is addressed for updates and removals. Plex needs the share id for
/// share-level calls and the plex.tv user id for friend-level calls (ref §1.1 "Share id").
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct UserRef {
    /// Jellyfin/Emby user id; Plex plex.tv user id (empty for an e-mail-only invite).
    pub user_id: String,
    /// Plex share id (`SharedServer@id`); `None` elsewhere.
    pub share_id: Option<String>,
}

impl UserRef {
    pub fn user(id: impl Into<String>) -> Self {
        UserRef {
            user_id: id.into(),
            share_id: None,
        }
    }
    pub fn plex_share(share_id: impl Into<String>, user_id: impl Into<String>) -> Self {
        UserRef {
            user_id: user_id.into(),
            share_id: Some(share_id.into()),
        }
    }
}

/// A user (Jellyfin/Emby) or share (Plex) as the server reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaUser {
    pub user_ref: UserRef,
    pub name: String,
    pub email: Option<String>,
    pub all_libraries: bool,
    /// [`Library::id`] values the user can reach (empty when `all_libraries`).
    pub libraries: Vec<String>,
    pub downloads: bool,
    /// Video transcoding allowed (Jellyfin/Emby `EnableVideoPlaybackTranscoding`); `None` where
    /// the platform has no per-user switch (Plex).
    pub video_transcoding: Option<bool>,
    pub disabled: bool,
    pub is_admin: bool,
    /// Plex: invited but not accepted yet.
    pub pending: bool,
    /// Jellyfin/Emby device restriction: `EnableAllDevices` / `EnabledDevices`.
    pub all_devices: bool,
    pub enabled_devices: Vec<String>,
    /// Emby Connect user linked to this account.
    pub connect_username: Option<String>,
}

/// Who to invite (Plex) or create (Jellyfin/Emby).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    /// Plex: e-mail or username of the customer's plex.tv account. Jellyfin/Emby: the
    /// user name to create.
    pub name: String,
    /// Jellyfin/Emby password set at creation (operations §5.8: always set one). Ignored
    /// by Plex.
    pub password: Option<String>,
}

/// A sent Plex invite not yet accepted (ref §1.2 P15).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingInvite {
    /// Share id; cancel with it (ref §1.2 P17).
    pub id: String,
    pub machine_id: String,
    pub email: String,
    pub username: Option<String>,
    pub user_id: Option<String>,
    pub libraries: Vec<String>,
    pub all_libraries: bool,
    pub invited_at: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PlaybackState {
    Playing,
    Paused,
    Buffering,
}

/// Plex's decision words (ref §1.2 P26); Jellyfin/Emby are mapped onto them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Decision {
    DirectPlay,
    /// Remux / direct stream: container changed, stream copied.
    Copy,
    Transcode,
}

/// One live stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveSession {
    /// What [`crate::MediaServer::stop_session`] takes: Plex `Session@id` (not
    /// `sessionKey`, ref §1.1), Jellyfin/Emby session `Id`.
    pub id: String,
    /// Plex: plex.tv user id (`"1"` is the owner, ref §1.1); Jellyfin/Emby user id.
    pub user_id: String,
    pub user_name: String,
    pub device: String,
    pub device_id: String,
    pub product: String,
    pub ip: String,
    pub local: bool,
    pub state: PlaybackState,
    pub title: String,
    /// Series title for episodes.
    pub grandparent_title: Option<String>,
    /// `4k`, `1080`, `720`, `480` or `sd` (Plex words).
    pub resolution: String,
    pub video_decision: Decision,
    pub audio_decision: Decision,
}

/// A device a user logged in from (Jellyfin/Emby, ref §2.2 J19, §3.2 E13).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    /// What delete takes: Jellyfin device id; Emby device list `Id`.
    pub id: String,
    /// The client's own device id (Emby `ReportedDeviceId`; Jellyfin same as `id`).
    pub reported_id: String,
    pub name: String,
    pub app: String,
    pub user_id: Option<String>,
    pub user_name: Option<String>,
    pub last_activity: Option<String>,
}

/// Result of linking an Emby Connect account (ref §3.2 E14).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectLink {
    pub is_pending: bool,
    pub is_new_user_invitation: bool,
    pub guest_display_name: Option<String>,
}

/// The plex.tv account behind a token (ref §1.2 P1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlexAccountInfo {
    pub id: i64,
    pub uuid: String,
    pub username: String,
    pub email: String,
    pub plex_pass: bool,
}

/// A server the account owns (ref §1.2 P4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlexResource {
    pub name: String,
    pub machine_id: String,
    pub version: String,
    pub owned: bool,
    pub access_token: Option<String>,
    /// Connection URIs, local first as plex.tv lists them.
    pub uris: Vec<String>,
}

/// A section id pair from plex.tv (ref §1.2 P8): `id` is global, `key` PMS-local.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlexSectionId {
    pub id: i64,
    pub key: i64,
    pub title: String,
    pub kind: String,
}

/// Users counted against a Plex server's capacity (operations §5.4: friends plus Home
/// users; full at 99).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlexHeadcount {
    /// Distinct people with a share (accepted or pending) on this server.
    pub shared: usize,
    /// Plex Home members other than the owner.
    pub home: usize,
}

impl PlexHeadcount {
    pub fn total(&self) -> usize {
        self.shared + self.home
    }
    /// The operator docs call a server with 99 users full (operations §5.4).
    pub fn is_full(&self) -> bool {
        self.total() >= 99
    }
}
