//! The Streaming activity page's data: the latest pass's sessions with the names an owner
//! knows them by, and streams over time per server from the recorded passes.

use crate::{App, AppError};
use boxoffice_store::enforcement as store;
use std::collections::{BTreeMap, HashMap};

/// One live stream as the page shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamNow {
    pub server: String,
    /// The customer's e-mail, or the server's user name for a user no customer owns.
    pub who: String,
    pub customer_id: Option<i64>,
    pub title: String,
    pub device: String,
    pub product: String,
    pub quality: String,
    pub playback: &'static str,
    /// What enforcement did: "", "Stopped" or "Could not stop".
    pub action: &'static str,
}

/// A server's busiest moment in the period.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerPeak {
    pub server: String,
    pub peak: i64,
    pub at: i64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Activity {
    /// When the latest pass read the servers; `None` before the first pass.
    pub read_at: Option<i64>,
    pub now: Vec<StreamNow>,
    /// Streams across every server at each pass of the period, oldest first.
    pub timeline: Vec<(i64, i64)>,
    pub peaks: Vec<ServerPeak>,
}

/// What the server does with the stream, in the words players use.
fn playback(video: &str, audio: &str) -> &'static str {
    match (video, audio) {
        ("transcode", _) => "Transcode (video)",
        (_, "transcode") => "Direct stream (audio transcoded)",
        ("copy", _) => "Direct stream",
        _ => "Direct play",
    }
}

impl App {
    /// The latest pass and the last `hours` of recorded passes.
    pub async fn activity(&self, hours: i64) -> Result<Activity, AppError> {
        let servers: HashMap<i64, String> = boxoffice_store::servers::list(self.db.ex())
            .await?
            .into_iter()
            .map(|s| (s.id, s.name))
            .collect();
        let latest = store::latest(self.db.ex()).await?;
        let name_of = |id: i64| {
            servers
                .get(&id)
                .cloned()
                .unwrap_or_else(|| format!("server {id}"))
        };
        let read_at = latest.first().map(|r| r.row.read_at);
        let now = latest
            .into_iter()
            .map(
                |store::WithEmail {
                     row: r,
                     customer_email,
                 }| StreamNow {
                    server: name_of(r.server_id),
                    who: customer_email.unwrap_or_else(|| r.user_name.clone()),
                    customer_id: r.customer_id,
                    title: r.title,
                    device: r.device,
                    product: r.product,
                    quality: r.resolution,
                    playback: playback(&r.video_decision, &r.audio_decision),
                    action: match r.action.as_str() {
                        "stopped" => "Stopped",
                        "not_stopped" => "Could not stop",
                        _ => "",
                    },
                },
            )
            .collect();
        let rows = store::timeline(self.db.ex(), self.now() - hours * 3600).await?;
        let mut total: BTreeMap<i64, i64> = BTreeMap::new();
        let mut peak: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
        for (at, server, n) in rows {
            *total.entry(at).or_default() += n;
            let p = peak.entry(server).or_insert((n, at));
            if n > p.0 {
                *p = (n, at);
            }
        }
        let mut peaks: Vec<ServerPeak> = peak
            .into_iter()
            .map(|(server, (n, at))| ServerPeak {
                server: name_of(server),
                peak: n,
                at,
            })
            .collect();
        peaks.sort_by(|a, b| b.peak.cmp(&a.peak).then_with(|| a.server.cmp(&b.server)));
        Ok(Activity {
            read_at,
            now,
            timeline: total.into_iter().collect(),
            peaks,
        })
    }
}

/// One Emby device as the Devices page shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceView {
    pub server: String,
    /// The customer's e-mail, or the server's user name for a user no customer owns.
    pub who: String,
    pub customer_id: Option<i64>,
    pub name: String,
    pub app: String,
    pub last_used: Option<i64>,
}

impl App {
    /// The Emby devices the latest enforcement pass found on each server.
    pub async fn emby_devices(&self) -> Result<Vec<DeviceView>, AppError> {
        let servers: HashMap<i64, String> = boxoffice_store::servers::list(self.db.ex())
            .await?
            .into_iter()
            .map(|s| (s.id, s.name))
            .collect();
        let rows = store::devices(self.db.ex()).await?;
        Ok(rows
            .into_iter()
            .map(
                |store::WithEmail {
                     row: r,
                     customer_email,
                 }| DeviceView {
                    server: servers
                        .get(&r.server_id)
                        .cloned()
                        .unwrap_or_else(|| format!("server {}", r.server_id)),
                    who: customer_email.unwrap_or(r.user_name),
                    customer_id: r.customer_id,
                    name: r.name,
                    app: r.app,
                    last_used: r.last_used,
                },
            )
            .collect())
    }
}
