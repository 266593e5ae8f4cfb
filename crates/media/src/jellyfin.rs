//! Jellyfin (ref §2). Authenticates with `Authorization: MediaBrowser …, Token="…"`,
//! the one form every version accepts (12.0 turns the legacy headers off, ref §2.1).

use async_trait::async_trait;
use serde_json::{Value, json};

use crate::MediaServer;
use crate::error::{MediaError, Result};
use crate::http::{ClientOptions, HttpCore, Req};
use crate::mediabrowser::{Mb, s, user_id};
use crate::policy::{AccessPolicy, DeviceAccess};
use crate::types::{
    Device, Library, LiveSession, MediaUser, NewUser, PendingInvite, Platform, ServerIdentity,
    UserRef,
};

#[derive(Debug)]
pub struct JellyfinServer {
    mb: Mb,
}

/// `MediaBrowser` authorization value (ref §2.1): quoted `Key="value"` pairs.
pub(crate) fn mediabrowser_auth(api_key: &str, device_id: &str) -> String {
    let clean = |v: &str| v.replace('"', "");
    format!(
        "MediaBrowser Client=\"boxoffice\", Device=\"boxoffice\", DeviceId=\"{}\", Version=\"{}\", Token=\"{}\"",
        clean(device_id),
        env!("CARGO_PKG_VERSION"),
        clean(api_key)
    )
}

impl JellyfinServer {
    /// `url` includes any configured BaseUrl; `api_key` is an admin API key (ref §2.1:
    /// a key acts as an administrator). `device_id` should be stable per installation.
    pub fn new(url: &str, api_key: &str, device_id: &str, mut opts: ClientOptions) -> Result<Self> {
        if api_key.trim().is_empty() {
            return Err(MediaError::InvalidInput {
                op: "configure Jellyfin",
                detail: "the API key is empty".into(),
            });
        }
        opts.rate_limit = None;
        opts.proxy = None;
        let headers = [
            ("authorization", mediabrowser_auth(api_key, device_id)),
            ("accept", "application/json".to_string()),
        ];
        let http = HttpCore::new(Platform::Jellyfin, url, url, &headers, opts)?;
        Ok(JellyfinServer { mb: Mb { http } })
    }
}

#[async_trait]
impl MediaServer for JellyfinServer {
    fn platform(&self) -> Platform {
        Platform::Jellyfin
    }

    async fn check(&self) -> Result<ServerIdentity> {
        self.mb.identity(true).await
    }

    async fn identity(&self) -> Result<ServerIdentity> {
        self.mb.identity(true).await
    }

    async fn libraries(&self) -> Result<Vec<Library>> {
        self.mb.libraries().await
    }

    async fn users(&self) -> Result<Vec<MediaUser>> {
        // A bare array, no paging (ref §2.2 J3).
        self.mb.user_list("list users", Req::get("/Users")).await
    }

    async fn user(&self, user: &UserRef) -> Result<Option<MediaUser>> {
        match self.mb.user_dto(user_id("read user", user)?).await {
            Ok(dto) => Ok(Some(self.mb.user_from(&dto))),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn create_user(&self, who: &NewUser, access: &AccessPolicy) -> Result<MediaUser> {
        let op = "create user";
        let mut body = json!({ "Name": who.name });
        // The password is set at creation on Jellyfin (ref §2.2 J5).
        if let Some(p) = &who.password {
            body["Password"] = json!(p);
        }
        let resp = self
            .mb
            .http
            .send(op, Req::post("/Users/New").json(body))
            .await?;
        if resp.status == 400 {
            // Name taken or invalid; body is "Error processing request." (ref §2.2 J5, §2.4).
            return Err(MediaError::UserRejected {
                platform: Platform::Jellyfin,
                server: self.mb.http.label.clone(),
                name: who.name.clone(),
            });
        }
        if !resp.ok() {
            return Err(self.mb.http.error(op, &resp, "server"));
        }
        let dto = self.mb.http.parse_json(op, &resp)?;
        self.mb.finish_create(dto, access).await
    }

    async fn update_access(&self, user: &UserRef, access: &AccessPolicy) -> Result<()> {
        self.mb
            .apply_access(user_id("update access", user)?, access)
            .await
    }

    async fn remove_user(&self, user: &UserRef) -> Result<()> {
        self.mb.delete_user(user_id("remove user", user)?).await
    }

    async fn set_enabled(&self, user: &UserRef, enabled: bool) -> Result<()> {
        self.mb
            .set_disabled(user_id("disable/enable user", user)?, !enabled)
            .await
    }

    async fn set_password(&self, user: &UserRef, password: &str) -> Result<()> {
        let op = "set password";
        let id = user_id(op, user)?;
        // The `/Users/{id}/Password` form is routed on every version up to 12.0 (ref §2.2
        // J7); an admin key need not send the current password.
        let body = json!({ "NewPw": password, "CurrentPw": "", "CurrentPassword": "", "ResetPassword": false });
        let resp = self
            .mb
            .http
            .send(op, Req::post(format!("/Users/{id}/Password")).json(body))
            .await?;
        match resp.status {
            s if (200..300).contains(&s) => Ok(()),
            403 => Err(MediaError::LoginFailed {
                platform: Platform::Jellyfin,
                server: self.mb.http.label.clone(),
                op: op.into(),
                status: 403,
                detail: s(&Value::String(
                    resp.body.trim().trim_matches('"').to_string(),
                ))
                .unwrap_or_else(|| "the server refused the password change".into()),
            }),
            _ => Err(self.mb.http.error(op, &resp, &Mb::what_user(id))),
        }
    }

    async fn pending_invites(&self) -> Result<Vec<PendingInvite>> {
        // Users are created directly: nothing is ever pending.
        Ok(Vec::new())
    }

    async fn cancel_invite(&self, _: &str) -> Result<()> {
        Err(MediaError::Unsupported {
            platform: Platform::Jellyfin,
            op: "cancel invite",
            why: "Jellyfin has no invites; delete the user",
        })
    }

    async fn sessions(&self) -> Result<Vec<LiveSession>> {
        self.mb.sessions().await
    }

    async fn stop_session(&self, session_id: &str, message: &str) -> Result<()> {
        let op = "stop session";
        // Tell the viewer first (JSON body, ref §2.2 J17), then stop (J16). A client
        // that ignores remote control still answers 204 (ref J16).
        if !message.is_empty() {
            let body = json!({ "Header": "boxoffice", "Text": message, "TimeoutMs": 10_000 });
            let req = Req::post(format!("/Sessions/{session_id}/Message")).json(body);
            self.mb
                .call(op, req, &format!("session {session_id}"))
                .await?;
        }
        self.mb.stop(session_id).await
    }

    async fn devices(&self) -> Result<Vec<Device>> {
        self.mb.devices().await
    }

    async fn delete_device(&self, device_id: &str) -> Result<()> {
        self.mb.delete_device(device_id).await
    }

    async fn set_device_access(&self, user: &UserRef, devices: &DeviceAccess) -> Result<()> {
        self.mb
            .set_devices(user_id("device access", user)?, devices)
            .await
    }
}
