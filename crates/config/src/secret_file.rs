use crate::error::ConfigError;
use std::fs;
use std::path::Path;

/// Reads a secret given as a file (`database_url_file`, `BOXOFFICE_SECRET_KEY_FILE`, …), the way
/// Docker and systemd credentials hand them over. `name` is how the error refers to the setting.
pub(crate) fn read(name: &str, path: &Path) -> Result<String, ConfigError> {
    let content = fs::read_to_string(path).map_err(|source| ConfigError::SecretFile {
        name: name.to_owned(),
        path: path.to_owned(),
        source,
    })?;
    // Editors and `echo` add a final newline that is never part of the secret.
    let value = content.trim_end_matches(['\n', '\r']);
    if value.is_empty() {
        return Err(ConfigError::EmptySecretFile {
            name: name.to_owned(),
            path: path.to_owned(),
        });
    }
    Ok(value.to_owned())
}
