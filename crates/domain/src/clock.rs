use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use time::OffsetDateTime;

/// Where "now" comes from. Production reads the system clock; tests move a [`TestClock`] so that
/// expiry, leases and schedules can be driven without waiting.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> OffsetDateTime;

    fn unix(&self) -> i64 {
        self.now().unix_timestamp()
    }
}

#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock shared by clones; `advance` moves every holder's "now".
#[derive(Debug, Clone)]
pub struct TestClock {
    nanos: Arc<AtomicI64>,
}

impl TestClock {
    pub fn at(t: OffsetDateTime) -> Self {
        Self {
            nanos: Arc::new(AtomicI64::new(t.unix_timestamp_nanos() as i64)),
        }
    }

    pub fn starting_now() -> Self {
        Self::at(
            OffsetDateTime::now_utc()
                .replace_nanosecond(0)
                .unwrap_or(OffsetDateTime::now_utc()),
        )
    }

    pub fn advance(&self, by: time::Duration) {
        self.nanos
            .fetch_add(by.whole_nanoseconds() as i64, Ordering::SeqCst);
    }

    pub fn set(&self, t: OffsetDateTime) {
        self.nanos
            .store(t.unix_timestamp_nanos() as i64, Ordering::SeqCst);
    }
}

impl Clock for TestClock {
    fn now(&self) -> OffsetDateTime {
        let n = self.nanos.load(Ordering::SeqCst);
        OffsetDateTime::from_unix_timestamp_nanos(n as i128).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advancing_a_test_clock_moves_every_clone() {
        let c = TestClock::at(time::macros::datetime!(2026-01-01 0:00 UTC));
        let d = c.clone();
        c.advance(time::Duration::hours(1));
        assert_eq!(d.now(), time::macros::datetime!(2026-01-01 1:00 UTC));
    }
}
