//! The data directory holds the database and the secret key, so only its owner may enter it.

use std::path::Path;

/// Creates the directory (and missing parents) readable by its owner only (0700 on Unix). An
/// existing directory is left as it is: the owner may have chosen its mode.
pub fn create_private(path: &Path) -> std::io::Result<()> {
    if path.is_dir() {
        return Ok(());
    }
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(path)
}
