use boxoffice_config::{ConfigError, Loaded, Overrides, Sources, load};
use std::fs;
use std::path::PathBuf;
use tempfile::TempDir;

/// A scratch directory for config and secret files; `file` never exists unless written, so
/// tests do not pick up a `boxoffice.toml` from the working directory.
pub struct Scratch {
    pub dir: TempDir,
}

impl Scratch {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn write(&self, name: &str, content: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        fs::write(&path, content).unwrap();
        path
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("boxoffice.toml")
    }

    pub fn sources(&self, toml: Option<&str>, env: &[(&str, &str)]) -> Sources {
        if let Some(text) = toml {
            self.write("boxoffice.toml", text);
        }
        Sources {
            file: Some(self.config_path()),
            file_required: false,
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            overrides: Overrides::default(),
        }
    }

    pub fn load(&self, toml: Option<&str>, env: &[(&str, &str)]) -> Loaded {
        match load(self.sources(toml, env)) {
            Ok(loaded) => loaded,
            Err(error) => panic!("load failed: {error}"),
        }
    }

    pub fn fail(&self, toml: Option<&str>, env: &[(&str, &str)]) -> ConfigError {
        match load(self.sources(toml, env)) {
            Ok(_) => panic!("load succeeded but should have failed"),
            Err(error) => error,
        }
    }

    /// The path as error messages print it.
    pub fn shown(&self) -> String {
        self.config_path().display().to_string()
    }
}
