//! What a job handling many items (the bulk import's rows) reads once instead of once per item:
//! the settings, and the notice, Discord and request-app switches they decide; the plans; the
//! servers and their libraries. The items of one run see them as they were when the run
//! started: a setting changed meanwhile applies from the next run.

use crate::notify::NoticeBatch;
use crate::settings::Settings;
use crate::subscriptions::plan::{self, LoadedPlan};
use crate::{App, AppError};
use boxoffice_store::provisioning::{self, ShareableLibrary};
use boxoffice_store::servers::{self, ServerRow};
use boxoffice_store::{Ex, Tx};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

type Libraries = Arc<Vec<ShareableLibrary>>;
/// A server, whether the ids are groups (true) or libraries, and the ids.
type LibrariesKey = (i64, bool, Vec<i64>);

pub struct JobReads {
    settings: Settings,
    batches: Mutex<HashMap<&'static str, Arc<NoticeBatch>>>,
    plans: Mutex<HashMap<i64, Arc<LoadedPlan>>>,
    servers: Mutex<HashMap<i64, Arc<ServerRow>>>,
    libraries: Mutex<HashMap<LibrariesKey, Libraries>>,
}

fn cached<K: std::hash::Hash + Eq, V: Clone>(map: &Mutex<HashMap<K, V>>, key: &K) -> Option<V> {
    match map.lock() {
        Ok(m) => m.get(key).cloned(),
        Err(poisoned) => poisoned.into_inner().get(key).cloned(),
    }
}

fn keep<K: std::hash::Hash + Eq, V>(map: &Mutex<HashMap<K, V>>, key: K, value: V) {
    match map.lock() {
        Ok(mut m) => m.insert(key, value),
        Err(poisoned) => poisoned.into_inner().insert(key, value),
    };
}

impl App {
    /// Reads the settings for a run of many items.
    pub async fn job_reads(&self) -> Result<JobReads, AppError> {
        Ok(JobReads {
            settings: App::settings_in(self.db.ex()).await?,
            batches: Mutex::default(),
            plans: Mutex::default(),
            servers: Mutex::default(),
            libraries: Mutex::default(),
        })
    }
}

impl JobReads {
    /// Whether a payment may have to reach the customer's Discord roles.
    pub(crate) fn discord_sync_on(&self) -> bool {
        self.settings.bool("discord.sync_enabled")
    }

    /// Whether any request app is connected.
    pub(crate) fn request_apps_on(&self) -> bool {
        boxoffice_requests::AppKind::ALL.iter().any(|app| {
            self.settings
                .bool(&format!("requests.{}.enabled", app.as_str()))
        })
    }

    pub(crate) async fn notice_batch(
        &self,
        app: &App,
        ex: Ex<'_>,
        event: &'static str,
    ) -> Result<Arc<NoticeBatch>, AppError> {
        if let Some(b) = cached(&self.batches, &event) {
            return Ok(b);
        }
        let b = Arc::new(app.notice_batch_from(ex, event, &self.settings).await?);
        keep(&self.batches, event, b.clone());
        Ok(b)
    }

    pub(crate) async fn plan(&self, ex: Ex<'_>, id: i64) -> Result<Arc<LoadedPlan>, AppError> {
        if let Some(p) = cached(&self.plans, &id) {
            return Ok(p);
        }
        let p = Arc::new(plan::load(ex, id).await?);
        keep(&self.plans, id, p.clone());
        Ok(p)
    }

    pub(crate) async fn server(&self, ex: Ex<'_>, id: i64) -> Result<Arc<ServerRow>, AppError> {
        if let Some(s) = cached(&self.servers, &id) {
            return Ok(s);
        }
        let s = Arc::new(
            servers::find(ex, id)
                .await
                .map_err(AppError::not_found_as("server"))?,
        );
        keep(&self.servers, id, s.clone());
        Ok(s)
    }

    /// [`provisioning::libraries_in_groups`], read once per server and groups.
    pub(crate) async fn libraries_in_groups(
        &self,
        tx: &mut Tx,
        server_id: i64,
        group_ids: &[i64],
    ) -> Result<Libraries, AppError> {
        let key = (server_id, true, group_ids.to_vec());
        if let Some(l) = cached(&self.libraries, &key) {
            return Ok(l);
        }
        let l = Arc::new(provisioning::libraries_in_groups(tx.ex(), server_id, group_ids).await?);
        keep(&self.libraries, key, l.clone());
        Ok(l)
    }

    /// [`provisioning::libraries_by_id`], read once per server and libraries.
    pub(crate) async fn libraries_by_id(
        &self,
        ex: Ex<'_>,
        server_id: i64,
        ids: &[i64],
    ) -> Result<Libraries, AppError> {
        let key = (server_id, false, ids.to_vec());
        if let Some(l) = cached(&self.libraries, &key) {
            return Ok(l);
        }
        let l = Arc::new(provisioning::libraries_by_id(ex, server_id, ids).await?);
        keep(&self.libraries, key, l.clone());
        Ok(l)
    }
}
