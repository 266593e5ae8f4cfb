//! The enforcement pass (operations §3.6, §3.8): read every enabled server's live sessions at
//! once, match them to customers by the users their shares hold, let the domain rules decide,
//! then stop, message, notify and audit. Runs as a recurring job, never from a web request.

use crate::audit::Actor;
use crate::notify::Notice;
use crate::{App, AppError};
use boxoffice_domain::enforcement::{
    CustomerRules, PassMemory, ServerRules, Session, StopReason, StreamAction, StreamPolicy,
    StreamSettings, TranscodeVerdict, VideoMode, plan_stream_pass,
};
use boxoffice_domain::enforcement::{EmbyDevice, emby_device_step};
use boxoffice_domain::platform::Platform;
use boxoffice_media::{Decision, DeviceAccess, LiveSession, UserRef};
use boxoffice_store::enforcement::{self as store, Reading};
use boxoffice_store::servers::ServerRow;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// Readings older than this are dropped even on servers that log activity.
const HISTORY_DAYS: i64 = 30;

/// What a pass did, for the job log and the tests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PassReport {
    pub servers_read: usize,
    /// Servers whose sessions could not be read, with why; the next pass tries again.
    pub servers_failed: Vec<(i64, String)>,
    pub sessions: usize,
    pub stopped: usize,
    /// Stops the server refused or could not do (Plex without Plex Pass).
    pub not_stopped: usize,
    pub notified: usize,
    /// Emby devices deleted for being over a plan's device limit.
    pub devices_deleted: usize,
    /// Emby users whose "allow all devices" setting was changed.
    pub device_settings_changed: usize,
    /// Wall time of each part of the pass, in order, for the benchmark and the job log.
    pub phases: Vec<(&'static str, std::time::Duration)>,
}

/// Wall time per part of a pass (measured with the machine's clock: it is about cost, not about
/// when things happen, so the injectable clock is not the one to use).
struct Phases {
    last: std::time::Instant,
    done: Vec<(&'static str, std::time::Duration)>,
}

impl Phases {
    fn start() -> Phases {
        Phases {
            last: std::time::Instant::now(),
            done: Vec::new(),
        }
    }

    fn mark(&mut self, name: &'static str) {
        let now = std::time::Instant::now();
        self.done.push((name, now - self.last));
        self.last = now;
    }
}

/// What is kept between passes: the rules' memory and when each session was first seen (the
/// servers do not all say when a session began, and "newest" needs an order).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct Stored {
    pub(crate) rules: PassMemory,
    first_seen: BTreeMap<String, i64>,
    /// The device setting last written per Emby user ("server:user"), so it is written only
    /// when it changes.
    #[serde(default)]
    devices_applied: BTreeMap<String, String>,
}

fn session_key(server: i64, id: &str) -> String {
    format!("{server}:{id}")
}

fn video_mode(d: Decision) -> VideoMode {
    match d {
        Decision::DirectPlay => VideoMode::DirectPlay,
        Decision::Copy => VideoMode::DirectStream,
        Decision::Transcode => VideoMode::Transcode,
    }
}

fn decision_word(d: Decision) -> &'static str {
    match d {
        Decision::DirectPlay => "direct",
        Decision::Copy => "copy",
        Decision::Transcode => "transcode",
    }
}

/// Unix seconds of an ISO 8601 time as the servers write it; an unreadable one counts as oldest.
fn unix_of(text: &str) -> i64 {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map(|t| t.unix_timestamp())
        .unwrap_or(0)
}

/// `2026-11-01 20:15` (UTC) for messages.
pub(crate) fn clock_text(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| {
            d.format(time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute]"
            ))
            .ok()
        })
        .unwrap_or_default()
}

fn reason_text(r: &StopReason) -> String {
    match r {
        StopReason::TooManyStreams { streams, limit } => {
            format!("{streams} streams on a plan allowing {limit}")
        }
        StopReason::Transcode(TranscodeVerdict::Forbidden4k) => {
            "4K video transcode on a server that does not allow it".into()
        }
        StopReason::Transcode(_) => "video transcode on a plan without transcoding".into(),
    }
}

