//! Media servers (product §12): added after a connection test, edited, tested, and their
//! libraries synced by a durable job.

use super::{SYNC_LIBRARIES_JOB, clean_url};
use crate::audit::Actor;
use crate::queue::JobSpec;
use crate::{App, AppError};
use boxoffice_domain::platform::Platform;
use boxoffice_media::ServerIdentity;
use boxoffice_store::libraries::{self, SyncedLibrary};
use boxoffice_store::servers::{self as store, NewServer, ServerRow, ServerSettings};

/// Adding a Jellyfin or Emby server: its Internet-reachable URL and an administrator API key.
#[derive(Clone, Debug, Default)]
pub struct MediaBrowserForm {
    pub platform: String,
    pub url: String,
    pub api_key: String,
}

/// Adding one of a Plex account's servers, at the address the admin picked.
#[derive(Clone, Debug, Default)]
pub struct PlexServerForm {
    pub plex_account_id: i64,
    pub machine_id: String,
    pub url: String,
}

/// What one run of the periodic sync of all servers did.
#[derive(Clone, Debug, Default)]
pub struct SyncAllReport {
    /// Enabled servers that answered; each got a library sync queued.
    pub refreshed: usize,
    /// Enabled servers that failed: the error is on the server's row.
    pub failed: usize,
}

/// What a sync found.
#[derive(Clone, Debug)]
pub struct SyncReport {
    pub libraries: usize,
    pub removed: u64,
}

fn conflict(e: boxoffice_store::StoreError) -> AppError {
    if e.is_conflict() {
        AppError::Conflict("this server has already been added".into())
    } else {
        AppError::Store(e)
    }
}

impl App {
    pub async fn list_servers(&self) -> Result<Vec<ServerRow>, AppError> {
        Ok(store::list(self.db.ex()).await?)
    }

    pub async fn server(&self, id: i64) -> Result<ServerRow, AppError> {
        store::find(self.db.ex(), id)
            .await
            .map_err(AppError::not_found_as("server"))
    }

    /// Tests a Jellyfin/Emby URL and key without storing anything ("Test Connection").
    pub async fn test_mediabrowser_server(
        &self,
        form: &MediaBrowserForm,
    ) -> Result<ServerIdentity, AppError> {
        let url = clean_url("url", &form.url)?;
        if form.api_key.trim().is_empty() {
            return Err(AppError::invalid(
                "api_key",
                "paste an API key made in the server's dashboard (Administration → API Keys)",
            ));
        }
        let client = self
            .media
            .mediabrowser_server(&form.platform, &url, form.api_key.trim())?;
        Ok(client.check().await?)
    }

    /// Adds a Jellyfin or Emby server after a successful test, and queues its library sync.
    pub async fn add_mediabrowser_server(
        &self,
        actor: &Actor,
        form: &MediaBrowserForm,
    ) -> Result<ServerRow, AppError> {
        let platform = match Platform::parse(&form.platform) {
            Some(p @ (Platform::Jellyfin | Platform::Emby)) => p,
            _ => return Err(AppError::invalid("platform", "choose Jellyfin or Emby")),
        };
        let identity = self.test_mediabrowser_server(form).await?;
        let url = clean_url("url", &form.url)?;
        let api_key_enc = self.secrets.seal(form.api_key.trim())?;
        self.insert_server(
            actor,
            NewServer {
                platform,
                name: &identity.name,
                remote_id: &identity.id,
                url: &url,
                api_key_enc: &api_key_enc,
                plex_account_id: None,
                version: &identity.version,
                has_premiere: identity.premium.unwrap_or(false),
                now: self.now(),
            },
        )
        .await
    }

    /// Adds one of a Plex account's servers after checking that the URL reaches that very server.
    pub async fn add_plex_server(
        &self,
        actor: &Actor,
        form: &PlexServerForm,
    ) -> Result<ServerRow, AppError> {
        let url = clean_url("url", &form.url)?;
        if form.machine_id.trim().is_empty() {
            return Err(AppError::invalid(
                "machine_id",
                "pick one of the account's servers",
            ));
        }
        let account_row = self.plex_account(form.plex_account_id).await?;
        let account = self.media.plex_account(self, &account_row)?;
        let token = self.plex_account_secrets(&account_row)?.token;
        let client = self
            .media
            .plex_server(account, &token, &url, form.machine_id.trim())?;
        let identity = client.check().await?;
        self.insert_server(
            actor,
            NewServer {
                platform: Platform::Plex,
                name: &identity.name,
                remote_id: &identity.id,
                url: &url,
                api_key_enc: "",
                plex_account_id: Some(account_row.id),
                version: &identity.version,
                has_premiere: false,
                now: self.now(),
            },
        )
        .await
    }

