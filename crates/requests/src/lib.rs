//! Clients for the request managers boxoffice gives paying customers access to:
//! Overseerr (and its Jellyseerr/Seerr fork), Ombi and Petio, behind one [`RequestApp`] trait.
//!
//! Provider facts are cited as "ref §4.N", a section of `docs/providers.md`.
//! Knows no database: the app stores which account belongs to which customer.

mod error;
mod http;
mod ombi;
mod overseerr;
mod permissions;
mod petio;

use async_trait::async_trait;

pub use error::{RequestAppError, Result};
pub use http::ClientOptions;
pub use ombi::OmbiClient;
pub use overseerr::OverseerrClient;
pub use permissions::{OMBI_ROLES, OVERSEERR_PERMISSIONS, overseerr_bits, overseerr_names};
pub use petio::PetioClient;

/// Which request app. Jellyseerr speaks Overseerr's API and is [`AppKind::Overseerr`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AppKind {
    Overseerr,
    Ombi,
    Petio,
}

impl AppKind {
    pub const ALL: [AppKind; 3] = [AppKind::Overseerr, AppKind::Ombi, AppKind::Petio];

    /// The stored name (`request_app_accounts.app`, settings prefix `requests.<name>`).
    pub fn as_str(self) -> &'static str {
        match self {
            AppKind::Overseerr => "overseerr",
            AppKind::Ombi => "ombi",
            AppKind::Petio => "petio",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        AppKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Checks role names against what this app knows, naming the first unknown one.
    pub fn validate_roles(self, roles: &[String]) -> std::result::Result<(), String> {
        let known: &[&str] = match self {
            AppKind::Overseerr => &permissions::OVERSEERR_NAMES,
            AppKind::Ombi => OMBI_ROLES,
            // Petio's only per-user knobs are the role (user) and the profile.
            AppKind::Petio => &[],
        };
        match roles.iter().find(|r| !known.contains(&r.as_str())) {
            None => Ok(()),
            Some(r) if known.is_empty() => Err(format!(
                "Petio has no permission names (\"{r}\"): choose a profile instead"
            )),
            Some(r) => Err(format!(
                "\"{r}\" is not a {self} permission; known: {}",
                known.join(", ")
            )),
        }
    }
}

impl std::fmt::Display for AppKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            AppKind::Overseerr => "Overseerr",
            AppKind::Ombi => "Ombi",
            AppKind::Petio => "Petio",
        })
    }
}

/// A request quota: at most `limit` requests per `days` (0 days = the app's default window).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Quota {
    pub limit: u32,
    pub days: u32,
}

/// What a customer may do in the app, as a plan grants it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Access {
    /// Overseerr permission names (`REQUEST`, `AUTO_APPROVE`, …) or Ombi role names
    /// (`RequestMovie`, …); sorted, no duplicates. Petio: unused.
    pub roles: Vec<String>,
    /// `None` = no limit (the app's global default applies).
    pub movie_quota: Option<Quota>,
    pub tv_quota: Option<Quota>,
    /// Petio profile name; `None` = Petio's default profile.
    pub profile: Option<String>,
}

impl Access {
    pub fn normalized(mut self) -> Self {
        self.roles.sort();
        self.roles.dedup();
        self
    }
}

/// A user as the app reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteUser {
    /// The app's id: Overseerr numeric id, Ombi GUID, Petio `_id`.
    pub id: String,
    pub username: String,
    pub email: String,
    pub disabled: bool,
    /// As read back from the app (what [`RequestApp::get_user`] can see of it).
    pub access: Access,
    /// Created by us as a local account (Petio can delete only those).
    pub local: bool,
}

/// A local account to create.
#[derive(Debug, Clone)]
pub struct NewAccount {
    pub email: String,
    pub username: String,
    /// Required by Ombi and Petio; Overseerr e-mails a generated one when absent, which needs
    /// its e-mail notifications set up, so boxoffice always sends one.
    pub password: String,
}

/// The customer's account on the media server, for apps that import from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaRef {
    /// plex.tv user id.
    Plex(String),
    /// Jellyfin/Emby user id (32 hex digits).
    Jellyfin(String),
}

/// One request app. Object-safe (`Box<dyn RequestApp>`).
#[async_trait]
pub trait RequestApp: Send + Sync + std::fmt::Debug {
    fn kind(&self) -> AppKind;

    /// The part of `access` this app stores, as [`RequestApp::get_user`] reads it back, so
    /// the sync compares like with like.
    fn canonical(&self, access: &Access) -> Access {
        access.clone().normalized()
    }

    /// Every user, for finding accounts and for the daily sync.
    async fn users(&self) -> Result<Vec<RemoteUser>>;

    /// One user with its access, or `None` when the app no longer has it.
    async fn get_user(&self, id: &str) -> Result<Option<RemoteUser>> {
        Ok(self.users().await?.into_iter().find(|u| u.id == id))
    }

    /// The user with this e-mail (case-insensitive) or, where the app records it, this media
    /// account.
    async fn find_user(&self, email: &str, media: Option<&MediaRef>) -> Result<Option<RemoteUser>> {
        let _ = media;
        Ok(self
            .users()
            .await?
            .into_iter()
            .find(|u| !u.email.is_empty() && u.email.eq_ignore_ascii_case(email)))
    }

    /// Imports the media-server account (Overseerr: Plex or Jellyfin import). `Ok(None)` when
    /// the app would not import it (e.g. not yet on the owner's share list).
    async fn import_user(&self, media: &MediaRef) -> Result<Option<RemoteUser>> {
        let _ = media;
        Err(RequestAppError::Unsupported {
            app: self.kind(),
            op: "importing media-server users",
        })
    }

    /// Creates a local account.
    async fn create_user(&self, new: &NewAccount, access: &Access) -> Result<RemoteUser>;

    /// Sets the user's permissions/role, quotas and profile to `access`, enabling it.
    async fn set_access(&self, user: &RemoteUser, access: &Access) -> Result<()>;

    /// Takes every right away while keeping the account (Overseerr: permissions none; Ombi:
    /// the `Disabled` role; Petio: `disabled`).
    async fn disable(&self, user: &RemoteUser) -> Result<()>;

    /// Deletes the account. Already gone answers [`RequestAppError::NotFound`].
    async fn delete_user(&self, user: &RemoteUser) -> Result<()>;
}
