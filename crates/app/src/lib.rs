//! The use cases of boxoffice. The web layer, the CLI and the background jobs all call these, so a
//! rule lives in one place whichever door a request comes through. Nothing here knows HTTP.

pub mod activity;
pub mod audit;
pub mod auth;
pub mod bulk_invite;
pub mod bulk_invite_results;
mod bulk_invite_stops;
pub mod content;
pub mod crypto;
pub mod dashboard;
pub mod discord;
pub mod discounts;
pub mod enforcement;
pub mod error;
pub mod home;
pub mod idempotency;
pub mod job_lease;
pub mod job_reads;
pub mod media;
pub mod metrics;
pub mod notify;
pub mod passwords;
pub mod payments;
pub mod payments_sync;
pub mod plans;
pub mod queue;
pub mod referrals;
pub mod request_apps;
pub mod servers;
pub mod settings;
pub mod stream_choice;
pub mod subscriptions;
pub mod totp;
pub mod users_page;

pub use error::AppError;

use boxoffice_domain::Clock;
use boxoffice_store::Db;
use std::sync::Arc;

/// Everything a use case needs, cheap to clone and passed explicitly (no globals), so two
/// instances can live in one test process.
#[derive(Clone, Debug)]
pub struct App {
    pub db: Db,
    pub clock: Arc<dyn Clock>,
    pub secrets: crypto::SecretBox,
    pub metrics: Arc<metrics::Metrics>,
    /// Builds media-server and plex.tv clients from stored rows; shared so per-account pacing is.
    pub media: Arc<media::MediaConnector>,
    /// Builds the Discord bot client from the sealed token; its API address is overridable.
    pub discord: Arc<discord::DiscordConnector>,
    /// Argon2 cost; tests lower it to keep suites fast, never below OWASP's minimum for argon2id.
    pub password_params: passwords::Params,
    /// How many password hashes run at once, and how many may wait (`passwords.*` config).
    pub password_gate: Arc<passwords::Gate>,
    /// Wakes idle job workers when a job is queued.
    pub queue_wake: Arc<queue::QueueWake>,
    /// The payment gateways built from the settings, rebuilt when those change.
    pub gateways: Arc<payments::GatewayConnector>,
    /// Where the owner's logo and wallpaper are kept (`<data dir>/uploads`).
    pub uploads: content::uploads::UploadDir,
}

impl App {
    pub fn new(db: Db, clock: Arc<dyn Clock>, secrets: crypto::SecretBox) -> Self {
        let metrics = Arc::new(metrics::Metrics::default());
        let media = Arc::new(media::MediaConnector::new(
            metrics.clone(),
            clock.clone(),
            &secrets.installation_id(),
        ));
        let discord = Arc::new(discord::DiscordConnector::new(clock.clone()));
        Self {
            discord,
            db,
            clock,
            secrets,
            metrics,
            media,
            password_params: passwords::Params::default(),
            password_gate: Arc::new(passwords::Gate::for_this_machine()),
            queue_wake: Arc::new(queue::QueueWake::default()),
            gateways: Arc::new(payments::GatewayConnector::new()),
            uploads: content::uploads::UploadDir::default(),
        }
    }

    pub fn now(&self) -> i64 {
        self.clock.unix()
    }
}
