//! What a plan grants a user, and how that maps onto each platform's permission model
//! (ref §6 "Cross-system comparison"). Everything is off unless granted.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// Which libraries a user may reach.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum LibraryAccess {
    /// Every library, including ones added later.
    All,
    /// Only these [`crate::Library::id`] values.
    Only(Vec<String>),
}

/// Which devices may log in (Jellyfin/Emby only, ref §2.2 J21, product §18). Ids are
/// [`crate::Device::reported_id`]: the client's own device id, which is what Jellyfin
/// stores; for Emby which id `EnabledDevices` matches is uncertain (ref §9.7), and the
/// reported id is what jfa-go uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeviceAccess {
    All,
    Only(Vec<String>),
}

/// The access a plan grants. `Default` grants nothing but playback of no library.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessPolicy {
    pub libraries: LibraryAccess,
    /// Plex `allowSync`; Jellyfin/Emby `EnableContentDownloading`.
    pub downloads: bool,
    /// Video transcoding allowed (Jellyfin/Emby only: Plex has no per-user switch).
    pub video_transcoding: bool,
    /// Audio transcoding allowed (Jellyfin/Emby only).
    pub audio_transcoding: bool,
    /// Live TV / channels (Plex `allowChannels`, Jellyfin/Emby `EnableLiveTvAccess`).
    pub live_tv: bool,
    /// Concurrent streams: Emby `SimultaneousStreamLimit`, Jellyfin `MaxActiveSessions`
    /// (checked at login only, ref §2.3). `None` = unlimited. Plex has none in its API
    /// (enforced by polling sessions instead, ref §6).
    pub stream_limit: Option<u32>,
    pub devices: DeviceAccess,
}

impl Default for AccessPolicy {
    fn default() -> Self {
        AccessPolicy {
            libraries: LibraryAccess::Only(Vec::new()),
            downloads: false,
            video_transcoding: false,
            audio_transcoding: false,
            live_tv: false,
            stream_limit: None,
            devices: DeviceAccess::All,
        }
    }
}

impl AccessPolicy {
    pub fn libraries(ids: impl IntoIterator<Item = impl Into<String>>) -> Self {
        AccessPolicy {
            libraries: LibraryAccess::Only(ids.into_iter().map(Into::into).collect()),
            ..Default::default()
        }
    }
}

// ---------------------------------------------------------------------------------
// Jellyfin / Emby UserPolicy.

/// Policy keys [`apply_mediabrowser`] may change. Every other key is sent back exactly
/// as the server gave it (ref §2.2 J6: the policy is replaced whole).
pub const MANAGED_KEYS: &[&str] = &[
    "IsAdministrator",
    "IsDisabled",
    "EnableAllFolders",
    "EnabledFolders",
    "EnableContentDownloading",
    "EnableSyncTranscoding",
    "EnableMediaConversion",
    "EnableVideoPlaybackTranscoding",
    "EnableAudioPlaybackTranscoding",
    "EnableLiveTvAccess",
    "EnableLiveTvManagement",
    "EnableContentDeletion",
    "EnableRemoteControlOfOtherUsers",
    "EnablePublicSharing",
    "EnableSharedDeviceControl",
    "EnableCollectionManagement",
    "EnableSubtitleManagement",
    "EnableLyricManagement",
    "AllowCameraUpload",
    "AllowSharingPersonalItems",
    "EnableMediaPlayback",
    "EnableRemoteAccess",
    "EnableAllDevices",
    "EnabledDevices",
    "MaxActiveSessions",
    "SimultaneousStreamLimit",
];

/// Array-typed policy fields: sent as `[]`, never `null` (ref §2.3, jfa-go "DeNullPolicy").
const ARRAY_KEYS: &[&str] = &[
    "BlockedTags",
    "AllowedTags",
    "AccessSchedules",
    "BlockUnratedItems",
    "EnableContentDeletionFromFolders",
    "EnabledDevices",
    "EnabledChannels",
    "EnabledFolders",
    "BlockedMediaFolders",
    "BlockedChannels",
    "IncludeTags",
    "ExcludedSubFolders",
    "RestrictedFeatures",
];

