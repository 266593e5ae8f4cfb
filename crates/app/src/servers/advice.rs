//! What an administrator should do about a failed media call, in one line. The error's own
//! message says what happened (operations §5 catalogue); this says where to click.

use boxoffice_media::MediaError;

pub fn advice(e: &MediaError) -> &'static str {
    match e {
        MediaError::Unauthorized { .. } => {
            "The token or API key was refused: paste a fresh one on the account or server page and press Test."
        }
        MediaError::Forbidden { .. } => {
            "The credentials work but lack the right: use the server owner's token or an administrator API key."
        }
        MediaError::NotFound { .. } => {
            "Something boxoffice knows is gone from the server: run a library sync; if the server itself is gone, add it again."
        }
        MediaError::ServerIdentityChanged { .. } => {
            "The server was reinstalled or claimed again: remove it and add it again from its Plex account."
        }
        MediaError::RateLimited { .. } => {
            "plex.tv is throttling this address: wait, and route plex.tv calls through the account's proxy."
        }
        MediaError::Timeout { .. } | MediaError::Unreachable { .. } => {
            "Check that the server is up and that its URL (and any proxy) is reachable from boxoffice."
        }
        MediaError::ServerError { .. } => {
            "The server failed on its side: usually transient. If it stays red, check the media server's log."
        }
        MediaError::Gone { .. } => {
            "The provider retired an endpoint boxoffice uses: update boxoffice."
        }
        MediaError::BadResponse { .. } => {
            "The server answered in a shape boxoffice does not know: check its version, update boxoffice, and report it."
        }
        MediaError::PlexRefused { .. } => {
            "plex.tv refused the change: see the message for which of the four causes applies."
        }
        MediaError::PlexPassRequired { .. } => {
            "Stopping streams needs Plex Pass on the owner's account: check \"Has Plex Pass\"."
        }
        MediaError::InvalidPolicy { .. }
        | MediaError::UserRejected { .. }
        | MediaError::LoginFailed { .. }
        | MediaError::Rejected { .. } => {
            "The server rejected the request: read the message, check the server's settings and version."
        }
        MediaError::Unsupported { .. } => "Nothing to do: the platform has no such operation.",
        MediaError::InvalidInput { .. } => "Fix the value named in the message and try again.",
    }
}
