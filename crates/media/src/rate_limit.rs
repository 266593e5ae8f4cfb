//! Politeness towards plex.tv: a token bucket, and the sleeper it waits with.
//!
//! plex.tv documents no limits and only ever answered 429 when pushed (ref §1.3,
//! §1.4.10), and accounts that look like resellers risk bans (product §7.2), so every
//! call to one account is paced conservatively. Time comes from an injectable
//! [`Clock`] and waits go through an injectable [`Sleeper`], so a test on a
//! [`TestClock`] can check pacing without waiting.

use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use boxoffice_domain::{Clock, SystemClock, TestClock};
use time::OffsetDateTime;

pub type SleepFuture = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// Something that waits. Production uses [`TokioSleeper`]; tests use [`ClockSleeper`].
pub trait Sleeper: Send + Sync + Debug {
    fn sleep(&self, d: Duration) -> SleepFuture;
}

#[derive(Debug, Default, Clone, Copy)]
pub struct TokioSleeper;

impl Sleeper for TokioSleeper {
    fn sleep(&self, d: Duration) -> SleepFuture {
        Box::pin(tokio::time::sleep(d))
    }
}

/// Sleeps by advancing a [`TestClock`]: returns at once, "now" moves forward. Keeps
/// the total it slept and every single wait so tests can assert on them.
#[derive(Debug, Clone)]
pub struct ClockSleeper {
    clock: TestClock,
    waits: Arc<Mutex<Vec<Duration>>>,
}

impl ClockSleeper {
    pub fn new(clock: TestClock) -> Self {
        ClockSleeper {
            clock,
            waits: Arc::new(Mutex::new(Vec::new())),
        }
    }
    pub fn waits(&self) -> Vec<Duration> {
        self.waits.lock().map(|w| w.clone()).unwrap_or_default()
    }
    pub fn total(&self) -> Duration {
        self.waits().iter().sum()
    }
}

impl Sleeper for ClockSleeper {
    fn sleep(&self, d: Duration) -> SleepFuture {
        if let Ok(mut w) = self.waits.lock() {
            w.push(d);
        }
        self.clock
            .advance(time::Duration::try_from(d).unwrap_or(time::Duration::ZERO));
        Box::pin(tokio::task::yield_now())
    }
}

/// Requests per second and burst for one plex.tv account.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    pub per_second: f64,
    pub burst: u32,
}

impl Default for RateLimit {
    /// One request a second, three in a burst: slower than any client in the sources,
    /// which is the point (ref §1.4.10 "pace invites").
    fn default() -> Self {
        RateLimit {
            per_second: 1.0,
            burst: 3,
        }
    }
}

/// Token bucket: `burst` tokens, refilled at `per_second`.
#[derive(Debug)]
pub struct TokenBucket {
    limit: RateLimit,
    clock: Arc<dyn Clock>,
    sleeper: Arc<dyn Sleeper>,
    state: Mutex<(f64, OffsetDateTime)>,
}

impl TokenBucket {
    pub fn new(limit: RateLimit, clock: Arc<dyn Clock>, sleeper: Arc<dyn Sleeper>) -> Self {
        let limit = RateLimit {
            per_second: limit.per_second.max(0.001),
            burst: limit.burst.max(1),
        };
        let now = clock.now();
        TokenBucket {
            limit,
            clock,
            sleeper,
            state: Mutex::new((f64::from(limit.burst), now)),
        }
    }

    pub fn system(limit: RateLimit) -> Self {
        Self::new(limit, Arc::new(SystemClock), Arc::new(TokioSleeper))
    }

    /// Take one token, waiting (through the sleeper) until one is available.
    pub async fn acquire(&self) {
        loop {
            let wait = {
                let mut g = self.state.lock().unwrap_or_else(|e| e.into_inner());
                let now = self.clock.now();
                let elapsed = (now - g.1).as_seconds_f64().max(0.0);
                g.0 = (g.0 + elapsed * self.limit.per_second).min(f64::from(self.limit.burst));
                g.1 = now;
                if g.0 >= 1.0 {
                    g.0 -= 1.0;
                    return;
                }
                (1.0 - g.0) / self.limit.per_second
            };
            self.sleeper.sleep(Duration::from_secs_f64(wait)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn paces_after_the_burst() {
        let clock = TestClock::starting_now();
        let sleeper = ClockSleeper::new(clock.clone());
        let bucket = TokenBucket::new(
            RateLimit {
                per_second: 2.0,
                burst: 2,
            },
            Arc::new(clock.clone()),
            Arc::new(sleeper.clone()),
        );
        let t0 = clock.now();
        for _ in 0..6 {
            bucket.acquire().await;
        }
        // 2 from the burst, then 4 more at 2/s = 2 s.
        let took = (clock.now() - t0).as_seconds_f64();
        assert!((1.99..2.1).contains(&took), "took {took}");
    }
}
