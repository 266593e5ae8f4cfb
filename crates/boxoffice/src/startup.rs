//! Wiring: configuration in, a running application out. Used by `serve`, by the other commands
//! that need the database, and by the tests (port 0, a test clock, jobs driven by hand).

use crate::instance::{InstanceError, InstanceLock};
use crate::secret_key::{self, KeyError};
use boxoffice_app::App;
use boxoffice_config::Config;
use boxoffice_domain::Clock;
use boxoffice_jobs::{Registry, Runner, RunnerOptions, registry_with_builtins};
use boxoffice_store::{ConnectOptions, Db, StoreError};
use boxoffice_web::WebOptions;
use std::future::{Future, IntoFuture};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(
        "cannot reach the database at {url}: {source}. Check BOXOFFICE_DATABASE_URL and that the database server is running."
    )]
    Database { url: String, source: StoreError },
    #[error("the database schema could not be brought up to date: {0}")]
    Migrate(StoreError),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("invalid secret key: {0}")]
    SecretKey(String),
    #[error(
        "cannot listen on {addr}: {source}. Is another program using that port? Set BOXOFFICE_LISTEN to another address."
    )]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Instance(#[from] InstanceError),
    #[error("{0}")]
    App(#[from] boxoffice_app::AppError),
    #[error("invalid configuration: {0}")]
    Config(String),
}

impl StartError {
    /// Distinct exit codes let a service manager or script tell the causes apart.
    pub fn exit_code(&self) -> u8 {
        match self {
            StartError::Database { .. } | StartError::Migrate(_) => 3,
            StartError::Key(_) | StartError::SecretKey(_) | StartError::Config(_) => 4,
            StartError::Bind { .. } => 5,
            StartError::Instance(InstanceError::InUse { .. }) => 6,
            StartError::Instance(InstanceError::Io { .. }) => 1,
            StartError::App(_) => 1,
        }
    }
}

pub async fn open_database(cfg: &Config) -> Result<Db, StartError> {
    let url = cfg.effective_database_url();
    if url.starts_with("sqlite:") {
        // The default database lives in the data directory, which may not exist yet.
        let _ = crate::data_dir::create_private(&cfg.data_dir);
    }
    let opts = ConnectOptions {
        max_connections: cfg.database.max_connections,
        connect_timeout: Duration::from_secs(cfg.database.connect_timeout_secs),
    };
    let db = boxoffice_store::connect(&url, &opts)
        .await
        .map_err(|source| StartError::Database {
            url: boxoffice_store::db_redact_url(&url),
            source,
        })?;
    db.migrate().await.map_err(StartError::Migrate)?;
    Ok(db)
}

pub async fn build_app(cfg: &Config, clock: Arc<dyn Clock>) -> Result<App, StartError> {
    let given = cfg
        .secret_key_bytes()
        .map_err(|e| StartError::SecretKey(e.to_string()))?;
    let secrets = secret_key::load_or_create(&cfg.data_dir, given)?;
    let db = open_database(cfg).await?;
    let mut app = App::new(db, clock, secrets);
    app.uploads = boxoffice_app::content::uploads::UploadDir::new(cfg.data_dir.join("uploads"));
    app.password_gate = Arc::new(password_gate(cfg));
    // Only the configuration moves plex.tv (the demo writes it into its `demo.toml`): a file
    // found in the data directory must never decide where account tokens are sent.
    if let Some(url) = &cfg.plex_tv_url {
        app.media.set_plex_tv_url(url);
    }
    Ok(app)
}

/// `passwords.concurrency` slots (default: one per CPU) and `passwords.queue` waiting places
/// (default: four per slot).
fn password_gate(cfg: &Config) -> boxoffice_app::passwords::Gate {
    use boxoffice_app::passwords::Gate;
    let slots = match cfg.passwords.concurrency {
        Some(n) => n as usize,
        None => Gate::for_this_machine().slots(),
    };
    let queue = cfg.passwords.queue.map_or(slots * 4, |n| n as usize);
    Gate::new(slots, queue)
}

pub struct Application {
    pub app: App,
    pub registry: Arc<Registry>,
    listener: TcpListener,
    /// `/metrics` on an address of its own (`metrics.listen`).
    metrics_listener: Option<TcpListener>,
    web: WebOptions,
    runner: RunnerOptions,
    workers: u32,
    run_jobs: bool,
    /// Held until [`Application::run_until`] returns: no other process runs on this data
    /// directory meanwhile.
    instance: InstanceLock,
}

impl Application {
    pub async fn build(
        cfg: &Config,
        clock: Arc<dyn Clock>,
        demo: bool,
    ) -> Result<Self, StartError> {
        // First, so a second process on this data directory stops before touching anything.
        let instance = InstanceLock::acquire(&cfg.data_dir)?;
        let app = build_app(cfg, clock).await?;
        // The lock was free, so this identity's previous process is gone: what it held is
        // due now rather than when its leases run out.
        let handed_back = app.hand_back_leases_of(instance.id()).await?;
        if handed_back > 0 {
            tracing::info!(
                jobs = handed_back,
                "resuming jobs the previous run of this instance held when it stopped"
            );
        }
        let listener = TcpListener::bind(cfg.listen)
            .await
            .map_err(|source| StartError::Bind {
                addr: cfg.listen,
                source,
            })?;
        let metrics_listener = match cfg.metrics.listen {
            Some(addr) => Some(
                TcpListener::bind(addr)
                    .await
                    .map_err(|source| StartError::Bind { addr, source })?,
            ),
            None => None,
        };
        let trusted_proxies =
            boxoffice_web::proxy::parse(cfg.web.trusted_proxies.as_deref().unwrap_or(""))
                .map_err(|e| StartError::Config(format!("web.trusted_proxies: {e}")))?;
        let web = WebOptions {
            secure_cookies: cfg.secure_cookies(),
            hsts: cfg
                .public_url
                .as_deref()
                .is_some_and(|u| u.starts_with("https://")),
            trust_forwarded_for: cfg.web.trust_forwarded_for,
            trusted_proxies,
            request_timeout: Duration::from_secs(cfg.web.request_timeout_secs),
            max_body_bytes: cfg.web.max_body_bytes as usize,
            demo,
            metrics_token: cfg.metrics.token.as_ref().map(|t| t.expose().to_owned()),
            metrics_on_main: cfg.metrics.listen.is_none(),
        };
        let runner = RunnerOptions {
            lease_secs: cfg.jobs.lease_secs as i64,
            poll_interval: Duration::from_millis(cfg.jobs.poll_interval_ms),
            scheduler: cfg.jobs.scheduler,
            instance: instance.id().to_owned(),
            ..RunnerOptions::default()
        };
        Ok(Self {
            app,
            registry: Arc::new(registry_with_builtins()),
            listener,
            metrics_listener,
            web,
            runner,
            workers: cfg.jobs.workers,
            run_jobs: cfg.jobs.run,
            instance,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// Where `/metrics` is served when `metrics.listen` is set.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener
            .as_ref()
            .and_then(|l| l.local_addr().ok())
    }

    /// This instance's identity (`<data_dir>/instance`), named in every lease its workers take.
    pub fn instance(&self) -> &str {
        self.instance.id()
    }

    /// A runner on this application's queue, for tests and one-off commands.
    pub fn runner(&self) -> Runner {
        Runner::new(self.app.clone(), self.registry.clone(), self.runner.clone())
    }

    /// Serves HTTP and runs the job workers until `shutdown` resolves or the server fails.
    ///
    /// At shutdown the workers are told at once, alongside the web server: a long job stops
    /// between units of work and hands its lease back (a short one finishes, or is cut off after
    /// the runner's shutdown grace, 3 s), so the next start resumes it immediately. Requests still open
    /// after [`WEB_DRAIN`] are dropped rather than holding the exit.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let instance = self.instance;
        let stop_tx = Arc::new(tokio::sync::watch::channel(false).0);
        let stop_rx = stop_tx.subscribe();
        let signal = {
            let stop_tx = stop_tx.clone();
            tokio::spawn(async move {
                shutdown.await;
                let _ = stop_tx.send(true);
            })
        };
        let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|s| *s).await;
        };
        let mut workers = Vec::new();
        if self.run_jobs {
            for i in 0..self.workers.max(1) {
                // One scheduler per instance is enough; ticks are deduplicated across instances.
                let opts = RunnerOptions {
                    scheduler: self.runner.scheduler && i == 0,
                    ..self.runner.clone()
                };
                let r = Runner::new(self.app.clone(), self.registry.clone(), opts);
                workers.push(tokio::spawn(r.run_forever(stop_rx.clone())));
            }
        }
        let metrics_server = self.metrics_listener.map(|listener| {
            let router = boxoffice_web::metrics_router(self.app.clone(), self.web.clone());
            let stop = stopped(stop_rx.clone());
            tokio::spawn(async move {
                axum::serve(listener, router)
                    .with_graceful_shutdown(stop)
                    .await
            })
        });
        let router = boxoffice_web::router(self.app.clone(), self.web.clone());
        let server = axum::serve(
            self.listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(stopped(stop_rx.clone()))
        .into_future();
        let drained = {
            let stop = stopped(stop_rx.clone());
            async move {
                stop.await;
                tokio::time::sleep(WEB_DRAIN).await;
            }
        };
        let result = tokio::select! {
            r = server => r,
            _ = drained => {
                tracing::warn!("requests still open {} s after shutdown began; closing them", WEB_DRAIN.as_secs());
                Ok(())
            }
        };
        if let Err(e) = &result {
            tracing::error!(error = %e, "the web server stopped with an error");
        }
        let _ = stop_tx.send(true);
        signal.abort();
        if let Some(m) = metrics_server {
            let _ = tokio::time::timeout(WEB_DRAIN, m).await;
        }
        let wait = self.runner.shutdown_grace + Duration::from_secs(2);
        for w in workers {
            if tokio::time::timeout(wait, w).await.is_err() {
                tracing::warn!("a job worker did not stop within {} s", wait.as_secs());
            }
        }
        let _ = tokio::time::timeout(Duration::from_secs(2), self.app.db.close()).await;
        // Only now may another process take the data directory.
        drop(instance);
        result
    }
}

/// How long open requests may run on once shutdown began.
const WEB_DRAIN: Duration = Duration::from_secs(3);

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}
