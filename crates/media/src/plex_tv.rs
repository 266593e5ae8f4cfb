//! plex.tv: the account service where Plex sharing lives (ref §1). v2 routes are used
//! for writes and invites (v1 write/invite routes are being retired with 410, ref §7);
//! the v1 XML list routes still used in 2026 are used for reads that need both library
//! id kinds (ref §1.2 P8, P13).

use async_trait::async_trait;
use serde_json::{Value, json};

use crate::PlexAccount;
use crate::error::{MediaError, PlexRefusal, Result};
use crate::http::{ClientOptions, HttpCore, Req, Resp};
use crate::policy::{AccessPolicy, plex_section_ids, plex_settings};
use crate::types::{
    MediaUser, PendingInvite, Platform, PlexAccountInfo, PlexHeadcount, PlexResource,
    PlexSectionId, UserRef,
};
use crate::xml::{self, Element};

/// How this installation introduces itself to plex.tv: `X-Plex-Client-Identifier`,
/// `-Product`, `-Version` go on every call (ref §1.1 "Client identity").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlexClientId {
    /// Stable per installation.
    pub identifier: String,
    pub product: String,
    pub version: String,
}

impl PlexClientId {
    pub fn new(identifier: impl Into<String>) -> Self {
        PlexClientId {
            identifier: identifier.into(),
            product: "boxoffice".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        }
    }

    pub(crate) fn headers(&self, token: &str) -> Vec<(&'static str, String)> {
        vec![
            ("x-plex-token", token.to_string()),
            ("x-plex-client-identifier", self.identifier.clone()),
            ("x-plex-product", self.product.clone()),
            ("x-plex-version", self.version.clone()),
        ]
    }
}

/// Client for one plex.tv account.
#[derive(Debug)]
pub struct PlexTvClient {
    http: HttpCore,
}

impl PlexTvClient {
    /// `base` is `https://plex.tv` in production (also serves the `clients.plex.tv`
    /// routes, ref §1.4.1). Calls are always paced: `opts.rate_limit` or, when `None`,
    /// [`RateLimit::default`]. `opts.proxy` routes plex.tv traffic through the account's
    /// proxy (product §7.1).
    pub fn new(
        base: &str,
        token: &str,
        client_id: &PlexClientId,
        mut opts: ClientOptions,
    ) -> Result<Self> {
        if token.trim().is_empty() {
            return Err(MediaError::InvalidInput {
                op: "configure plex.tv",
                detail: "the Plex token is empty".into(),
            });
        }
        opts.rate_limit = Some(opts.rate_limit.unwrap_or_default());
        let mut headers = client_id.headers(token);
        // v2 answers JSON only when asked (ref §1.1); v1 routes answer XML regardless.
        headers.push(("accept", "application/json".into()));
        let http = HttpCore::new(Platform::PlexTv, base, "plex.tv", &headers, opts)?;
        Ok(PlexTvClient { http })
    }

    /// Map a plex.tv failure. Bodies: v1 XML `<Response code status="msg"/>`, v2 JSON
    /// `{"errors":[{"code","message","status"}]}` (ref §1.3).
    fn fail(&self, op: &str, resp: &Resp, what: &str) -> MediaError {
        let message = error_message(&resp.body);
        if resp.status == 422 {
            // plexapi treats a 422 "Invalid token" as unauthorized (ref §1.2 P1).
            if message.to_ascii_lowercase().contains("invalid token") {
                return self.http.error(
                    op,
                    &Resp {
                        status: 401,
                        ..resp.clone()
                    },
                    what,
                );
            }
            return MediaError::PlexRefused {
                server: what.to_string(),
                op: op.to_string(),
                reason: PlexRefusal::classify(&message),
                message,
            };
        }
        self.http.error(op, resp, what)
    }

    async fn call(&self, op: &str, req: Req, what: &str) -> Result<Resp> {
        let resp = self.http.send(op, req).await?;
        if resp.ok() {
            Ok(resp)
        } else {
            Err(self.fail(op, &resp, what))
        }
    }

    async fn call_json(&self, op: &str, req: Req, what: &str) -> Result<Value> {
        let resp = self.call(op, req, what).await?;
        self.http.parse_json(op, &resp)
    }

    async fn call_xml(&self, op: &str, req: Req, what: &str) -> Result<Element> {
        let resp = self.call(op, req, what).await?;
        xml::parse(&resp.body).map_err(|e| self.http.bad_response(op, e))
    }