    async fn insert_server(
        &self,
        actor: &Actor,
        new: NewServer<'_>,
    ) -> Result<ServerRow, AppError> {
        let mut tx = self.db.begin().await?;
        let row = store::insert(tx.ex(), new).await.map_err(conflict)?;
        self.enqueue(tx.ex(), sync_job(row.id)).await?;
        self.audit(
            tx.ex(),
            actor,
            "servers.add",
            &row.id.to_string(),
            &format!("{} {} at {}", row.platform, row.name, row.url),
        )
        .await?;
        tx.commit().await?;
        Ok(row)
    }

    pub async fn update_server_settings(
        &self,
        actor: &Actor,
        id: i64,
        settings: &ServerSettings,
    ) -> Result<(), AppError> {
        let mut s = settings.clone();
        s.url = clean_url("url", &s.url)?;
        if !(1..=100_000).contains(&s.max_users) {
            return Err(AppError::invalid(
                "max_users",
                "the maximum number of users must be 1 to 100000",
            ));
        }
        let mut tx = self.db.begin().await?;
        if let Some(loc) = s.location_id {
            boxoffice_store::server_locations::find(tx.ex(), loc)
                .await
                .map_err(AppError::not_found_as("server location"))?;
        }
        store::update_settings(tx.ex(), id, &s, self.now())
            .await
            .map_err(AppError::not_found_as("server"))?;
        self.audit(
            tx.ex(),
            actor,
            "servers.update",
            &id.to_string(),
            &format!(
                "enabled={} new={} trials={} max_users={} 4k_transcoding={} log_activity={}",
                s.enabled,
                s.allow_new_subscriptions,
                s.allow_trial_subscriptions,
                s.max_users,
                s.allow_4k_transcoding,
                s.log_activity
            ),
        )
        .await?;
        // A server edited (capacity raised, opened to new subscriptions, enabled) may have room
        // for customers who paid while none had: try them now rather than at the next tick.
        if !boxoffice_store::waiting::list(tx.ex()).await?.is_empty() {
            self.enqueue(
                tx.ex(),
                JobSpec::new(
                    crate::subscriptions::PLACE_WAITING_JOB,
                    serde_json::json!({}),
                )
                .key(format!("place_waiting:server:{id}:{}", self.now())),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// "Test connection" on a stored server: an authenticated call now, the outcome recorded.
    pub async fn test_server(&self, actor: &Actor, id: i64) -> Result<ServerIdentity, AppError> {
        let row = self.server(id).await?;
        let client = self.media.server(self, &row).await?;
        let outcome = client.check().await;
        let detail = match &outcome {
            Ok(i) => format!("ok: {} {}", i.name, i.version),
            Err(e) => {
                store::record_error(self.db.ex(), id, &e.to_string()).await?;
                e.to_string()
            }
        };
        self.audit(
            self.db.ex(),
            actor,
            "servers.test",
            &id.to_string(),
            &detail,
        )
        .await?;
        Ok(outcome?)
    }

    /// Queues a library sync of one server. Answers the job id.
    pub async fn request_library_sync(&self, actor: &Actor, id: i64) -> Result<i64, AppError> {
        let mut tx = self.db.begin().await?;
        store::find(tx.ex(), id)
            .await
            .map_err(AppError::not_found_as("server"))?;
        let job = self.enqueue(tx.ex(), sync_job(id)).await?;
        self.audit(tx.ex(), actor, "servers.sync", &id.to_string(), "")
            .await?;
        tx.commit().await?;
        Ok(job.id())
    }

    /// Deletes a server and its libraries. Refused while any share on it is not `removed`: its
    /// users would silently lose access. Customers and payments are never touched.
    pub async fn delete_server(&self, actor: &Actor, id: i64) -> Result<(), AppError> {
        let mut tx = self.db.begin().await?;
        let row = store::find(tx.ex(), id)
            .await
            .map_err(AppError::not_found_as("server"))?;
        let live = store::live_share_count(tx.ex(), id).await?;
        if live > 0 {
            return Err(AppError::Conflict(format!(
                "{} still has {live} user{} with access (or being invited): move its users to another server first",
                row.name,
                if live == 1 { "" } else { "s" }
            )));
        }
        store::delete(tx.ex(), id)
            .await
            .map_err(AppError::not_found_as("server"))?;
        self.audit(
            tx.ex(),
            actor,
            "servers.delete",
            &id.to_string(),
            &format!("{} {} at {}", row.platform, row.name, row.url),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The body of the recurring `servers.sync_all` job: every enabled server is asked for its
    /// name and version (recorded on its row) and, when it answered, gets a library sync queued
    /// under the key `server_sync:<server>:<tick>`, so a re-run of the same tick queues nothing
    /// twice. A server that fails has the error recorded on its row and does not stop the others.
    /// Only a database failure makes this fail.
    pub async fn sync_all_servers(&self, tick: &str) -> Result<SyncAllReport, AppError> {
        let mut report = SyncAllReport::default();
        for row in store::list(self.db.ex()).await? {
            if !row.enabled {
                continue;
            }
            let identity = match self.media.server(self, &row).await {
                Ok(client) => client.check().await.map_err(AppError::from),
                Err(e) => Err(e),
            };
            let identity = match identity {
                Ok(i) => i,
                Err(AppError::Store(e)) => return Err(AppError::Store(e)),
                Err(e) => {
                    tracing::warn!(server_id = row.id, error = %e, "server refresh failed");
                    store::record_error(self.db.ex(), row.id, &e.to_string()).await?;
                    report.failed += 1;
                    continue;
                }
            };
            let mut tx = self.db.begin().await?;
            match store::record_identity(
                tx.ex(),
                row.id,
                &identity.name,
                &identity.version,
                self.now(),
            )
            .await
            {
                // Deleted while we were asking it: nothing to queue.
                Err(e) if e.is_not_found() => continue,
                r => r?,
            }
            self.enqueue(
                tx.ex(),
                sync_job(row.id).key(format!("server_sync:{}:{tick}", row.id)),
            )
            .await?;
            tx.commit().await?;
            report.refreshed += 1;
        }
        Ok(report)
    }

    /// The body of the library-sync job: name, version and libraries with item counts. A failure
    /// is recorded on the server with the media error's message and returned for the job to
    /// retry (transient) or park (needs the admin).
    pub async fn sync_server_libraries(&self, id: i64) -> Result<SyncReport, AppError> {
        let row = self.server(id).await?;
        let client = self.media.server(self, &row).await?;
        let read = async {
            let identity = client.identity().await?;
            let libs = client.libraries().await?;
            Ok::<_, boxoffice_media::MediaError>((identity, libs))
        };
        let (identity, libs) = match read.await {
            Ok(v) => v,
            Err(e) => {
                store::record_error(self.db.ex(), id, &e.to_string()).await?;
                return Err(e.into());
            }
        };
        let now = self.now();
        let mut tx = self.db.begin().await?;
        for l in &libs {
            libraries::upsert(
                tx.ex(),
                id,
                SyncedLibrary {
                    remote_key: &l.key,
                    global_id: &l.id,
                    name: &l.name,
                    kind: &l.kind,
                    item_count: i64::try_from(l.item_count).unwrap_or(i64::MAX),
                    child_count: l.child_count.map(|c| i64::try_from(c).unwrap_or(i64::MAX)),
                },
                now,
            )
            .await?;
        }
        let removed = libraries::mark_unseen_removed(tx.ex(), id, now).await?;
        store::record_sync_ok(tx.ex(), id, &identity.name, &identity.version, now).await?;
        tx.commit().await?;
        Ok(SyncReport {
            libraries: libs.len(),
            removed,
        })
    }
}

fn sync_job(server_id: i64) -> JobSpec {
    JobSpec::new(
        SYNC_LIBRARIES_JOB,
        serde_json::json!({ "server_id": server_id }),
    )
}

/// Human name of a platform.
pub fn platform_label(p: Platform) -> &'static str {
    match p {
        Platform::Plex => "Plex",
        Platform::Jellyfin => "Jellyfin",
        Platform::Emby => "Emby",
    }
}
