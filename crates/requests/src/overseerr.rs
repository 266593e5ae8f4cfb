//! Overseerr and Jellyseerr (ref §4.1): `X-Api-Key`, base `/api/v1`, numeric user ids,
//! permissions as a bitmask on the user and request quotas in the user's main settings.

use async_trait::async_trait;
use boxoffice_http::Method;
use serde_json::{Value, json};

use crate::error::{RequestAppError, Result};
use crate::http::{ClientOptions, HttpCore, Resp};
use crate::permissions::{overseerr_bits, overseerr_names};
use crate::{Access, AppKind, MediaRef, NewAccount, Quota, RemoteUser, RequestApp};

const PAGE: usize = 100;

#[derive(Debug)]
pub struct OverseerrClient {
    http: HttpCore,
}

impl OverseerrClient {
    /// `url` is the app's address without `/api/v1` (e.g. `http://overseerr:5055`).
    pub fn new(url: &str, api_key: &str, opts: &ClientOptions) -> Result<Self> {
        if api_key.trim().is_empty() {
            return Err(RequestAppError::InvalidInput {
                field: "api_key",
                detail: "the Overseerr API key is empty".into(),
            });
        }
        let http = HttpCore::new(
            AppKind::Overseerr,
            url,
            &[("x-api-key", api_key.trim())],
            opts,
        )?;
        Ok(OverseerrClient { http })
    }

    async fn call(
        &self,
        op: &str,
        method: Method,
        path: &str,
        body: Option<&Value>,
        what: &str,
    ) -> Result<Value> {
        let resp = self
            .http
            .send(op, method, &format!("/api/v1{path}"), body, None)
            .await?;
        if resp.ok() {
            return self.http.parse_json(op, &resp);
        }
        Err(self.error(op, &resp, what))
    }

    fn error(&self, op: &str, resp: &Resp, what: &str) -> RequestAppError {
        // A wrong key leaves the request unauthenticated, and protected routes answer 403
        // "You do not have permission to access this endpoint" (ref §4.1), never 401.
        if resp.status == 403 && resp.body.contains("access this endpoint") {
            return RequestAppError::Unauthorized {
                app: AppKind::Overseerr,
                op: op.to_string(),
                credential: self.http.credential(),
                advice: self.http.advice(),
            };
        }
        self.http.error(op, resp, what)
    }

    fn user_of(&self, op: &str, v: &Value) -> Result<RemoteUser> {
        let id = v["id"]
            .as_i64()
            .ok_or_else(|| self.http.bad_response(op, "a user without a numeric id"))?;
        let permissions = v["permissions"].as_i64().unwrap_or(0);
        let username = [
            "username",
            "plexUsername",
            "jellyfinUsername",
            "displayName",
        ]
        .iter()
        .find_map(|k| v[*k].as_str().filter(|s| !s.is_empty()))
        .unwrap_or_default();
        Ok(RemoteUser {
            id: id.to_string(),
            username: username.to_string(),
            email: v["email"].as_str().unwrap_or_default().to_string(),
            disabled: permissions == 0,
            access: Access {
                roles: overseerr_names(permissions),
                ..Access::default()
            }
            .normalized(),
            // userType 2 is LOCAL.
            local: v["userType"].as_i64() == Some(2),
        })
    }

    fn created(&self, op: &str, v: &Value) -> Result<Vec<RemoteUser>> {
        // Older builds answer an array; newer Seerr `{createdUsers, refreshedUsers}` (ref §4.1).
        let list = match v {
            Value::Array(a) => a.clone(),
            Value::Object(o) => o
                .get("createdUsers")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
            _ => {
                return Err(self
                    .http
                    .bad_response(op, "neither a list nor createdUsers"));
            }
        };
        list.iter().map(|u| self.user_of(op, u)).collect()
    }

    async fn set_quotas(&self, id: &str, access: &Access) -> Result<()> {
        let op = "set request quotas";
        let path = format!("/user/{id}/settings/main");
        let mut settings = self.call(op, Method::GET, &path, None, "user").await?;
        if !settings.is_object() {
            settings = json!({});
        }
        let limit = |q: Option<Quota>| q.map_or(Value::Null, |q| json!(q.limit));
        let days = |q: Option<Quota>| q.map_or(Value::Null, |q| json!(q.days));
        settings["movieQuotaLimit"] = limit(access.movie_quota);
        settings["movieQuotaDays"] = days(access.movie_quota);
        settings["tvQuotaLimit"] = limit(access.tv_quota);
        settings["tvQuotaDays"] = days(access.tv_quota);
        self.call(op, Method::POST, &path, Some(&settings), "user")
            .await?;
        Ok(())
    }

    async fn set_permissions(&self, user: &RemoteUser, bits: i64) -> Result<()> {
        let body = json!({"username": user.username, "permissions": bits});
        self.call(
            "set permissions",
            Method::PUT,
            &format!("/user/{}", user.id),
            Some(&body),
            "user",
        )
        .await?;
        Ok(())
    }
}

