//! Waiting, made injectable: production sleeps on tokio; tests move a [`TestClock`] forward,
//! so a `Retry-After` of minutes costs no real time and the waits can be asserted on.

use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use boxoffice_domain::TestClock;

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

/// Sleeps by advancing a [`TestClock`]: returns at once and "now" moves forward. Keeps every
/// wait so tests can assert on them.
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
