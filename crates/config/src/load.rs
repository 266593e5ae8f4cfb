use crate::config::Config;
use crate::error::ConfigError;
use crate::origin::Origins;
use crate::sources::Sources;
use crate::{env_layer, file_layer, overrides, validate};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// Looked for in the working directory when no file is named.
pub const DEFAULT_FILE: &str = "boxoffice.toml";

/// The outcome of [`load`]: the configuration and what the caller should tell the operator.
pub struct Loaded {
    pub config: Config,
    /// Not fatal, but worth logging once at startup (unknown variables, mostly).
    pub warnings: Vec<String>,
    pub file_used: Option<PathBuf>,
    /// Where each key that is not at its default was set.
    pub origins: Origins,
}

/// Merges defaults, the TOML file, the `BOXOFFICE_*` environment and the flag overrides, in
/// rising precedence, then validates the result.
pub fn load(sources: Sources) -> Result<Loaded, ConfigError> {
    load_with_default_file(sources, Path::new(DEFAULT_FILE))
}

fn load_with_default_file(sources: Sources, default_file: &Path) -> Result<Loaded, ConfigError> {
    let Sources {
        file,
        file_required,
        env,
        overrides,
    } = sources;
    let mut config = Config::default();
    let mut origins = Origins::new();
    let mut warnings = Vec::new();

    let path = file.unwrap_or_else(|| default_file.to_owned());
    let file_used = match read_file(&path, file_required)? {
        Some(text) => {
            file_layer::apply(&path, &text, &mut config, &mut origins)?;
            Some(path)
        }
        None => None,
    };
    env_layer::apply(&env, &mut config, &mut origins, &mut warnings)?;
    overrides::apply(overrides, &mut config, &mut origins)?;
    validate::check(&mut config, &origins)?;

    Ok(Loaded {
        config,
        warnings,
        file_used,
        origins,
    })
}

fn read_file(path: &Path, required: bool) -> Result<Option<String>, ConfigError> {
    match fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            if required {
                Err(ConfigError::FileMissing {
                    path: path.to_owned(),
                })
            } else {
                Ok(None)
            }
        }
        Err(source) => Err(ConfigError::FileUnreadable {
            path: path.to_owned(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The working directory is shared by all tests, so the default file is pointed elsewhere.
    #[test]
    fn default_file_is_used_when_present_and_skipped_when_absent() {
        let dir = tempfile::tempdir().unwrap();
        let default_file = dir.path().join(DEFAULT_FILE);

        let loaded = load_with_default_file(Sources::default(), &default_file).unwrap();
        assert_eq!(loaded.file_used, None);

        fs::write(&default_file, "[jobs]\nworkers = 7\n").unwrap();
        let loaded = load_with_default_file(Sources::default(), &default_file).unwrap();
        assert_eq!(loaded.file_used.as_deref(), Some(default_file.as_path()));
        assert_eq!(loaded.config.jobs.workers, 7);
    }

    #[test]
    fn required_default_file_must_exist() {
        let dir = tempfile::tempdir().unwrap();
        let default_file = dir.path().join(DEFAULT_FILE);
        let sources = Sources {
            file_required: true,
            ..Sources::default()
        };
        let error = load_with_default_file(sources, &default_file)
            .err()
            .unwrap();
        assert!(matches!(error, ConfigError::FileMissing { .. }), "{error}");
    }
}