    fn server_what(machine_id: &str) -> String {
        format!("server {machine_id} on this Plex account")
    }
}

/// The human message from a plex.tv error body.
fn error_message(body: &str) -> String {
    let t = body.trim();
    if t.starts_with('{') {
        if let Ok(v) = serde_json::from_str::<Value>(t) {
            let m = v["errors"][0]["message"]
                .as_str()
                .or_else(|| v["error"].as_str());
            if let Some(m) = m {
                return m.to_string();
            }
        }
    } else if t.starts_with('<')
        && let Ok(el) = xml::parse(t)
    {
        if let Some(s) = el.opt("status") {
            return s;
        }
        let text: Vec<String> = el
            .children
            .iter()
            .map(|c| c.text.clone())
            .filter(|s| !s.is_empty())
            .collect();
        if !text.is_empty() {
            return text.join("; ");
        }
    }
    crate::http::truncate(t, 200)
}

fn jstr(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn jbool(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_i64().unwrap_or(0) != 0,
        Value::String(s) => matches!(s.as_str(), "1" | "true"),
        _ => false,
    }
}

/// A v2 shared-server object (ref §1.2 P12/P14) as a [`MediaUser`].
fn share_from_json(v: &Value) -> MediaUser {
    let invited = &v["invited"];
    let email = jstr(&invited["email"]).or_else(|| jstr(&v["invitedEmail"]));
    let name = jstr(&invited["username"])
        .or_else(|| email.clone())
        .unwrap_or_default();
    let all = jbool(&v["allLibraries"]);
    MediaUser {
        user_ref: UserRef::plex_share(
            jstr(&v["id"]).unwrap_or_default(),
            jstr(&v["invitedId"])
                .or_else(|| jstr(&invited["id"]))
                .unwrap_or_default(),
        ),
        name,
        email,
        all_libraries: all,
        libraries: if all {
            Vec::new()
        } else {
            v["libraries"]
                .as_array()
                .map(|a| a.iter().filter_map(|l| jstr(&l["id"])).collect())
                .unwrap_or_default()
        },
        downloads: jbool(&v["sharingSettings"]["allowSync"]),
        // Plex has no per-user transcoding switch.
        video_transcoding: None,
        disabled: false,
        is_admin: false,
        pending: !jbool(&v["accepted"]),
        all_devices: true,
        enabled_devices: Vec::new(),
        connect_username: None,
    }
}

/// A v1 `SharedServer` element (ref §1.2 P13). "Accepted" appears both as
/// `accepted="1"` and as a non-zero `acceptedAt` (Cantinarr note, ref P13).
fn share_from_xml(el: &Element) -> MediaUser {
    let accepted = el.flag("accepted") || el.int("acceptedAt").unwrap_or(0) > 0;
    let all = el.flag("allLibraries");
    let email = el.opt("email");
    MediaUser {
        user_ref: UserRef::plex_share(
            el.s("id"),
            el.opt("userID").filter(|u| u != "0").unwrap_or_default(),
        ),
        name: el
            .opt("username")
            .or_else(|| email.clone())
            .unwrap_or_default(),
        email,
        all_libraries: all,
        libraries: if all {
            Vec::new()
        } else {
            el.children_named("Section")
                .filter(|s| s.flag("shared"))
                .map(|s| s.s("id"))
                .collect()
        },
        downloads: el.flag("allowSync"),
        // Plex has no per-user transcoding switch.
        video_transcoding: None,
        disabled: false,
        is_admin: false,
        pending: !accepted,
        all_devices: true,
        enabled_devices: Vec::new(),
        connect_username: None,
    }
}

#[async_trait]
impl PlexAccount for PlexTvClient {
    async fn account(&self) -> Result<PlexAccountInfo> {
        let v = self
            .call_json("check token", Req::get("/api/v2/user"), "account")
            .await?;
        let Some(id) = v["id"].as_i64() else {
            return Err(self
                .http
                .bad_response("check token", "no account id in /api/v2/user"));
        };
        // Plex Pass shows as an active subscription or the `plexpass` role (ref §1.2 P29).
        let roles_pp = v["roles"]
            .as_array()
            .is_some_and(|r| r.iter().any(|x| x.as_str() == Some("plexpass")));
        Ok(PlexAccountInfo {
            id,
            uuid: jstr(&v["uuid"]).unwrap_or_default(),
            username: jstr(&v["username"]).unwrap_or_default(),
            email: jstr(&v["email"]).unwrap_or_default(),
            plex_pass: jbool(&v["subscription"]["active"]) || roles_pp,
        })
    }

