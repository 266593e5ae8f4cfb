use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

/// Where the effective value of a key came from, so a complaint about it can point there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Default,
    File { path: PathBuf, line: usize },
    Env(String),
    Flag(&'static str),
}

/// Keys absent from the map still have their default value.
pub type Origins = BTreeMap<&'static str, Origin>;

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Default => f.write_str("the default"),
            Self::File { path, line } => write!(f, "{} line {line}", path.display()),
            Self::Env(name) => f.write_str(name),
            Self::Flag(flag) => f.write_str(flag),
        }
    }
}
