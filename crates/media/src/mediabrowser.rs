//! What Jellyfin and Emby share (Jellyfin forked from Emby 3.5, so routes and DTO names
//! mostly match, ref §3): users and their policy, libraries, sessions, devices. The
//! platform files add their differences (auth, user creation, passwords, messages).

use std::net::IpAddr;

use serde_json::{Map, Value, json};

use crate::error::{MediaError, Result};
use crate::http::{HttpCore, Req, Resp};
use crate::mb_users::{UserDto, UserList};
use crate::policy::{AccessPolicy, DeviceAccess, apply_mediabrowser, denull};
use crate::types::{
    Decision, Device, Library, LiveSession, MediaUser, Platform, PlaybackState, ServerIdentity,
    UserRef,
};

#[derive(Debug)]
pub(crate) struct Mb {
    pub http: HttpCore,
}

pub(crate) fn s(v: &Value) -> Option<String> {
    match v {
        Value::String(x) if !x.is_empty() => Some(x.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

pub(crate) fn b(v: &Value) -> bool {
    v.as_bool().unwrap_or(false)
}

fn emby(p: Platform) -> bool {
    p == Platform::Emby
}

/// Users are addressed by their id; reject anything that could escape the path.
pub(crate) fn user_id<'a>(op: &'static str, user: &'a UserRef) -> Result<&'a str> {
    let id = user.user_id.as_str();
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(MediaError::InvalidInput {
            op,
            detail: format!("{id:?} is not a user id"),
        });
    }
    Ok(id)
}

/// LAN or not, from the client address (Jellyfin/Emby sessions carry only the IP).
fn is_local(ip: &str) -> bool {
    let ip = ip.trim().trim_start_matches('[');
    let ip = ip.split(']').next().unwrap_or(ip);
    // `RemoteEndPoint` may carry a port for IPv4 ("1.2.3.4:5678").
    let ip = if ip.matches(':').count() == 1 {
        ip.split(':').next().unwrap_or(ip)
    } else {
        ip
    };
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => v4.is_private() || v4.is_loopback() || v4.is_link_local(),
        Ok(IpAddr::V6(v6)) => {
            v6.is_loopback()
                || (v6.segments()[0] & 0xfe00) == 0xfc00
                || (v6.segments()[0] & 0xffc0) == 0xfe80
        }
        Err(_) => false,
    }
}

/// Plex resolution words from a frame height.
fn resolution(height: i64) -> String {
    match height {
        h if h >= 1600 => "4k",
        h if h >= 1000 => "1080",
        h if h >= 700 => "720",
        h if h >= 470 => "480",
        _ => "sd",
    }
    .to_string()
}

impl Mb {
    pub fn platform(&self) -> Platform {
        self.http.platform
    }

    pub fn what_user(id: &str) -> String {
        format!("user {id}")
    }

    pub async fn call(&self, op: &str, req: Req, what: &str) -> Result<Resp> {
        self.http.call(op, req, what).await
    }

    pub async fn json(&self, op: &str, req: Req, what: &str) -> Result<Value> {
        self.http.call_json(op, req, what).await
    }

    /// `/System/Info` needs the key, so it checks it (ref §2.2 J2, §3.2 E1).
    pub async fn identity(&self, authenticated: bool) -> Result<ServerIdentity> {
        let path = if authenticated {
            "/System/Info"
        } else {
            "/System/Info/Public"
        };
        let v = self
            .json("server identity", Req::get(path), "server")
            .await?;
        Ok(ServerIdentity {
            name: s(&v["ServerName"]).unwrap_or_default(),
            id: s(&v["Id"]).unwrap_or_default(),
            version: s(&v["Version"]).unwrap_or_default(),
            premium: None,
        })
    }

    pub fn user_from(&self, v: &Value) -> MediaUser {
        use serde::Deserialize;
        UserDto::deserialize(v).unwrap_or_default().into_user()
    }

    /// A user list (`/Users`, a bare array) read into the fields used, with no JSON tree.
    pub async fn user_list(&self, op: &str, req: Req) -> Result<Vec<MediaUser>> {
        let resp = self.call(op, req, "server").await?;
        let list: UserList = self.http.parse_typed(op, &resp)?;
        Ok(list.0.into_iter().map(UserDto::into_user).collect())
    }

    pub async fn user_dto(&self, id: &str) -> Result<Value> {
        self.json(
            "read user",
            Req::get(format!("/Users/{id}")),
            &Self::what_user(id),
        )
        .await
    }

    /// The user's current policy, exactly as the server has it.
    pub async fn policy(&self, id: &str) -> Result<Map<String, Value>> {
        let dto = self.user_dto(id).await?;
        match dto.get("Policy") {
            Some(Value::Object(m)) => Ok(m.clone()),
            _ => Err(self.http.bad_response(
                "read user policy",
                format!("user {id} came back without a Policy"),
            )),
        }
    }

    /// POST the whole policy back (ref §2.2 J6, §3.2 E6).
    pub async fn post_policy(&self, op: &str, id: &str, policy: Map<String, Value>) -> Result<()> {
        let resp = self
            .http
            .send(
                op,
                Req::post(format!("/Users/{id}/Policy")).json(Value::Object(policy)),
            )
            .await?;
        if resp.ok() {
            return Ok(());
        }
        if resp.status == 400 && self.platform() == Platform::Jellyfin {
            // Since 10.9 a policy without the provider ids is a 400 ProblemDetails (ref §2.2 J6).
            let v: Value = serde_json::from_str(&resp.body).unwrap_or(Value::Null);
            let detail = s(&v["title"])
                .map(|t| format!("{t} {}", v["errors"]))
                .unwrap_or_else(|| crate::http::truncate(resp.body.trim(), 300));
            return Err(MediaError::InvalidPolicy {
                server: self.http.label.clone(),
                detail,
            });
        }
        Err(self.http.error(op, &resp, &Self::what_user(id)))
    }

    /// GET the policy, change it, POST it back whole: never built from defaults, so
    /// fields boxoffice does not manage survive (ref §2.2 J6 "standard practice").
    pub async fn modify_policy(
        &self,
        op: &str,
        id: &str,
        f: impl FnOnce(&mut Map<String, Value>),
    ) -> Result<()> {
        let mut policy = self.policy(id).await?;
        f(&mut policy);
        denull(&mut policy);
        self.post_policy(op, id, policy).await
    }

    pub async fn apply_access(&self, id: &str, access: &AccessPolicy) -> Result<()> {
        let emby = emby(self.platform());
        self.modify_policy("update access", id, |p| apply_mediabrowser(p, access, emby))
            .await
    }

    pub async fn set_disabled(&self, id: &str, disabled: bool) -> Result<()> {
        // Disabling revokes the user's tokens (ref §2.2 J9).
        self.modify_policy(
            if disabled {
                "disable user"
            } else {
                "enable user"
            },
            id,
            |p| {
                p.insert("IsDisabled".into(), json!(disabled));
            },
        )
        .await
    }

    pub async fn set_devices(&self, id: &str, devices: &DeviceAccess) -> Result<()> {
        self.modify_policy("device access", id, |p| match devices {
            DeviceAccess::All => {
                p.insert("EnableAllDevices".into(), json!(true));
            }
            DeviceAccess::Only(ids) => {
                p.insert("EnableAllDevices".into(), json!(false));
                p.insert("EnabledDevices".into(), json!(ids));
            }
        })
        .await
    }

    pub async fn delete_user(&self, id: &str) -> Result<()> {
        self.call(
            "delete user",
            Req::delete(format!("/Users/{id}")),
            &Self::what_user(id),
        )
        .await
        .map(|_| ())
    }

    /// After a create: apply the plan's access, or delete the new user so no account is
    /// left with the server defaults (downloads and all libraries on, ref §2.3).
    pub async fn finish_create(&self, dto: Value, access: &AccessPolicy) -> Result<MediaUser> {
        let Some(id) = s(&dto["Id"]) else {
            return Err(self
                .http
                .bad_response("create user", "the new user has no Id"));
        };
        // The create answer is the new user's UserDto, policy included (ref §2.2 J5): edit
        // that one rather than reading it again.
        let applied = match dto.get("Policy") {
            Some(Value::Object(policy)) => {
                let mut policy = policy.clone();
                apply_mediabrowser(&mut policy, access, emby(self.platform()));
                denull(&mut policy);
                self.post_policy("update access", &id, policy).await
            }
            _ => self.apply_access(&id, access).await,
        };
        if let Err(e) = applied {
            if let Err(cleanup) = self.delete_user(&id).await {
                tracing::error!(user = %id, error = %cleanup, "could not delete half-created user");
            }
            return Err(e);
        }
        let dto = self.user_dto(&id).await?;
        Ok(self.user_from(&dto))
    }

    /// Libraries with the id the policy wants (Jellyfin `Id`, Emby `Guid` with `Id`
    /// fallback, ref §3.1) and item counts (ref §2.2 J14).
    pub async fn libraries(&self) -> Result<Vec<Library>> {
        let v = self
            .json(
                "list libraries",
                Req::get("/Library/MediaFolders"),
                "server",
            )
            .await?;
        let emby = emby(self.platform());
        let mut out = Vec::new();
        for item in v["Items"].as_array().cloned().unwrap_or_default() {
            let Some(key) = s(&item["Id"]) else { continue };
            let id = if emby {
                s(&item["Guid"]).unwrap_or_else(|| key.clone())
            } else {
                key.clone()
            };
            let kind = s(&item["CollectionType"]).unwrap_or_default();
            let (top, child) = match kind.as_str() {
                "movies" => (Some("Movie"), None),
                "tvshows" => (Some("Series"), Some("Episode")),
                "music" => (Some("MusicArtist"), Some("Audio")),
                "homevideos" => (Some("Video"), None),
                _ => (None, None),
            };
            let item_count = self.count(&key, top).await?;
            let child_count = match child {
                Some(c) => Some(self.count(&key, Some(c)).await?),
                None => None,
            };
            out.push(Library {
                id,
                key,
                name: s(&item["Name"]).unwrap_or_default(),
                kind,
                item_count,
                child_count,
            });
        }
        Ok(out)
    }

    async fn count(&self, parent: &str, kind: Option<&str>) -> Result<u64> {
        let mut req = Req::get("/Items").q("ParentId", parent).q("Limit", "0");
        req = match kind {
            Some(k) => req.q("Recursive", "true").q("IncludeItemTypes", k),
            None => req.q("Recursive", "false"),
        };
        let v = self
            .json("count library items", req, &format!("library {parent}"))
            .await?;
        Ok(v["TotalRecordCount"].as_u64().unwrap_or(0))
    }

    /// Live streams: idle clients appear in `/Sessions` too, so keep those with a
    /// `NowPlayingItem` (ref §2.2 J15).
    pub async fn sessions(&self) -> Result<Vec<LiveSession>> {
        let v = self
            .json("list sessions", Req::get("/Sessions"), "server")
            .await?;
        Ok(v.as_array()
            .map(|a| a.iter().filter_map(session_from).collect())
            .unwrap_or_default())
    }

    pub async fn stop(&self, id: &str) -> Result<()> {
        let req = Req::post(format!("/Sessions/{id}/Playing/Stop"));
        self.call("stop session", req, &format!("session {id}"))
            .await
            .map(|_| ())
    }

    pub async fn devices(&self) -> Result<Vec<Device>> {
        let v = self
            .json("list devices", Req::get("/Devices"), "server")
            .await?;
        let emby = emby(self.platform());
        Ok(v["Items"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|d| {
                        let id = s(&d["Id"])?;
                        Some(Device {
                            reported_id: if emby {
                                s(&d["ReportedDeviceId"]).unwrap_or_else(|| id.clone())
                            } else {
                                id.clone()
                            },
                            id,
                            name: s(&d["CustomName"])
                                .or_else(|| s(&d["Name"]))
                                .unwrap_or_default(),
                            app: s(&d["AppName"]).unwrap_or_default(),
                            user_id: s(&d["LastUserId"]),
                            user_name: s(&d["LastUserName"]),
                            last_activity: s(&d["DateLastActivity"]),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Delete (log out) a device: `?id=` on Jellyfin, `?Id=` on Emby (ref §2.2 J20, §3.2 E13).
    pub async fn delete_device(&self, id: &str) -> Result<()> {
        let key = if emby(self.platform()) { "Id" } else { "id" };
        self.call(
            "delete device",
            Req::delete("/Devices").q(key, id),
            &format!("device {id}"),
        )
        .await
        .map(|_| ())
    }
}

fn session_from(v: &Value) -> Option<LiveSession> {
    let item = v.get("NowPlayingItem").filter(|i| i.is_object())?;
    let ps = &v["PlayState"];
    let ti = v.get("TranscodingInfo").filter(|t| t.is_object());
    let method = ps["PlayMethod"].as_str().unwrap_or("DirectPlay");
    // Map onto Plex words: a stream the transcoder touched but left direct is a copy.
    let (video, audio) = match ti {
        Some(t) => {
            let d = |direct: bool| {
                if direct {
                    Decision::Copy
                } else {
                    Decision::Transcode
                }
            };
            (
                d(t["IsVideoDirect"].as_bool().unwrap_or(false)),
                d(t["IsAudioDirect"].as_bool().unwrap_or(false)),
            )
        }
        None if method == "Transcode" => (Decision::Transcode, Decision::Transcode),
        None if method == "DirectStream" => (Decision::Copy, Decision::Copy),
        None => (Decision::DirectPlay, Decision::DirectPlay),
    };
    let height = item["Height"].as_i64().or_else(|| {
        item["MediaStreams"]
            .as_array()?
            .iter()
            .find(|st| st["Type"].as_str() == Some("Video"))
            .and_then(|st| st["Height"].as_i64())
    });
    let ip = s(&v["RemoteEndPoint"]).unwrap_or_default();
    Some(LiveSession {
        id: s(&v["Id"])?,
        user_id: s(&v["UserId"]).unwrap_or_default(),
        user_name: s(&v["UserName"]).unwrap_or_default(),
        device: s(&v["DeviceName"]).unwrap_or_default(),
        device_id: s(&v["DeviceId"]).unwrap_or_default(),
        product: s(&v["Client"]).unwrap_or_default(),
        local: is_local(&ip),
        ip,
        state: if b(&ps["IsPaused"]) {
            PlaybackState::Paused
        } else {
            PlaybackState::Playing
        },
        title: s(&item["Name"]).unwrap_or_default(),
        grandparent_title: s(&item["SeriesName"]),
        resolution: height.map(resolution).unwrap_or_default(),
        video_decision: video,
        audio_decision: audio,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_addresses() {
        assert!(is_local("192.168.1.20"));
        assert!(is_local("10.0.0.1:5555"));
        assert!(is_local("::1"));
        assert!(!is_local("203.0.113.10"));
        assert!(!is_local("garbage"));
        assert_eq!(resolution(2160), "4k");
        assert_eq!(resolution(720), "720");
    }
}
