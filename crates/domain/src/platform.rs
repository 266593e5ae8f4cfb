//! The media-server platforms a server can run (product §12.2). The rules only need to know
//! which licence a feature depends on and which user identity a server needs.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Platform {
    Plex,
    Emby,
    Jellyfin,
}

impl Platform {
    /// Whether a user needs their Plex e-mail (Plex) or their Emby/Jellyfin e-mail or username
    /// (the other two) to be placed on a server of this platform (operations §3.3
    /// `platform_matches`, §4.1.3 item 6).
    pub fn needs_plex_identity(self) -> bool {
        self == Platform::Plex
    }

    /// The name stored in `servers.platform`.
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Plex => "plex",
            Platform::Emby => "emby",
            Platform::Jellyfin => "jellyfin",
        }
    }

    pub fn parse(s: &str) -> Option<Platform> {
        match s {
            "plex" => Some(Platform::Plex),
            "emby" => Some(Platform::Emby),
            "jellyfin" => Some(Platform::Jellyfin),
            _ => None,
        }
    }
}

/// How the storage layer reads `servers.platform`: a value boxoffice never writes is an error
/// the caller sees, never silently another platform.
impl TryFrom<String> for Platform {
    type Error = UnknownPlatform;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        Platform::parse(&s).ok_or(UnknownPlatform(s))
    }
}

impl std::str::FromStr for Platform {
    type Err = UnknownPlatform;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Platform::parse(s).ok_or_else(|| UnknownPlatform(s.to_string()))
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownPlatform(pub String);

impl fmt::Display for UnknownPlatform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown platform {:?} (expected plex, jellyfin or emby)",
            self.0
        )
    }
}

impl std::error::Error for UnknownPlatform {}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Platform::Plex => "Plex",
            Platform::Emby => "Emby",
            Platform::Jellyfin => "Jellyfin",
        })
    }
}
