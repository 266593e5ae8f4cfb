//! Clients for the media servers boxoffice sells access to: Plex (plex.tv account
//! service + Plex Media Server), Jellyfin and Emby, behind one [`MediaServer`] trait,
//! plus [`PlexAccount`] for what only plex.tv does.
//!
//! Provider facts are cited as "ref §N", a section of `docs/providers.md`, and the operator
//! docs as "operations §N" / "product §N".
//!
//! Knows no database and no web framework: the app wires [`CallObserver`] to its
//! metrics and maps [`MediaError`] into its event log.

mod emby;
mod error;
mod http;
mod jellyfin;
mod mb_users;
mod mediabrowser;
mod plex_server;
mod plex_tv;
pub mod policy;
mod types;
mod xml;

use async_trait::async_trait;

pub use boxoffice_http::{ClockSleeper, RateLimit, Sleeper, TokenBucket, TokioSleeper};
pub use emby::EmbyServer;
pub use error::{MediaError, PlexRefusal, Result};
pub use http::{CallObserver, ClientOptions, NoopObserver, ProxyConfig, parse_extra_query};
pub use jellyfin::JellyfinServer;
pub use plex_server::PlexServer;
pub use plex_tv::{PlexClientId, PlexTvClient};
pub use policy::{AccessPolicy, DeviceAccess, LibraryAccess};
pub use types::{
    ConnectLink, Decision, Device, Library, LiveSession, MediaUser, NewUser, PendingInvite,
    Platform, PlaybackState, PlexAccountInfo, PlexHeadcount, PlexResource, PlexSectionId,
    ServerIdentity, UserRef,
};

/// One media server. Object-safe (`Box<dyn MediaServer>` / `Arc<dyn MediaServer>`).
///
/// Operations a platform lacks answer [`MediaError::Unsupported`] (e.g. disabling a Plex
/// user: Plex has no such concept, ref §6).
#[async_trait]
pub trait MediaServer: Send + Sync + std::fmt::Debug {
    fn platform(&self) -> Platform;

    /// Verify the credentials with an authenticated call and return the identity.
    async fn check(&self) -> Result<ServerIdentity>;

    /// Name, id and version as the server reports them.
    async fn identity(&self) -> Result<ServerIdentity>;

    /// Libraries with item counts.
    async fn libraries(&self) -> Result<Vec<Library>>;

    /// Users (Jellyfin/Emby) or shares, pending included (Plex).
    async fn users(&self) -> Result<Vec<MediaUser>>;

    /// One user by its reference, or `None` when the server no longer has it. Jellyfin and
    /// Emby read the one user; the default lists (plex.tv has no single-share read).
    async fn user(&self, user: &UserRef) -> Result<Option<MediaUser>> {
        Ok(self.users().await?.into_iter().find(|u| {
            (!user.user_id.is_empty() && u.user_ref.user_id == user.user_id)
                || (user.share_id.is_some() && u.user_ref.share_id == user.share_id)
        }))
    }

    /// Plex: invite the plex.tv account `who.name` (e-mail or username). Jellyfin/Emby:
    /// create the user with the password. Access is exactly `access`; every permission
    /// it does not grant is off.
    async fn create_user(&self, who: &NewUser, access: &AccessPolicy) -> Result<MediaUser>;

    /// Replace the user's access with `access`, keeping every unrelated setting.
    async fn update_access(&self, user: &UserRef, access: &AccessPolicy) -> Result<()>;

    /// Revoke access: Plex removes the share (friendship kept, ref §1.2 P21);
    /// Jellyfin/Emby delete the user. Already gone answers [`MediaError::NotFound`]
    /// ([`MediaError::is_not_found`]); removal jobs treat that as done (operations §5.7).
    async fn remove_user(&self, user: &UserRef) -> Result<()>;

    /// Disable (`false`) or re-enable a user (Jellyfin/Emby `IsDisabled`).
    async fn set_enabled(&self, user: &UserRef, enabled: bool) -> Result<()>;

    /// Set the user's local password (Jellyfin/Emby, operations §5.8).
    async fn set_password(&self, user: &UserRef, password: &str) -> Result<()>;

