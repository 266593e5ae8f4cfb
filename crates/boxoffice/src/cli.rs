//! `boxoffice` commands. Each prints what a person needs on standard output, problems on standard
//! error, and exits non-zero on failure: 2 bad configuration or usage, 3 database, 4 secret key,
//! 5 cannot listen, 6 data directory in use, 1 anything else.

use crate::startup::{self, Application, StartError};
use boxoffice_app::audit::Actor;
use boxoffice_config::{Config, Overrides, Sources};
use boxoffice_domain::SystemClock;
use clap::{Parser, Subcommand};
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Parser, Debug)]
#[command(
    name = "boxoffice",
    version,
    about = "Self-hosted subscription manager for Plex, Jellyfin and Emby servers"
)]
pub struct Cli {
    /// Configuration file (default: ./boxoffice.toml when it exists; also BOXOFFICE_CONFIG).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Data directory: the SQLite database and the secret key (BOXOFFICE_DATA_DIR, default ./data).
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Database URL, sqlite://… or postgres://… (BOXOFFICE_DATABASE_URL).
    #[arg(long, global = true, value_name = "URL")]
    database_url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the web server, the job workers and the scheduler.
    Serve {
        /// Address to listen on (BOXOFFICE_LISTEN, default 127.0.0.1:8080).
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
    },
    /// Bring the database schema up to date and exit.
    Migrate,
    /// Administrator logins and API tokens.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Inspect the configuration.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Start fake plex.tv, Plex, Jellyfin and Emby services on loopback ports, print them as one
    /// JSON line, and serve until Ctrl-C or SIGTERM. Needs no configuration or database.
    Sandbox(crate::sandbox::SandboxArgs),
    /// Run a demo: the sandbox's fake services, a catalogue of servers, libraries and plans on
    /// them, an administrator with a random password, and the web server. The first line of
    /// standard output is one JSON object with the URL, data directory and login.
    Demo(crate::demo::DemoArgs),
    /// Customers (users of the media servers).
    Users {
        #[command(subcommand)]
        command: UsersCommand,
    },
}

#[derive(Subcommand, Debug)]
enum UsersCommand {
    /// Invite the users of a CSV file (see docs/bulk-invite.md): validate it, then import it row
    /// by row, printing progress. Exit 2 when the file is invalid, 1 when any row failed.
    BulkInvite {
        file: PathBuf,
        /// Only validate and print what each row would do.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Subcommand, Debug)]
enum AdminCommand {
    /// Create an administrator. The password is read from standard input or --password-file.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
    },
    /// Set a login's password and end all its sessions.
    ResetPassword {
        #[arg(long)]
        email: String,
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
    },
    /// API tokens for `Authorization: Bearer …`.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
}

#[derive(Subcommand, Debug)]
enum TokenCommand {
    /// Create a token for a login; it is printed once.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
    },
    /// Revoke a token by its id.
    Revoke { id: i64 },
    /// List tokens (never their secrets).
    List,
}

#[derive(Subcommand, Debug)]
enum ConfigCommand {
    /// Print the effective configuration with secrets redacted, and any warnings.
    Check,
}

