use crate::config::Config;
use crate::error::{ConfigError, Problem};
use crate::origin::{Origin, Origins};
use crate::secret_key::{self, SECRET_KEY_LEN};

const WORKERS: std::ops::RangeInclusive<u32> = 1..=64;

/// Checks the merged configuration. All problems are reported at once so that `config check`
/// does not make the operator fix them one run at a time.
pub(crate) fn check(config: &mut Config, origins: &Origins) -> Result<(), ConfigError> {
    let mut problems = Vec::new();
    let mut fail = |key: &'static str, message: String| {
        let origin = origins.get(key).cloned().unwrap_or(Origin::Default);
        problems.push(Problem {
            key,
            origin,
            message,
        });
    };

    if config.data_dir.as_os_str().is_empty() {
        fail("data_dir", "must not be empty".to_owned());
    }
    if let Some(url) = &config.database_url {
        let url = url.expose();
        // The value is never quoted back: it may hold a password.
        if !["sqlite:", "postgres://", "postgresql://"]
            .iter()
            .any(|scheme| url.starts_with(scheme))
        {
            fail(
                "database_url",
                "must start with sqlite:, postgres:// or postgresql://".to_owned(),
            );
        }
    }
    if let Some(key) = &config.secret_key
        && secret_key::decode(key).is_err()
    {
        fail(
            "secret_key",
            format!("must be the base64 encoding of exactly {SECRET_KEY_LEN} bytes"),
        );
    }
    if let Some(url) = &mut config.public_url {
        // Links are built as public_url + "/path"; a trailing slash would double it.
        let trimmed_len = url.trim_end_matches('/').len();
        url.truncate(trimmed_len);
        let host = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"));
        match host {
            None => fail(
                "public_url",
                format!("must start with http:// or https://, got {url:?}"),
            ),
            Some(host) if host.is_empty() || host.contains(char::is_whitespace) => {
                fail(
                    "public_url",
                    format!("must be a URL such as https://tv.example.com, got {url:?}"),
                );
            }
            Some(_) => {}
        }
    }
    if let Some(url) = &mut config.plex_tv_url {
        let trimmed_len = url.trim_end_matches('/').len();
        url.truncate(trimmed_len);
        let host = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"));
        if host.is_none_or(|h| h.is_empty() || h.contains(char::is_whitespace)) {
            fail(
                "plex_tv_url",
                format!("must be a URL such as http://127.0.0.1:32401, got {url:?}"),
            );
        }
    }
    if config.log.level.trim().is_empty() {
        fail(
            "log.level",
            "must not be empty; use a level such as info".to_owned(),
        );
    }
    if config.passwords.concurrency == Some(0) {
        fail("passwords.concurrency", "must be at least 1".to_owned());
    }
    if config
        .metrics
        .token
        .as_ref()
        .is_some_and(|t| t.expose().trim().is_empty())
    {
        fail(
            "metrics.token",
            "must not be empty; leave it unset to ask for no token".to_owned(),
        );
    }
    if config.metrics.listen.is_some() && config.metrics.listen == Some(config.listen) {
        fail(
            "metrics.listen",
            "must differ from listen; leave it unset to serve /metrics there".to_owned(),
        );
    }
    if config.database.max_connections == Some(0) {
        fail("database.max_connections", "must be at least 1".to_owned());
    }
    if !WORKERS.contains(&config.jobs.workers) {
        fail(
            "jobs.workers",
            format!(
                "must be from {} to {}, got {}",
                WORKERS.start(),
                WORKERS.end(),
                config.jobs.workers
            ),
        );
    }
    // Zero here means a busy loop, an instant timeout or no request ever fitting.
    let positive = [
        (
            "database.connect_timeout_secs",
            config.database.connect_timeout_secs,
        ),
        ("jobs.lease_secs", config.jobs.lease_secs),
        ("jobs.poll_interval_ms", config.jobs.poll_interval_ms),
        ("web.request_timeout_secs", config.web.request_timeout_secs),
        ("web.max_body_bytes", config.web.max_body_bytes),
    ];
    for (key, value) in positive {
        if value == 0 {
            fail(key, "must be greater than 0".to_owned());
        }
    }

    if problems.is_empty() {
        Ok(())
    } else {
        Err(ConfigError::Invalid(problems))
    }
}
