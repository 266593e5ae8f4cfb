//! State and DTO shapes shared by the Jellyfin and Emby fakes (Jellyfin forked from
//! Emby 3.5, so most routes and DTO names match, ref §3).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::ids;
use crate::sessions::{SessionSeed, StoppedSession};

/// Which server a MediaBrowser-family fake imitates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MbKind {
    /// Jellyfin, as `(major, minor)`: 10.8, 10.9, 10.10, 10.11, 12.0.
    Jellyfin(u16, u16),
    Emby,
}

impl MbKind {
    pub fn is_emby(self) -> bool {
        self == MbKind::Emby
    }
    /// Jellyfin ≥ the given version (false for Emby).
    pub fn jf_at_least(self, major: u16, minor: u16) -> bool {
        matches!(self, MbKind::Jellyfin(a, b) if (a, b) >= (major, minor))
    }
}

/// Seed for a user (`POST /__control/users`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MbUserSeed {
    pub name: String,
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub admin: bool,
    #[serde(default)]
    pub disabled: bool,
    /// Library names; when given, `EnableAllFolders` is off and `EnabledFolders` lists them.
    #[serde(default)]
    pub libraries: Option<Vec<String>>,
    /// Extra policy fields merged over the server's defaults.
    #[serde(default)]
    pub policy: Option<Value>,
}

impl MbUserSeed {
    pub fn new(name: &str) -> Self {
        MbUserSeed {
            name: name.into(),
            password: None,
            admin: false,
            disabled: false,
            libraries: None,
            policy: None,
        }
    }
}

/// Seed for a library (`POST /__control/libraries`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MbLibrarySeed {
    pub name: String,
    /// `movies`, `tvshows`, `music`, `homevideos`, ...
    pub collection_type: String,
    /// Movies, series or artists.
    pub items: u64,
    #[serde(default)]
    pub episodes: Option<u64>,
    #[serde(default)]
    pub albums: Option<u64>,
    #[serde(default)]
    pub songs: Option<u64>,
}

impl MbLibrarySeed {
    pub fn new(name: &str, collection_type: &str, items: u64) -> Self {
        MbLibrarySeed {
            name: name.into(),
            collection_type: collection_type.into(),
            items,
            episodes: None,
            albums: None,
            songs: None,
        }
    }
}

/// Seed for a device a user logged in from (`POST /__control/devices`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MbDeviceSeed {
    pub user: String,
    pub name: String,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub app_name: Option<String>,
    #[serde(default)]
    pub ip: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MbUser {
    pub id: String,
    pub name: String,
    pub password: Option<String>,
    pub policy: Value,
    pub configuration: Value,
    pub created: String,
    pub last_login: Option<String>,
    pub connect_username: Option<String>,
}