/// Set the fields `access` governs on a policy read from the server; leave all others.
/// `emby` selects the Emby-only field names (ref §3.2 "Emby UserPolicy").
pub fn apply_mediabrowser(policy: &mut Map<String, Value>, access: &AccessPolicy, emby: bool) {
    let mut set = |k: &str, v: Value| {
        policy.insert(k.to_string(), v);
    };
    // Never grant administration through a customer account.
    set("IsAdministrator", json!(false));
    match &access.libraries {
        LibraryAccess::All => {
            set("EnableAllFolders", json!(true));
            set("EnabledFolders", json!([]));
        }
        LibraryAccess::Only(ids) => {
            set("EnableAllFolders", json!(false));
            set("EnabledFolders", json!(ids));
        }
    }
    set("EnableContentDownloading", json!(access.downloads));
    // Sync/conversion are the transcoding side of downloads.
    set(
        "EnableSyncTranscoding",
        json!(access.downloads && access.video_transcoding),
    );
    set("EnableMediaConversion", json!(false));
    set(
        "EnableVideoPlaybackTranscoding",
        json!(access.video_transcoding),
    );
    set(
        "EnableAudioPlaybackTranscoding",
        json!(access.audio_transcoding),
    );
    set("EnableLiveTvAccess", json!(access.live_tv));
    // Admin-grade rights stay off for customers.
    set("EnableLiveTvManagement", json!(false));
    set("EnableContentDeletion", json!(false));
    set("EnableRemoteControlOfOtherUsers", json!(false));
    set("EnablePublicSharing", json!(false));
    set("EnableSharedDeviceControl", json!(false));
    // Playing at all and from outside the LAN is what the customer pays for; Wizarr
    // forces both on when posting a policy (ref §3.2 "Emby UserPolicy").
    set("EnableMediaPlayback", json!(true));
    set("EnableRemoteAccess", json!(true));
    match &access.devices {
        DeviceAccess::All => {
            set("EnableAllDevices", json!(true));
        }
        DeviceAccess::Only(ids) => {
            set("EnableAllDevices", json!(false));
            set("EnabledDevices", json!(ids));
        }
    }
    let limit = access.stream_limit.unwrap_or(0); // 0 = unlimited on both servers
    if emby {
        set("AllowCameraUpload", json!(false));
        set("AllowSharingPersonalItems", json!(false));
        set("SimultaneousStreamLimit", json!(limit));
    } else {
        set("EnableCollectionManagement", json!(false));
        set("EnableSubtitleManagement", json!(false));
        set("EnableLyricManagement", json!(false));
        set("MaxActiveSessions", json!(limit));
    }
    denull(policy);
}

/// Replace `null` arrays with `[]` (ref §2.3).
pub fn denull(policy: &mut Map<String, Value>) {
    for k in ARRAY_KEYS {
        if let Some(v) = policy.get_mut(*k)
            && v.is_null()
        {
            *v = json!([]);
        }
    }
}

// ---------------------------------------------------------------------------------
// Plex sharing settings.

/// v2 `settings` object for P12/P19 (ref §1.2). The full object is always sent
/// (Wizarr re-sends current values, ref P19); filters are left empty.
pub fn plex_settings(access: &AccessPolicy) -> Value {
    json!({
        "allowSync": access.downloads,
        "allowChannels": access.live_tv,
        "allowCameraUpload": false,
        "allowSubtitleAdmin": false,
        "allowTuners": 0,
        "filterMovies": "",
        "filterMusic": "",
        "filterPhotos": "",
        "filterTelevision": "",
        "filterAll": "",
    })
}

/// Global section ids for a share; an empty list would mean "every library" on
/// plex.tv (ref §1.2 P12), so `All` maps to `[]` and `Only` must not be empty.
pub fn plex_section_ids(access: &AccessPolicy) -> Result<Vec<i64>, String> {
    match &access.libraries {
        LibraryAccess::All => Ok(Vec::new()),
        LibraryAccess::Only(ids) if ids.is_empty() => {
            Err("a Plex share needs at least one library: plex.tv treats an empty list as all libraries".into())
        }
        LibraryAccess::Only(ids) => ids
            .iter()
            .map(|s| s.parse::<i64>().map_err(|_| format!("{s:?} is not a Plex global library id")))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unmanaged_fields_survive_and_arrays_are_not_null() {
        let mut p: Map<String, Value> = serde_json::from_value(json!({
            "MaxParentalRating": 13, "BlockedTags": null, "RemoteClientBitrateLimit": 4_000_000,
            "EnableContentDownloading": true, "AuthenticationProviderId": "x",
        }))
        .unwrap_or_default();
        apply_mediabrowser(&mut p, &AccessPolicy::libraries(["a"]), false);
        assert_eq!(p["MaxParentalRating"], json!(13));
        assert_eq!(p["RemoteClientBitrateLimit"], json!(4_000_000));
        assert_eq!(p["AuthenticationProviderId"], json!("x"));
        assert_eq!(p["BlockedTags"], json!([]));
        assert_eq!(p["EnableContentDownloading"], json!(false));
        assert_eq!(p["EnabledFolders"], json!(["a"]));
        assert_eq!(p["EnableAllFolders"], json!(false));
    }

    #[test]
    fn plex_all_libraries_is_an_empty_list_and_only_must_not_be_empty() {
        let all = AccessPolicy {
            libraries: LibraryAccess::All,
            ..Default::default()
        };
        assert_eq!(plex_section_ids(&all), Ok(vec![]));
        assert!(plex_section_ids(&AccessPolicy::default()).is_err());
        assert_eq!(
            plex_section_ids(&AccessPolicy::libraries(["12", "34"])),
            Ok(vec![12, 34])
        );
        assert_eq!(
            plex_settings(&AccessPolicy::default())["allowSync"],
            json!(false)
        );
    }
}
