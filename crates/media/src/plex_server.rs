//! A Plex Media Server as a [`MediaServer`]. Who may access it lives on plex.tv (ref
//! §1), so user and share operations go through the owning account's [`PlexAccount`];
//! identity, libraries, counts and sessions come from the server itself.

use std::sync::Arc;

use async_trait::async_trait;

use crate::error::{MediaError, Result};
use crate::http::{ClientOptions, HttpCore, Req, Resp};
use crate::policy::{AccessPolicy, DeviceAccess};
use crate::types::{
    Decision, Device, Library, LiveSession, MediaUser, NewUser, PendingInvite, Platform,
    PlaybackState, ServerIdentity, UserRef,
};
use crate::xml::{self, Element};
use crate::{MediaServer, PlexAccount, PlexClientId};

#[derive(Debug)]
pub struct PlexServer {
    http: HttpCore,
    account: Arc<dyn PlexAccount>,
    machine_id: String,
}

impl PlexServer {
    /// `url` is the server's direct URL (product §12.2), `token` the owner's (or the
    /// server-scoped `accessToken` from resources), `machine_id` the id recorded when
    /// the server was added; a different one at that URL is reported as
    /// [`MediaError::ServerIdentityChanged`]. The PMS is the operator's own machine, so
    /// no pacing; `opts.rate_limit` is ignored here.
    pub fn new(
        account: Arc<dyn PlexAccount>,
        url: &str,
        token: &str,
        machine_id: &str,
        client_id: &PlexClientId,
        mut opts: ClientOptions,
    ) -> Result<Self> {
        opts.rate_limit = None;
        // Direct PMS calls never use the plex.tv proxy (product §7.2).
        opts.proxy = None;
        let http = HttpCore::new(Platform::Plex, url, url, &client_id.headers(token), opts)?;
        Ok(PlexServer {
            http,
            account,
            machine_id: machine_id.to_string(),
        })
    }

    pub fn machine_id(&self) -> &str {
        &self.machine_id
    }

    async fn xml(&self, op: &str, req: Req, what: &str) -> Result<Element> {
        let resp = self.http.call(op, req, what).await?;
        xml::parse(&resp.body).map_err(|e| self.http.bad_response(op, e))
    }

    fn share_id<'a>(&self, op: &'static str, user: &'a UserRef) -> Result<&'a str> {
        user.share_id
            .as_deref()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| MediaError::InvalidInput {
                op,
                detail: "a Plex user is addressed by its share id; run a user sync".into(),
            })
    }

    /// Item count of one type in a section: an empty page whose `totalSize` is the
    /// count (ref §1.2 P10).
    async fn count(&self, key: &str, plex_type: u32) -> Result<u64> {
        let req = Req::get(format!("/library/sections/{key}/all"))
            .q("type", plex_type.to_string())
            .q("includeCollections", "0")
            .q("X-Plex-Container-Start", "0")
            .q("X-Plex-Container-Size", "0");
        let el = self
            .xml(
                "count library items",
                req,
                &format!("library section {key}"),
            )
            .await?;
        Ok(el
            .int("totalSize")
            .or_else(|| el.int("size"))
            .unwrap_or(0)
            .max(0) as u64)
    }

    fn unsupported(&self, op: &'static str, why: &'static str) -> MediaError {
        MediaError::Unsupported {
            platform: Platform::Plex,
            op,
            why,
        }
    }
}

/// Plex decision words (ref §1.2 P26): `transcode`, `copy`, `direct`.
fn decision(v: Option<&str>) -> Decision {
    match v {
        Some("transcode") => Decision::Transcode,
        Some("copy") => Decision::Copy,
        _ => Decision::DirectPlay,
    }
}

fn session_from(item: &Element) -> Option<LiveSession> {
    let session = item.child("Session")?;
    let user = item.child("User");
    let player = item.child("Player");
    let ts = item.child("TranscodeSession");
    let p = |k: &str| player.map(|p| p.s(k)).unwrap_or_default();
    let state = match player.and_then(|p| p.attr("state")) {
        Some("paused") => PlaybackState::Paused,
        Some("buffering") => PlaybackState::Buffering,
        _ => PlaybackState::Playing,
    };
    // `Player@local` when present, else `Session@location` (lan/wan).
    let local = match player.and_then(|p| p.attr("local")) {
        Some(v) => v == "1" || v == "true",
        None => session.attr("location") == Some("lan"),
    };
    Some(LiveSession {
        id: session.s("id"),
        user_id: user.map(|u| u.s("id")).unwrap_or_default(),
        user_name: user.map(|u| u.s("title")).unwrap_or_default(),
        device: Some(p("device"))
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| p("title")),
        device_id: p("machineIdentifier"),
        product: p("product"),
        ip: p("address"),
        local,
        state,
        title: item.s("title"),
        grandparent_title: item.opt("grandparentTitle"),
        resolution: item
            .child("Media")
            .map(|m| m.s("videoResolution"))
            .unwrap_or_default(),
        // No TranscodeSession element = direct play of both streams.
        video_decision: decision(ts.and_then(|t| t.attr("videoDecision"))),
        audio_decision: decision(ts.and_then(|t| t.attr("audioDecision"))),
    })
}

#[async_trait]
impl MediaServer for PlexServer {
    fn platform(&self) -> Platform {
        Platform::Plex
    }

