//! Plex accounts, media servers, their locations and libraries, and the media self-test.
//!
//! Calls to a media server happen here in two ways only: the explicit "Test" actions (and adding,
//! which tests first), which answer at once with a short timeout, and jobs (library sync,
//! self-test), which the web layer enqueues in the same transaction as the change.

pub mod advice;
pub mod libraries;
pub mod locations;
pub mod plex_accounts;
pub mod public_url;
pub mod self_test;
pub mod server_admin;

/// Job kinds of this module, registered by `boxoffice-jobs`.
pub const SYNC_LIBRARIES_JOB: &str = "servers.sync_libraries";
pub const SELF_TEST_JOB: &str = "selftest.run";
/// Recurring (`jobs.server_sync.*`): refreshes every enabled server and queues its library sync.
pub const SYNC_ALL_JOB: &str = "servers.sync_all";

/// Platforms a server row may have.
pub const PLATFORMS: &[&str] = &["plex", "jellyfin", "emby"];

/// A URL an admin typed: http(s), no spaces, no trailing slash.
pub(crate) fn clean_url(field: &'static str, raw: &str) -> Result<String, crate::AppError> {
    let v = raw.trim().trim_end_matches('/');
    let rest = v
        .strip_prefix("https://")
        .or_else(|| v.strip_prefix("http://"));
    match rest {
        Some(r) if !r.is_empty() && !r.contains(char::is_whitespace) => Ok(v.to_string()),
        _ => Err(crate::AppError::invalid(
            field,
            format!("\"{v}\" is not an http:// or https:// address"),
        )),
    }
}
