//! Emby (ref §3). Differences from Jellyfin: routes under `/emby`, `X-Emby-Token`
//! auth, no password at creation (a second call sets it), folder `Guid`s in the policy,
//! session messages as query parameters, `/Users/Query` paging, Emby Connect.

use async_trait::async_trait;
use serde_json::{Value, json};

use crate::MediaServer;
use crate::error::{MediaError, Result};
use crate::http::{ClientOptions, HttpCore, Req};
use crate::mb_users::{UserDto, UserPage};
use crate::mediabrowser::{Mb, s, user_id};
use crate::policy::{AccessPolicy, DeviceAccess};
use crate::types::{
    ConnectLink, Device, Library, LiveSession, MediaUser, NewUser, PendingInvite, Platform,
    ServerIdentity, UserRef,
};

/// The throw-away user the operator docs link to test Emby Connect (operations §5.8).
const CONNECT_TEST_USER: &str = "EmbyConnectLinkTest";

#[derive(Debug)]
pub struct EmbyServer {
    mb: Mb,
}

impl EmbyServer {
    /// `url` as the admin entered it. The documented API root is `{host}/emby` (ref
    /// §3.1), so `/emby` is appended unless the URL already ends with it.
    pub fn new(url: &str, api_key: &str, mut opts: ClientOptions) -> Result<Self> {
        if api_key.trim().is_empty() {
            return Err(MediaError::InvalidInput {
                op: "configure Emby",
                detail: "the API key is empty".into(),
            });
        }
        opts.rate_limit = None;
        opts.proxy = None;
        let trimmed = url.trim_end_matches('/');
        let base = if trimmed.to_ascii_lowercase().ends_with("/emby") {
            trimmed.to_string()
        } else {
            format!("{trimmed}/emby")
        };
        // API keys go in `X-Emby-Token` (ref §3.1 "API key").
        let headers = [
            ("x-emby-token", api_key.to_string()),
            ("accept", "application/json".to_string()),
        ];
        let http = HttpCore::new(Platform::Emby, &base, url, &headers, opts)?;
        Ok(EmbyServer { mb: Mb { http } })
    }

    fn login_failed(&self, op: &str, status: u16, body: &str) -> MediaError {
        MediaError::LoginFailed {
            platform: Platform::Emby,
            server: self.mb.http.label.clone(),
            op: op.into(),
            status,
            detail: Some(body.trim())
                .filter(|b| !b.is_empty())
                .unwrap_or("the server refused")
                .to_string(),
        }
    }

    async fn post_password(&self, id: &str, password: &str) -> Result<()> {
        let op = "set password";
        // Emby takes the password only here, never at creation (ref §3.2 E4/E5).
        let body = json!({ "Id": id, "CurrentPw": "", "NewPw": password, "ResetPassword": false });
        let resp = self
            .mb
            .http
            .send(op, Req::post(format!("/Users/{id}/Password")).json(body))
            .await?;
        match resp.status {
            s if (200..300).contains(&s) => Ok(()),
            400 | 403 => Err(self.login_failed(op, resp.status, &resp.body)),
            _ => Err(self.mb.http.error(op, &resp, &Mb::what_user(id))),
        }
    }

    async fn new_user(&self, name: &str) -> Result<Value> {
        let op = "create user";
        let resp = self
            .mb
            .http
            .send(op, Req::post("/Users/New").json(json!({ "Name": name })))
            .await?;
        if resp.status == 400 {
            return Err(MediaError::UserRejected {
                platform: Platform::Emby,
                server: self.mb.http.label.clone(),
                name: name.into(),
            });
        }
        if !resp.ok() {
            return Err(self.mb.http.error(op, &resp, "server"));
        }
        self.mb.http.parse_json(op, &resp)
    }

    async fn connect(&self, id: &str, connect_username: &str) -> Result<ConnectLink> {
        let req =
            Req::post(format!("/Users/{id}/Connect/Link")).q("ConnectUsername", connect_username);
        let v = self
            .mb
            .json("link Emby Connect", req, &Mb::what_user(id))
            .await?;
        Ok(ConnectLink {
            is_pending: v["IsPending"].as_bool().unwrap_or(false),
            is_new_user_invitation: v["IsNewUserInvitation"].as_bool().unwrap_or(false),
            guest_display_name: s(&v["GuestDisplayName"]),
        })
    }
}

#[async_trait]
impl MediaServer for EmbyServer {
    fn platform(&self) -> Platform {
        Platform::Emby
    }

    async fn check(&self) -> Result<ServerIdentity> {
        self.identity().await
    }

