use crate::origin::Origin;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// Why the configuration could not be loaded. Every message names the file, variable or flag
/// to fix, and none of them contains a secret's value.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config file {} not found", path.display())]
    FileMissing { path: PathBuf },

    #[error("cannot read config file {}: {source}", path.display())]
    FileUnreadable { path: PathBuf, source: io::Error },

    /// A syntax error, a value of the wrong type or an unknown key in the TOML file.
    #[error("{}", file_message(path, *line, key.as_deref(), message))]
    File {
        path: PathBuf,
        line: Option<usize>,
        key: Option<String>,
        message: String,
    },

    /// `value` is already redacted when the variable holds a secret.
    #[error("{var}={value:?}: expected {expected}")]
    EnvValue {
        var: String,
        value: String,
        expected: &'static str,
    },

    #[error("{flag} {value:?}: expected {expected}")]
    FlagValue {
        flag: &'static str,
        value: String,
        expected: &'static str,
    },

    #[error("{name}: cannot read {}: {source}", path.display())]
    SecretFile {
        name: String,
        path: PathBuf,
        source: io::Error,
    },

    #[error("{name}: {} is empty", path.display())]
    EmptySecretFile { name: String, path: PathBuf },

    #[error("both {first} and {second} are set; set only one of them")]
    Conflict { first: String, second: String },

    #[error("invalid configuration: {}", list(.0))]
    Invalid(Vec<Problem>),
}

/// One failed check on the merged configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub key: &'static str,
    pub origin: Origin,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.message)?;
        if self.origin != Origin::Default {
            write!(f, " (from {})", self.origin)?;
        }
        Ok(())
    }
}

fn file_message(path: &Path, line: Option<usize>, key: Option<&str>, message: &str) -> String {
    let mut text = path.display().to_string();
    if let Some(line) = line {
        text.push_str(&format!(" line {line}"));
    }
    text.push_str(": ");
    if let Some(key) = key {
        text.push_str(key);
        text.push_str(": ");
    }
    text.push_str(message);
    text
}

fn list(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(Problem::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}
