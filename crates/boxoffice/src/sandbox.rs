//! `boxoffice sandbox`: every fake media service (plex.tv, two Plex Media Servers, Jellyfin,
//! Emby), Discord, the request apps, an SMTP catcher and the payment gateways (Stripe, PayPal,
//! Plisio) on loopback ports, seeded with a realistic world, described on the first line of
//! standard output as one JSON object, served until Ctrl-C or SIGTERM.
//!
//! This module is the only place in the binary that uses `boxoffice-fakes`; the application
//! itself never does. See `docs/sandbox.md` for the JSON line and the control API.

use boxoffice_fakes::{PaymentFakes, Seed, World, WorldOptions};
use std::io::{IsTerminal, Write};
use std::net::{IpAddr, Ipv4Addr};

/// Options of `boxoffice sandbox`.
#[derive(clap::Args, Debug, Clone)]
pub struct SandboxArgs {
    /// `default`: the realistic world (Plex account with two servers, Jellyfin, Emby, libraries,
    /// friends and users); `none`: the same fakes, started empty.
    #[arg(long, value_enum, default_value_t = SeedArg::Default)]
    pub seed: SeedArg,
    /// Loopback address every fake listens on, each on a free port (127.0.0.1 or ::1).
    #[arg(long, value_name = "ADDR", default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    pub bind: IpAddr,
    /// The boxoffice instance the fake gateways send their webhooks to, e.g.
    /// http://127.0.0.1:8080: Stripe posts to URL/webhooks/stripe, PayPal to
    /// URL/webhooks/paypal (Plisio posts to each invoice's own callback address).
    #[arg(long, value_name = "URL")]
    pub webhooks_to: Option<String>,
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeedArg {
    Default,
    None,
}

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error(
        "--bind {0} is not a loopback address: the fakes' control API has no authentication, so the sandbox listens on 127.0.0.1 or ::1 only"
    )]
    NotLoopback(IpAddr),
    #[error("cannot start the fake services: {0}")]
    Start(#[from] boxoffice_fakes::FakeError),
    #[error("cannot listen for Ctrl-C or SIGTERM: {0}")]
    Signal(std::io::Error),
    #[error("cannot write the description to standard output: {0}")]
    Stdout(std::io::Error),
}

impl SandboxError {
    /// True when the command line itself was wrong (exit code 2 rather than 1).
    pub fn is_usage(&self) -> bool {
        matches!(self, SandboxError::NotLoopback(_))
    }
}