#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error("{0}")]
    Config(String),
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Start(#[from] StartError),
    #[error("{0}")]
    App(#[from] boxoffice_app::AppError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl CliError {
    fn exit_code(&self) -> u8 {
        match self {
            CliError::Config(_) | CliError::Usage(_) => 2,
            CliError::Start(e) => e.exit_code(),
            CliError::App(boxoffice_app::AppError::Store(
                boxoffice_store::StoreError::Unavailable(_),
            )) => 3,
            CliError::App(_) | CliError::Io(_) => 1,
        }
    }
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match rt.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

fn load_config(cli: &Cli, listen: Option<String>) -> Result<Config, CliError> {
    let overrides = Overrides {
        listen,
        data_dir: cli.data_dir.clone(),
        database_url: cli.database_url.clone(),
    };
    let loaded = boxoffice_config::load(Sources::for_process(
        cli.config.clone(),
        std::env::vars().collect(),
        overrides,
    ))
    .map_err(|e| CliError::Config(e.to_string()))?;
    for w in &loaded.warnings {
        eprintln!("warning: {w}");
    }
    Ok(loaded.config)
}

async fn run(cli: Cli) -> Result<(), CliError> {
    // The sandbox needs no configuration, database or data directory: it runs before any of
    // them is loaded, so a broken boxoffice.toml or an unreachable database cannot stop it.
    if let Command::Sandbox(args) = &cli.command {
        return crate::sandbox::run(args).await.map_err(|e| {
            if e.is_usage() {
                CliError::Usage(e.to_string())
            } else {
                CliError::Io(std::io::Error::other(e.to_string()))
            }
        });
    }
    if let Command::Demo(args) = &cli.command {
        // Never the default ./data: the demo marks its directory as pointing at fake services.
        let cli_dir = match &cli.data_dir {
            Some(d) => Some(d.clone()),
            None => Some(crate::demo::new_data_dir()?),
        };
        let cfg = load_config(
            &Cli {
                config: cli.config.clone(),
                data_dir: cli_dir,
                database_url: cli.database_url.clone(),
                command: Command::Migrate,
            },
            None,
        )?;
        crate::telemetry::init(&cfg);
        return crate::demo::run(&cfg, args).await.map_err(|e| match e {
            crate::demo::DemoError::Start(e) => CliError::Start(e),
            crate::demo::DemoError::Seed(e) => CliError::App(e),
            e => CliError::Io(std::io::Error::other(e.to_string())),
        });
    }
    let listen = match &cli.command {
        Command::Serve { listen } => listen.clone(),
        _ => None,
    };
    let cfg = load_config(&cli, listen)?;
    crate::telemetry::init(&cfg);
    match cli.command {
        Command::Serve { .. } => serve(&cfg).await,
        Command::Migrate => {
            startup::open_database(&cfg).await?;
            println!("database is up to date");
            Ok(())
        }
        Command::Config {
            command: ConfigCommand::Check,
        } => {
            print!("{}", cfg.render_redacted());
            Ok(())
        }
        Command::Admin { command } => admin(&cfg, command).await,
        Command::Users {
            command: UsersCommand::BulkInvite { file, dry_run },
        } => crate::cli_bulk_invite::run(&cfg, &file, dry_run)
            .await
            .map_err(|e| match e {
                crate::cli_bulk_invite::Failure::Invalid(m) => CliError::Usage(m),
                crate::cli_bulk_invite::Failure::Rows(m) => CliError::Io(std::io::Error::other(m)),
                crate::cli_bulk_invite::Failure::Start(e) => CliError::Start(e),
                crate::cli_bulk_invite::Failure::App(e) => CliError::App(e),
            }),
        // Ran above, before the configuration was loaded.
        Command::Sandbox(_) | Command::Demo(_) => Ok(()),
    }
}

async fn serve(cfg: &Config) -> Result<(), CliError> {
    // A demo's `demo.toml` keeps its banner when served again.
    let application = Application::build(cfg, Arc::new(SystemClock), cfg.demo).await?;
    let addr = application.local_addr();
    let base = cfg
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"));
    println!("boxoffice listening on http://{addr}");
    if let Some(token) = application.app.issue_setup_token().await? {
        println!("No administrator exists yet. Create one within the hour at {base}/setup/{token}");
        println!("(or run: boxoffice admin create --email you@example.com)");
    }
    let _ = std::io::stdout().flush();
    application.run_until(startup::shutdown_signal()).await?;
    Ok(())
}

fn read_password(file: Option<&PathBuf>) -> Result<String, CliError> {
    let raw = match file {
        Some(path) => std::fs::read_to_string(path).map_err(|e| {
            CliError::Usage(format!(
                "cannot read the password file {}: {e}",
                path.display()
            ))
        })?,
        None => {
            if std::io::stdin().is_terminal() {
                eprint!("Password (the input is shown; use --password-file to avoid that): ");
            }
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line)?;
            line
        }
    };
    let pw = raw
        .strip_suffix('\n')
        .map(|s| s.strip_suffix('\r').unwrap_or(s))
        .unwrap_or(&raw)
        .to_string();
    if pw.is_empty() {
        return Err(CliError::Usage(
            "no password given: pipe it on standard input or use --password-file FILE".into(),
        ));
    }
    Ok(pw)
}

async fn admin(cfg: &Config, command: AdminCommand) -> Result<(), CliError> {
    let app = startup::build_app(cfg, Arc::new(SystemClock)).await?;
    let actor = Actor::cli();
    match command {
        AdminCommand::Create {
            email,
            password_file,
        } => {
            let pw = read_password(password_file.as_ref())?;
            let login = app.create_administrator(&actor, &email, &pw).await?;
            println!(
                "administrator {} created (login #{})",
                login.email, login.id
            );
        }
        AdminCommand::ResetPassword {
            email,
            password_file,
        } => {
            let pw = read_password(password_file.as_ref())?;
            let login = app.reset_password(&actor, &email, &pw).await?;
            println!(
                "password of {} changed; every session of this login has ended",
                login.email
            );
        }
        AdminCommand::Token {
            command: TokenCommand::Create { email, name },
        } => {
            let t = app.create_api_token(&actor, &email, &name).await?;
            eprintln!(
                "API token #{} \"{}\" created. It is shown only now:",
                t.token.id, t.token.name
            );
            println!("{}", t.secret);
        }
        AdminCommand::Token {
            command: TokenCommand::Revoke { id },
        } => {
            app.revoke_api_token(&actor, id).await?;
            println!("API token #{id} revoked");
        }
        AdminCommand::Token {
            command: TokenCommand::List,
        } => {
            for t in app.list_api_tokens(None).await? {
                let state = if t.revoked_at.is_some() {
                    "revoked"
                } else {
                    "active"
                };
                println!(
                    "#{}\t{}\t{}…\tlogin #{}\t{state}",
                    t.id, t.name, t.prefix, t.login_id
                );
            }
        }
    }
    app.db.close().await;
    Ok(())
}
