//! The TOML file layer. The document is walked key by key against [`crate::keys`] instead of
//! being deserialized into a struct, so every error can carry the line and the dotted key.

use crate::config::Config;
use crate::error::ConfigError;
use crate::keys::{self, FILE_KEY_SUFFIX, Key};
use crate::origin::{Origin, Origins};
use crate::secret_file;
use crate::setting::TomlValue;
use crate::suggest;
use std::ops::Range;
use std::path::{Path, PathBuf};
use toml::de::{DeTable, DeValue};

pub(crate) fn apply(
    path: &Path,
    text: &str,
    config: &mut Config,
    origins: &mut Origins,
) -> Result<(), ConfigError> {
    let layer = FileLayer { path, text };
    let document = DeTable::parse(text).map_err(|error| {
        let line = error.span().map(|span| layer.line(&span));
        layer.error(
            line,
            line.and_then(|line| key_on_line(text, line)),
            error.message(),
        )
    })?;
    layer.walk("", document.get_ref(), config, origins)
}

struct FileLayer<'a> {
    path: &'a Path,
    text: &'a str,
}

impl FileLayer<'_> {
    fn walk(
        &self,
        prefix: &str,
        table: &DeTable<'_>,
        config: &mut Config,
        origins: &mut Origins,
    ) -> Result<(), ConfigError> {
        let mut entries: Vec<_> = table.iter().collect();
        // The map is ordered by name; report problems in the order a reader meets them.
        entries.sort_by_key(|(name, _)| name.span().start);
        let names: Vec<&str> = entries
            .iter()
            .map(|(name, _)| name.get_ref().as_ref())
            .collect();

        for (name, value) in entries {
            let local = name.get_ref().as_ref();
            let full = if prefix.is_empty() {
                local.to_owned()
            } else {
                format!("{prefix}.{local}")
            };
            let line = self.line(&value.span());

            if let Some(key) = keys::find(&full) {
                if let Some(file_key) = key.file_key() {
                    self.reject_both(line, &full, &file_key, &names)?;
                }
                (key.set_toml)(config, value)
                    .map_err(|message| self.error(Some(line), Some(full), &message))?;
                origins.insert(key.path, self.origin(line));
            } else if let Some(key) = secret_behind_file_key(&full) {
                self.reject_both(line, key.path, &full, &names)?;
                let secret_path = self.path_value(line, &full, value)?;
                let label = format!("{full} ({} line {line})", self.path.display());
                let secret = secret_file::read(&label, &secret_path)?;
                (key.set_text)(config, &secret)
                    .map_err(|expected| self.error(Some(line), Some(full), expected))?;
                origins.insert(key.path, self.origin(line));
            } else if keys::is_section(&full) {
                match value.get_ref() {
                    DeValue::Table(inner) => self.walk(&full, inner, config, origins)?,
                    other => {
                        let message =
                            format!("invalid type: {}, expected a table", other.type_str());
                        return Err(self.error(Some(line), Some(full), &message));
                    }
                }
            } else {
                let names = keys::toml_names();
                let hint = suggest::hint(suggest::closest(&full, names.iter().map(String::as_str)));
                let line = self.line(&name.span());
                return Err(self.error(Some(line), Some(full), &format!("unknown key{hint}")));
            }
        }
        Ok(())
    }

    /// Both spellings in one table would make the winner depend on the walk order.
    fn reject_both(
        &self,
        line: usize,
        value_key: &str,
        file_key: &str,
        names: &[&str],
    ) -> Result<(), ConfigError> {
        let local = |path: &str| {
            path.rsplit('.')
                .next()
                .map(str::to_owned)
                .unwrap_or_default()
        };
        let (value_local, file_local) = (local(value_key), local(file_key));
        if names.contains(&value_local.as_str()) && names.contains(&file_local.as_str()) {
            let message = format!("both {value_key} and {file_key} are set; set only one of them");
            return Err(self.error(Some(line), None, &message));
        }
        Ok(())
    }

    fn path_value(
        &self,
        line: usize,
        key: &str,
        value: &TomlValue<'_>,
    ) -> Result<PathBuf, ConfigError> {
        match value.get_ref() {
            DeValue::String(text) if !text.is_empty() => Ok(PathBuf::from(text.as_ref())),
            other => {
                let message = format!(
                    "invalid type: {}, expected the path of a file holding the secret",
                    other.type_str()
                );
                Err(self.error(Some(line), Some(key.to_owned()), &message))
            }
        }
    }

    /// 1-based line of a byte offset; counted on bytes so that no span can make it panic.
    fn line(&self, span: &Range<usize>) -> usize {
        let end = span.start.min(self.text.len());
        self.text.as_bytes()[..end]
            .iter()
            .filter(|byte| **byte == b'\n')
            .count()
            + 1
    }

    fn origin(&self, line: usize) -> Origin {
        Origin::File {
            path: self.path.to_owned(),
            line,
        }
    }

    fn error(&self, line: Option<usize>, key: Option<String>, message: &str) -> ConfigError {
        ConfigError::File {
            path: self.path.to_owned(),
            line,
            key,
            message: message.to_owned(),
        }
    }
}

fn secret_behind_file_key(full: &str) -> Option<&'static Key> {
    full.strip_suffix(FILE_KEY_SUFFIX)
        .and_then(keys::find)
        .filter(|key| key.is_secret())
}

/// The parser reports where a syntax error is, not which key it belongs to; reading the line and
/// the last table header before it recovers that for the usual `key = value` layout.
fn key_on_line(text: &str, line: usize) -> Option<String> {
    let mut section = String::new();
    for (index, raw) in text.lines().enumerate() {
        let trimmed = raw.trim();
        let header = trimmed
            .trim_start_matches('[')
            .split(']')
            .next()
            .unwrap_or_default()
            .trim();
        if index + 1 == line {
            if trimmed.starts_with('[') {
                return (!header.is_empty()).then(|| header.to_owned());
            }
            let (name, _) = trimmed.split_once('=')?;
            let name = name.trim().trim_matches(['"', '\'']);
            if name.is_empty() {
                return None;
            }
            return Some(if section.is_empty() {
                name.to_owned()
            } else {
                format!("{section}.{name}")
            });
        }
        if trimmed.starts_with('[') {
            section = header.to_owned();
        }
    }
    None
}
