//! Bringing one customer's request-app accounts in line with their plan, and the daily pass.
//! Every step reads the app first, so a re-run (a retry, the daily sync) repairs drift and
//! changes nothing that is already right.

use super::connect::Enabled;
use super::plan_mapping::access_of;
use super::{SYNC_ATTEMPTS, SYNC_CUSTOMER_JOB};
use crate::audit::Actor;
use crate::queue::JobSpec;
use crate::{App, AppError};
use boxoffice_requests::{
    Access, AppKind, MediaRef, NewAccount, RemoteUser, RequestApp, RequestAppError,
};
use boxoffice_store::customers::{self, CustomerRow};
use boxoffice_store::request_apps::{self, AccountUpdate};
use boxoffice_store::{StoreError, servers, shares};
use serde::Serialize;
use serde_json::json;

/// One app that could not be brought in line.
#[derive(Clone, Debug, Serialize)]
pub struct AppFailure {
    pub app: &'static str,
    pub message: String,
    /// A later attempt may succeed (5xx, 429, timeout, unreachable).
    pub retryable: bool,
    pub retry_after_secs: Option<i64>,
}

/// What one customer sync did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct CustomerSync {
    /// (app, state) of each app brought in line.
    pub synced: Vec<(&'static str, String)>,
    pub failures: Vec<AppFailure>,
}

/// What the daily pass enqueued.
#[derive(Clone, Debug, Default, Serialize)]
pub struct DailySync {
    pub customers: usize,
}

struct Outcome {
    user: RemoteUser,
    state: &'static str,
    /// The password of a local account just created.
    new_password: Option<String>,
}

/// What the customer should have in one app.
enum Wanted {
    Account(Access),
    Disabled,
    Deleted,
}

fn username_for(c: &CustomerRow) -> String {
    let preferred = [&c.jellyfin_username, &c.emby_username]
        .into_iter()
        .find(|u| !u.is_empty() && !u.contains('@'))
        .cloned();
    preferred.unwrap_or_else(|| c.email.split('@').next().unwrap_or("customer").to_string())
}