    async fn check(&self) -> Result<ServerIdentity> {
        // `/identity` answers without a token, so use the authenticated root (ref §1.2 P6).
        self.identity().await
    }

    async fn identity(&self) -> Result<ServerIdentity> {
        let el = self.xml("server identity", Req::get("/"), "server").await?;
        let found = el.s("machineIdentifier");
        if !self.machine_id.is_empty() && found != self.machine_id {
            return Err(MediaError::ServerIdentityChanged {
                server: self.http.label.clone(),
                expected: self.machine_id.clone(),
                found,
            });
        }
        Ok(ServerIdentity {
            name: el.s("friendlyName"),
            id: found,
            version: el.s("version"),
            premium: el
                .attr("myPlexSubscription")
                .map(|v| v == "1" || v == "true"),
        })
    }

    async fn libraries(&self) -> Result<Vec<Library>> {
        let local = self
            .xml("list libraries", Req::get("/library/sections"), "server")
            .await?;
        // The sharing API wants plex.tv-global ids (ref §1.1 "Library ids"): join on key.
        let global = self.account.sections(&self.machine_id).await?;
        let mut out = Vec::new();
        for dir in local.children_named("Directory") {
            let key = dir.s("key");
            let Some(g) = global.iter().find(|g| g.key.to_string() == key) else {
                // plex.tv can answer a partial list (ref §1.2 P9): fail rather than
                // hand out a library nobody can be given access to.
                return Err(MediaError::ServerError {
                    platform: Platform::PlexTv,
                    server: "plex.tv".into(),
                    op: "list libraries".into(),
                    status: 502,
                    detail: format!(
                        "plex.tv does not list library {:?} (key {key}) yet",
                        dir.s("title")
                    ),
                });
            };
            let kind = dir.s("type");
            // Plex type numbers (ref §1.2 P10): top level, and episodes/tracks below.
            let (top, child) = match kind.as_str() {
                "show" => (2, Some(4)),
                "artist" => (8, Some(10)),
                "photo" => (13, None),
                _ => (1, None),
            };
            let item_count = self.count(&key, top).await?;
            let child_count = match child {
                Some(t) => Some(self.count(&key, t).await?),
                None => None,
            };
            out.push(Library {
                id: g.id.to_string(),
                key,
                name: dir.s("title"),
                kind,
                item_count,
                child_count,
            });
        }
        Ok(out)
    }

    async fn users(&self) -> Result<Vec<MediaUser>> {
        self.account.shares(&self.machine_id).await
    }

    async fn create_user(&self, who: &NewUser, access: &AccessPolicy) -> Result<MediaUser> {
        self.account
            .invite(&self.machine_id, &who.name, access)
            .await
    }

    async fn update_access(&self, user: &UserRef, access: &AccessPolicy) -> Result<()> {
        let sid = self.share_id("update access", user)?;
        self.account.update_share(sid, access).await
    }

    async fn remove_user(&self, user: &UserRef) -> Result<()> {
        let sid = self.share_id("remove user", user)?;
        self.account.remove_share(sid).await
    }

    async fn set_enabled(&self, _: &UserRef, _: bool) -> Result<()> {
        Err(self.unsupported(
            "disable/enable user",
            "Plex has no disabled state; remove the share instead (ref §6)",
        ))
    }

    async fn set_password(&self, _: &UserRef, _: &str) -> Result<()> {
        Err(self.unsupported(
            "set password",
            "Plex users own their plex.tv account and password",
        ))
    }

    async fn pending_invites(&self) -> Result<Vec<PendingInvite>> {
        self.account.pending_invites(Some(&self.machine_id)).await
    }

    async fn cancel_invite(&self, invite_id: &str) -> Result<()> {
        self.account.cancel_invite(invite_id).await
    }

    async fn sessions(&self) -> Result<Vec<LiveSession>> {
        let el = self
            .xml("list sessions", Req::get("/status/sessions"), "server")
            .await?;
        Ok(el.children.iter().filter_map(session_from).collect())
    }

    async fn stop_session(&self, session_id: &str, message: &str) -> Result<()> {
        let op = "stop session";
        // Needs the `Session@id`, sent as GET like plexapi and Tautulli (ref §1.2 P28).
        let req = Req::get("/status/sessions/terminate")
            .q("sessionId", session_id)
            .q("reason", message);
        let resp: Resp = self.http.send(op, req).await?;
        match resp.status {
            s if (200..300).contains(&s) => Ok(()),
            // Without Plex Pass the PMS refuses (exact code uncertain, ref §9.5: 401/403).
            403 => Err(MediaError::PlexPassRequired {
                server: self.http.label.clone(),
                status: 403,
            }),
            _ => Err(self.http.error(op, &resp, &format!("session {session_id}"))),
        }
    }

    async fn devices(&self) -> Result<Vec<Device>> {
        Err(self.unsupported(
            "list devices",
            "Plex has no per-user device list in its API (ref §6)",
        ))
    }

    async fn delete_device(&self, _: &str) -> Result<()> {
        Err(self.unsupported("delete device", "Plex has no device restriction (ref §6)"))
    }

    async fn set_device_access(&self, _: &UserRef, _: &DeviceAccess) -> Result<()> {
        Err(self.unsupported("device access", "Plex has no device restriction (ref §6)"))
    }
}
