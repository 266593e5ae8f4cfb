//! Emby fake (ref §3): routes under both `/emby` and the root, `X-Emby-Token` /
//! `api_key` auth, `/Users/Query` pagination, numeric item ids with folder `Guid`s,
//! query-parameter messages and POST `/Delete` twins.

use serde_json::Value;

use crate::faults::{FaultRule, LoggedRequest, lock};
use crate::jellyfin::{MbHandle, mb_api};
use crate::mb_state::{MbKind, MbLibrary, MbUser};
use crate::mediabrowser::{MbDeviceSeed, MbLibrarySeed, MbUserSeed};
use crate::sessions::{SessionSeed, StoppedSession};

/// Options for [`EmbyFake::start_with`].
#[derive(Debug, Clone)]
pub struct EmbyOptions {
    pub name: String,
    /// Status of void operations: 204, or 200 with an empty body (ref §3.3.7).
    pub void_status: u16,
}

impl Default for EmbyOptions {
    fn default() -> Self {
        EmbyOptions {
            name: "Emby".into(),
            void_status: 204,
        }
    }
}

/// Handle to a running Emby fake.
#[derive(Debug)]
pub struct EmbyFake {
    pub(crate) h: MbHandle,
}

impl EmbyFake {
    pub async fn start() -> crate::Result<Self> {
        Self::start_with(EmbyOptions::default()).await
    }

    pub async fn start_with(opts: EmbyOptions) -> crate::Result<Self> {
        let h = MbHandle::start(MbKind::Emby, &opts.name).await?;
        lock(&h.state).void_status = opts.void_status;
        Ok(EmbyFake { h })
    }

    pub fn set_void_status(&self, status: u16) {
        lock(&self.h.state).void_status = status;
    }
}

mb_api!(EmbyFake);
