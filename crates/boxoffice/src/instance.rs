//! Who this instance is, and proof that it alone runs on its data directory.
//!
//! The file `<data_dir>/instance` holds the instance's identity, a random id written on first
//! start and kept from then on. While the process runs it holds an exclusive advisory lock on
//! that file; a second process on the same data directory cannot take it and refuses to start.
//! The operating system drops the lock when the process ends, however it ends (`kill -9`
//! included), so a start that takes the lock knows the previous process of this identity is
//! gone, and can hand back at once every job lease it still held.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

pub const FILE_NAME: &str = "instance";

#[derive(Debug, thiserror::Error)]
pub enum InstanceError {
    #[error(
        "another boxoffice process is running on the data directory {dir} (it holds the lock on {file}). Stop that process first, or give this one a data directory of its own (--data-dir or BOXOFFICE_DATA_DIR)."
    )]
    InUse { dir: String, file: String },
    #[error("cannot use the data directory {dir}: {source}")]
    Io { dir: String, source: std::io::Error },
}

/// The locked identity file. Dropping it (or the process ending) releases the lock.
#[derive(Debug)]
pub struct InstanceLock {
    id: String,
    path: PathBuf,
    _file: File,
}

impl InstanceLock {
    /// Takes the data directory's lock and reads (or, the first time, writes) its identity.
    /// Fails at once, without waiting, when another process holds the lock.
    pub fn acquire(data_dir: &Path) -> Result<Self, InstanceError> {
        let io = |source| InstanceError::Io {
            dir: data_dir.display().to_string(),
            source,
        };
        crate::data_dir::create_private(data_dir).map_err(io)?;
        let path = data_dir.join(FILE_NAME);
        let mut opts = OpenOptions::new();
        opts.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut file = opts.open(&path).map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(InstanceError::InUse {
                    dir: data_dir.display().to_string(),
                    file: path.display().to_string(),
                });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        let mut held = String::new();
        file.read_to_string(&mut held).map_err(io)?;
        let id = match held.trim() {
            s if is_valid_id(s) => s.to_owned(),
            other => {
                if !other.is_empty() {
                    tracing::warn!(path = %path.display(), "the instance file held no valid id; writing a new one");
                }
                let id = new_id();
                file.set_len(0).map_err(io)?;
                file.seek(SeekFrom::Start(0)).map_err(io)?;
                file.write_all(format!("{id}\n").as_bytes())
                    .and_then(|_| file.sync_all())
                    .map_err(io)?;
                id
            }
        };
        Ok(Self {
            id,
            path,
            _file: file,
        })
    }

    /// The instance's identity: the same at every start on this data directory.
    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Lower-case letters, digits and `-`, 1 to 64 of them: safe inside a lease token and a SQL
/// `LIKE` prefix.
fn is_valid_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn new_id() -> String {
    let mut b = [0u8; 16];
    let _ = getrandom::fill(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir() -> PathBuf {
        let d = std::env::temp_dir().join(format!("boxoffice-instance-{}", new_id()));
        std::fs::create_dir_all(&d).expect("dir");
        d
    }

    #[test]
    fn the_identity_is_kept_from_one_start_to_the_next() {
        let d = dir();
        let first = InstanceLock::acquire(&d)
            .expect("first start")
            .id()
            .to_owned();
        let second = InstanceLock::acquire(&d)
            .expect("second start")
            .id()
            .to_owned();
        assert_eq!(first, second);
        assert_eq!(first.len(), 32);
    }

    #[test]
    fn a_second_holder_of_the_data_directory_is_refused_until_the_first_lets_go() {
        let d = dir();
        let held = InstanceLock::acquire(&d).expect("first");
        let err = InstanceLock::acquire(&d).expect_err("the directory is in use");
        assert!(matches!(err, InstanceError::InUse { .. }), "{err}");
        assert!(
            err.to_string().contains("another boxoffice process"),
            "{err}"
        );
        drop(held);
        InstanceLock::acquire(&d).expect("free again");
    }

    #[test]
    fn an_instance_file_edited_into_nonsense_gets_a_fresh_identity() {
        let d = dir();
        std::fs::write(d.join(FILE_NAME), "not an id!\n").expect("write");
        let lock = InstanceLock::acquire(&d).expect("start");
        assert!(is_valid_id(lock.id()));
        assert_eq!(
            std::fs::read_to_string(d.join(FILE_NAME))
                .expect("read")
                .trim(),
            lock.id()
        );
    }
}
