//! Petio (ref §4.3): no API key; the administrator logs in (`POST /api/login`) and sends the
//! JWT it gets as `Authorization: Bearer`. Users have a role, a profile (which carries the
//! request quota) and a `disabled` flag; only custom (local) users can be deleted.

use async_trait::async_trait;
use boxoffice_http::Method;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::error::{RequestAppError, Result};
use crate::http::{ClientOptions, HttpCore, Resp};
use crate::{Access, AppKind, NewAccount, RemoteUser, RequestApp};

#[derive(Debug)]
pub struct PetioClient {
    http: HttpCore,
    email: String,
    password: String,
    token: Mutex<Option<String>>,
}

impl PetioClient {
    pub fn new(url: &str, email: &str, password: &str, opts: &ClientOptions) -> Result<Self> {
        if email.trim().is_empty() || password.is_empty() {
            return Err(RequestAppError::InvalidInput {
                field: "email",
                detail: "Petio needs the administrator e-mail and password".into(),
            });
        }
        Ok(PetioClient {
            http: HttpCore::new(AppKind::Petio, url, &[], opts)?,
            email: email.trim().to_string(),
            password: password.to_string(),
            token: Mutex::new(None),
        })
    }

    fn unauthorized(&self, op: &str) -> RequestAppError {
        RequestAppError::Unauthorized {
            app: AppKind::Petio,
            op: op.to_string(),
            credential: self.http.credential(),
            advice: self.http.advice(),
        }
    }

    async fn login(&self) -> Result<String> {
        let op = "log in";
        let body =
            json!({"user": {"username": self.email, "password": self.password}, "admin": true});
        let resp = self
            .http
            .send(op, Method::POST, "/api/login", Some(&body), None)
            .await?;
        if !resp.ok() {
            return Err(self.http.error(op, &resp, "login"));
        }
        let v = self.http.parse_json(op, &resp)?;
        // A refused login is still HTTP 200, with `loggedIn: false` and `token: false`.
        match (v["loggedIn"].as_bool(), v["token"].as_str()) {
            (Some(true), Some(t)) if !t.is_empty() => Ok(t.to_string()),
            _ => Err(self.unauthorized(op)),
        }
    }

    async fn token(&self, fresh: bool) -> Result<String> {
        let mut slot = self.token.lock().await;
        if let (false, Some(t)) = (fresh, slot.as_ref()) {
            return Ok(t.clone());
        }
        let t = self.login().await?;
        *slot = Some(t.clone());
        Ok(t)
    }