/// Logs go to standard error only: standard output carries the JSON line that scripts read.
/// The sandbox reads no configuration file, so the level comes from `BOXOFFICE_LOG` alone.
fn init_logging() {
    let level = std::env::var("BOXOFFICE_LOG").unwrap_or_else(|_| "info".into());
    let filter = tracing_subscriber::EnvFilter::try_new(&level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

pub async fn run(args: &SandboxArgs) -> Result<(), SandboxError> {
    init_logging();
    if !args.bind.is_loopback() {
        return Err(SandboxError::NotLoopback(args.bind));
    }
    let seed = match args.seed {
        SeedArg::Default => Seed::Default,
        SeedArg::None => Seed::None,
    };
    let world = World::start(WorldOptions {
        seed,
        bind: args.bind,
    })
    .await?;
    // Register the signal handlers before printing the line: a caller may send SIGTERM as
    // soon as it has read it, and an unregistered SIGTERM would kill us with no exit code.
    let stop = Shutdown::register().map_err(SandboxError::Signal)?;
    if let Some(base) = &args.webhooks_to {
        deliver_webhooks_to(&world.payments, base);
    }
    let mut line = world.describe();
    line["boxoffice_settings"] = serde_json::Value::Object(
        gateway_settings(&world.payments)
            .into_iter()
            .map(|(k, v)| (k.to_string(), serde_json::Value::String(v)))
            .collect(),
    );
    let line = line.to_string();
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{line}")
            .and_then(|()| out.flush())
            .map_err(SandboxError::Stdout)?;
    }
    tracing::info!(
        seed = ?args.seed,
        plex_tv = %world.plex_tv.url(),
        jellyfin = %world.jellyfin.url(),
        emby = %world.emby.url(),
        discord = %world.discord.url(),
        overseerr = %world.request_apps.overseerr.url(),
        smtp = %format!("{}:{}", world.smtp.host(), world.smtp.port()),
        stripe = %world.payments.stripe.url(),
        "sandbox ready; stop it with Ctrl-C or SIGTERM"
    );
    stop.wait().await;
    tracing::info!("sandbox stopping");
    // Dropping the world aborts every fake's server task.
    drop(world);
    Ok(())
}

/// The runtime settings that point a boxoffice instance at these fake gateways: each enabled,
/// its API address, credentials and webhook secret (`boxoffice_settings` on the JSON line; the
/// demo applies them).
pub fn gateway_settings(p: &PaymentFakes) -> Vec<(&'static str, String)> {
    let accounts = p.paypal.nvp_accounts();
    let nvp = |role: &str| accounts.iter().find(|a| a.role == role).cloned();
    let mut out = vec![
        ("payments.stripe.enabled", "true".to_string()),
        ("payments.stripe.secret_key", p.stripe.secret_key()),
        (
            "payments.stripe.publishable_key",
            p.stripe.publishable_key(),
        ),
        ("payments.stripe.webhook_secret", p.stripe.webhook_secret()),
        ("payments.stripe.api_base", p.stripe.url()),
        ("payments.paypal.enabled", "true".to_string()),
        ("payments.paypal.environment", "sandbox".to_string()),
        ("payments.paypal.client_id", p.paypal.client_id()),
        ("payments.paypal.client_secret", p.paypal.client_secret()),
        ("payments.paypal.webhook_id", p.paypal.webhook_id()),
        ("payments.paypal.api_base", p.paypal.url()),
        ("payments.paypal.nvp_url", p.paypal.nvp_url()),
        ("payments.plisio.enabled", "true".to_string()),
        ("payments.plisio.secret_key", p.plisio.api_key()),
        ("payments.plisio.api_base", p.plisio.api_url()),
    ];
    for (role, prefix) in [("primary", ""), ("secondary", "secondary_")] {
        if let Some(a) = nvp(role) {
            let key = |field: &str| -> &'static str {
                match (prefix, field) {
                    ("", "username") => "payments.paypal.nvp_username",
                    ("", "password") => "payments.paypal.nvp_password",
                    ("", _) => "payments.paypal.nvp_signature",
                    (_, "username") => "payments.paypal.secondary_nvp_username",
                    (_, "password") => "payments.paypal.secondary_nvp_password",
                    _ => "payments.paypal.secondary_nvp_signature",
                }
            };
            out.push((key("username"), a.username));
            out.push((key("password"), a.password));
            out.push((key("signature"), a.signature));
        }
    }
    out
}

/// Sends the fake gateways' webhooks to the boxoffice at `base` (its `/webhooks/...` routes).
pub fn deliver_webhooks_to(p: &PaymentFakes, base: &str) {
    let base = base.trim_end_matches('/');
    p.stripe
        .set_webhook_url(Some(&format!("{base}/webhooks/stripe")), None);
    p.paypal
        .set_webhook_url(Some(&format!("{base}/webhooks/paypal")), None);
}

/// Ctrl-C or SIGTERM, registered eagerly (unlike `startup::shutdown_signal`, which registers
/// when first polled).
struct Shutdown {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
}

impl Shutdown {
    #[cfg(unix)]
    fn register() -> std::io::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Shutdown {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
        })
    }

    #[cfg(not(unix))]
    fn register() -> std::io::Result<Self> {
        Ok(Shutdown {})
    }

    #[cfg(unix)]
    async fn wait(mut self) {
        tokio::select! {
            _ = self.term.recv() => {},
            _ = self.int.recv() => {},
        }
    }

    #[cfg(not(unix))]
    async fn wait(self) {
        let _ = tokio::signal::ctrl_c().await;
    }
}