    async fn plex_pass(&self) -> Result<bool> {
        Ok(self.account().await?.plex_pass)
    }

    async fn servers(&self) -> Result<Vec<PlexResource>> {
        let req = Req::get("/api/v2/resources")
            .q("includeHttps", "1")
            .q("includeRelay", "1");
        let v = self.call_json("list servers", req, "account").await?;
        let list = v.as_array().cloned().unwrap_or_default();
        Ok(list
            .iter()
            .filter(|r| {
                r["provides"]
                    .as_str()
                    .is_some_and(|p| p.split(',').any(|x| x == "server"))
            })
            .map(|r| PlexResource {
                name: jstr(&r["name"]).unwrap_or_default(),
                machine_id: jstr(&r["clientIdentifier"]).unwrap_or_default(),
                version: jstr(&r["productVersion"]).unwrap_or_default(),
                owned: jbool(&r["owned"]),
                access_token: jstr(&r["accessToken"]),
                uris: r["connections"]
                    .as_array()
                    .map(|c| c.iter().filter_map(|x| jstr(&x["uri"])).collect())
                    .unwrap_or_default(),
            })
            .collect())
    }

    async fn sections(&self, machine_id: &str) -> Result<Vec<PlexSectionId>> {
        let what = Self::server_what(machine_id);
        let root = self
            .call_xml(
                "list libraries",
                Req::get(format!("/api/servers/{machine_id}")),
                &what,
            )
            .await?;
        let server = root
            .children_named("Server")
            .find(|s| s.attr("machineIdentifier") == Some(machine_id));
        let Some(server) = server else {
            return Err(MediaError::NotFound {
                platform: Platform::PlexTv,
                server: "plex.tv".into(),
                op: "list libraries".into(),
                what,
            });
        };
        Ok(server
            .children_named("Section")
            .filter_map(|s| {
                Some(PlexSectionId {
                    id: s.int("id")?,
                    key: s.int("key")?,
                    title: s.s("title"),
                    kind: s.s("type"),
                })
            })
            .collect())
    }

    async fn shares(&self, machine_id: &str) -> Result<Vec<MediaUser>> {
        let what = Self::server_what(machine_id);
        let req = Req::get(format!("/api/servers/{machine_id}/shared_servers"));
        let root = self.call_xml("list shares", req, &what).await?;
        Ok(root
            .children_named("SharedServer")
            // The list can span servers on some routes (ref §1.2 notes): filter by machine.
            .filter(|s| s.attr("machineIdentifier").is_none_or(|m| m == machine_id))
            .map(share_from_xml)
            .collect())
    }

    async fn invite(
        &self,
        machine_id: &str,
        who: &str,
        access: &AccessPolicy,
    ) -> Result<MediaUser> {
        let op = "invite";
        let who = who.trim();
        if who.is_empty() {
            return Err(MediaError::InvalidInput {
                op,
                detail: "no Plex e-mail or username given".into(),
            });
        }
        let ids =
            plex_section_ids(access).map_err(|detail| MediaError::InvalidInput { op, detail })?;
        // v2 invite (ref §1.2 P12): global section ids, full settings, downloads etc.
        // only when granted.
        let body = json!({
            "machineIdentifier": machine_id,
            "invitedEmail": who,
            "librarySectionIds": ids,
            "settings": plex_settings(access),
        });
        let v = self
            .call_json(
                op,
                Req::post("/api/v2/shared_servers").json(body),
                &Self::server_what(machine_id),
            )
            .await?;
        if v.get("id").is_none() {
            return Err(self
                .http
                .bad_response(op, "the invite answer has no share id"));
        }
        Ok(share_from_json(&v))
    }

    async fn update_share(&self, share_id: &str, access: &AccessPolicy) -> Result<()> {
        let op = "update share";
        let ids =
            plex_section_ids(access).map_err(|detail| MediaError::InvalidInput { op, detail })?;
        // P19 wants the whole settings object every time (ref §1.2 P19).
        let body = json!({ "settings": plex_settings(access), "librarySectionIds": ids });
        let req = Req::post(format!("/api/v2/shared_servers/{share_id}")).json(body);
        self.call(op, req, &format!("share {share_id}"))
            .await
            .map(|_| ())
    }

    async fn remove_share(&self, share_id: &str) -> Result<()> {
        let req = Req::delete(format!("/api/v2/shared_servers/{share_id}"));
        self.call("remove share", req, &format!("share {share_id}"))
            .await
            .map(|_| ())
    }

