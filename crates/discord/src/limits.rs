//! Rate-limit state kept from Discord's headers (ref §10.3): per bucket and top-level resource,
//! `Remaining` and `Reset-After`; plus the global limit when a 429 says so. Before a call we wait
//! out an exhausted bucket instead of earning a 429; limits are never hard-coded.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use boxoffice_domain::Clock;
use time::OffsetDateTime;

#[derive(Debug, Clone, Copy)]
struct BucketState {
    remaining: u32,
    reset_at: OffsetDateTime,
}

/// What the headers of one answer said.
#[derive(Debug, Clone, Default)]
pub(crate) struct Observed {
    pub bucket: Option<String>,
    pub remaining: Option<u32>,
    pub reset_after: Option<f64>,
}

#[derive(Debug)]
pub(crate) struct Limits {
    clock: Arc<dyn Clock>,
    /// Route ("PUT /guilds/{id}/members/{id}/roles/{id}") → the bucket Discord named for it.
    route_bucket: Mutex<HashMap<&'static str, String>>,
    /// "bucket:major id" → state.
    buckets: Mutex<HashMap<String, BucketState>>,
    global_until: Mutex<Option<OffsetDateTime>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Limits {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Limits {
            clock,
            route_bucket: Mutex::new(HashMap::new()),
            buckets: Mutex::new(HashMap::new()),
            global_until: Mutex::new(None),
        }
    }

    fn key(&self, route: &'static str, major: &str) -> String {
        let bucket = lock(&self.route_bucket)
            .get(route)
            .cloned()
            .unwrap_or_else(|| route.to_string());
        format!("{bucket}:{major}")
    }

    /// How long to wait before sending on this route, if at all.
    pub fn wait_before(&self, route: &'static str, major: &str) -> Option<Duration> {
        let now = self.clock.now();
        let mut until = (*lock(&self.global_until)).filter(|t| *t > now);
        let key = self.key(route, major);
        if let Some(s) = lock(&self.buckets).get(&key)
            && s.remaining == 0
            && s.reset_at > now
        {
            until = Some(until.map_or(s.reset_at, |g| g.max(s.reset_at)));
        }
        until.map(|t| Duration::try_from(t - now).unwrap_or(Duration::ZERO))
    }

    /// Spends one request of the bucket locally, so concurrent callers see it before the answer.
    pub fn spend(&self, route: &'static str, major: &str) {
        let key = self.key(route, major);
        if let Some(s) = lock(&self.buckets).get_mut(&key) {
            s.remaining = s.remaining.saturating_sub(1);
        }
    }

    pub fn observe(&self, route: &'static str, major: &str, o: &Observed) {
        if let Some(b) = &o.bucket {
            lock(&self.route_bucket).insert(route, b.clone());
        }
        let (Some(remaining), Some(after)) = (o.remaining, o.reset_after) else {
            return;
        };
        let reset_at = self.clock.now() + time::Duration::seconds_f64(after.max(0.0));
        let key = self.key(route, major);
        lock(&self.buckets).insert(
            key,
            BucketState {
                remaining,
                reset_at,
            },
        );
    }

    /// A 429 on the route: nothing more until `after` has passed (globally when Discord says so).
    pub fn limited(&self, route: &'static str, major: &str, after: Duration, global: bool) {
        let until = self.clock.now() + time::Duration::try_from(after).unwrap_or_default();
        if global {
            let mut g = lock(&self.global_until);
            *g = Some(g.map_or(until, |t| t.max(until)));
        } else {
            let key = self.key(route, major);
            lock(&self.buckets).insert(
                key,
                BucketState {
                    remaining: 0,
                    reset_at: until,
                },
            );
        }
    }
}
