//! The logo and the wallpaper an owner uploads, kept as files in `<data dir>/uploads`. Each is
//! checked before it replaces the current one, and written to a temporary file first and renamed,
//! so a page never serves half a file.
//!
//! The logo follows the reference's rules (product §8.1, §8.12): a PNG with a transparent
//! background, under 5 MB, 64 to 250 pixels wide and at most 64 tall. The wallpaper is a PNG, JPEG
//! or WebP image under 5 MB.

use crate::audit::Actor;
use crate::{App, AppError};
use std::path::{Path, PathBuf};

/// Files under 5 MB (5,242,880 bytes) are accepted.
pub const MAX_UPLOAD_BYTES: usize = 5 * 1024 * 1024;
const LOGO: &str = "logo.png";
const WALLPAPER: &str = "wallpaper";

/// Where uploads live; `None` (an `App` built without a data directory) refuses uploads.
#[derive(Clone, Debug, Default)]
pub struct UploadDir(Option<PathBuf>);

impl UploadDir {
    pub fn new(dir: PathBuf) -> Self {
        Self(Some(dir))
    }

    fn file(&self, name: &str) -> Option<PathBuf> {
        self.0.as_ref().map(|d| d.join(name))
    }

    /// The file's modification time in seconds, as a version for its address; `None` when
    /// there is no such upload.
    fn version(&self, name: &str) -> Option<u64> {
        let meta = std::fs::metadata(self.file(name)?).ok()?;
        let t = meta.modified().ok()?;
        t.duration_since(std::time::UNIX_EPOCH)
            .ok()
            .map(|d| d.as_secs() ^ meta.len())
    }
}

/// One stored upload as the web layer serves it.
pub struct Upload {
    pub bytes: Vec<u8>,
    pub content_type: &'static str,
}

/// A PNG's width, height and whether it can be transparent (an alpha channel or a `tRNS` chunk).
fn png_facts(b: &[u8]) -> Option<(u32, u32, bool)> {
    const SIG: &[u8] = b"\x89PNG\r\n\x1a\n";
    if b.len() < 33 || !b.starts_with(SIG) || &b[12..16] != b"IHDR" {
        return None;
    }
    let be = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    let (w, h, colour_type) = (be(16), be(20), b[25]);
    let mut alpha = matches!(colour_type, 4 | 6);
    // Walk the chunks up to the image data for a transparency chunk.
    let mut i = 8;
    while !alpha && i + 8 <= b.len() {
        let len = be(i) as usize;
        let kind = &b[i + 4..i + 8];
        if kind == b"tRNS" {
            alpha = true;
        }
        if kind == b"IDAT" || kind == b"IEND" {
            break;
        }
        i = i.saturating_add(12).saturating_add(len);
    }
    Some((w, h, alpha))
}

/// Checks a logo against the rules and says which one it breaks.
pub fn check_logo(b: &[u8]) -> Result<(), String> {
    if b.is_empty() {
        return Err("choose a PNG file to upload".into());
    }
    if b.len() >= MAX_UPLOAD_BYTES {
        return Err(format!(
            "the file is {:.1} MB; a logo must be under 5 MB",
            b.len() as f64 / 1_048_576.0
        ));
    }
    let Some((w, h, alpha)) = png_facts(b) else {
        return Err("the file is not a PNG image; save the logo as PNG".into());
    };
    if !(64..=250).contains(&w) {
        return Err(format!(
            "the logo is {w} pixels wide; it must be 64 to 250 pixels wide"
        ));
    }
    if h == 0 || h > 64 {
        return Err(format!(
            "the logo is {h} pixels tall; it must be at most 64 pixels tall"
        ));
    }
    if !alpha {
        return Err(
            "the logo has no transparency; save it as a PNG with a transparent background".into(),
        );
    }
    Ok(())
}