    async fn remove_friend(&self, user_id: &str) -> Result<()> {
        // v1 `/api/friends/{id}` answers 410 since 2024 (ref §1.2 P22).
        let req = Req::delete(format!("/api/v2/sharings/{user_id}"));
        self.call("remove friend", req, &format!("Plex friend {user_id}"))
            .await
            .map(|_| ())
    }

    async fn pending_invites(&self, machine_id: Option<&str>) -> Result<Vec<PendingInvite>> {
        // v1 `/api/invites/requested` is gone (410); v2 route per ref §1.2 P15.
        let req = Req::get("/api/v2/shared_servers/invites/owned/pending");
        let v = self
            .call_json("list pending invites", req, "account")
            .await?;
        let mut out = Vec::new();
        for inv in v.as_array().cloned().unwrap_or_default() {
            for ss in inv["sharedServers"].as_array().cloned().unwrap_or_default() {
                let mid = jstr(&ss["machineIdentifier"]).unwrap_or_default();
                if machine_id.is_some_and(|m| m != mid) {
                    continue;
                }
                let u = share_from_json(&ss);
                out.push(PendingInvite {
                    id: u.user_ref.share_id.clone().unwrap_or_default(),
                    machine_id: mid,
                    email: u
                        .email
                        .clone()
                        .or_else(|| jstr(&inv["invitedEmail"]))
                        .unwrap_or_default(),
                    username: jstr(&ss["invited"]["username"])
                        .or_else(|| jstr(&inv["invited"]["username"])),
                    user_id: Some(u.user_ref.user_id.clone()).filter(|s| !s.is_empty()),
                    libraries: u.libraries,
                    all_libraries: u.all_libraries,
                    invited_at: jstr(&ss["invitedAt"]).or_else(|| jstr(&inv["createdAt"])),
                });
            }
        }
        Ok(out)
    }

    async fn cancel_invite(&self, share_id: &str) -> Result<()> {
        // Pending entries are deleted like accepted ones (ref §1.2 P17, NEVU).
        let req = Req::delete(format!("/api/v2/shared_servers/{share_id}"));
        self.call("cancel invite", req, &format!("invite {share_id}"))
            .await
            .map(|_| ())
    }

    async fn user_exists(&self, who: &str) -> Result<bool> {
        let op = "look up a Plex account";
        // POST, as every public client that reads the answer sends it (go-plex-client
        // `CheckUsernameOrEmail`, ref §1.2 P30); GET is not known to be served.
        let req = Req::post("/api/users/validate").q("invited_email", who.trim());
        let resp = self.http.send(op, req).await?;
        // 200 `<Response code="0" status="Valid user"/>`; 400 with a non-zero code is the
        // answer "no such account", not a failure. The code decides; the status only when
        // the body carries none.
        match resp.status {
            200 | 400 => {
                let code = xml::parse(&resp.body)
                    .ok()
                    .filter(|r| r.name == "Response")
                    .and_then(|r| r.int("code"));
                Ok(code.map_or(resp.status == 200, |c| c == 0))
            }
            _ => Err(self.fail(op, &resp, "account")),
        }
    }

    async fn headcount(&self, machine_id: &str) -> Result<PlexHeadcount> {
        let shares = self.shares(machine_id).await?;
        let mut who: Vec<String> = shares
            .iter()
            .map(|s| {
                if s.user_ref.user_id.is_empty() {
                    s.email.clone().unwrap_or_default().to_ascii_lowercase()
                } else {
                    s.user_ref.user_id.clone()
                }
            })
            .collect();
        who.sort();
        who.dedup();
        // Home users count against the same limit (operations §5.4); the admin is not one.
        let home = self
            .call_xml("list home users", Req::get("/api/home/users"), "account")
            .await?;
        let home = home
            .children_named("User")
            .filter(|u| !u.flag("admin"))
            .count();
        Ok(PlexHeadcount {
            shared: who.len(),
            home,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_messages_from_both_generations() {
        assert_eq!(
            error_message(
                r#"<?xml version="1.0"?><Response code="410" status="This endpoint was deprecated and removed"/>"#
            ),
            "This endpoint was deprecated and removed"
        );
        assert_eq!(
            error_message(
                r#"{"errors":[{"code":1020,"message":"You're already sharing","status":422}]}"#
            ),
            "You're already sharing"
        );
        assert_eq!(
            error_message("<errors><error>You must be signed in</error></errors>"),
            "You must be signed in"
        );
    }
}
