//! `boxoffice demo`: the sandbox's fake media services, a boxoffice wired to them with the
//! catalogue of `fixtures/bulk-invite/README.md` (four servers, their libraries in the Standard,
//! Premium 4K and Private groups, the plans Basic, Premium 4K and Free Trial), an administrator
//! with a random password, a demo customer (a confirmed login with the Basic plan on the fake
//! Jellyfin) and the web server, all described on the first line of standard output. Registration
//! is open, trials are on, e-mail goes to the sandbox's SMTP catcher and every gateway to its fake,
//! so a visitor can register, confirm, pay and be invited without any real account.
//!
//! The data directory keeps a `demo.json` with the fakes' description and a `demo.toml`
//! configuration, so the other commands (`boxoffice users bulk-invite`, `admin token create`,
//! `serve`) given `--config DIR/demo.toml` talk to the same data and fakes while the demo runs.
//! Like the sandbox, only this wiring uses `boxoffice-fakes`.

use crate::startup::{self, Application};
use boxoffice_app::App;
use boxoffice_app::audit::Actor;
use boxoffice_app::plans::PlanInput;
use boxoffice_app::servers::plex_accounts::PlexAccountForm;
use boxoffice_app::servers::server_admin::{MediaBrowserForm, PlexServerForm};
use boxoffice_app::subscriptions::{NewCustomerError, NewCustomerForm};
use boxoffice_config::Config;
use boxoffice_domain::SystemClock;
use boxoffice_fakes::{Seed, World, WorldOptions};
use boxoffice_store::servers::ServerSettings;
use serde_json::json;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

/// The file in the data directory naming the fakes a demo's data belongs to.
pub const MARKER: &str = "demo.json";