/// The image type of a wallpaper from its first bytes.
pub fn image_type(b: &[u8]) -> Option<&'static str> {
    if b.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if b.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if b.len() >= 12 && &b[..4] == b"RIFF" && &b[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

pub fn check_wallpaper(b: &[u8]) -> Result<&'static str, String> {
    if b.is_empty() {
        return Err("choose an image file to upload".into());
    }
    if b.len() >= MAX_UPLOAD_BYTES {
        return Err(format!(
            "the file is {:.1} MB; a wallpaper must be under 5 MB",
            b.len() as f64 / 1_048_576.0
        ));
    }
    image_type(b).ok_or_else(|| "the file is not a PNG, JPEG or WebP image".to_string())
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("uploading");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

fn io_error(what: &str, e: std::io::Error) -> AppError {
    AppError::Internal(format!(
        "cannot store the {what} in the data directory: {e}"
    ))
}

impl App {
    /// The logo's version (for its address) when one is uploaded.
    pub fn logo_version(&self) -> Option<u64> {
        self.uploads.version(LOGO)
    }

    pub fn wallpaper_version(&self) -> Option<u64> {
        self.uploads.version(WALLPAPER)
    }

    /// Replaces the logo after checking it; the old one stays when the new one is refused.
    pub async fn upload_logo(&self, actor: &Actor, bytes: &[u8]) -> Result<(), AppError> {
        check_logo(bytes).map_err(|m| AppError::invalid("logo", format!("Logo: {m}")))?;
        self.store_upload(actor, LOGO, "logo", bytes).await
    }

    pub async fn upload_wallpaper(&self, actor: &Actor, bytes: &[u8]) -> Result<(), AppError> {
        check_wallpaper(bytes)
            .map_err(|m| AppError::invalid("wallpaper", format!("Wallpaper: {m}")))?;
        self.store_upload(actor, WALLPAPER, "wallpaper", bytes)
            .await
    }

    async fn store_upload(
        &self,
        actor: &Actor,
        name: &str,
        what: &str,
        bytes: &[u8],
    ) -> Result<(), AppError> {
        let path = self
            .uploads
            .file(name)
            .ok_or_else(|| AppError::Internal("no data directory for uploads".into()))?;
        let data = bytes.to_vec();
        tokio::task::spawn_blocking(move || write_atomically(&path, &data))
            .await
            .map_err(|e| AppError::Internal(e.to_string()))?
            .map_err(|e| io_error(what, e))?;
        let mut tx = self.db.begin().await?;
        self.audit(
            tx.ex(),
            actor,
            &format!("content.{what}_upload"),
            what,
            &format!("{} bytes", bytes.len()),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Removes the logo (`"logo"`) or the wallpaper (`"wallpaper"`); the design's own shows again.
    pub async fn remove_upload(&self, actor: &Actor, what: &str) -> Result<(), AppError> {
        let name = match what {
            "logo" => LOGO,
            "wallpaper" => WALLPAPER,
            _ => return Err(AppError::NotFound("upload")),
        };
        if let Some(path) = self.uploads.file(name) {
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
                Err(e) => return Err(io_error(what, e)),
            }
        }
        let mut tx = self.db.begin().await?;
        self.audit(tx.ex(), actor, &format!("content.{what}_remove"), what, "")
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The stored logo (`"logo"`) or wallpaper (`"wallpaper"`) with its content type.
    pub async fn upload(&self, what: &str) -> Result<Upload, AppError> {
        let name = match what {
            "logo" => LOGO,
            "wallpaper" => WALLPAPER,
            _ => return Err(AppError::NotFound("upload")),
        };
        let path = self
            .uploads
            .file(name)
            .ok_or(AppError::NotFound("upload"))?;
        let bytes = match tokio::fs::read(&path).await {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(AppError::NotFound("upload"));
            }
            Err(e) => return Err(io_error(what, e)),
        };
        let content_type = image_type(&bytes).ok_or(AppError::NotFound("upload"))?;
        Ok(Upload {
            bytes,
            content_type,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A PNG header (signature and IHDR) of the given size and colour type, with an optional
    /// tRNS chunk; enough for the checks, which read no pixels.
    pub fn png(w: u32, h: u32, colour_type: u8, trns: bool) -> Vec<u8> {
        let mut b = b"\x89PNG\r\n\x1a\n".to_vec();
        b.extend_from_slice(&13u32.to_be_bytes());
        b.extend_from_slice(b"IHDR");
        b.extend_from_slice(&w.to_be_bytes());
        b.extend_from_slice(&h.to_be_bytes());
        b.extend_from_slice(&[8, colour_type, 0, 0, 0]);
        b.extend_from_slice(&[0, 0, 0, 0]);
        if trns {
            b.extend_from_slice(&2u32.to_be_bytes());
            b.extend_from_slice(b"tRNS");
            b.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
        }
        b.extend_from_slice(&0u32.to_be_bytes());
        b.extend_from_slice(b"IEND");
        b.extend_from_slice(&[0xAE, 0x42, 0x60, 0x82]);
        b
    }

    #[test]
    fn a_logo_follows_the_size_and_transparency_rules() {
        assert_eq!(check_logo(&png(200, 64, 6, false)), Ok(()));
        assert_eq!(check_logo(&png(64, 1, 4, false)), Ok(()));
        assert_eq!(check_logo(&png(250, 40, 3, true)), Ok(()));
        let err = |b: Vec<u8>| check_logo(&b).expect_err("refused");
        assert!(err(png(63, 40, 6, false)).contains("63 pixels wide"));
        assert!(err(png(251, 40, 6, false)).contains("64 to 250 pixels wide"));
        assert!(err(png(200, 65, 6, false)).contains("at most 64 pixels tall"));
        assert!(err(png(200, 64, 2, false)).contains("transparent background"));
        assert!(err(b"GIF89a....".to_vec()).contains("not a PNG"));
        let mut big = png(200, 64, 6, false);
        big.resize(MAX_UPLOAD_BYTES, 0);
        assert!(err(big).contains("under 5 MB"));
    }

    #[test]
    fn a_wallpaper_is_a_png_jpeg_or_webp() {
        assert_eq!(check_wallpaper(&png(1920, 1080, 2, false)), Ok("image/png"));
        assert_eq!(
            check_wallpaper(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0]),
            Ok("image/jpeg")
        );
        assert_eq!(check_wallpaper(b"RIFF\0\0\0\0WEBPVP8 "), Ok("image/webp"));
        assert!(check_wallpaper(b"<svg onload=alert(1)>").is_err());
    }
}
