//! Reading an uploaded file without holding more of it than the most that will be accepted.

use axum::extract::multipart::{Field, MultipartError};
use axum::http::StatusCode;

pub enum Capped {
    Within(Vec<u8>),
    /// Larger than the cap (or than the body limit of the route): the rest was not read, and
    /// the caller must read no further fields.
    TooLarge,
}

/// The field's bytes if they fit in `cap`, so an oversized file is refused with the file-size
/// message rather than a body-limit error.
pub async fn read_capped(field: &mut Field<'_>, cap: usize) -> Result<Capped, MultipartError> {
    let mut out = Vec::new();
    loop {
        match field.chunk().await {
            Ok(Some(chunk)) => {
                if out.len() + chunk.len() > cap {
                    return Ok(Capped::TooLarge);
                }
                out.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(Capped::Within(out)),
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Ok(Capped::TooLarge),
            Err(e) => return Err(e),
        }
    }
}
