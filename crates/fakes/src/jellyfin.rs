//! Jellyfin fake (ref §2). Versions matter: 10.9 made the policy provider ids
//! mandatory and added the query-form password/user routes; 10.11 gates legacy auth
//! behind `EnableLegacyAuthorization` (default on) and adds `ApiKey=`; 12.0 turns
//! legacy auth off by default and deletes several devices at once (ref §7).

use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::control;
use crate::faults::{Core, FaultRule, Flavor, LoggedRequest, lock};
use crate::mb_state::{MbKind, MbLibrary, MbState, MbUser};
use crate::mediabrowser::{self, MbDeviceSeed, MbLibrarySeed, MbUserSeed};
use crate::server::{Running, serve};
use crate::sessions::{SessionSeed, StoppedSession};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum JellyfinVersion {
    V10_8,
    V10_9,
    V10_10,
    #[default]
    V10_11,
    V12_0,
}

impl JellyfinVersion {
    fn kind(self) -> MbKind {
        match self {
            JellyfinVersion::V10_8 => MbKind::Jellyfin(10, 8),
            JellyfinVersion::V10_9 => MbKind::Jellyfin(10, 9),
            JellyfinVersion::V10_10 => MbKind::Jellyfin(10, 10),
            JellyfinVersion::V10_11 => MbKind::Jellyfin(10, 11),
            JellyfinVersion::V12_0 => MbKind::Jellyfin(12, 0),
        }
    }
}

/// Shared implementation of the Jellyfin and Emby handles.
#[derive(Debug)]
pub(crate) struct MbHandle {
    pub running: Running,
    pub core: Arc<Core>,
    pub state: Arc<Mutex<MbState>>,
}

impl MbHandle {
    pub async fn start(kind: MbKind, name: &str) -> crate::Result<Self> {
        let state = Arc::new(Mutex::new(MbState::new(kind, name)));
        let (provider, table) = mediabrowser::routes(state.clone(), kind.is_emby());
        let flavor = if kind.is_emby() {
            Flavor::Emby
        } else {
            Flavor::Jellyfin
        };
        let core = Core::new(flavor, table);
        let app = control::assemble(
            provider,
            mediabrowser::control_routes(state.clone()),
            core.clone(),
        );
        let running = serve(app).await?;
        Ok(MbHandle {
            running,
            core,
            state,
        })
    }
}

macro_rules! mb_api {
    ($t:ty) => {
        impl $t {
            pub fn url(&self) -> String {
                self.h.running.url()
            }
            pub fn control_url(&self) -> String {
                format!("{}{}", self.url(), crate::control::PREFIX)
            }
            /// An administrator API key (Dashboard → API Keys).
            pub fn api_key(&self) -> String {
                lock(&self.h.state).api_key()
            }
            pub fn server_id(&self) -> String {
                lock(&self.h.state).server_id.clone()
            }
            pub fn server_name(&self) -> String {
                lock(&self.h.state).server_name.clone()
            }
            pub fn seed_user(&self, seed: MbUserSeed) -> MbUser {
                lock(&self.h.state).add_user(seed)
            }
            pub fn seed_library(&self, seed: MbLibrarySeed) -> MbLibrary {
                lock(&self.h.state).add_library(&seed)
            }
            pub fn seed_device(&self, seed: MbDeviceSeed) -> crate::Result<String> {
                crate::mediabrowser::seed_device(&mut lock(&self.h.state), seed)
                    .map_err(crate::FakeError::Invalid)
            }
            pub fn user(&self, name_or_id: &str) -> Option<MbUser> {
                lock(&self.h.state).user_by_name_or_id(name_or_id).cloned()
            }
            pub fn users(&self) -> Vec<MbUser> {
                lock(&self.h.state).users.clone()
            }
            pub fn libraries(&self) -> Vec<MbLibrary> {
                lock(&self.h.state).libraries.clone()
            }
            /// Start playback; returns the session `Id`.
            pub fn start_session(&self, seed: SessionSeed) -> crate::Result<String> {
                lock(&self.h.state)
                    .start_session(seed)
                    .map_err(crate::FakeError::Invalid)
            }
            pub fn stopped_sessions(&self) -> Vec<StoppedSession> {
                lock(&self.h.state).stopped.clone()
            }
            /// Messages sent to a session (`/Sessions/{id}/Message`), oldest first.
            pub fn session_messages(&self, id: &str) -> Vec<(Option<String>, String)> {
                lock(&self.h.state)
                    .sessions
                    .iter()
                    .find(|s| s.id == id)
                    .map(|s| {
                        s.messages
                            .iter()
                            .map(|m| (m.header.clone(), m.text.clone()))
                            .collect()
                    })
                    .unwrap_or_default()
            }
            /// Full state as served by `GET /__control/state`.
            pub fn state(&self) -> Value {
                crate::mediabrowser::state_json(&lock(&self.h.state))
            }
            pub fn add_fault(&self, rule: FaultRule) -> u64 {
                self.h.core.add_fault(rule)
            }
            pub fn clear_faults(&self) {
                self.h.core.clear_faults()
            }
            pub fn requests(&self) -> Vec<LoggedRequest> {
                self.h.core.requests()
            }
            pub fn request_count(&self) -> usize {
                self.h.core.request_count()
            }
        }
    };
}
pub(crate) use mb_api;

/// Handle to a running Jellyfin fake.
#[derive(Debug)]
pub struct JellyfinFake {
    pub version: JellyfinVersion,
    pub(crate) h: MbHandle,
}

impl JellyfinFake {
    /// Start the current stable line (10.11) named "Jellyfin".
    pub async fn start() -> crate::Result<Self> {
        Self::start_version(JellyfinVersion::default(), "Jellyfin").await
    }

    pub async fn start_version(version: JellyfinVersion, name: &str) -> crate::Result<Self> {
        Ok(JellyfinFake {
            version,
            h: MbHandle::start(version.kind(), name).await?,
        })
    }

    /// Switch `EnableLegacyAuthorization` (10.11+; earlier versions always accept legacy forms).
    pub fn set_legacy_authorization(&self, on: bool) {
        lock(&self.h.state).legacy_auth = on;
    }
}

mb_api!(JellyfinFake);
