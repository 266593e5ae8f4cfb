//! The one declaration of every configuration key. Environment variable names, the `_file`
//! forms, the unknown-key checks, `render_redacted` and the reference table in CONFIG.md are all
//! derived from it, so adding a field to [`Config`] and a line here is the whole job.

use crate::config::Config;
use crate::setting::{self, Setting, TomlValue};

/// Every environment variable this crate reads starts with this.
pub const ENV_PREFIX: &str = "BOXOFFICE_";

/// Path of the config file; read by the binary (see [`crate::Sources::for_process`]), not merged.
pub const CONFIG_ENV_VAR: &str = "BOXOFFICE_CONFIG";

/// Variables under [`ENV_PREFIX`] that are not keys but must not be reported as unknown.
pub const RESERVED_ENV_VARS: &[&str] = &[CONFIG_ENV_VAR];

/// Short spellings people reach for first, mapped to the key they set.
pub(crate) const ENV_ALIASES: &[(&str, &str)] = &[("BOXOFFICE_LOG", "log.level")];

pub(crate) const FILE_KEY_SUFFIX: &str = "_file";
pub(crate) const FILE_ENV_SUFFIX: &str = "_FILE";

pub(crate) struct Key {
    /// Dotted TOML path, e.g. `jobs.workers`.
    pub path: &'static str,
    pub meaning: &'static str,
    pub secret: fn() -> bool,
    pub set_text: fn(&mut Config, &str) -> Result<(), &'static str>,
    pub set_toml: fn(&mut Config, &TomlValue<'_>) -> Result<(), String>,
    pub render: fn(&Config) -> Option<toml::Value>,
}

impl Key {
    pub fn is_secret(&self) -> bool {
        (self.secret)()
    }

    pub fn env_var(&self) -> String {
        format!(
            "{ENV_PREFIX}{}",
            self.path.replace('.', "__").to_ascii_uppercase()
        )
    }

    pub fn file_env_var(&self) -> Option<String> {
        self.is_secret()
            .then(|| format!("{}{FILE_ENV_SUFFIX}", self.env_var()))
    }

    pub fn file_key(&self) -> Option<String> {
        self.is_secret()
            .then(|| format!("{}{FILE_KEY_SUFFIX}", self.path))
    }

    pub fn aliases(&self) -> impl Iterator<Item = &'static str> {
        let path = self.path;
        ENV_ALIASES
            .iter()
            .filter(move |(_, target)| *target == path)
            .map(|(alias, _)| *alias)
    }
}

/// The path is spelled once, as the field access itself, so it cannot drift from the struct.
macro_rules! declare_keys {
    ($($first:ident $(. $rest:ident)* : $meaning:literal,)*) => {
        pub(crate) const KEYS: &[Key] = &[$(
            Key {
                path: concat!(stringify!($first) $(, ".", stringify!($rest))*),
                meaning: $meaning,
                secret: || setting::is_secret(|c: &Config| &c.$first $(.$rest)*),
                set_text: |c, text| setting::assign_text(&mut c.$first $(.$rest)*, text),
                set_toml: |c, value| setting::assign_toml(&mut c.$first $(.$rest)*, value),
                render: |c| Setting::to_toml(&c.$first $(.$rest)*),
            },
        )*];
    };
}

declare_keys! {
    listen: "IP address and port the web server binds to.",
    data_dir: "Directory for boxoffice's own files: the default SQLite database, the generated secret key and the instance identity (`instance`, locked by the running `serve`).",
    database_url: "Database URL (`sqlite:` or `postgres://`). Unset: `sqlite://{data_dir}/boxoffice.db?mode=rwc`.",
    secret_key: "Standard or URL-safe base64 of a 32-byte key that encrypts the secrets boxoffice stores (service tokens, API keys, passwords, TOTP secrets). Unset: generated into `data_dir` on first start.",
    public_url: "Address users reach boxoffice at, starting with `http://` or `https://`; used for links. A trailing `/` is dropped.",
    plex_tv_url: "Base URL of the plex.tv API. Unset: `https://plex.tv`. Set it only to point at a stand-in such as the fake plex.tv of `boxoffice sandbox` or `demo`: Plex account tokens are sent there.",
    demo: "Marks the data as belonging to `boxoffice demo`'s fake services; every page shows the demo banner. Written into the demo's `demo.toml`.",
    log.level: "Log filter: a level (`error`, `warn`, `info`, `debug`, `trace`) or directives such as `info,boxoffice=debug`.",
    log.format: "Log line format: `text` or `json`.",
    database.max_connections: "Upper bound of the connection pool, at least 1. Unset: the driver's default.",
    database.connect_timeout_secs: "Seconds to wait for a database connection.",
    jobs.workers: "Background job workers in this process, 1 to 64.",
    jobs.lease_secs: "Seconds a worker holds a job before another worker may take it over.",
    jobs.poll_interval_ms: "Milliseconds between polls for due jobs while idle.",
    jobs.scheduler: "Whether this instance enqueues recurring jobs when they fall due.",
    jobs.run: "Whether this instance runs job workers at all.",
    web.secure_cookies: "Give cookies the `Secure` attribute. Unset: on when `public_url` starts with `https://`.",
    web.trust_forwarded_for: "Take the client address from `X-Forwarded-For` whoever sends it; prefer `web.trusted_proxies`.",
    web.trusted_proxies: "Reverse proxies whose `X-Forwarded-For`, `X-Forwarded-Proto`, `X-Forwarded-Host` and `Forwarded` headers are believed: IP addresses or CIDR ranges separated by commas, e.g. `127.0.0.1, 10.0.0.0/8`. Unset: none.",
    web.request_timeout_secs: "Seconds before a request is aborted.",
    web.max_body_bytes: "Largest accepted request body, in bytes.",
    passwords.concurrency: "Password hashes (argon2id, 19 MiB each) computed at once, at least 1. Unset: the number of CPUs.",
    passwords.queue: "Password checks that may wait for a free slot; beyond them a login is answered 503 with `Retry-After`. Unset: 4 per slot.",
    metrics.token: "Bearer token `/metrics` requires (`Authorization: Bearer …`). Unset: no token is asked for.",
    metrics.listen: "Serve `/metrics` on this separate IP address and port only, not on `listen`. Unset: on `listen`.",
}

pub(crate) fn find(path: &str) -> Option<&'static Key> {
    KEYS.iter().find(|key| key.path == path)
}

/// Whether `path` is a table that holds keys, such as `jobs`.
pub(crate) fn is_section(path: &str) -> bool {
    KEYS.iter().any(|key| {
        key.path
            .strip_prefix(path)
            .is_some_and(|rest| rest.starts_with('.'))
    })
}

/// Every name a TOML file may use, sections included, for "did you mean" hints.
pub(crate) fn toml_names() -> Vec<String> {
    let mut names = Vec::new();
    for key in KEYS {
        names.push(key.path.to_owned());
        names.extend(key.file_key());
        if let Some((section, _)) = key.path.rsplit_once('.')
            && !names.iter().any(|n| n == section)
        {
            names.push(section.to_owned());
        }
    }
    names
}

/// Every `BOXOFFICE_*` variable that is read or deliberately left to the binary.
pub fn known_env_vars() -> Vec<String> {
    let mut names: Vec<String> = KEYS
        .iter()
        .flat_map(|key| {
            let mut forms = vec![key.env_var()];
            forms.extend(key.file_env_var());
            forms.extend(key.aliases().map(str::to_owned));
            forms
        })
        .collect();
    names.extend(RESERVED_ENV_VARS.iter().map(|name| (*name).to_owned()));
    names
}
