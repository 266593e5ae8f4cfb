//! One enforcement pass over every live session (operations §3.6, §3.8): streams are counted per
//! customer across all servers and platforms together, a breach is confirmed over consecutive
//! readings, and the owner's policy decides which sessions end.

use super::breach::{BreachState, BreachStep};
use super::sessions::{CustomerRules, ServerRules, Session};
use super::transcode::{TranscodeVerdict, transcode_verdict};
use crate::ids::ServerId;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// What happens once a customer is confirmed over their stream limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StreamPolicy {
    /// Stop every stream of the customer (the reference behaviour).
    StopAll,
    /// Keep the oldest streams up to the limit; stop the newest.
    StopNewest,
    /// Offer the customer a page to choose which stream ends; after the grace period the newest
    /// streams stop.
    CustomerChooses { grace_secs: i64 },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamSettings {
    pub streams_enabled: bool,
    pub transcoding_enabled: bool,
    pub policy: StreamPolicy,
    /// Consecutive readings over the limit before anyone is stopped.
    pub confirm_readings: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StopReason {
    TooManyStreams { streams: u32, limit: u32 },
    Transcode(TranscodeVerdict),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StreamAction {
    /// Stop the session and show `message` on the player.
    Stop {
        server: ServerId,
        session_id: String,
        customer: i64,
        reason: StopReason,
        message: String,
    },
    /// The session breaks a rule but its server cannot stop it (Plex without Plex Pass).
    CannotStop {
        server: ServerId,
        session_id: String,
        customer: i64,
        reason: StopReason,
    },
    /// Send the customer a notification from this template; `server` is the one a transcoding
    /// rule was broken on.
    Notify {
        customer: i64,
        template: &'static str,
        reason: StopReason,
        server: Option<ServerId>,
    },
    /// Offer the customer the page where they choose which stream ends, until `until`.
    OfferChoice {
        customer: i64,
        until: i64,
        streams: u32,
        limit: u32,
    },
}

/// What one pass remembers for the next.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PassMemory {
    /// Breach state per customer; customers under their limit are dropped.
    pub breaches: BTreeMap<i64, BreachState>,
    /// Sessions already reported for a transcoding rule, so a session that cannot be stopped is
    /// notified once, not on every pass.
    pub transcode_noticed: BTreeSet<(ServerId, String)>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StreamPass {
    pub actions: Vec<StreamAction>,
    pub memory: PassMemory,
    /// Streams (distinct devices) per known customer, for the activity page and the audit log.
    pub streams: BTreeMap<i64, u32>,
}

pub fn plan_stream_pass(
    sessions: &[Session],
    customers: &BTreeMap<i64, CustomerRules>,
    servers: &BTreeMap<ServerId, ServerRules>,
    previous: &PassMemory,
    settings: &StreamSettings,
    now: i64,
) -> StreamPass {
    let mut pass = StreamPass::default();
    let mut by_customer: BTreeMap<i64, Vec<&Session>> = BTreeMap::new();
    for s in sessions {
        if let Some(c) = s.customer.filter(|c| customers.contains_key(c)) {
            by_customer.entry(c).or_default().push(s);
        }
    }
    let mut stopped: BTreeSet<(ServerId, &str)> = BTreeSet::new();
    for (&customer_id, own) in &by_customer {
        let Some(customer) = customers.get(&customer_id) else {
            continue;
        };
        let streams = distinct_devices(own);
        pass.streams.insert(customer_id, streams);
        if !settings.streams_enabled || customer.permanent {
            continue;
        }
        let Some(limit) = customer.max_streams else {
            continue;
        };
        let before = previous
            .breaches
            .get(&customer_id)
            .cloned()
            .unwrap_or_default();
        let (mut state, step) = before.observe(streams > limit, settings.confirm_readings);
        let BreachStep::Confirmed { first } = step else {
            if step == BreachStep::Watching {
                pass.memory.breaches.insert(customer_id, state);
            }
            continue;
        };
        let reason = StopReason::TooManyStreams { streams, limit };
        // Whether this pass tells the customer streams were stopped. Under "customer chooses"
        // the offer is the first notice, and the stop at the end of the grace the second.
        let mut notify = first;
        let to_stop: Vec<&Session> = match settings.policy {
            StreamPolicy::StopAll => own.clone(),
            StreamPolicy::StopNewest => newest_beyond(own, limit),
            StreamPolicy::CustomerChooses { grace_secs } => {
                notify = false;
                match state.grace_until {
                    None => {
                        let until = now.saturating_add(grace_secs.max(0));
                        state.grace_until = Some(until);
                        pass.actions.push(StreamAction::OfferChoice {
                            customer: customer_id,
                            until,
                            streams,
                            limit,
                        });
                        Vec::new()
                    }
                    Some(until) if now >= until => {
                        notify = !state.grace_spent;
                        state.grace_spent = true;
                        newest_beyond(own, limit)
                    }
                    Some(_) => Vec::new(),
                }
            }
        };
        let message = format!(
            "Too many devices are playing on this account ({streams} of {limit} allowed). This stream was stopped."
        );
        for s in to_stop {
            stopped.insert((s.server, s.session_id.as_str()));
            pass.actions.push(stop_or_note(
                s,
                customer_id,
                servers,
                reason.clone(),
                &message,
            ));
        }
        if notify {
            pass.actions.push(StreamAction::Notify {
                customer: customer_id,
                template: "stream_limit_exceeded",
                reason,
                server: None,
            });
        }
        pass.memory.breaches.insert(customer_id, state);
    }
    if settings.transcoding_enabled {
        for s in sessions {
            let (Some(customer_id), Some(server)) = (s.customer, servers.get(&s.server)) else {
                continue;
            };
            let Some(customer) = customers.get(&customer_id) else {
                continue;
            };
            if stopped.contains(&(s.server, s.session_id.as_str())) {
                continue;
            }
            let verdict = transcode_verdict(s, customer, server);
            let Some(template) = verdict.template() else {
                continue;
            };
            let reason = StopReason::Transcode(verdict);
            pass.actions.push(stop_or_note(
                s,
                customer_id,
                servers,
                reason.clone(),
                verdict.message(),
            ));
            let key = (s.server, s.session_id.clone());
            if !previous.transcode_noticed.contains(&key) {
                pass.actions.push(StreamAction::Notify {
                    customer: customer_id,
                    template,
                    reason,
                    server: Some(s.server),
                });
            }
            pass.memory.transcode_noticed.insert(key);
        }
    }
    pass
}

fn distinct_devices(sessions: &[&Session]) -> u32 {
    let devices: BTreeSet<&str> = sessions.iter().map(|s| s.device.as_str()).collect();
    u32::try_from(devices.len()).unwrap_or(u32::MAX)
}

/// The sessions of every device beyond the `limit` oldest ones (by each device's first session).
fn newest_beyond<'a>(sessions: &[&'a Session], limit: u32) -> Vec<&'a Session> {
    let mut first_seen: BTreeMap<&str, (i64, &str)> = BTreeMap::new();
    for s in sessions {
        let key = (s.started_at, s.session_id.as_str());
        first_seen
            .entry(s.device.as_str())
            .and_modify(|k| *k = (*k).min(key))
            .or_insert(key);
    }
    let mut devices: Vec<(&str, (i64, &str))> = first_seen.into_iter().collect();
    devices.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(b.0)));
    let keep: BTreeSet<&str> = devices
        .iter()
        .take(usize::try_from(limit).unwrap_or(usize::MAX))
        .map(|d| d.0)
        .collect();
    sessions
        .iter()
        .copied()
        .filter(|s| !keep.contains(s.device.as_str()))
        .collect()
}

fn stop_or_note(
    s: &Session,
    customer: i64,
    servers: &BTreeMap<ServerId, ServerRules>,
    reason: StopReason,
    message: &str,
) -> StreamAction {
    let can_stop = servers.get(&s.server).is_some_and(|r| r.can_stop);
    if can_stop {
        StreamAction::Stop {
            server: s.server,
            session_id: s.session_id.clone(),
            customer,
            reason,
            message: message.to_string(),
        }
    } else {
        StreamAction::CannotStop {
            server: s.server,
            session_id: s.session_id.clone(),
            customer,
            reason,
        }
    }
}

#[cfg(test)]
#[path = "streams_tests.rs"]
mod tests;
