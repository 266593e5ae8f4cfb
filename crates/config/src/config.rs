use crate::secret::Secret;
use crate::secret_key::{self, InvalidSecretKey, SECRET_KEY_LEN};
use serde::Deserialize;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;

/// The effective configuration of one `boxoffice` process, after every layer has been merged
/// and validated. `Debug` is safe to log: secrets print as `<redacted>`.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub database_url: Option<Secret>,
    pub secret_key: Option<Secret>,
    pub public_url: Option<String>,
    /// plex.tv's API base; only a stand-in (the sandbox's fake) ever sets it.
    pub plex_tv_url: Option<String>,
    /// The data belongs to `boxoffice demo`'s fake services.
    pub demo: bool,
    pub log: LogConfig,
    pub database: DatabaseConfig,
    pub jobs: JobsConfig,
    pub web: WebConfig,
    pub passwords: PasswordsConfig,
    pub metrics: MetricsConfig,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogConfig {
    pub level: String,
    pub format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

impl LogFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Json => "json",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseConfig {
    pub max_connections: Option<u32>,
    pub connect_timeout_secs: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobsConfig {
    pub workers: u32,
    pub lease_secs: u64,
    pub poll_interval_ms: u64,
    pub scheduler: bool,
    pub run: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebConfig {
    pub secure_cookies: Option<bool>,
    pub trust_forwarded_for: bool,
    /// Reverse proxies whose forwarded headers are believed, as the web crate parses them.
    pub trusted_proxies: Option<String>,
    pub request_timeout_secs: u64,
    pub max_body_bytes: u64,
}

/// Bounds on password hashing (argon2id, 19 MiB per hash), which logins reach unauthenticated.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PasswordsConfig {
    pub concurrency: Option<u32>,
    pub queue: Option<u32>,
}

/// Who may read `/metrics`.
#[derive(Debug, Clone, Default)]
pub struct MetricsConfig {
    pub token: Option<Secret>,
    pub listen: Option<SocketAddr>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 8080)),
            data_dir: PathBuf::from("./data"),
            database_url: None,
            secret_key: None,
            public_url: None,
            plex_tv_url: None,
            demo: false,
            log: LogConfig::default(),
            database: DatabaseConfig::default(),
            jobs: JobsConfig::default(),
            web: WebConfig::default(),
            passwords: PasswordsConfig::default(),
            metrics: MetricsConfig::default(),
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            level: "info".to_owned(),
            format: LogFormat::Text,
        }
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            max_connections: None,
            connect_timeout_secs: 5,
        }
    }
}

impl Default for JobsConfig {
    fn default() -> Self {
        Self {
            workers: 2,
            lease_secs: 300,
            poll_interval_ms: 1000,
            scheduler: true,
            run: true,
        }
    }
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            secure_cookies: None,
            trust_forwarded_for: false,
            trusted_proxies: None,
            request_timeout_secs: 30,
            max_body_bytes: 10 * 1024 * 1024,
        }
    }
}

impl Config {
    /// The URL to connect to. It may carry a password, so keep it out of logs.
    pub fn effective_database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.expose().to_owned(),
            // mode=rwc lets the first start create the database file instead of failing on it.
            None => format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("boxoffice.db").display()
            ),
        }
    }

    /// Whether cookies get the `Secure` attribute: the explicit setting, else whether users reach
    /// the site over https (a browser drops Secure cookies set over plain http).
    pub fn secure_cookies(&self) -> bool {
        self.web.secure_cookies.unwrap_or_else(|| {
            self.public_url
                .as_deref()
                .is_some_and(|url| url.starts_with("https://"))
        })
    }

    /// The decoded `secret_key`, `None` when it is not configured. [`crate::load`] has already
    /// rejected keys that do not decode, so the error only arises for hand-built configs.
    pub fn secret_key_bytes(&self) -> Result<Option<[u8; SECRET_KEY_LEN]>, InvalidSecretKey> {
        self.secret_key.as_ref().map(secret_key::decode).transpose()
    }
}
