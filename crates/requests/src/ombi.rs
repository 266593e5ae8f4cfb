//! Ombi (ref §4.2): header `ApiKey`, users under `/api/v1/Identity`, GUID ids, rights as role
//! claims, request limits on the user. Logical failures answer HTTP 200 with
//! `{"successful": false, "errors": [...]}`.

use async_trait::async_trait;
use boxoffice_http::Method;
use serde_json::{Value, json};

use crate::error::{RequestAppError, Result};
use crate::http::{ClientOptions, HttpCore};
use crate::permissions::OMBI_ROLES;
use crate::{Access, AppKind, NewAccount, Quota, RemoteUser, RequestApp};

#[derive(Debug)]
pub struct OmbiClient {
    http: HttpCore,
}

impl OmbiClient {
    pub fn new(url: &str, api_key: &str, opts: &ClientOptions) -> Result<Self> {
        if api_key.trim().is_empty() {
            return Err(RequestAppError::InvalidInput {
                field: "api_key",
                detail: "the Ombi API key is empty".into(),
            });
        }
        let http = HttpCore::new(AppKind::Ombi, url, &[("apikey", api_key.trim())], opts)?;
        Ok(OmbiClient { http })
    }

    async fn call(
        &self,
        op: &str,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value> {
        let resp = self
            .http
            .send(op, method, &format!("/api/v1{path}"), body, None)
            .await?;
        if !resp.ok() {
            return Err(self.http.error(op, &resp, "user"));
        }
        self.http.parse_json(op, &resp)
    }

    /// Reads an `OmbiIdentityResult`, turning `successful: false` into an error.
    fn outcome(&self, op: &str, v: &Value) -> Result<()> {
        if v["successful"].as_bool() == Some(true) {
            return Ok(());
        }
        let errors: Vec<&str> = v["errors"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let detail = if errors.is_empty() {
            "no reason given".to_string()
        } else {
            errors.join("; ")
        };
        let lower = detail.to_ascii_lowercase();
        Err(
            if lower.contains("already been taken") || lower.contains("already taken") {
                RequestAppError::AlreadyExists {
                    app: AppKind::Ombi,
                    op: op.to_string(),
                    detail,
                }
            } else if lower.contains("could not find user") {
                RequestAppError::NotFound {
                    app: AppKind::Ombi,
                    op: op.to_string(),
                    what: "user".into(),
                }
            } else {
                RequestAppError::Refused {
                    app: AppKind::Ombi,
                    op: op.to_string(),
                    detail,
                }
            },
        )
    }

    fn user_of(v: &Value) -> Option<(RemoteUser, Value)> {
        let id = v["id"].as_str()?.to_string();
        let roles: Vec<String> = v["claims"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter(|c| c["enabled"].as_bool() == Some(true))
                    .filter_map(|c| c["value"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let disabled = roles.iter().any(|r| r == "Disabled");
        let limit = |k: &str| {
            v[k].as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .filter(|n| *n > 0)
                .map(|limit| Quota { limit, days: 0 })
        };
        let user = RemoteUser {
            id,
            username: v["userName"].as_str().unwrap_or_default().to_string(),
            email: v["emailAddress"].as_str().unwrap_or_default().to_string(),
            disabled,
            access: Access {
                roles: roles.into_iter().filter(|r| r != "Disabled").collect(),
                movie_quota: limit("movieRequestLimit"),
                tv_quota: limit("episodeRequestLimit"),
                profile: None,
            }
            .normalized(),
            // Ombi marks local users with userType 1 (LocalUser).
            local: v["userType"].as_i64() == Some(1),
        };
        Some((user, v.clone()))
    }

    async fn raw_users(&self) -> Result<Vec<(RemoteUser, Value)>> {
        let op = "list users";
        let v = self.call(op, Method::GET, "/Identity/Users", None).await?;
        let list = v
            .as_array()
            .ok_or_else(|| self.http.bad_response(op, "not a list"))?;
        Ok(list.iter().filter_map(Self::user_of).collect())
    }

    async fn update(&self, user: &RemoteUser, access: &Access, disabled: bool) -> Result<()> {
        let op = if disabled {
            "disable user"
        } else {
            "set permissions"
        };
        let current = self
            .raw_users()
            .await?
            .into_iter()
            .find(|(u, _)| u.id == user.id)
            .map(|(_, raw)| raw)
            .ok_or_else(|| RequestAppError::NotFound {
                app: AppKind::Ombi,
                op: op.to_string(),
                what: "user".into(),
            })?;
        // PUT replaces the whole view model: start from what Ombi sent.
        let mut body = current;
        body["claims"] = claims(access, disabled);
        body["movieRequestLimit"] = json!(access.movie_quota.map_or(0, |q| q.limit));
        body["episodeRequestLimit"] = json!(access.tv_quota.map_or(0, |q| q.limit));
        let v = self.call(op, Method::PUT, "/Identity", Some(&body)).await?;
        self.outcome(op, &v)
    }
}

fn claims(access: &Access, disabled: bool) -> Value {
    Value::Array(
        OMBI_ROLES
            .iter()
            .map(|r| {
                let on = if *r == "Disabled" {
                    disabled
                } else {
                    !disabled && access.roles.iter().any(|x| x == r)
                };
                json!({"value": r, "enabled": on})
            })
            .collect(),
    )
}

#[async_trait]
impl RequestApp for OmbiClient {
    fn kind(&self) -> AppKind {
        AppKind::Ombi
    }

    fn canonical(&self, access: &Access) -> Access {
        // Ombi keeps a count per user; the window is Ombi's global setting.
        let count = |q: Option<Quota>| {
            q.filter(|q| q.limit > 0).map(|q| Quota {
                limit: q.limit,
                days: 0,
            })
        };
        Access {
            roles: access
                .roles
                .iter()
                .filter(|r| *r != "Disabled")
                .cloned()
                .collect(),
            movie_quota: count(access.movie_quota),
            tv_quota: count(access.tv_quota),
            profile: None,
        }
        .normalized()
    }

    async fn users(&self) -> Result<Vec<RemoteUser>> {
        Ok(self
            .raw_users()
            .await?
            .into_iter()
            .map(|(u, _)| u)
            .collect())
    }

    async fn create_user(&self, new: &NewAccount, access: &Access) -> Result<RemoteUser> {
        let op = "create user";
        // `emailAddress` and `{value, enabled}` claims: Ombi's view model (ref §4.2).
        let body = json!({
            "userName": new.username,
            "emailAddress": new.email,
            "password": new.password,
            "alias": "",
            "claims": claims(access, false),
            "movieRequestLimit": access.movie_quota.map_or(0, |q| q.limit),
            "episodeRequestLimit": access.tv_quota.map_or(0, |q| q.limit),
            "musicRequestLimit": 0,
        });
        let v = self
            .call(op, Method::POST, "/Identity", Some(&body))
            .await?;
        self.outcome(op, &v)?;
        // The answer carries no id: read the user back.
        self.find_user(&new.email, None).await?.ok_or_else(|| {
            self.http
                .bad_response(op, "the new user is not in the user list")
        })
    }

    async fn set_access(&self, user: &RemoteUser, access: &Access) -> Result<()> {
        self.update(user, access, false).await
    }

    async fn disable(&self, user: &RemoteUser) -> Result<()> {
        self.update(user, &user.access, true).await
    }

    async fn delete_user(&self, user: &RemoteUser) -> Result<()> {
        let op = "delete user";
        let v = self
            .call(op, Method::DELETE, &format!("/Identity/{}", user.id), None)
            .await?;
        self.outcome(op, &v)
    }
}
