//! The `BOXOFFICE_*` environment layer. The environment is handed in rather than read here so
//! that tests, and anything embedding the loader, never depend on the process environment.

use crate::config::Config;
use crate::error::ConfigError;
use crate::keys::{self, ENV_PREFIX, FILE_ENV_SUFFIX, KEYS, Key, RESERVED_ENV_VARS};
use crate::origin::{Origin, Origins};
use crate::secret::REDACTED;
use crate::secret_file;
use crate::suggest;
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Clone, Copy)]
enum Form {
    Value,
    File,
}

#[derive(Clone, Copy)]
struct Target {
    key: &'static Key,
    form: Form,
}

fn targets() -> BTreeMap<String, Target> {
    let mut targets = BTreeMap::new();
    for key in KEYS {
        targets.insert(
            key.env_var(),
            Target {
                key,
                form: Form::Value,
            },
        );
        for alias in key.aliases() {
            targets.insert(
                alias.to_owned(),
                Target {
                    key,
                    form: Form::Value,
                },
            );
        }
        if let Some(name) = key.file_env_var() {
            targets.insert(
                name,
                Target {
                    key,
                    form: Form::File,
                },
            );
        }
    }
    targets
}

pub(crate) fn apply(
    env: &[(String, String)],
    config: &mut Config,
    origins: &mut Origins,
    warnings: &mut Vec<String>,
) -> Result<(), ConfigError> {
    let targets = targets();
    // A map, so a name given twice behaves like a real environment: the last one counts.
    let ours: BTreeMap<&str, &str> = env
        .iter()
        .filter(|(name, _)| name.starts_with(ENV_PREFIX))
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();

    let mut by_key: BTreeMap<&'static str, Vec<(&str, Target, &str)>> = BTreeMap::new();
    for (name, value) in ours {
        if RESERVED_ENV_VARS.contains(&name) {
            continue;
        }
        match targets.get(name) {
            None => warnings.push(unknown(name)),
            // Compose files often pass `VAR=` to mean "not set"; treat it that way.
            Some(_) if value.is_empty() => {}
            Some(target) => by_key
                .entry(target.key.path)
                .or_default()
                .push((name, *target, value)),
        }
    }

    for given in by_key.into_values() {
        match given.as_slice() {
            [(name, target, value)] => set(name, *target, value, config, origins)?,
            [(first, ..), (second, ..), ..] => {
                return Err(ConfigError::Conflict {
                    first: (*first).to_owned(),
                    second: (*second).to_owned(),
                });
            }
            [] => {}
        }
    }
    Ok(())
}

fn set(
    name: &str,
    target: Target,
    value: &str,
    config: &mut Config,
    origins: &mut Origins,
) -> Result<(), ConfigError> {
    let key = target.key;
    let text = match target.form {
        Form::Value => value.to_owned(),
        Form::File => secret_file::read(name, Path::new(value))?,
    };
    (key.set_text)(config, &text).map_err(|expected| ConfigError::EnvValue {
        var: name.to_owned(),
        value: if key.is_secret() {
            REDACTED.to_owned()
        } else {
            value.to_owned()
        },
        expected,
    })?;
    origins.insert(key.path, Origin::Env(name.to_owned()));
    Ok(())
}

fn unknown(name: &str) -> String {
    let known = keys::known_env_vars();
    if let Some(stem) = name.strip_suffix(FILE_ENV_SUFFIX)
        && known.iter().any(|k| k == stem)
    {
        return format!(
            "unknown environment variable {name} (only secrets have a {FILE_ENV_SUFFIX} form; set {stem})"
        );
    }
    let suffixes = known
        .iter()
        .filter_map(|known| known.strip_prefix(ENV_PREFIX));
    let suggestion = name
        .strip_prefix(ENV_PREFIX)
        .and_then(|suffix| suggest::closest(suffix, suffixes))
        .map(|suffix| format!("{ENV_PREFIX}{suffix}"));
    format!(
        "unknown environment variable {name}{}",
        suggest::hint(suggestion.as_deref())
    )
}