impl App {
    /// Brings the customer's account in every enabled request app in line with their plan:
    /// created (or imported, or adopted by e-mail) with the plan's permissions and quotas while
    /// they are active; disabled or deleted (`requests.on_expiry`) once they are not. Failures
    /// are recorded on the account row and answered, not raised, so each app is tried.
    pub async fn sync_customer_request_apps(
        &self,
        customer_id: i64,
    ) -> Result<CustomerSync, AppError> {
        let settings = self.settings().await?;
        let apps = self.request_apps(&settings)?;
        let mut report = CustomerSync::default();
        if apps.is_empty() {
            return Ok(report);
        }
        let customer = match customers::find(self.db.ex(), customer_id).await {
            Ok(c) => c,
            Err(StoreError::NotFound) => return Ok(report),
            Err(e) => return Err(e.into()),
        };
        let now = self.now();
        let active = customer.deleting_at.is_none()
            && (customer.permanent || customer.covered_until.is_some_and(|t| t > now));
        let delete_at_expiry =
            customer.deleting_at.is_some() || settings.get("requests.on_expiry") == "delete";
        let media = self.media_ref(customer_id).await?;
        for Enabled { kind, client } in apps {
            let app = kind.as_str();
            let mapping = match customer.plan_id {
                Some(p) => request_apps::mapping(self.db.ex(), p, app).await?,
                None => None,
            };
            let wanted = match mapping {
                Some(m) if active => {
                    let default_profile = if kind == AppKind::Petio {
                        settings.get("requests.petio.profile")
                    } else {
                        ""
                    };
                    Wanted::Account(access_of(&m, default_profile))
                }
                _ if delete_at_expiry => Wanted::Deleted,
                _ => Wanted::Disabled,
            };
            let account = request_apps::account(self.db.ex(), customer_id, app).await?;
            let known_id = account
                .as_ref()
                .map(|a| a.external_id.clone())
                .filter(|id| !id.is_empty());
            if !matches!(wanted, Wanted::Account(_))
                && (known_id.is_none() || account.as_ref().is_some_and(|a| a.state == "deleted"))
            {
                // Nothing of theirs is in the app: nothing to take away.
                if account.as_ref().is_some_and(|a| a.state != "deleted") {
                    self.record(
                        customer_id,
                        app,
                        "",
                        &account_name(&account),
                        "deleted",
                        "",
                        None,
                    )
                    .await?;
                }
                continue;
            }
            let import =
                kind == AppKind::Overseerr && settings.bool("requests.overseerr.import_users");
            let result = match client {
                Err(e) => Err(e),
                Ok(c) => {
                    self.sync_app(
                        c.as_ref(),
                        &customer,
                        known_id.as_deref(),
                        &wanted,
                        media.as_ref(),
                        import,
                    )
                    .await
                }
            };
            match result {
                Ok(out) => {
                    let sealed = match &out.new_password {
                        Some(p) => Some(self.secrets.seal(p)?),
                        None => None,
                    };
                    let username = if out.user.username.is_empty() {
                        account_name(&account)
                    } else {
                        out.user.username.clone()
                    };
                    self.record(
                        customer_id,
                        app,
                        &out.user.id,
                        &username,
                        out.state,
                        "",
                        sealed.as_deref(),
                    )
                    .await?;
                    if let Some(password) = &out.new_password {
                        // A new local account: the customer needs its credentials (product §8.8);
                        // the notice's values are sealed like the stored password.
                        let name = match kind {
                            AppKind::Overseerr => "Overseerr",
                            AppKind::Ombi => "Ombi",
                            AppKind::Petio => "Petio",
                        };
                        self.notify_now(
                            crate::notify::Notice::to_customer("request_app_account", customer_id)
                                .with("request_app_name", name)
                                .with(
                                    "request_app_url",
                                    settings.get(&format!("requests.{app}.url")),
                                )
                                .with("request_app_username", username.clone())
                                .with("request_app_password", password.clone())
                                .once(format!("request_app:{customer_id}:{app}:{}", out.user.id)),
                        )
                        .await?;
                        tracing::info!(customer_id, app, username = %username, "created a local request-app account");
                    }
                    report.synced.push((app, out.state.to_string()));
                }
                Err(e) => {
                    tracing::warn!(customer_id, app, error = %e, "request-app sync failed");
                    request_apps::put_error(self.db.ex(), customer_id, app, &e.to_string(), now)
                        .await?;
                    report.failures.push(AppFailure {
                        app,
                        message: e.to_string(),
                        retryable: e.retryable(),
                        retry_after_secs: e
                            .retry_after()
                            .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX)),
                    });
                }
            }
        }
        Ok(report)
    }

    #[allow(clippy::too_many_arguments)]
    async fn record(
        &self,
        customer_id: i64,
        app: &str,
        external_id: &str,
        username: &str,
        state: &str,
        error: &str,
        sealed_password: Option<&str>,
    ) -> Result<(), AppError> {
        request_apps::put_account(
            self.db.ex(),
            customer_id,
            app,
            &AccountUpdate {
                external_id,
                username,
                state,
                last_error: error,
                sealed_password,
            },
            self.now(),
        )
        .await?;
        Ok(())
    }

    async fn sync_app(
        &self,
        c: &dyn RequestApp,
        customer: &CustomerRow,
        known_id: Option<&str>,
        wanted: &Wanted,
        media: Option<&MediaRef>,
        import: bool,
    ) -> Result<Outcome, RequestAppError> {
        let existing = match known_id {
            Some(id) => c.get_user(id).await?,
            None => None,
        };
        match wanted {
            Wanted::Deleted => {
                if let Some(u) = &existing {
                    match c.delete_user(u).await {
                        Err(e) if !e.is_not_found() => return Err(e),
                        _ => {}
                    }
                }
                let user = existing.unwrap_or_else(|| placeholder(known_id));
                Ok(Outcome {
                    user,
                    state: "deleted",
                    new_password: None,
                })
            }
            Wanted::Disabled => match existing {
                Some(u) => {
                    if !u.disabled {
                        c.disable(&u).await?;
                    }
                    Ok(Outcome {
                        user: u,
                        state: "disabled",
                        new_password: None,
                    })
                }
                None => Ok(Outcome {
                    user: placeholder(known_id),
                    state: "deleted",
                    new_password: None,
                }),
            },
            Wanted::Account(access) => {
                let mut new_password = None;
                let user = match existing {
                    Some(u) => u,
                    None => match self.find_or_import(c, customer, media, import).await? {
                        Some(u) => u,
                        None => {
                            let password = crate::crypto::random_token()
                                .map_err(|e| RequestAppError::InvalidInput {
                                    field: "password",
                                    detail: e.to_string(),
                                })?
                                .chars()
                                .take(20)
                                .collect::<String>();
                            let u = self.create_local(c, customer, &password, access).await?;
                            new_password = Some(password);
                            u
                        }
                    },
                };
                // Read back what the app holds (a create may not echo everything) and repair.
                let current = c.get_user(&user.id).await?.unwrap_or_else(|| user.clone());
                if current.disabled || current.access != c.canonical(access) {
                    c.set_access(&current, access).await?;
                }
                Ok(Outcome {
                    user: current,
                    state: "active",
                    new_password,
                })
            }
        }
    }

    async fn find_or_import(
        &self,
        c: &dyn RequestApp,
        customer: &CustomerRow,
        media: Option<&MediaRef>,
        import: bool,
    ) -> Result<Option<RemoteUser>, RequestAppError> {
        if let Some(u) = c.find_user(&customer.email, media).await? {
            return Ok(Some(u));
        }
        match (import, media) {
            (true, Some(m)) => match c.import_user(m).await {
                Ok(u) => Ok(u),
                // Plain Overseerr has no Jellyfin import (404) and newer Seerr refuses an id it
                // cannot use (400): a local account does instead.
                Err(RequestAppError::Unsupported { .. })
                | Err(RequestAppError::NotFound { .. })
                | Err(RequestAppError::Rejected { status: 400, .. }) => Ok(None),
                Err(e) => Err(e),
            },
            _ => Ok(None),
        }
    }

    async fn create_local(
        &self,
        c: &dyn RequestApp,
        customer: &CustomerRow,
        password: &str,
        access: &Access,
    ) -> Result<RemoteUser, RequestAppError> {
        let base = username_for(customer);
        let new = NewAccount {
            email: customer.email.clone(),
            username: base.clone(),
            password: password.to_string(),
        };
        match c.create_user(&new, access).await {
            // The e-mail is free (find_user said so) but the name is taken: make it unique.
            Err(RequestAppError::AlreadyExists { .. }) => {
                let new = NewAccount {
                    username: format!("{base}{}", customer.id),
                    ..new
                };
                c.create_user(&new, access).await
            }
            other => other,
        }
    }

    /// The customer's media-server account, for apps that import from it.
    async fn media_ref(&self, customer_id: i64) -> Result<Option<MediaRef>, AppError> {
        for s in shares::list_for_customer(self.db.ex(), customer_id).await? {
            if s.remote_user_id.is_empty() || s.state == "removed" {
                continue;
            }
            let server = servers::find(self.db.ex(), s.server_id).await?;
            return Ok(Some(match server.platform.as_str() {
                "plex" => MediaRef::Plex(s.remote_user_id),
                _ => MediaRef::Jellyfin(s.remote_user_id),
            }));
        }
        Ok(None)
    }

    /// The daily pass: one keyed sync job per customer concerned, so each retries on its own.
    pub async fn run_request_apps_sync(&self, tick: &str) -> Result<DailySync, AppError> {
        let settings = self.settings().await?;
        if self.request_apps(&settings)?.is_empty() {
            return Ok(DailySync::default());
        }
        let ids = request_apps::customers_to_sync(self.db.ex(), self.now()).await?;
        let mut tx = self.db.begin().await?;
        for id in &ids {
            self.enqueue(
                tx.ex(),
                JobSpec::new(SYNC_CUSTOMER_JOB, json!({ "customer_id": id }))
                    .key(format!("request_apps:{id}:daily:{tick}"))
                    .attempts(SYNC_ATTEMPTS),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(DailySync {
            customers: ids.len(),
        })
    }

    /// "Sync now" on the customer page.
    pub async fn request_app_sync_now(
        &self,
        actor: &Actor,
        customer_id: i64,
    ) -> Result<(), AppError> {
        let mut tx = self.db.begin().await?;
        customers::find(tx.ex(), customer_id)
            .await
            .map_err(AppError::not_found_as("customer"))?;
        let now = self.now();
        self.enqueue(
            tx.ex(),
            JobSpec::new(SYNC_CUSTOMER_JOB, json!({ "customer_id": customer_id }))
                .key(format!("request_apps:{customer_id}:manual:{now}"))
                .attempts(SYNC_ATTEMPTS),
        )
        .await?;
        self.audit(
            tx.ex(),
            actor,
            "customer.request_apps_sync",
            &format!("customer:{customer_id}"),
            "",
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

fn placeholder(id: Option<&str>) -> RemoteUser {
    RemoteUser {
        id: id.unwrap_or_default().to_string(),
        username: String::new(),
        email: String::new(),
        disabled: true,
        access: Access::default(),
        local: false,
    }
}

fn account_name(a: &Option<request_apps::AccountRow>) -> String {
    a.as_ref().map(|a| a.username.clone()).unwrap_or_default()
}