    /// Sent, unaccepted invites for this server (Plex); empty elsewhere.
    async fn pending_invites(&self) -> Result<Vec<PendingInvite>>;

    /// Cancel a pending invite by [`PendingInvite::id`] (Plex).
    async fn cancel_invite(&self, invite_id: &str) -> Result<()>;

    /// Streams playing now (idle clients left out).
    async fn sessions(&self) -> Result<Vec<LiveSession>>;

    /// Stop a stream, showing `message` to the viewer where the platform can.
    async fn stop_session(&self, session_id: &str, message: &str) -> Result<()>;

    /// Devices users logged in from (Jellyfin/Emby).
    async fn devices(&self) -> Result<Vec<Device>>;

    /// Log a device out and forget it (Jellyfin/Emby).
    async fn delete_device(&self, device_id: &str) -> Result<()>;

    /// "Allow all devices" on/off and the devices still allowed when off
    /// (Jellyfin/Emby `EnableAllDevices`/`EnabledDevices`, product §18).
    async fn set_device_access(&self, user: &UserRef, devices: &DeviceAccess) -> Result<()>;

    /// Emby Connect: check that `connect_username` can be linked, the way the operator
    /// docs describe (operations §5.8: link a throw-away user, then delete it).
    async fn check_connect_link(&self, connect_username: &str) -> Result<ConnectLink> {
        let _ = connect_username;
        Err(MediaError::Unsupported {
            platform: self.platform(),
            op: "Emby Connect",
            why: "only Emby has Emby Connect",
        })
    }

    /// Emby Connect: link `connect_username` to an existing user.
    async fn link_connect(&self, user: &UserRef, connect_username: &str) -> Result<ConnectLink> {
        let _ = (user, connect_username);
        Err(MediaError::Unsupported {
            platform: self.platform(),
            op: "Emby Connect",
            why: "only Emby has Emby Connect",
        })
    }
}

/// A plex.tv account (the owner's token). All calls to one account are serialised and
/// paced (see [`RateLimit`]).
#[async_trait]
pub trait PlexAccount: Send + Sync + std::fmt::Debug {
    /// Validate the token and read the account (ref §1.2 P1).
    async fn account(&self) -> Result<PlexAccountInfo>;

    /// Whether the owner has Plex Pass (ref §1.2 P29).
    async fn plex_pass(&self) -> Result<bool>;

    /// Servers the account can see (ref §1.2 P4).
    async fn servers(&self) -> Result<Vec<PlexResource>>;

    /// Sections of one owned server with both ids (ref §1.2 P8).
    async fn sections(&self, machine_id: &str) -> Result<Vec<PlexSectionId>>;

    /// Shares (accepted and pending) of one server (ref §1.2 P13).
    async fn shares(&self, machine_id: &str) -> Result<Vec<MediaUser>>;

    /// Share `machine_id` with `who` (e-mail or username) (ref §1.2 P12).
    async fn invite(&self, machine_id: &str, who: &str, access: &AccessPolicy)
    -> Result<MediaUser>;

    /// Replace a share's libraries and settings (ref §1.2 P19).
    async fn update_share(&self, share_id: &str, access: &AccessPolicy) -> Result<()>;

    /// Remove one share, keep the friendship (ref §1.2 P21).
    async fn remove_share(&self, share_id: &str) -> Result<()>;

    /// Remove the friend and every share with them (ref §1.2 P22).
    async fn remove_friend(&self, user_id: &str) -> Result<()>;

    /// Pending invites, optionally only those for one server (ref §1.2 P15).
    async fn pending_invites(&self, machine_id: Option<&str>) -> Result<Vec<PendingInvite>>;

    /// Cancel a pending invite (ref §1.2 P17).
    async fn cancel_invite(&self, share_id: &str) -> Result<()>;

    /// Friends and Home users filling `machine_id` (operations §5.4).
    async fn headcount(&self, machine_id: &str) -> Result<PlexHeadcount>;

    /// Whether a Plex account exists for `who` (e-mail or username): `POST /api/users/validate`.
    /// Inviting cannot tell, since plex.tv accepts an invite to any e-mail (ref §1.2 P11).
    async fn user_exists(&self, who: &str) -> Result<bool>;
}