impl App {
    /// One enforcement pass over every enabled server.
    pub async fn run_enforcement_pass(&self) -> Result<PassReport, AppError> {
        let mut phases = Phases::start();
        let settings = self.settings().await?;
        let rules = StreamSettings {
            streams_enabled: settings.bool("enforcement.streams_enabled"),
            transcoding_enabled: settings.bool("enforcement.transcoding_enabled"),
            policy: match settings.get("enforcement.stream_policy") {
                "stop_newest" => StreamPolicy::StopNewest,
                "customer_chooses" => StreamPolicy::CustomerChooses {
                    grace_secs: settings
                        .int("enforcement.choice_grace_minutes")
                        .saturating_mul(60),
                },
                _ => StreamPolicy::StopAll,
            },
            confirm_readings: u32::try_from(settings.int("enforcement.confirm_readings"))
                .unwrap_or(2),
        };
        let now = self.now();
        let servers: Vec<ServerRow> = boxoffice_store::servers::list(self.db.ex())
            .await?
            .into_iter()
            .filter(|s| s.enabled)
            .collect();
        let plex_pass: HashMap<i64, bool> = boxoffice_store::plex_accounts::list(self.db.ex())
            .await?
            .into_iter()
            .map(|a| (a.id, a.has_plex_pass))
            .collect();

        let mut report = PassReport::default();
        phases.mark("settings and servers");
        let read = self.read_sessions(&servers).await;
        phases.mark("read sessions");
        let mut live: Vec<(i64, LiveSession)> = Vec::new();
        for (server, outcome) in read {
            match outcome {
                Ok(sessions) => {
                    report.servers_read += 1;
                    live.extend(sessions.into_iter().map(|s| (server, s)));
                }
                Err(e) => {
                    tracing::warn!(server, error = %e, "enforcement: cannot read sessions");
                    report.servers_failed.push((server, e.to_string()));
                }
            }
        }
        report.sessions = live.len();

        let enrollees = store::enrollees(self.db.ex()).await?;
        phases.mark("read shares");
        let mut owner: HashMap<(i64, &str), i64> = HashMap::new();
        let mut customers: BTreeMap<i64, CustomerRules> = BTreeMap::new();
        for e in &enrollees {
            owner.insert((e.server_id, e.remote_user_id.as_str()), e.customer_id);
            let limit = e.stream_limit.and_then(|l| u32::try_from(l).ok());
            let c = customers.entry(e.customer_id).or_insert(CustomerRules {
                customer: e.customer_id,
                permanent: e.permanent,
                max_streams: limit,
                video_transcoding_allowed: e.video_transcoding,
            });
            // Several shares of one plan carry the same limits; the strictest wins if not.
            c.max_streams = match (c.max_streams, limit) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            c.video_transcoding_allowed &= e.video_transcoding;
        }
        let server_rules: BTreeMap<i64, ServerRules> = servers
            .iter()
            .map(|s| {
                let pass = s
                    .plex_account_id
                    .and_then(|a| plex_pass.get(&a).copied())
                    .unwrap_or(false);
                let mut r = ServerRules::new(s.id, s.platform, pass);
                r.allows_4k_transcoding = s.allow_4k_transcoding;
                (s.id, r)
            })
            .collect();

        let platform_of: HashMap<i64, Platform> =
            servers.iter().map(|s| (s.id, s.platform)).collect();
        let mut stored = self.enforcement_memory().await?;
        let mut first_seen = BTreeMap::new();
        let sessions: Vec<Session> = live
            .iter()
            .map(|(server, s)| {
                let key = session_key(*server, &s.id);
                let started = stored.first_seen.get(&key).copied().unwrap_or(now);
                first_seen.insert(key, started);
                Session {
                    server: *server,
                    platform: platform_of
                        .get(server)
                        .copied()
                        .unwrap_or(Platform::Jellyfin),
                    session_id: s.id.clone(),
                    device: if s.device_id.is_empty() {
                        s.device.clone()
                    } else {
                        s.device_id.clone()
                    },
                    customer: owner.get(&(*server, s.user_id.as_str())).copied(),
                    started_at: started,
                    video: video_mode(s.video_decision),
                    source_is_4k: s.resolution.eq_ignore_ascii_case("4k"),
                }
            })
            .collect();

        let pass = plan_stream_pass(
            &sessions,
            &customers,
            &server_rules,
            &stored.rules,
            &rules,
            now,
        );
        phases.mark("match and decide");
        let mut action_of: HashMap<String, &'static str> = HashMap::new();
        let mut tx = self.db.begin().await?;
        for action in &pass.actions {
            match action {
                StreamAction::Stop {
                    server,
                    session_id,
                    customer,
                    reason,
                    message,
                } => {
                    let outcome = match servers.iter().find(|r| r.id == *server) {
                        Some(row) => match self.media.server(self, row).await {
                            Ok(client) => client
                                .stop_session(session_id, message)
                                .await
                                .map_err(AppError::from),
                            Err(e) => Err(e),
                        },
                        None => Err(AppError::NotFound("server")),
                    };
                    let (word, detail) = match &outcome {
                        Ok(()) => {
                            report.stopped += 1;
                            ("stopped", reason_text(reason))
                        }
                        Err(e) => {
                            report.not_stopped += 1;
                            (
                                "not_stopped",
                                format!(
                                    "{}; the server refused the stop: {e}",
                                    reason_text(reason)
                                ),
                            )
                        }
                    };
                    action_of.insert(session_key(*server, session_id), word);
                    self.audit(
                        tx.ex(),
                        &Actor::system(),
                        "enforcement.stream_stopped",
                        &format!("customer:{customer}"),
                        &format!("server {server}, session {session_id}: {detail}"),
                    )
                    .await?;
                }
                StreamAction::CannotStop {
                    server,
                    session_id,
                    customer,
                    reason,
                } => {
                    report.not_stopped += 1;
                    action_of.insert(session_key(*server, session_id), "not_stopped");
                    self.audit(
                        tx.ex(),
                        &Actor::system(),
                        "enforcement.stream_not_stopped",
                        &format!("customer:{customer}"),
                        &format!(
                            "server {server}, session {session_id}: {}; the owner's Plex account has no Plex Pass, so Plex cannot stop it",
                            reason_text(reason)
                        ),
                    )
                    .await?;
                }
                StreamAction::Notify {
                    customer,
                    template,
                    reason,
                    server,
                } => {
                    let plan_name = self.plan_name_of(tx.ex(), *customer).await?;
                    let server_name = server
                        .and_then(|id| servers.iter().find(|r| r.id == id))
                        .map(|r| r.name.clone())
                        .unwrap_or_default();
                    let mut notice = Notice::to_customer(template, *customer)
                        .with("plan_name", plan_name)
                        .with("server_name", server_name);
                    if let StopReason::TooManyStreams { streams, limit } = reason {
                        notice = notice
                            .with("streams_in_use", *streams)
                            .with("max_streams", *limit);
                    }
                    report.notified += self.notify(tx.ex(), notice).await?;
                }
                StreamAction::OfferChoice {
                    customer,
                    until,
                    streams,
                    limit,
                } => {
                    let plan_name = self.plan_name_of(tx.ex(), *customer).await?;
                    let notice = Notice::to_customer("stream_limit_choose", *customer)
                        .with("plan_name", plan_name)
                        .with("streams_in_use", *streams)
                        .with("max_streams", *limit)
                        .with("choose_url", settings.my_streams_url())
                        .with("choose_until", format!("{} UTC", clock_text(*until)));
                    report.notified += self.notify(tx.ex(), notice).await?;
                    self.audit(
                        tx.ex(),
                        &Actor::system(),
                        "enforcement.choice_offered",
                        &format!("customer:{customer}"),
                        &format!(
                            "{streams} streams on a plan allowing {limit}: the customer may choose which to stop until {} UTC, then the newest stop",
                            clock_text(*until)
                        ),
                    )
                    .await?;
                }
            }
        }
        stored.rules = pass.memory;
        stored.first_seen = first_seen;
        phases.mark("act");
        let devices_on = settings.bool("enforcement.devices_enabled");
        self.emby_devices_pass(
            &servers,
            &enrollees,
            devices_on,
            &mut stored,
            &mut report,
            &mut tx,
        )
        .await?;
        phases.mark("emby devices");
        let memory =
            serde_json::to_string(&stored).map_err(|e| AppError::Internal(e.to_string()))?;
        store::save_memory(tx.ex(), &memory, now).await?;
        let readings: Vec<Reading> = live
            .iter()
            .zip(&sessions)
            .map(|((server, s), d)| Reading {
                read_at: now,
                server_id: *server,
                customer_id: d.customer,
                session_id: s.id.clone(),
                user_name: s.user_name.clone(),
                device: s.device.clone(),
                product: s.product.clone(),
                title: match &s.grandparent_title {
                    Some(show) => format!("{show} — {}", s.title),
                    None => s.title.clone(),
                },
                resolution: s.resolution.clone(),
                video_decision: decision_word(s.video_decision).into(),
                audio_decision: decision_word(s.audio_decision).into(),
                action: action_of
                    .get(&session_key(*server, &s.id))
                    .copied()
                    .unwrap_or("")
                    .into(),
                started_at: Some(d.started_at),
            })
            .collect();
        phases.mark("save memory");
        store::record_pass(tx.ex(), &readings, now, now - HISTORY_DAYS * 86_400).await?;
        phases.mark("record readings");
        tx.commit().await?;
        phases.mark("commit");
        report.phases = phases.done;
        Ok(report)
    }

