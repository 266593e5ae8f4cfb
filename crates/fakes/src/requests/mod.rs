//! Fakes of the request managers (ref §4): Overseerr/Jellyseerr, Ombi and Petio. Each keeps
//! its users in memory, answers the provider routes boxoffice uses with the provider's paths,
//! auth, JSON shapes and status codes (ref §4.4), and serves `/__control` like the media fakes:
//! `GET /state`, `POST /users` (seed), `PATCH /users/{id}` (change a user behind boxoffice's
//! back), plus the common faults and request log.

mod ombi;
mod overseerr;
mod petio;

pub use ombi::{OmbiFake, OmbiUser};
pub use overseerr::{OverseerrFake, OverseerrUser};
pub use petio::{PetioFake, PetioUser};

use std::sync::atomic::{AtomicU64, Ordering};

/// Distinct secrets per fake, so a test cannot pass with another fake's key.
pub(crate) fn next_secret(prefix: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(1);
    let n = N.fetch_add(1, Ordering::Relaxed);
    format!(
        "{prefix}{n:04}{:016x}",
        0x9e37_79b9_7f4a_7c15u64.wrapping_mul(n)
    )
}

pub(crate) fn now_iso() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

macro_rules! request_fake_api {
    ($t:ty) => {
        impl $t {
            pub fn url(&self) -> String {
                self.running.url()
            }
            pub fn control_url(&self) -> String {
                format!("{}{}", self.url(), crate::control::PREFIX)
            }
            pub fn add_fault(&self, rule: crate::FaultRule) -> u64 {
                self.core.add_fault(rule)
            }
            pub fn clear_faults(&self) {
                self.core.clear_faults()
            }
            pub fn requests(&self) -> Vec<crate::LoggedRequest> {
                self.core.requests()
            }
        }
    };
}
pub(crate) use request_fake_api;
