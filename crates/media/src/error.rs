//! One error type for every media-server call. Each variant's Display is written for the
//! administrator reading the event log: what failed, the likely cause, what to do. The
//! strings follow the operator error catalogue (operations §5.4–§5.8) so the documented
//! fixes still apply.

use std::time::Duration;

use crate::types::Platform;

/// Why plex.tv refused an invite or share change with HTTP 422 (operations §5.4). Plex
/// gives one status for all of them; we tell them apart by the message text where the
/// body carries one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlexRefusal {
    /// A library id in the request no longer exists on the server.
    LibrariesOutOfDate,
    /// plex.tv does not know the machine id any more (server reinstalled or re-claimed).
    MachineIdChanged,
    /// Friends plus Home users reached Plex's limit for the server.
    ServerFull,
    /// The invitee is already in the owner's Plex Home.
    AlreadyInHome,
    /// The invitee already has a share on this server (ref §1.2 P11/P12).
    AlreadyShared,
    /// No Plex account matches the username given (ref §9.1).
    UnknownUser,
    /// A 422 whose text matched none of the above.
    Other,
}

impl PlexRefusal {
    /// Classify from the error message plex.tv sent (v1 `Response@status` or v2
    /// `errors[].message`).
    pub fn classify(message: &str) -> Self {
        let m = message.to_ascii_lowercase();
        if m.contains("already sharing") || m.contains("already shared") {
            PlexRefusal::AlreadyShared
        } else if m.contains("plex home")
            || m.contains("home member")
            || m.contains("member of your home")
        {
            PlexRefusal::AlreadyInHome
        } else if m.contains("maximum number") || m.contains("limit") || m.contains(" full") {
            PlexRefusal::ServerFull
        } else if m.contains("library") || m.contains("section") {
            PlexRefusal::LibrariesOutOfDate
        } else if m.contains("machine")
            || m.contains("server you requested")
            || m.contains("server not found")
        {
            PlexRefusal::MachineIdChanged
        } else if m.contains("unable to find")
            || m.contains("no user")
            || m.contains("user not found")
        {
            PlexRefusal::UnknownUser
        } else {
            PlexRefusal::Other
        }
    }

    fn advice(&self) -> &'static str {
        match self {
            PlexRefusal::LibrariesOutOfDate => {
                "the server's libraries changed on Plex and are out of date here: run a server sync from the Servers panel, then retry the invite"
            }
            PlexRefusal::MachineIdChanged => {
                "the server's machine ID changed (reinstalled or claimed again): remove the server, add it again from its Plex account, then re-assign its libraries to groups"
            }
            PlexRefusal::ServerFull => {
                "the server is full (99 users, friends plus Plex Home users): no more users can be added, use another server"
            }
            PlexRefusal::AlreadyInHome => {
                "this person is already in the admin's Plex Home and cannot be invited: use a different Plex account or e-mail"
            }
            PlexRefusal::AlreadyShared => {
                "the server is already shared with this person: edit the existing share instead of inviting again"
            }
            PlexRefusal::UnknownUser => {
                "no Plex account has that username: ask the customer for the e-mail of their Plex account"
            }
            PlexRefusal::Other => {
                "check, in this order: libraries out of date (run a server sync), the server's machine ID changed, the server is full (99 users incl. Home users), the person is in the admin's Plex Home"
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// 401: the token or API key was refused (operations §5.6).
    #[error(
        "Error communicating with {} 401 ({server}, {op}): the {credential} was refused. {advice}",
        platform.family()
    )]
    Unauthorized {
        platform: Platform,
        server: String,
        op: String,
        credential: &'static str,
        advice: &'static str,
    },

    /// 403: valid credentials without the right (non-admin key, owner-only route, …).
    #[error("{platform} refused {op} on {server} (403 Forbidden): {detail}")]
    Forbidden {
        platform: Platform,
        server: String,
        op: String,
        detail: String,
    },