    /// Reads every enabled Emby server's devices for the Devices page and, when `enforce`, keeps
    /// them within the plans' limits (operations §3.9). A server whose devices cannot be read is
    /// skipped until the next pass.
    async fn emby_devices_pass(
        &self,
        servers: &[ServerRow],
        enrollees: &[store::Enrollee],
        enforce: bool,
        stored: &mut Stored,
        report: &mut PassReport,
        tx: &mut boxoffice_store::Tx,
    ) -> Result<(), AppError> {
        for row in servers.iter().filter(|s| s.platform == Platform::Emby) {
            let client = match self.media.server(self, row).await {
                Ok(c) => c,
                Err(e) => {
                    report.servers_failed.push((row.id, e.to_string()));
                    continue;
                }
            };
            let devices = match client.devices().await {
                Ok(d) => d,
                Err(e) => {
                    report.servers_failed.push((row.id, e.to_string()));
                    continue;
                }
            };
            let mut deleted: Vec<String> = Vec::new();
            for e in enrollees
                .iter()
                .filter(|e| enforce && e.server_id == row.id)
            {
                let own: Vec<&boxoffice_media::Device> = devices
                    .iter()
                    .filter(|d| d.user_id.as_deref() == Some(e.remote_user_id.as_str()))
                    .collect();
                let listed: Vec<EmbyDevice> = own
                    .iter()
                    .map(|d| EmbyDevice {
                        id: d.id.clone(),
                        last_used: d.last_activity.as_deref().map(unix_of).unwrap_or(0),
                    })
                    .collect();
                let limit = e.emby_device_limit.and_then(|l| u32::try_from(l).ok());
                let step = emby_device_step(&listed, limit, e.permanent);
                for id in &step.delete {
                    match client.delete_device(id).await {
                        Ok(()) => {
                            report.devices_deleted += 1;
                            deleted.push(id.clone());
                            self.audit(
                                tx.ex(),
                                &Actor::system(),
                                "enforcement.device_deleted",
                                &format!("customer:{}", e.customer_id),
                                &format!(
                                    "{} device {id}: {} devices on a plan allowing {}",
                                    row.name,
                                    listed.len(),
                                    limit.unwrap_or(0)
                                ),
                            )
                            .await?;
                        }
                        Err(err) => report.servers_failed.push((row.id, err.to_string())),
                    }
                }
                // Emby matches the list against the id the client reports, not the list's `Id`.
                let access = if step.allow_all_devices {
                    DeviceAccess::All
                } else {
                    DeviceAccess::Only(
                        own.iter()
                            .filter(|d| step.enabled_devices.contains(&d.id))
                            .map(|d| d.reported_id.clone())
                            .collect(),
                    )
                };
                let signature = format!("{access:?}");
                let key = session_key(row.id, &e.remote_user_id);
                let unchanged = stored.devices_applied.get(&key) == Some(&signature);
                // A user never limited is left as the server has them.
                let never_limited =
                    step.allow_all_devices && !stored.devices_applied.contains_key(&key);
                if unchanged || never_limited {
                    continue;
                }
                let user = UserRef::user(e.remote_user_id.clone());
                match client.set_device_access(&user, &access).await {
                    Ok(()) => {
                        report.device_settings_changed += 1;
                        stored.devices_applied.insert(key, signature);
                    }
                    Err(err) => report.servers_failed.push((row.id, err.to_string())),
                }
            }
            let owner: HashMap<&str, i64> = enrollees
                .iter()
                .filter(|e| e.server_id == row.id)
                .map(|e| (e.remote_user_id.as_str(), e.customer_id))
                .collect();
            let now = self.now();
            let rows: Vec<store::DeviceRow> = devices
                .iter()
                .filter(|d| !deleted.contains(&d.id))
                .map(|d| store::DeviceRow {
                    server_id: row.id,
                    device_id: d.reported_id.clone(),
                    customer_id: d.user_id.as_deref().and_then(|u| owner.get(u).copied()),
                    name: d.name.clone(),
                    app: d.app.clone(),
                    user_name: d.user_name.clone().unwrap_or_default(),
                    last_used: d.last_activity.as_deref().map(unix_of),
                    read_at: now,
                })
                .collect();
            store::record_devices(tx.ex(), row.id, &rows).await?;
        }
        Ok(())
    }

