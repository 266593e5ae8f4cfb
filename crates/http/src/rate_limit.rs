//! A token bucket on the injectable clock: `burst` requests at once, then `per_second`.
//! Used where a service documents no limit and politeness is the only safe pace (plex.tv),
//! or where a caller wants to stay under a documented one.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use boxoffice_domain::{Clock, SystemClock};
use time::OffsetDateTime;

use crate::sleep::{Sleeper, TokioSleeper};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    pub per_second: f64,
    pub burst: u32,
}

impl Default for RateLimit {
    /// One request a second, three in a burst.
    fn default() -> Self {
        RateLimit {
            per_second: 1.0,
            burst: 3,
        }
    }
}

#[derive(Debug)]
pub struct TokenBucket {
    limit: RateLimit,
    clock: Arc<dyn Clock>,
    sleeper: Arc<dyn Sleeper>,
    /// Tokens available, and when they were last counted.
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
    use crate::ClockSleeper;
    use boxoffice_domain::TestClock;

    #[tokio::test]
    async fn the_bucket_paces_calls_after_the_burst_on_a_test_clock() {
        let clock = TestClock::at(time::macros::datetime!(2026-01-01 0:00 UTC));
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
        // Two from the burst, then four more at two a second: two seconds, none of it real.
        let took = (clock.now() - t0).as_seconds_f64();
        assert!((1.99..2.1).contains(&took), "took {took}");
        assert_eq!(sleeper.waits().len(), 4);
    }
}