/// Options of `boxoffice demo` (the data directory and database URL are the global options).
#[derive(clap::Args, Debug, Clone)]
pub struct DemoArgs {
    /// Address the web server listens on. The fakes always listen on 127.0.0.1.
    #[arg(long, value_name = "ADDR", default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    pub bind: IpAddr,
    /// Port of the web server; 0 (the default) picks a free one.
    #[arg(long, default_value_t = 0)]
    pub port: u16,
}

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("cannot start the fake services: {0}")]
    Fakes(#[from] boxoffice_fakes::FakeError),
    #[error(transparent)]
    Start(#[from] startup::StartError),
    #[error("cannot seed the demo catalogue: {0}")]
    Seed(#[from] boxoffice_app::AppError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// A fresh directory under the system's temporary directory, kept after the demo ends.
pub fn new_data_dir() -> std::io::Result<PathBuf> {
    let suffix =
        boxoffice_app::crypto::random_token().map_err(|e| std::io::Error::other(e.to_string()))?;
    let dir = std::env::temp_dir().join(format!(
        "boxoffice-demo-{}",
        suffix
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(10)
            .collect::<String>()
    ));
    crate::data_dir::create_private(&dir)?;
    Ok(dir)
}

/// The configuration file the demo writes into its data directory: other commands given it
/// (`boxoffice --config DIR/demo.toml …`) work on the demo's data and its fake plex.tv.
pub const CONFIG_FILE: &str = "demo.toml";

fn demo_config(cfg: &Config, plex_tv_url: &str) -> String {
    let quoted = |s: &str| serde_json::Value::String(s.to_string()).to_string();
    let mut text = String::from(
        "# Written by `boxoffice demo`. Give it to other commands to work on the running demo:\n\
         #   boxoffice --config <this file> users bulk-invite FILE\n",
    );
    text.push_str(&format!(
        "data_dir = {}\n",
        quoted(&cfg.data_dir.display().to_string())
    ));
    if let Some(url) = &cfg.database_url {
        text.push_str(&format!("database_url = {}\n", quoted(url.expose())));
    }
    text.push_str(&format!(
        "plex_tv_url = {}\ndemo = true\n",
        quoted(plex_tv_url)
    ));
    text
}

/// A password the password rule accepts: random, with each required kind of character.
fn random_password() -> Result<String, DemoError> {
    let t =
        boxoffice_app::crypto::random_token().map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(format!("Demo-{}-7a", &t[..16]))
}

pub async fn run(cfg: &Config, args: &DemoArgs) -> Result<(), DemoError> {
    let world = World::start(WorldOptions {
        seed: Seed::Default,
        bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
    })
    .await?;
    let sandbox = world.describe();
    crate::data_dir::create_private(&cfg.data_dir)?;
    std::fs::write(cfg.data_dir.join(MARKER), sandbox.to_string())?;
    let config_file = cfg.data_dir.join(CONFIG_FILE);
    std::fs::write(&config_file, demo_config(cfg, &world.plex_tv.url()))?;

    let mut cfg = cfg.clone();
    cfg.listen = SocketAddr::new(args.bind, args.port);
    // The plex.tv rate limiter waits on the application's clock: the demo runs on real time.
    let application = Application::build(&cfg, Arc::new(SystemClock), true).await?;
    let app = application.app.clone();
    app.media.set_plex_tv_url(&world.plex_tv.url());
    seed(&app, &world).await?;
    let email = "admin@demo.example";
    let password = random_password()?;
    if app
        .create_administrator(&Actor::cli(), email, &password)
        .await
        .is_err()
    {
        // A demo restarted on its data directory keeps its administrator: give it a new password.
        app.reset_password(&Actor::cli(), email, &password).await?;
    }
    let url = format!("http://{}", application.local_addr());
    notifications_to_fakes(&app, &world, &url, email).await?;
    gateways_to_fakes(&app, &world, &url).await?;
    open_to_customers(&app).await?;
    let customer_password = random_password()?;
    demo_customer(&app, &world, CUSTOMER_EMAIL, &customer_password).await?;
    let line = json!({
        "url": url,
        "data_dir": cfg.data_dir.display().to_string(),
        "config": config_file.display().to_string(),
        "database_url": cfg.effective_database_url(),
        "admin": {"email": email, "password": password},
        "customer": {"email": CUSTOMER_EMAIL, "password": customer_password},
        "sandbox": sandbox,
    });
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{line}")?;
        out.flush()?;
    }
    eprintln!("demo running at {url}; stop it with Ctrl-C or SIGTERM");
    application.run_until(startup::shutdown_signal()).await?;
    drop(world);
    Ok(())
}

/// Points every notification at the fakes, so it can be read there: e-mail to the SMTP catcher
/// (plain SMTP), Discord to the fake Discord (administrator messages in its `admin` channel),
/// links in messages to this demo's own address. Set on every start, since the fakes' ports
/// change with each run; the application itself knows nothing of the demo.
pub async fn notifications_to_fakes(
    app: &App,
    world: &World,
    site_url: &str,
    admin_email: &str,
) -> Result<(), DemoError> {
    app.discord.set_api_url(&world.discord.url());
    let guild = world.discord.guilds().into_iter().next();
    let admin_channel = guild
        .as_ref()
        .and_then(|g| {
            world
                .discord
                .channels_of(&g.id)
                .into_iter()
                .find(|c| c["name"] == "admin")
        })
        .and_then(|c| c["id"].as_str().map(str::to_string))
        .unwrap_or_default();
    let changes: Vec<(String, String)> = [
        ("general.site_uri", site_url.to_string()),
        ("general.admin_email", admin_email.to_string()),
        ("email.enabled", "true".into()),
        ("email.smtp_host", world.smtp.host()),
        ("email.smtp_port", world.smtp.port().to_string()),
        ("email.smtp_security", "none".into()),
        ("email.smtp_username", String::new()),
        ("email.from_address", "noreply@demo.example".into()),
        ("discord.enabled", "true".into()),
        ("discord.bot_token", world.discord.token()),
        ("discord.guild_id", guild.map(|g| g.id).unwrap_or_default()),
        ("discord.admin_channel_id", admin_channel),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    app.set_settings(&Actor::cli(), &changes).await?;
    Ok(())
}

/// Points Stripe, PayPal and Plisio at their fakes (API addresses, credentials, webhook
/// secrets) and has the fakes deliver their webhooks to this demo, so a payment can be made end
/// to end: checkout, the fake's hosted page, the signed webhook, the ledger, the share. Set on
/// every start, since the fakes' ports and keys change with each run.
pub async fn gateways_to_fakes(app: &App, world: &World, site_url: &str) -> Result<(), DemoError> {
    let changes: Vec<(String, String)> = crate::sandbox::gateway_settings(&world.payments)
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    app.set_settings(&Actor::cli(), &changes).await?;
    crate::sandbox::deliver_webhooks_to(&world.payments, site_url);
    Ok(())
}

/// The demo customer's e-mail.
pub const CUSTOMER_EMAIL: &str = "customer@demo.example";

/// Registration open to the public, free trials on: the settings a newcomer's way through the
/// portal needs (the defaults, stated so a demo restarted on changed data works again).
pub async fn open_to_customers(app: &App) -> Result<(), DemoError> {
    let changes: Vec<(String, String)> = [
        ("registration.enabled", "true"),
        ("registration.public", "true"),
        ("subscriptions.enabled", "true"),
        ("subscriptions.trial_enabled", "true"),
        ("general.home_page_public", "true"),
        ("general.faq_page_public", "true"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    app.set_settings(&Actor::cli(), &changes).await?;
    Ok(())
}

/// A customer on the Basic plan, shared on the fake Jellyfin, with a confirmed site login.
/// A demo restarted on its data directory keeps the customer and gets a new password.
pub async fn demo_customer(
    app: &App,
    world: &World,
    email: &str,
    password: &str,
) -> Result<(), DemoError> {
    let actor = Actor::cli();
    if app.reset_password(&actor, email, password).await.is_ok() {
        return Ok(());
    }
    let plan = app
        .list_plans()
        .await?
        .into_iter()
        .find(|p| p.plan.name == "Basic")
        .ok_or_else(|| boxoffice_app::AppError::Internal("the Basic plan is missing".into()))?;
    let jellyfin = app
        .list_servers()
        .await?
        .into_iter()
        .find(|s| s.url.trim_end_matches('/') == world.jellyfin.url().trim_end_matches('/'))
        .map(|s| s.id.to_string())
        .unwrap_or_default();
    let outcome = app
        .invite_new_customer(
            &actor,
            &NewCustomerForm {
                email: email.into(),
                plan_id: plan.plan.id.to_string(),
                server_id: jellyfin,
                quantity: "1".into(),
                method: "Demo".into(),
                username: "democustomer".into(),
                form_key: "demo-customer".into(),
                ..NewCustomerForm::default()
            },
        )
        .await
        .map_err(|e| match e {
            NewCustomerError::Failed(e) => DemoError::Seed(e),
            NewCustomerError::Fields(f) => DemoError::Seed(boxoffice_app::AppError::Internal(
                f.into_iter()
                    .map(|f| format!("{}: {}", f.field, f.message))
                    .collect::<Vec<_>>()
                    .join("; "),
            )),
        })?;
    app.create_customer_login(&actor, outcome.customer_id, password)
        .await?;
    Ok(())
}

/// The catalogue of `fixtures/bulk-invite/README.md`, on the fakes. Skipped when the data
/// directory already has servers (a demo restarted on it).
pub async fn seed(app: &App, world: &World) -> Result<(), DemoError> {
    let actor = Actor::cli();
    if !app.list_servers().await?.is_empty() {
        return Ok(());
    }
    let account = app
        .add_plex_account(
            &actor,
            &PlexAccountForm {
                name: "Demo Plex account".into(),
                token: world.plex_tv.token(),
                ..PlexAccountForm::default()
            },
        )
        .await?;
    let mut server_ids = Vec::new();
    for s in &world.plex_servers {
        let row = app
            .add_plex_server(
                &actor,
                &PlexServerForm {
                    plex_account_id: account.id,
                    machine_id: s.machine_identifier().to_string(),
                    url: s.url(),
                },
            )
            .await?;
        server_ids.push(row.id);
    }
    for (platform, url, key) in [
        ("jellyfin", world.jellyfin.url(), world.jellyfin.api_key()),
        ("emby", world.emby.url(), world.emby.api_key()),
    ] {
        let row = app
            .add_mediabrowser_server(
                &actor,
                &MediaBrowserForm {
                    platform: platform.into(),
                    url,
                    api_key: key,
                },
            )
            .await?;
        server_ids.push(row.id);
    }
    let groups = app.list_library_groups().await?;
    let group = |name: &str| {
        groups
            .iter()
            .find(|g| g.name == name)
            .map(|g| g.id)
            .ok_or_else(|| {
                boxoffice_app::AppError::Internal(format!("the {name} library group is missing"))
            })
    };
    let (standard, premium, private) =
        (group("Standard")?, group("Premium 4K")?, group("Private")?);
    for id in &server_ids {
        app.sync_server_libraries(*id).await?;
        for lib in app.list_libraries(Some(*id)).await? {
            let g = match lib.name.as_str() {
                "Movies 4K" => premium,
                "Home Videos" => private,
                _ => standard,
            };
            app.assign_library_group(&actor, lib.id, g).await?;
        }
        let s = app.server(*id).await?;
        app.update_server_settings(
            &actor,
            *id,
            &ServerSettings {
                url: s.url,
                location_id: s.location_id,
                enabled: true,
                allow_new_subscriptions: true,
                allow_trial_subscriptions: true,
                max_users: 100,
                allow_4k_transcoding: s.allow_4k_transcoding,
                log_activity: s.log_activity,
                has_premiere: s.has_premiere,
            },
        )
        .await?;
    }
    for (name, cost, days, groups, trial, default) in [
        ("Basic", 500, 30, vec![standard], false, true),
        (
            "Premium 4K",
            1000,
            30,
            vec![standard, premium],
            false,
            false,
        ),
        ("Free Trial", 0, 7, vec![standard], true, false),
    ] {
        app.save_plan(
            &actor,
            None,
            &PlanInput {
                name: name.into(),
                cost_minor: cost,
                duration_count: days,
                duration_unit: "days".into(),
                library_group_ids: groups,
                downloads: true,
                is_trial: trial,
                is_default: default,
                active: true,
                ..PlanInput::default()
            },
        )
        .await?;
    }
    Ok(())
}
