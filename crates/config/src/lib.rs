//! Loads the process configuration of the `boxoffice` binary: call [`load`] with [`Sources`]
//! (usually built by [`Sources::for_process`]) and get a validated [`Config`] back. The text
//! below is CONFIG.md, shared with the README; its table is checked against the code by a test.
//!
#![doc = include_str!("../CONFIG.md")]

mod config;
mod env_layer;
mod error;
mod file_layer;
mod keys;
mod load;
mod origin;
mod overrides;
mod reference;
mod render;
mod secret;
mod secret_file;
mod secret_key;
mod setting;
mod sources;
mod suggest;
mod validate;

pub use config::{
    Config, DatabaseConfig, JobsConfig, LogConfig, LogFormat, MetricsConfig, PasswordsConfig,
    WebConfig,
};
pub use error::{ConfigError, Problem};
pub use keys::{CONFIG_ENV_VAR, ENV_PREFIX, RESERVED_ENV_VARS, known_env_vars};
pub use load::{DEFAULT_FILE, Loaded, load};
pub use origin::{Origin, Origins};
pub use overrides::Overrides;
pub use reference::reference_table;
pub use secret::{REDACTED, Secret};
pub use secret_key::{InvalidSecretKey, SECRET_KEY_LEN};
pub use sources::Sources;
