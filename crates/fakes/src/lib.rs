//! Stateful, in-process fakes of the media-server HTTP APIs boxoffice talks to:
//! plex.tv, the Plex Media Server (PMS), Jellyfin and Emby.
//!
//! Every fake is an axum server bound to `127.0.0.1:0`. Provider routes answer as the
//! real service does according to the facts recorded in `docs/providers.md` (cited below as
//! "ref §N", a section of that page; the public sources behind each route are listed in the
//! fidelity table of docs/sandbox.md). Each fake also serves a JSON control API under
//! `/__control` (seed data, sessions, fault injection, state and request log); the same
//! operations are available as Rust methods on the handles. `contract/` checks the fakes with
//! the providers' own client libraries.

// Handlers return early with a ready axum `Response` as the error; boxing it would only
// add noise on a test-only loopback server.
#![allow(clippy::result_large_err)]

mod control;
mod discord;
mod discord_state;
mod emby;
mod faults;
mod http_util;
mod ids;
mod jellyfin;
mod mb_state;
mod mediabrowser;
mod payments;
mod plex_server;
mod plex_state;
mod plex_tv;
mod requests;
mod routing;
mod server;
mod sessions;
mod smtp;
mod smtp_mime;
mod world;
mod xml;

pub use discord::{DiscordFake, DiscordFault, DiscordFaultAction};
pub use discord_state::{
    DiscordGuild, DiscordGuildSeed, DiscordMember, DiscordMessage, DiscordRateLimit, DiscordRole,
    DiscordRoleChange,
};
pub use emby::{EmbyFake, EmbyOptions};
pub use faults::{FaultAction, FaultRefused, FaultRule, LoggedRequest};
pub use jellyfin::{JellyfinFake, JellyfinVersion};
pub use mb_state::{MbDevice, MbLibrary, MbUser};
pub use mediabrowser::{MbDeviceSeed, MbLibrarySeed, MbUserSeed};
pub use payments::{
    Delivery, PayPalFake, PayPalNvpAccount, PaymentFakes, PlisioFake, StripeFake, WebhookSettings,
};
pub use plex_server::PlexServerFake;
pub use plex_state::{
    PlexAccount, PlexAccountSeed, PlexFriendSeed, PlexLibrarySeed, PlexSection, PlexSession,
    PlexShare, PlexShareSettings,
};
pub use plex_tv::PlexTvFake;
pub use requests::{OmbiFake, OmbiUser, OverseerrFake, OverseerrUser, PetioFake, PetioUser};
pub use sessions::{SessionSeed, StoppedSession};
pub use smtp::{CaughtMessage, MAX_MESSAGE_BYTES as SMTP_MAX_MESSAGE_BYTES, SmtpCatcher};
pub use world::{RequestApps, Seed, World, WorldOptions};

/// Errors from starting or driving a fake through its Rust API.
#[derive(Debug, thiserror::Error)]
pub enum FakeError {
    #[error("could not bind or serve: {0}")]
    Io(#[from] std::io::Error),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("invalid seed: {0}")]
    Invalid(String),
}

pub type Result<T, E = FakeError> = std::result::Result<T, E>;
