use crate::config::Config;
use crate::error::ConfigError;
use crate::origin::{Origin, Origins};
use crate::secret::Secret;
use crate::setting::Setting;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Values from command-line flags, the highest layer. `None` leaves the lower layers' value.
#[derive(Clone, Default)]
pub struct Overrides {
    /// `--listen`, parsed like `listen`.
    pub listen: Option<String>,
    /// `--data-dir`.
    pub data_dir: Option<PathBuf>,
    /// `--database-url`.
    pub database_url: Option<String>,
}

pub(crate) fn apply(
    overrides: Overrides,
    config: &mut Config,
    origins: &mut Origins,
) -> Result<(), ConfigError> {
    if let Some(text) = overrides.listen {
        let flag = "--listen";
        config.listen = SocketAddr::from_text(&text).ok_or(ConfigError::FlagValue {
            flag,
            value: text,
            expected: SocketAddr::EXPECTED,
        })?;
        origins.insert("listen", Origin::Flag(flag));
    }
    if let Some(path) = overrides.data_dir {
        config.data_dir = path;
        origins.insert("data_dir", Origin::Flag("--data-dir"));
    }
    if let Some(url) = overrides.database_url {
        config.database_url = Some(Secret::new(url));
        origins.insert("database_url", Origin::Flag("--database-url"));
    }
    Ok(())
}