    async fn identity(&self) -> Result<ServerIdentity> {
        let mut id = self.mb.identity(true).await?;
        // Emby Premiere (needed for downloads, product §12.2) from `/Plugins/SecurityInfo`;
        // absent from the 4.8 OpenAPI (ref §3.2 E15), so any failure just means "unknown".
        if let Ok(resp) = self
            .mb
            .http
            .send("Emby Premiere status", Req::get("/Plugins/SecurityInfo"))
            .await
            && resp.ok()
            && let Ok(v) = serde_json::from_str::<Value>(&resp.body)
        {
            id.premium = v["IsMBSupporter"].as_bool();
        }
        Ok(id)
    }

    async fn libraries(&self) -> Result<Vec<Library>> {
        self.mb.libraries().await
    }

    async fn users(&self) -> Result<Vec<MediaUser>> {
        // 4.8 lists `/Users/Query` (paged); older servers only the bare `/Users` array
        // (ref §3.2 E2).
        let mut out = Vec::new();
        let page = 200;
        loop {
            let req = Req::get("/Users/Query")
                .q("StartIndex", out.len().to_string())
                .q("Limit", page.to_string());
            let resp = self.mb.http.send("list users", req).await?;
            if resp.status == 404 && out.is_empty() {
                return self.mb.user_list("list users", Req::get("/Users")).await;
            }
            if !resp.ok() {
                return Err(self.mb.http.error("list users", &resp, "server"));
            }
            let page: UserPage = self.mb.http.parse_typed("list users", &resp)?;
            let total = page
                .total
                .0
                .and_then(|t| t.parse::<usize>().ok())
                .unwrap_or(0);
            let got = page.items.0.len();
            out.extend(page.items.0.into_iter().map(UserDto::into_user));
            if got == 0 || out.len() >= total {
                return Ok(out);
            }
        }
    }

    async fn user(&self, user: &UserRef) -> Result<Option<MediaUser>> {
        match self.mb.user_dto(user_id("read user", user)?).await {
            Ok(dto) => Ok(Some(self.mb.user_from(&dto))),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn create_user(&self, who: &NewUser, access: &AccessPolicy) -> Result<MediaUser> {
        let dto = self.new_user(&who.name).await?;
        let Some(id) = s(&dto["Id"]) else {
            return Err(self
                .mb
                .http
                .bad_response("create user", "the new user has no Id"));
        };
        if let Some(pw) = &who.password
            && let Err(e) = self.post_password(&id, pw).await
        {
            // Like jfa-go: a user without the intended password is deleted (ref §3.2 E5).
            if let Err(cleanup) = self.mb.delete_user(&id).await {
                tracing::error!(user = %id, error = %cleanup, "could not delete half-created user");
            }
            return Err(e);
        }
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
        self.post_password(user_id("set password", user)?, password)
            .await
    }

    async fn pending_invites(&self) -> Result<Vec<PendingInvite>> {
        Ok(Vec::new())
    }

    async fn cancel_invite(&self, _: &str) -> Result<()> {
        Err(MediaError::Unsupported {
            platform: Platform::Emby,
            op: "cancel invite",
            why: "Emby has no invites; delete the user",
        })
    }

    async fn sessions(&self) -> Result<Vec<LiveSession>> {
        self.mb.sessions().await
    }

    async fn stop_session(&self, session_id: &str, message: &str) -> Result<()> {
        if !message.is_empty() {
            // Query parameters on Emby, unlike Jellyfin's JSON body; without TimeoutMs the
            // viewer would have to dismiss it (ref §3.2 E12).
            let req = Req::post(format!("/Sessions/{session_id}/Message"))
                .q("Header", "boxoffice")
                .q("Text", message)
                .q("TimeoutMs", "10000");
            self.mb
                .call("stop session", req, &format!("session {session_id}"))
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

    async fn check_connect_link(&self, connect_username: &str) -> Result<ConnectLink> {
        // Operations §5.8: create a dummy user, link it, delete it. Emby e-mails the
        // Connect user a link request they can ignore.
        let dto = self.new_user(CONNECT_TEST_USER).await?;
        let Some(id) = s(&dto["Id"]) else {
            return Err(self
                .mb
                .http
                .bad_response("check Emby Connect", "the test user has no Id"));
        };
        let result = self.connect(&id, connect_username).await;
        if let Err(e) = self.mb.delete_user(&id).await {
            tracing::error!(user = %id, error = %e, "could not delete the Emby Connect test user");
        }
        result
    }

    async fn link_connect(&self, user: &UserRef, connect_username: &str) -> Result<ConnectLink> {
        self.connect(user_id("link Emby Connect", user)?, connect_username)
            .await
    }
}