    /// 404 (operations §5.7).
    #[error(
        "Response status code does not indicate success: 404 ({platform} {server}, {op}): {what} no longer exists. Run a server sync and a user sync; if the server itself is gone, its machine ID may have changed"
    )]
    NotFound {
        platform: Platform,
        server: String,
        op: String,
        what: String,
    },

    /// Plex 422 (operations §5.4).
    #[error(
        "Error: HTTP 422 Unprocessable Entity when inviting a user or processing a subscription ({server}, {op}): Plex said \"{message}\"; {}",
        reason.advice()
    )]
    PlexRefused {
        server: String,
        op: String,
        reason: PlexRefusal,
        message: String,
    },

    /// 429 (ref §1.3): the caller must wait before trying again.
    #[error(
        "{platform} is rate limiting requests from {server} ({op}, HTTP 429){}: the job will retry later; if this keeps happening, route plex.tv calls through the account's proxy",
        retry_after.map(|d| format!(", retry after {}s", d.as_secs())).unwrap_or_default()
    )]
    RateLimited {
        platform: Platform,
        server: String,
        op: String,
        retry_after: Option<Duration>,
    },

    /// Jellyfin 400 on a policy POST (ref §2.2 J6): a partial policy or provider ids missing.
    #[error(
        "Jellyfin rejected the user policy on {server} (400): {detail}. The policy must be sent whole, including AuthenticationProviderId and PasswordResetProviderId; check the user in the Jellyfin dashboard"
    )]
    InvalidPolicy { server: String, detail: String },

    /// Jellyfin/Emby create-user refused: name taken or invalid (ref §2.2 J5).
    #[error(
        "{platform} {server} refused to create user \"{name}\" (400): the name is taken or has characters it does not allow (letters, digits, space, - _ ' . @ +). Pick another name or import the existing user"
    )]
    UserRejected {
        platform: Platform,
        server: String,
        name: String,
    },

    /// Jellyfin/Emby password or login failure (operations §5.8).
    #[error(
        "{platform} {server}: {op} failed ({status}): {detail}. Reset the user's media-server password from boxoffice, and tell the user whether to log in with the local password or Emby Connect"
    )]
    LoginFailed {
        platform: Platform,
        server: String,
        op: String,
        status: u16,
        detail: String,
    },

    /// The server at the configured URL is not the one we registered (operations §5.6).
    #[error(
        "Error communicating with Plex 401 ({server}): the server at this URL now reports machine ID {found}, not {expected}. It was reinstalled or claimed again: remove the server, add it again from its Plex account, re-assign its libraries to groups and re-run the user sync"
    )]
    ServerIdentityChanged {
        server: String,
        expected: String,
        found: String,
    },

    /// Stopping a Plex stream needs Plex Pass on the owner's account (ref §1.2 P28).
    #[error(
        "Plex refused to stop the stream on {server} ({status}): stopping streams requires Plex Pass on the server owner's account. Check the account's \"Has Plex pass\" setting"
    )]
    PlexPassRequired { server: String, status: u16 },

    /// The provider retired the endpoint (410, ref §1.2 P16/P22).
    #[error(
        "{platform} retired the endpoint used for {op} on {server} (410 Gone): boxoffice needs an update"
    )]
    Gone {
        platform: Platform,
        server: String,
        op: String,
    },

    #[error(
        "{platform} {server} did not answer {op} within {}s: check that the server is up and reachable at its configured URL",
        after.as_secs_f64()
    )]
    Timeout {
        platform: Platform,
        server: String,
        op: String,
        after: Duration,
    },

    #[error(
        "cannot reach {platform} {server} for {op}: {detail}. Check the server URL (it must be reachable from boxoffice) and any proxy settings"
    )]
    Unreachable {
        platform: Platform,
        server: String,
        op: String,
        detail: String,
    },

    /// 5xx.
    #[error(
        "{platform} {server} failed {op} with HTTP {status}: {detail}. Usually transient; the job will retry"
    )]
    ServerError {
        platform: Platform,
        server: String,
        op: String,
        status: u16,
        detail: String,
    },

    /// Any other 4xx.
    #[error("{platform} {server} rejected {op} with HTTP {status}: {detail}")]
    Rejected {
        platform: Platform,
        server: String,
        op: String,
        status: u16,
        detail: String,
    },

    /// A 2xx whose body we could not read.
    #[error("{platform} {server} sent an unexpected answer to {op}: {detail}")]
    BadResponse {
        platform: Platform,
        server: String,
        op: String,
        detail: String,
    },

    /// The platform has no such operation (e.g. disabling a Plex user).
    #[error("{platform} does not support {op}: {why}")]
    Unsupported {
        platform: Platform,
        op: &'static str,
        why: &'static str,
    },

    /// Caller input we refuse before sending anything.
    #[error("invalid request for {op}: {detail}")]
    InvalidInput { op: &'static str, detail: String },
}

impl MediaError {
    /// Worth retrying later with the same input: rate limits, timeouts, unreachable
    /// servers and 5xx. Everything else needs a change (token, sync, admin action).
    pub fn retryable(&self) -> bool {
        matches!(
            self,
            MediaError::RateLimited { .. }
                | MediaError::Timeout { .. }
                | MediaError::Unreachable { .. }
                | MediaError::ServerError { .. }
        )
    }

    /// The wait the server asked for (429 `Retry-After`), if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            MediaError::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// HTTP status behind this error, when one was received.
    pub fn status(&self) -> Option<u16> {
        match self {
            MediaError::Unauthorized { .. } => Some(401),
            MediaError::Forbidden { .. } => Some(403),
            MediaError::NotFound { .. } => Some(404),
            MediaError::Gone { .. } => Some(410),
            MediaError::PlexRefused { .. } => Some(422),
            MediaError::RateLimited { .. } => Some(429),
            MediaError::InvalidPolicy { .. } | MediaError::UserRejected { .. } => Some(400),
            MediaError::LoginFailed { status, .. }
            | MediaError::PlexPassRequired { status, .. }
            | MediaError::ServerError { status, .. }
            | MediaError::Rejected { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// True for "the thing is already gone": removal callers treat it as success
    /// (operations §5.7: idempotent delete).
    pub fn is_not_found(&self) -> bool {
        matches!(self, MediaError::NotFound { .. })
    }

    /// True when Jellyfin/Emby refused to create a user, most often because the name is taken.
    pub fn is_user_rejected(&self) -> bool {
        matches!(self, MediaError::UserRejected { .. })
    }
}

pub type Result<T, E = MediaError> = std::result::Result<T, E>;