fn quota(limit: &Value, days: &Value) -> Option<Quota> {
    let limit = u32::try_from(limit.as_u64()?).ok()?;
    Some(Quota {
        limit,
        days: days
            .as_u64()
            .and_then(|d| u32::try_from(d).ok())
            .unwrap_or(0),
    })
}

#[async_trait]
impl RequestApp for OverseerrClient {
    fn kind(&self) -> AppKind {
        AppKind::Overseerr
    }

    async fn users(&self) -> Result<Vec<RemoteUser>> {
        let op = "list users";
        let mut out = Vec::new();
        let mut skip = 0usize;
        loop {
            let v = self
                .call(
                    op,
                    Method::GET,
                    &format!("/user?take={PAGE}&skip={skip}&sort=created"),
                    None,
                    "user list",
                )
                .await?;
            let results = v["results"]
                .as_array()
                .ok_or_else(|| self.http.bad_response(op, "no results list"))?;
            for u in results {
                out.push(self.user_of(op, u)?);
            }
            let total = v["pageInfo"]["results"].as_u64().unwrap_or(0) as usize;
            skip += results.len();
            if results.is_empty() || skip >= total {
                return Ok(out);
            }
        }
    }

    async fn get_user(&self, id: &str) -> Result<Option<RemoteUser>> {
        let op = "read user";
        let v = match self
            .call(op, Method::GET, &format!("/user/{id}"), None, "user")
            .await
        {
            Ok(v) => v,
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(e),
        };
        let mut user = self.user_of(op, &v)?;
        let s = self
            .call(
                op,
                Method::GET,
                &format!("/user/{id}/settings/main"),
                None,
                "user",
            )
            .await?;
        user.access.movie_quota = quota(&s["movieQuotaLimit"], &s["movieQuotaDays"]);
        user.access.tv_quota = quota(&s["tvQuotaLimit"], &s["tvQuotaDays"]);
        Ok(Some(user))
    }

    async fn find_user(&self, email: &str, media: Option<&MediaRef>) -> Result<Option<RemoteUser>> {
        let op = "find user";
        let mut skip = 0usize;
        loop {
            let v = self
                .call(
                    op,
                    Method::GET,
                    &format!("/user?take={PAGE}&skip={skip}&sort=created"),
                    None,
                    "user list",
                )
                .await?;
            let results = v["results"].as_array().cloned().unwrap_or_default();
            for u in &results {
                let by_email = u["email"]
                    .as_str()
                    .is_some_and(|e| !e.is_empty() && e.eq_ignore_ascii_case(email));
                let by_media = match media {
                    Some(MediaRef::Plex(id)) => json_id(&u["plexId"]).as_deref() == Some(id),
                    Some(MediaRef::Jellyfin(id)) => {
                        json_id(&u["jellyfinUserId"]).is_some_and(|j| j.eq_ignore_ascii_case(id))
                    }
                    None => false,
                };
                if by_email || by_media {
                    return self.get_user(&self.user_of(op, u)?.id).await;
                }
            }
            let total = v["pageInfo"]["results"].as_u64().unwrap_or(0) as usize;
            skip += results.len();
            if results.is_empty() || skip >= total {
                return Ok(None);
            }
        }
    }

    async fn import_user(&self, media: &MediaRef) -> Result<Option<RemoteUser>> {
        let (op, path, body) = match media {
            MediaRef::Plex(id) => (
                "import Plex user",
                "/user/import-from-plex",
                json!({"plexIds": [id]}),
            ),
            MediaRef::Jellyfin(id) => (
                "import Jellyfin user",
                "/user/import-from-jellyfin",
                json!({"jellyfinUserIds": [id]}),
            ),
        };
        let v = self
            .call(op, Method::POST, path, Some(&body), "user")
            .await?;
        // Only users on the owner's share list are imported (ref §4.1, P23): an empty answer
        // means "not yet", not a failure.
        Ok(self.created(op, &v)?.into_iter().next())
    }

    async fn create_user(&self, new: &NewAccount, access: &Access) -> Result<RemoteUser> {
        let op = "create user";
        let body = json!({"email": new.email, "username": new.username, "password": new.password});
        let v = self
            .call(op, Method::POST, "/user", Some(&body), "user")
            .await?;
        let user = self.user_of(op, &v)?;
        self.set_access(&user, access).await?;
        Ok(RemoteUser {
            access: access.clone().normalized(),
            disabled: overseerr_bits(&access.roles) == 0,
            ..user
        })
    }

    async fn set_access(&self, user: &RemoteUser, access: &Access) -> Result<()> {
        self.set_permissions(user, overseerr_bits(&access.roles))
            .await?;
        self.set_quotas(&user.id, access).await
    }

    async fn disable(&self, user: &RemoteUser) -> Result<()> {
        // Overseerr has no disabled flag: an account without permissions can sign in but
        // cannot request anything.
        self.set_permissions(user, 0).await
    }

    async fn delete_user(&self, user: &RemoteUser) -> Result<()> {
        self.call(
            "delete user",
            Method::DELETE,
            &format!("/user/{}", user.id),
            None,
            "user",
        )
        .await?;
        Ok(())
    }
}

fn json_id(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}
