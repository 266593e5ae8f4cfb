//! The instance key that seals stored secrets. Given by `BOXOFFICE_SECRET_KEY` (or `_FILE`), or
//! generated into `<data_dir>/secret.key` on first start. Losing it makes stored secrets
//! unreadable, so it is written once and never replaced.

use base64::Engine;
use boxoffice_app::crypto::SecretBox;
use std::io::Write;
use std::path::Path;

pub const FILE_NAME: &str = "secret.key";

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot read the secret key {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot write the secret key {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error("the secret key in {path} is not valid: {reason}")]
    Invalid { path: String, reason: String },
}

pub fn load_or_create(data_dir: &Path, given: Option<[u8; 32]>) -> Result<SecretBox, KeyError> {
    if let Some(bytes) = given {
        let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
        return SecretBox::from_base64(&b64).map_err(|e| KeyError::Invalid {
            path: "BOXOFFICE_SECRET_KEY".into(),
            reason: e.to_string(),
        });
    }
    crate::data_dir::create_private(data_dir).map_err(|source| KeyError::DataDir {
        path: data_dir.display().to_string(),
        source,
    })?;
    let path = data_dir.join(FILE_NAME);
    let shown = path.display().to_string();
    match std::fs::read_to_string(&path) {
        Ok(s) => SecretBox::from_base64(s.trim()).map_err(|e| KeyError::Invalid {
            path: shown,
            reason: e.to_string(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = SecretBox::generate_key_base64().map_err(|e| KeyError::Invalid {
                path: shown.clone(),
                reason: e.to_string(),
            })?;
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                opts.mode(0o600);
            }
            // create_new: if another instance wrote the key first, use theirs rather than ours.
            match opts.open(&path) {
                Ok(mut f) => {
                    f.write_all(format!("{key}\n").as_bytes())
                        .and_then(|_| f.sync_all())
                        .map_err(|source| KeyError::Write {
                            path: shown.clone(),
                            source,
                        })?;
                    tracing::info!(path = %shown, "generated a new secret key: back it up with the database");
                    SecretBox::from_base64(&key).map_err(|e| KeyError::Invalid {
                        path: shown,
                        reason: e.to_string(),
                    })
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    load_or_create(data_dir, None)
                }
                Err(source) => Err(KeyError::Write {
                    path: shown,
                    source,
                }),
            }
        }
        Err(source) => Err(KeyError::Read {
            path: shown,
            source,
        }),
    }
}