impl MbUser {
    pub fn flag(&self, k: &str) -> bool {
        self.policy.get(k).and_then(Value::as_bool).unwrap_or(false)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MbLibrary {
    /// Jellyfin: 32-hex GUID. Emby: numeric string item id (ref §3.1 "Ids").
    pub id: String,
    /// 32-hex folder Guid (Emby policy `EnabledFolders` wants this, ref §3.1).
    pub guid: String,
    pub name: String,
    pub collection_type: String,
    /// Item counts by BaseItemKind (`Movie`, `Series`, `Episode`, `MusicAlbum`, `Audio`, `MusicArtist`).
    pub counts: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MbDevice {
    pub id: String,
    pub internal_id: i64,
    pub name: String,
    pub app_name: String,
    pub app_version: String,
    pub user_id: String,
    pub user_name: String,
    pub ip: String,
    pub last_activity: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MbMessage {
    pub header: Option<String>,
    pub text: String,
    pub timeout_ms: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MbSession {
    pub id: String,
    pub user_id: String,
    pub user_name: String,
    pub device_id: String,
    pub device_name: String,
    pub client: String,
    pub ip: String,
    pub item_id: String,
    /// `None` while idle (clients appear in `/Sessions` even when not playing, ref §2.2 J15).
    pub playing: Option<SessionSeed>,
    pub messages: Vec<MbMessage>,
    pub commands: Vec<String>,
    pub last_activity: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MbApiKey {
    pub token: String,
    pub app: String,
    pub created: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MbState {
    pub kind: MbKind,
    pub server_id: String,
    pub server_name: String,
    pub version: String,
    pub users: Vec<MbUser>,
    pub libraries: Vec<MbLibrary>,
    pub devices: Vec<MbDevice>,
    pub sessions: Vec<MbSession>,
    pub stopped: Vec<StoppedSession>,
    pub api_keys: Vec<MbApiKey>,
    /// Access token → (user id, device id), issued by `AuthenticateByName`.
    pub tokens: BTreeMap<String, (String, String)>,
    /// Jellyfin 10.11+ `EnableLegacyAuthorization` (ref §2.1); ignored before 10.11.
    pub legacy_auth: bool,
    /// Emby void-operation status: 204 or 200 with an empty body (ref §3.3.7).
    pub void_status: u16,
    pub next_item: i64,
}

impl MbState {
    pub fn new(kind: MbKind, server_name: &str) -> Self {
        let version = match kind {
            MbKind::Emby => "4.8.11.0".to_string(),
            MbKind::Jellyfin(10, 8) => "10.8.13".into(),
            MbKind::Jellyfin(10, 9) => "10.9.11".into(),
            MbKind::Jellyfin(10, 10) => "10.10.7".into(),
            MbKind::Jellyfin(a, b) => format!("{a}.{b}.0"),
        };
        let mut st = MbState {
            kind,
            server_id: ids::hex(32),
            server_name: server_name.into(),
            version,
            users: Vec::new(),
            libraries: Vec::new(),
            devices: Vec::new(),
            sessions: Vec::new(),
            stopped: Vec::new(),
            api_keys: vec![MbApiKey {
                token: ids::hex(32),
                app: "boxoffice".into(),
                created: ids::iso_now(),
            }],
            tokens: BTreeMap::new(),
            // 12.0 turns legacy authorization off by default; 10.11 keeps it on (ref §2.1).
            legacy_auth: !kind.jf_at_least(12, 0),
            void_status: 204,
            next_item: 3,
        };
        let mut admin = MbUserSeed::new("admin");
        admin.admin = true;
        admin.password = Some("admin".into());
        st.add_user(admin);
        st
    }

    pub fn api_key(&self) -> String {
        self.api_keys
            .first()
            .map(|k| k.token.clone())
            .unwrap_or_default()
    }

    fn item_id(&mut self) -> String {
        self.next_item += 1;
        self.next_item.to_string()
    }

    /// Policy of a freshly created user, as the real server defaults it (ref §2.3 lists
    /// Jellyfin's; Emby shares the MediaBrowser ancestry for common fields). Note that
    /// downloads, all-folders, remote access and transcoding default **on**.
    pub fn default_policy(&self) -> Value {
        Self::default_policy_for(self.kind)
    }

    /// [`MbState::default_policy`] of a server of this kind.
    pub fn default_policy_for(kind: MbKind) -> Value {
        let mut p = json!({
            "IsAdministrator": false, "IsHidden": true, "IsDisabled": false,
            "BlockedTags": [], "EnableUserPreferenceAccess": true, "AccessSchedules": [],
            "BlockUnratedItems": [], "EnableRemoteControlOfOtherUsers": false,
            "EnableSharedDeviceControl": true, "EnableRemoteAccess": true,
            "EnableLiveTvManagement": true, "EnableLiveTvAccess": true, "EnableMediaPlayback": true,
            "EnableAudioPlaybackTranscoding": true, "EnableVideoPlaybackTranscoding": true,
            "EnablePlaybackRemuxing": true, "EnableContentDeletion": false,
            "EnableContentDeletionFromFolders": [], "EnableContentDownloading": true,
            "EnableSubtitleManagement": false, "EnableSyncTranscoding": true, "EnableMediaConversion": true,
            "EnabledDevices": [], "EnableAllDevices": true, "EnabledChannels": [], "EnableAllChannels": true,
            "EnabledFolders": [], "EnableAllFolders": true, "InvalidLoginAttemptCount": 0,
            "EnablePublicSharing": true, "RemoteClientBitrateLimit": 0, "MaxParentalRating": null,
        });
        let extra = if kind.is_emby() {
            json!({
                "IsHiddenRemotely": true, "IsHiddenFromUnusedDevices": false, "IsTagBlockingModeInclusive": false,
                "IncludeTags": [], "ExcludedSubFolders": [], "AllowCameraUpload": true,
                "AllowSharingPersonalItems": false, "AllowTagOrRating": false, "EnableSubtitleDownloading": false,
                "RestrictedFeatures": [], "SimultaneousStreamLimit": 0, "LockedOutDate": 0,
                "AuthenticationProviderId": "Emby.Server.Implementations.Library.DefaultAuthenticationProvider",
            })
        } else {
            json!({
                "EnableCollectionManagement": false, "EnableLyricManagement": false, "MaxParentalSubRating": null,
                "AllowedTags": [], "BlockedChannels": [], "BlockedMediaFolders": [],
                "ForceRemoteSourceTranscoding": false, "LoginAttemptsBeforeLockout": -1, "MaxActiveSessions": 0,
                "SyncPlayAccess": "CreateAndJoinGroups",
                "AuthenticationProviderId": "Jellyfin.Server.Implementations.Users.DefaultAuthenticationProvider",
                "PasswordResetProviderId": "Jellyfin.Server.Implementations.Users.DefaultPasswordResetProvider",
            })
        };
        if let (Some(m), Value::Object(e)) = (p.as_object_mut(), extra) {
            m.extend(e);
        }
        p
    }

    pub fn default_configuration() -> Value {
        json!({
            "AudioLanguagePreference": "", "PlayDefaultAudioTrack": true, "SubtitleLanguagePreference": "",
            "DisplayMissingEpisodes": false, "GroupedFolders": [], "SubtitleMode": "Default",
            "DisplayCollectionsView": false, "EnableLocalPassword": false, "OrderedViews": [],
            "LatestItemsExcludes": [], "MyMediaExcludes": [], "HidePlayedInLatest": true,
            "RememberAudioSelections": true, "RememberSubtitleSelections": true, "EnableNextEpisodeAutoPlay": true,
        })
    }

    pub fn add_user(&mut self, seed: MbUserSeed) -> MbUser {
        let mut policy = self.default_policy();
        policy["IsAdministrator"] = json!(seed.admin);
        policy["IsDisabled"] = json!(seed.disabled);
        if seed.admin {
            policy["IsHidden"] = json!(false);
        }
        if let Some(names) = &seed.libraries {
            let ids_: Vec<String> = names
                .iter()
                .filter_map(|n| {
                    self.libraries
                        .iter()
                        .find(|l| l.name.eq_ignore_ascii_case(n))
                })
                .map(|l| self.folder_policy_id(l))
                .collect();
            policy["EnableAllFolders"] = json!(false);
            policy["EnabledFolders"] = json!(ids_);
        }
        if let (Some(Value::Object(extra)), Some(m)) = (&seed.policy, policy.as_object_mut()) {
            for (k, v) in extra {
                m.insert(k.clone(), v.clone());
            }
        }
        let user = MbUser {
            id: ids::hex(32),
            name: seed.name,
            password: seed.password.filter(|p| !p.is_empty()),
            policy,
            configuration: Self::default_configuration(),
            created: ids::iso_now(),
            last_login: None,
            connect_username: None,
        };
        self.users.push(user.clone());
        user
    }

    /// Id that goes into `EnabledFolders`: Jellyfin the folder `Id`; Emby the `Guid`.
    pub fn folder_policy_id(&self, l: &MbLibrary) -> String {
        if self.kind.is_emby() {
            l.guid.clone()
        } else {
            l.id.clone()
        }
    }

    pub fn add_library(&mut self, seed: &MbLibrarySeed) -> MbLibrary {
        let guid = ids::hex(32);
        let id = if self.kind.is_emby() {
            self.item_id()
        } else {
            guid.clone()
        };
        let mut counts = BTreeMap::new();
        match seed.collection_type.as_str() {
            "tvshows" => {
                counts.insert("Series".into(), seed.items);
                counts.insert("Episode".into(), seed.episodes.unwrap_or(seed.items * 40));
            }
            "music" => {
                let albums = seed.albums.unwrap_or(seed.items * 3);
                counts.insert("MusicArtist".into(), seed.items);
                counts.insert("MusicAlbum".into(), albums);
                counts.insert("Audio".into(), seed.songs.unwrap_or(albums * 11));
            }
            "homevideos" => {
                counts.insert("Video".into(), seed.items);
            }
            _ => {
                counts.insert("Movie".into(), seed.items);
            }
        }
        let lib = MbLibrary {
            id,
            guid,
            name: seed.name.clone(),
            collection_type: seed.collection_type.clone(),
            counts,
        };
        self.libraries.push(lib.clone());
        lib
    }

    pub fn user(&self, id: &str) -> Option<&MbUser> {
        let id = ids::normalize_guid(id)?;
        self.users.iter().find(|u| u.id == id)
    }

    pub fn user_by_name_or_id(&self, who: &str) -> Option<&MbUser> {
        self.user(who)
            .or_else(|| self.users.iter().find(|u| u.name.eq_ignore_ascii_case(who)))
    }

    pub fn register_device(
        &mut self,
        user_id: &str,
        device_id: &str,
        name: &str,
        app: &str,
        ip: &str,
    ) {
        let user_name = self
            .users
            .iter()
            .find(|u| u.id == user_id)
            .map(|u| u.name.clone())
            .unwrap_or_default();
        let now = ids::iso_now();
        if let Some(d) = self.devices.iter_mut().find(|d| d.id == device_id) {
            d.user_id = user_id.into();
            d.user_name = user_name;
            d.last_activity = now;
            return;
        }
        let internal_id = self.devices.len() as i64 + 1;
        self.devices.push(MbDevice {
            id: device_id.into(),
            internal_id,
            name: name.into(),
            app_name: app.into(),
            app_version: "10.10.7".into(),
            user_id: user_id.into(),
            user_name,
            ip: ip.into(),
            last_activity: now,
        });
    }

    /// Stop and remove every session matching `pred`, recording why.
    pub fn drop_sessions(&mut self, by: &str, pred: impl Fn(&MbSession) -> bool) {
        let (gone, keep): (Vec<_>, Vec<_>) = self.sessions.drain(..).partition(|s| pred(s));
        self.sessions = keep;
        for s in gone {
            self.stopped.push(StoppedSession {
                id: s.id,
                user: s.user_name,
                title: s.playing.map(|p| p.title).unwrap_or_default(),
                by: by.into(),
                message: s.messages.last().map(|m| m.text.clone()),
                at: ids::now_secs(),
            });
        }
    }

    /// Remove a user's sessions and access tokens (disable/delete/password change).
    pub fn revoke_user(&mut self, user_id: &str, by: &str) {
        self.drop_sessions(by, |s| s.user_id == user_id);
        self.tokens.retain(|_, (u, _)| u != user_id);
    }

    pub fn start_session(&mut self, seed: SessionSeed) -> Result<String, String> {
        let user = self
            .user_by_name_or_id(&seed.user)
            .cloned()
            .ok_or_else(|| format!("unknown user {}", seed.user))?;
        let device_id = seed.device_id.clone().unwrap_or_else(|| ids::hex(16));
        let client = seed.product.clone().unwrap_or_else(|| {
            if self.kind.is_emby() {
                "Emby Web".into()
            } else {
                "Jellyfin Web".into()
            }
        });
        self.register_device(&user.id, &device_id, &seed.device, &client, &seed.ip);
        let id = ids::hex(32);
        let item_id = if self.kind.is_emby() {
            self.item_id()
        } else {
            ids::hex(32)
        };
        self.sessions.push(MbSession {
            id: id.clone(),
            user_id: user.id,
            user_name: user.name,
            device_id,
            device_name: seed.device.clone(),
            client,
            ip: seed.ip.clone(),
            item_id,
            playing: Some(seed),
            messages: Vec::new(),
            commands: Vec::new(),
            last_activity: ids::iso_now(),
        });
        Ok(id)
    }

    // DTOs -----------------------------------------------------------------------------

    pub fn user_dto(&self, u: &MbUser) -> Value {
        let mut v = json!({
            "Name": u.name, "ServerId": self.server_id, "ServerName": self.server_name, "Id": u.id,
            "HasPassword": u.password.is_some(), "HasConfiguredPassword": u.password.is_some(),
            "HasConfiguredEasyPassword": false, "EnableAutoLogin": false,
            "LastLoginDate": u.last_login, "LastActivityDate": u.last_login,
            "Configuration": u.configuration, "Policy": u.policy,
        });
        if self.kind.is_emby() {
            v["DateCreated"] = json!(u.created);
            v["Prefix"] = json!(
                u.name
                    .chars()
                    .next()
                    .map(|c| c.to_uppercase().to_string())
                    .unwrap_or_default()
            );
            if let Some(c) = &u.connect_username {
                v["ConnectUserName"] = json!(c);
                v["ConnectLinkType"] = json!("LinkedUser");
            }
        } else if let Some(m) = v.as_object_mut() {
            m.insert("PrimaryImageAspectRatio".into(), Value::Null);
        }
        v
    }

    pub fn media_folder_dto(&self, l: &MbLibrary) -> Value {
        let mut v = json!({
            "Name": l.name, "ServerId": self.server_id, "Id": l.id, "Etag": &l.guid[..16],
            "DateCreated": "2023-01-01T00:00:00.0000000Z", "CanDelete": false, "CanDownload": false,
            "SortName": l.name.to_lowercase(), "ExternalUrls": [], "Path": format!("/data/{}", l.name.to_lowercase()),
            "Taglines": [], "Genres": [], "PlayAccess": "Full", "RemoteTrailers": [], "ProviderIds": {},
            "IsFolder": true, "ParentId": ids::hex(32), "Type": "CollectionFolder", "CollectionType": l.collection_type,
            "ChildCount": l.counts.values().next().copied().unwrap_or(0),
            "LocationType": "FileSystem", "MediaType": "Unknown",
        });
        if self.kind.is_emby() {
            v["Guid"] = json!(l.guid);
        }
        v
    }

    pub fn virtual_folder_dto(&self, l: &MbLibrary) -> Value {
        let mut v = json!({
            "Name": l.name, "Locations": [format!("/data/{}", l.name.to_lowercase())],
            "CollectionType": l.collection_type, "LibraryOptions": {"EnableRealtimeMonitor": true},
            "ItemId": l.id, "PrimaryImageItemId": l.id, "RefreshProgress": null, "RefreshStatus": "Idle",
        });
        if self.kind.is_emby() {
            v["Id"] = json!(l.id);
            v["Guid"] = json!(l.guid);
        }
        v
    }

    pub fn device_dto(&self, d: &MbDevice) -> Value {
        if self.kind.is_emby() {
            json!({
                "Name": d.name, "Id": d.internal_id.to_string(), "InternalId": d.internal_id,
                "ReportedDeviceId": d.id, "LastUserName": d.user_name, "LastUserId": d.user_id,
                "AppName": d.app_name, "AppVersion": d.app_version, "DateLastActivity": d.last_activity,
                "IconUrl": "", "IpAddress": d.ip,
            })
        } else {
            let token = self
                .tokens
                .iter()
                .find(|(_, (_, dev))| *dev == d.id)
                .map(|(t, _)| t.clone());
            json!({
                "Id": d.id, "Name": d.name, "CustomName": null, "AccessToken": token,
                "LastUserId": d.user_id, "LastUserName": d.user_name, "AppName": d.app_name,
                "AppVersion": d.app_version, "DateLastActivity": d.last_activity,
                "Capabilities": {"PlayableMediaTypes": ["Audio", "Video"], "SupportedCommands": [],
                                  "SupportsMediaControl": true, "SupportsPersistentIdentifier": true},
                "IconUrl": null,
            })
        }
    }

    pub fn session_dto(&self, s: &MbSession) -> Value {
        let emby = self.kind.is_emby();
        let mut v = json!({
            "Id": s.id, "UserId": s.user_id, "UserName": s.user_name, "AdditionalUsers": [],
            "Client": s.client, "ApplicationVersion": "10.10.7", "DeviceId": s.device_id, "DeviceName": s.device_name,
            "DeviceType": null, "RemoteEndPoint": s.ip, "LastActivityDate": s.last_activity,
            "LastPlaybackCheckIn": s.last_activity, "IsActive": true, "SupportsMediaControl": true,
            "SupportsRemoteControl": true, "PlayableMediaTypes": ["Audio", "Video"],
            "SupportedCommands": ["DisplayMessage", "Play", "Playstate"], "NowPlayingQueue": [],
            "ServerId": self.server_id, "HasCustomDeviceName": false,
            "Capabilities": {"PlayableMediaTypes": ["Audio", "Video"], "SupportsMediaControl": true},
            "PlayState": {"CanSeek": false, "IsPaused": false, "IsMuted": false, "RepeatMode": "RepeatNone"},
        });
        if emby {
            v["Protocol"] = json!("HTTP/1.1");
            v["InternalDeviceId"] = json!(
                self.devices
                    .iter()
                    .find(|d| d.id == s.device_id)
                    .map(|d| d.internal_id)
            );
            v["AppIconUrl"] = json!("");
            v["PlaylistIndex"] = json!(0);
            v["PlaylistLength"] = json!(if s.playing.is_some() { 1 } else { 0 });
        }
        let Some(p) = &s.playing else { return v };
        let (w, h) = p.dimensions();
        let play_method = if p.is_transcode() {
            "Transcode"
        } else if p.video_decision == "copy" || p.audio_decision == "copy" {
            "DirectStream"
        } else {
            "DirectPlay"
        };
        let kind = match p.kind.as_str() {
            "episode" => "Episode",
            "track" => "Audio",
            _ => "Movie",
        };
        v["NowPlayingItem"] = json!({
            "Name": p.title, "ServerId": self.server_id, "Id": s.item_id, "Type": kind,
            "SeriesName": p.grandparent_title, "MediaType": if kind == "Audio" { "Audio" } else { "Video" },
            "RunTimeTicks": 72_000_000_000i64, "Width": w, "Height": h, "IsFolder": false,
            "MediaStreams": [
                {"Type": "Video", "Codec": "hevc", "Width": w, "Height": h, "Index": 0,
                 "DisplayTitle": format!("{} HEVC", if h >= 2160 { "4K".to_string() } else { format!("{h}p") })},
                {"Type": "Audio", "Codec": "eac3", "Channels": 6, "Index": 1, "DisplayTitle": "English - EAC3 - 5.1"},
            ],
        });
        let mut ps = json!({
            "PositionTicks": 6_000_000_000i64, "CanSeek": true, "IsPaused": p.paused, "IsMuted": false,
            "VolumeLevel": 100, "AudioStreamIndex": 1, "MediaSourceId": s.item_id,
            "PlayMethod": play_method, "RepeatMode": "RepeatNone",
        });
        if emby {
            ps["SubtitleOffset"] = json!(0);
            ps["Shuffle"] = json!(false);
            ps["PlaybackRate"] = json!(1);
        }
        v["PlayState"] = ps;
        if p.is_transcode() {
            let mut reasons = Vec::new();
            if p.video_decision == "transcode" {
                reasons.push("VideoCodecNotSupported");
            }
            if p.audio_decision == "transcode" {
                reasons.push("AudioCodecNotSupported");
            }
            let (tw, th) = if p.video_decision == "transcode" {
                (1280, 720)
            } else {
                (w, h)
            };
            let mut ti = json!({
                "AudioCodec": if p.audio_decision == "transcode" { "aac" } else { "eac3" },
                "VideoCodec": if p.video_decision == "transcode" { "h264" } else { "hevc" },
                "Container": "ts", "IsVideoDirect": p.video_decision != "transcode",
                "IsAudioDirect": p.audio_decision != "transcode", "Bitrate": 8_000_000, "Framerate": 23.976,
                "CompletionPercentage": 12.5, "Width": tw, "Height": th, "AudioChannels": 2,
                "HardwareAccelerationType": "none", "TranscodeReasons": reasons,
            });
            if emby {
                ti["AudioBitrate"] = json!(192_000);
                ti["VideoBitrate"] = json!(7_800_000);
                ti["SubProtocol"] = json!("hls");
                ti["TranscodingPositionTicks"] = json!(6_000_000_000i64);
            }
            v["TranscodingInfo"] = ti;
        }
        v
    }

    pub fn counts(&self, kind: &str) -> u64 {
        self.libraries
            .iter()
            .map(|l| l.counts.get(kind).copied().unwrap_or(0))
            .sum()
    }
}

/// Keep only known policy keys, as .NET deserialisation into `UserPolicy` would.
pub fn merge_known(defaults: &Value, body: &Map<String, Value>) -> Value {
    let mut out = defaults.clone();
    if let Some(m) = out.as_object_mut() {
        for (k, v) in body {
            if m.contains_key(k) {
                m.insert(k.clone(), v.clone());
            }
        }
    }
    out
}