    /// Sends with the JWT, logging in again once if it was refused (expired or rotated).
    async fn send(
        &self,
        op: &str,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Resp> {
        let token = self.token(false).await?;
        let resp = self
            .http
            .send(op, method.clone(), path, body, Some(&token))
            .await?;
        if resp.status != 401 || path.ends_with("/delete_user") {
            return Ok(resp);
        }
        let token = self.token(true).await?;
        self.http.send(op, method, path, body, Some(&token)).await
    }

    async fn call(
        &self,
        op: &str,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value> {
        let resp = self.send(op, method, path, body).await?;
        if resp.status == 401 && path.ends_with("/delete_user") {
            return Err(RequestAppError::Refused {
                app: AppKind::Petio,
                op: op.to_string(),
                detail: crate::http::message_of(&resp.body),
            });
        }
        if resp.status == 401 {
            return Err(self.unauthorized(op));
        }
        if !resp.ok() {
            return Err(self.http.error(op, &resp, "user"));
        }
        let v = self.http.parse_json(op, &resp)?;
        // Refusals such as a duplicate come back as HTTP 200 with an `error` field (ref §4.3).
        if let Some(e) = v.get("error").and_then(Value::as_str) {
            let detail = e.to_string();
            return Err(if detail.contains("User exists") {
                RequestAppError::AlreadyExists {
                    app: AppKind::Petio,
                    op: op.to_string(),
                    detail,
                }
            } else {
                RequestAppError::Refused {
                    app: AppKind::Petio,
                    op: op.to_string(),
                    detail,
                }
            });
        }
        Ok(v)
    }

    async fn profiles(&self) -> Result<Vec<(String, String)>> {
        let v = self
            .call("list profiles", Method::GET, "/api/profile/all", None)
            .await?;
        Ok(v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|p| {
                        Some((
                            p["_id"].as_str()?.to_string(),
                            p["name"].as_str()?.to_string(),
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    async fn profile_id(&self, name: Option<&str>) -> Result<Value> {
        let Some(name) = name.filter(|n| !n.is_empty()) else {
            return Ok(Value::Null);
        };
        self.profiles()
            .await?
            .into_iter()
            .find(|(_, n)| n.eq_ignore_ascii_case(name))
            .map(|(id, _)| json!(id))
            .ok_or_else(|| RequestAppError::Refused {
                app: AppKind::Petio,
                op: "set profile".into(),
                detail: format!("Petio has no profile named \"{name}\": create it in Petio or change the plan's profile"),
            })
    }

    fn user_of(v: &Value, profiles: &[(String, String)]) -> Option<RemoteUser> {
        let id = v["_id"].as_str()?.to_string();
        let profile = v["profile"]
            .as_str()
            .and_then(|p| profiles.iter().find(|(pid, _)| pid == p))
            .map(|(_, name)| name.clone());
        Some(RemoteUser {
            id,
            username: v["username"].as_str().unwrap_or_default().to_string(),
            email: v["email"].as_str().unwrap_or_default().to_string(),
            disabled: v["disabled"].as_bool().unwrap_or(false),
            access: Access {
                profile,
                ..Access::default()
            },
            local: v["custom"].as_bool().unwrap_or(false),
        })
    }

    async fn edit(&self, user: &RemoteUser, profile: Option<&str>, disabled: bool) -> Result<()> {
        let op = if disabled {
            "disable user"
        } else {
            "set profile"
        };
        let profile = self.profile_id(profile).await?;
        let body = json!({"user": {"id": user.id, "email": user.email, "role": "user",
                                    "profile": profile, "disabled": disabled}});
        self.call(op, Method::POST, "/api/user/edit", Some(&body))
            .await?;
        Ok(())
    }
}

#[async_trait]
impl RequestApp for PetioClient {
    fn kind(&self) -> AppKind {
        AppKind::Petio
    }

    fn canonical(&self, access: &Access) -> Access {
        Access {
            profile: access.profile.clone().filter(|p| !p.is_empty()),
            ..Access::default()
        }
    }

    async fn users(&self) -> Result<Vec<RemoteUser>> {
        let op = "list users";
        let profiles = self.profiles().await?;
        let v = self.call(op, Method::GET, "/api/user/all", None).await?;
        let list = v
            .as_array()
            .ok_or_else(|| self.http.bad_response(op, "not a list"))?;
        Ok(list
            .iter()
            .filter_map(|u| Self::user_of(u, &profiles))
            .collect())
    }

    async fn create_user(&self, new: &NewAccount, access: &Access) -> Result<RemoteUser> {
        let op = "create user";
        // Petio keys users by a caller-chosen `id` besides its own `_id`.
        let body = json!({"user": {"id": format!("boxoffice-{}", new.username), "username": new.username,
                                    "email": new.email, "password": new.password, "linked": ""}});
        let v = self
            .call(op, Method::POST, "/api/user/create_custom", Some(&body))
            .await?;
        let mut user = Self::user_of(&v, &[])
            .ok_or_else(|| self.http.bad_response(op, "the new user has no _id"))?;
        if access.profile.as_deref().is_some_and(|p| !p.is_empty()) {
            self.set_access(&user, access).await?;
            user.access.profile = access.profile.clone();
        }
        Ok(user)
    }

    async fn set_access(&self, user: &RemoteUser, access: &Access) -> Result<()> {
        self.edit(user, access.profile.as_deref(), false).await
    }

    async fn disable(&self, user: &RemoteUser) -> Result<()> {
        self.edit(user, user.access.profile.as_deref(), true).await
    }

    async fn delete_user(&self, user: &RemoteUser) -> Result<()> {
        let body = json!({"user": {"_id": user.id, "custom": user.local}});
        self.call(
            "delete user",
            Method::POST,
            "/api/user/delete_user",
            Some(&body),
        )
        .await?;
        Ok(())
    }
}