    /// Every server's sessions, read concurrently: one slow server does not hold up the rest.
    async fn read_sessions(
        &self,
        servers: &[ServerRow],
    ) -> Vec<(i64, Result<Vec<LiveSession>, AppError>)> {
        let mut set = tokio::task::JoinSet::new();
        for row in servers {
            let app = self.clone();
            let row = row.clone();
            set.spawn(async move {
                let outcome = match app.media.server(&app, &row).await {
                    Ok(client) => client.sessions().await.map_err(AppError::from),
                    Err(e) => Err(e),
                };
                (row.id, outcome)
            });
        }
        let mut out = Vec::with_capacity(servers.len());
        while let Some(joined) = set.join_next().await {
            match joined {
                Ok(r) => out.push(r),
                Err(e) => tracing::error!(error = %e, "enforcement: a session read panicked"),
            }
        }
        out.sort_by_key(|(id, _)| *id);
        out
    }

    /// What the last pass left for the next one; unreadable memory starts afresh.
    pub(crate) async fn enforcement_memory(&self) -> Result<Stored, AppError> {
        Ok(match store::memory(self.db.ex()).await? {
            Some(text) => serde_json::from_str(&text).unwrap_or_default(),
            None => Stored::default(),
        })
    }

    async fn plan_name_of(
        &self,
        mut ex: boxoffice_store::Ex<'_>,
        customer: i64,
    ) -> Result<String, AppError> {
        let row = boxoffice_store::customers::find(ex.reborrow(), customer).await?;
        Ok(match row.plan_id {
            Some(id) => boxoffice_store::plans::find(ex, id)
                .await
                .map(|p| p.plan.name)
                .unwrap_or_default(),
            None => String::new(),
        })
    }

    /// The sessions of the latest pass, for the Streaming activity page.
    pub async fn live_streams(&self) -> Result<Vec<Reading>, AppError> {
        Ok(store::latest(self.db.ex())
            .await?
            .into_iter()
            .map(|r| r.row)
            .collect())
    }
}
