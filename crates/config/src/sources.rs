use crate::keys::CONFIG_ENV_VAR;
use crate::overrides::Overrides;
use std::path::PathBuf;

/// Everything [`crate::load`] reads from. No field is read from the process behind the caller's
/// back: production passes `std::env::vars()`, tests pass their own.
#[derive(Clone, Default)]
pub struct Sources {
    /// The TOML file; `None` means `./boxoffice.toml` if it exists.
    pub file: Option<PathBuf>,
    /// Whether a missing file is an error rather than an empty layer.
    pub file_required: bool,
    pub env: Vec<(String, String)>,
    pub overrides: Overrides,
}

impl Sources {
    /// The sources of the `boxoffice` binary: the file named by `--config` or else by
    /// `BOXOFFICE_CONFIG`, which then must exist, as a path someone typed should not be ignored.
    pub fn for_process(
        config_flag: Option<PathBuf>,
        env: Vec<(String, String)>,
        overrides: Overrides,
    ) -> Self {
        let from_env = env
            .iter()
            .rev()
            .find(|(name, value)| name == CONFIG_ENV_VAR && !value.is_empty())
            .map(|(_, value)| PathBuf::from(value));
        let file = config_flag.or(from_env);
        Self {
            file_required: file.is_some(),
            file,
            env,
            overrides,
        }
    }
}
