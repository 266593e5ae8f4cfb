//! "Customer chooses which stream ends" (operations §3.6, owner's option): once a breach is
//! confirmed the customer is sent a link to their own streams as the latest enforcement pass read
//! them, and picks the one(s) to stop. Only the customer's own streams are listed or stopped;
//! when the grace period ends without enough stopped, the pass stops the newest.

use crate::audit::Actor;
use crate::{App, AppError};
use boxoffice_store::enforcement as store;
use std::collections::BTreeSet;

/// One of the customer's streams, as the latest pass read it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MyStream {
    /// The pass that read it.
    pub read_at: i64,
    pub server_id: i64,
    pub server: String,
    pub session_id: String,
    pub title: String,
    pub device: String,
    pub product: String,
    /// When the pass first saw it (Unix seconds), if known.
    pub started_at: Option<i64>,
    /// Already stopped by the customer or by the pass since the reading.
    pub stopped: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MyStreams {
    pub streams: Vec<MyStream>,
    /// The plan's stream limit; `None` is unlimited.
    pub limit: Option<u32>,
    /// Streams (distinct devices) still playing.
    pub playing: u32,
    /// While the customer may choose: when the newest stop instead.
    pub choose_until: Option<i64>,
}

impl MyStreams {
    /// How many more streams must stop to be within the limit.
    pub fn over_by(&self) -> u32 {
        self.limit
            .map(|l| self.playing.saturating_sub(l))
            .unwrap_or(0)
    }
}

/// What a customer's stop request did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StopOutcome {
    pub stopped: usize,
    /// Streams a server could not stop, with why.
    pub failed: Vec<String>,
}

const CHOSEN_MESSAGE: &str = "This stream was stopped from your account page.";

impl App {
    /// The customer's streams in the latest enforcement pass, with their plan's limit and, while
    /// a choice is open, its deadline.
    pub async fn my_streams(&self, customer_id: i64) -> Result<MyStreams, AppError> {
        let rows = store::customer_streams(self.db.ex(), customer_id).await?;
        let limit = store::enrollees(self.db.ex())
            .await?
            .into_iter()
            .filter(|e| e.customer_id == customer_id)
            .filter_map(|e| e.stream_limit.and_then(|l| u32::try_from(l).ok()))
            .min();
        let memory = self.enforcement_memory().await?;
        let choose_until = memory
            .rules
            .breaches
            .get(&customer_id)
            .and_then(|b| b.grace_until)
            .filter(|until| *until > self.now());
        let streams: Vec<MyStream> = rows
            .into_iter()
            .map(|r| MyStream {
                read_at: r.row.read_at,
                server_id: r.row.server_id,
                server: r.server_name,
                session_id: r.row.session_id,
                title: r.row.title,
                device: r.row.device,
                product: r.row.product,
                started_at: r.row.started_at,
                stopped: r.row.action == "stopped",
            })
            .collect();
        let devices: BTreeSet<&str> = streams
            .iter()
            .filter(|s| !s.stopped)
            .map(|s| s.device.as_str())
            .collect();
        let playing = u32::try_from(devices.len()).unwrap_or(u32::MAX);
        Ok(MyStreams {
            streams,
            limit,
            playing,
            choose_until,
        })
    }

    /// Stops the streams the customer picked, each given as (server id, session id). A pick that
    /// is not one of the customer's streams still playing is refused before anything stops.
    pub async fn stop_my_streams(
        &self,
        actor: &Actor,
        customer_id: i64,
        picks: &[(i64, String)],
    ) -> Result<StopOutcome, AppError> {
        if picks.is_empty() {
            return Err(AppError::invalid(
                "stream",
                "Choose at least one stream to stop.",
            ));
        }
        let mine = self.my_streams(customer_id).await?;
        let mut chosen: Vec<&MyStream> = Vec::new();
        for (server, session) in picks {
            let Some(s) = mine
                .streams
                .iter()
                .find(|s| s.server_id == *server && &s.session_id == session && !s.stopped)
            else {
                return Err(AppError::NotFound("stream"));
            };
            if !chosen.contains(&s) {
                chosen.push(s);
            }
        }
        let mut outcome = StopOutcome::default();
        for s in chosen {
            let row = boxoffice_store::servers::find(self.db.ex(), s.server_id).await?;
            let result = match self.media.server(self, &row).await {
                Ok(client) => client
                    .stop_session(&s.session_id, CHOSEN_MESSAGE)
                    .await
                    .map_err(AppError::from),
                Err(e) => Err(e),
            };
            let mut tx = self.db.begin().await?;
            match result {
                Ok(()) => {
                    outcome.stopped += 1;
                    store::mark_stopped(tx.ex(), s.read_at, s.server_id, &s.session_id).await?;
                    self.audit(
                        tx.ex(),
                        actor,
                        "enforcement.stream_stopped",
                        &format!("customer:{customer_id}"),
                        &format!(
                            "server {}, session {}: chosen by the customer ({} streams on a plan allowing {})",
                            s.server_id,
                            s.session_id,
                            mine.playing,
                            mine.limit.map(|l| l.to_string()).unwrap_or_else(|| "any number".into())
                        ),
                    )
                    .await?;
                }
                Err(e) => {
                    outcome
                        .failed
                        .push(format!("{} on {}: {e}", s.title, s.server));
                    self.audit(
                        tx.ex(),
                        actor,
                        "enforcement.stream_not_stopped",
                        &format!("customer:{customer_id}"),
                        &format!(
                            "server {}, session {}: chosen by the customer; the server refused the stop: {e}",
                            s.server_id, s.session_id
                        ),
                    )
                    .await?;
                }
            }
            tx.commit().await?;
        }
        Ok(outcome)
    }
}
