//! State shared by the plex.tv fake and the PMS fakes linked to it: accounts, owned
//! servers with their library sections, friends, shares (pending and accepted) and
//! live sessions. One mutex guards it so a share made on plex.tv is immediately
//! visible on the server (ref §1: access lives on plex.tv, the PMS only enforces it).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::ids;
use crate::sessions::{SessionSeed, StoppedSession};

/// A plex.tv account (the owner or a customer).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlexAccount {
    pub id: i64,
    pub uuid: String,
    pub username: String,
    pub email: String,
    pub title: String,
    pub token: String,
    pub plex_pass: bool,
    pub joined_at: i64,
}

/// Seed for a customer account registered on plex.tv (`POST /__control/accounts`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlexAccountSeed {
    pub username: String,
    pub email: String,
    #[serde(default)]
    pub id: Option<i64>,
    #[serde(default)]
    pub token: Option<String>,
    /// Member of the owner's Plex Home (cannot be invited, operations §5.4).
    #[serde(default)]
    pub home: bool,
}

/// Sharing settings (ref §1.2 P11/P12/P19). Every permission defaults off.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct PlexShareSettings {
    #[serde(default)]
    pub allow_sync: bool,
    #[serde(default)]
    pub allow_camera_upload: bool,
    #[serde(default)]
    pub allow_channels: bool,
    #[serde(default)]
    pub allow_subtitle_admin: bool,
    #[serde(default)]
    pub allow_tuners: i64,
    #[serde(default)]
    pub filter_movies: String,
    #[serde(default)]
    pub filter_television: String,
    #[serde(default)]
    pub filter_music: String,
    #[serde(default)]
    pub filter_photos: String,
    #[serde(default)]
    pub filter_all: String,
}

/// A library section: PMS-local `key` plus the plex.tv-global `id` (ref §1.1).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlexSection {
    pub key: i64,
    pub global_id: i64,
    pub title: String,
    /// `movie`, `show`, `artist` or `photo`.
    pub kind: String,
    pub uuid: String,
    /// Item counts keyed by Plex type number (movie=1, show=2, season=3, episode=4,
    /// artist=8, album=9, track=10, photo=13; ref §1.2 P10).
    pub counts: BTreeMap<u32, u64>,
    pub created_at: i64,
}

/// Seed for a library on a PMS fake.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlexLibrarySeed {
    pub title: String,
    /// `movie`, `show`, `artist` or `photo`.
    pub kind: String,
    /// Top-level items: movies, shows, artists or photos.
    pub items: u64,
    #[serde(default)]
    pub seasons: Option<u64>,
    #[serde(default)]
    pub episodes: Option<u64>,
    #[serde(default)]
    pub albums: Option<u64>,
    #[serde(default)]
    pub tracks: Option<u64>,
}

impl PlexLibrarySeed {
    pub fn new(title: &str, kind: &str, items: u64) -> Self {
        PlexLibrarySeed {
            title: title.into(),
            kind: kind.into(),
            items,
            seasons: None,
            episodes: None,
            albums: None,
            tracks: None,
        }
    }
}

/// Seed for an existing friend with accepted shares (`POST /__control/friends`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlexFriendSeed {
    pub username: String,
    pub email: String,
    /// Server name or machine identifier → library titles (empty list = all libraries).
    #[serde(default)]
    pub shares: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub settings: PlexShareSettings,
    /// Leave the shares pending instead of accepted.
    #[serde(default)]
    pub pending: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlexShare {
    pub id: i64,
    pub machine_id: String,
    /// plex.tv user id; `None` for an e-mail without a Plex account (ref §1.2 P11).
    pub invited_id: Option<i64>,
    pub invited_email: String,
    /// Global section ids; `all_libraries` when the invite listed none (ref §1.2 P12).
    pub section_ids: Vec<i64>,
    pub all_libraries: bool,
    pub settings: PlexShareSettings,
    pub invited_at: i64,
    pub accepted_at: Option<i64>,
    /// Server-scoped token the friend uses against the PMS.
    pub access_token: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlexSession {
    pub session_id: String,
    pub session_key: i64,
    pub user_id: i64,
    pub user_title: String,
    pub rating_key: i64,
    pub section_key: i64,
    pub section_title: String,
    pub started_at: i64,
    pub seed: SessionSeed,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlexServerRec {
    pub machine_id: String,
    /// Numeric plex.tv server id (`serverId` in `/api/users`, ref §1.2 P23).
    pub server_id: i64,
    pub name: String,
    pub version: String,
    pub url: String,
    pub sections: Vec<PlexSection>,
    pub sessions: Vec<PlexSession>,
    pub stopped: Vec<StoppedSession>,
    pub created_at: i64,
}

impl PlexServerRec {
    pub fn section_by_global(&self, id: i64) -> Option<&PlexSection> {
        self.sections.iter().find(|s| s.global_id == id)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlexWorld {
    pub owner: PlexAccount,
    pub accounts: Vec<PlexAccount>,
    /// Ids of accounts in the owner's Plex Home.
    pub home: Vec<i64>,
    /// Friend user id → friend-level settings (ref §1.2 P20/P23).
    pub friends: BTreeMap<i64, PlexShareSettings>,
    pub shares: Vec<PlexShare>,
    pub servers: Vec<PlexServerRec>,
    /// Invites refused once this many users (friends + home) use a server
    /// ("Server is full — 99 users", operations §5.4). `None` disables the check.
    pub share_limit: Option<usize>,
    /// Library changes sent to a *pending* share are accepted but not applied (ref §1.2
    /// notes on P11/P12: "may be ignored"), so clients cannot rely on them.
    pub ignore_pending_library_updates: bool,
    next_id: i64,
}

impl PlexWorld {
    pub fn new(plex_pass: bool) -> Self {
        let mut w = PlexWorld {
            owner: PlexAccount {
                id: 0,
                uuid: ids::hex(16),
                username: "boxoffice-owner".into(),
                email: "owner@example.com".into(),
                title: "boxoffice-owner".into(),
                token: ids::plex_token(),
                plex_pass,
                joined_at: ids::now_secs() - 86_400 * 900,
            },
            accounts: Vec::new(),
            home: Vec::new(),
            friends: BTreeMap::new(),
            shares: Vec::new(),
            servers: Vec::new(),
            share_limit: Some(99),
            ignore_pending_library_updates: true,
            next_id: 24_000_000,
        };
        w.owner.id = w.next_id();
        w
    }

    pub fn next_id(&mut self) -> i64 {
        self.next_id += 1 + self.next_id % 7; // strictly increasing, not dense
        self.next_id
    }

    pub fn account_by_token(&self, token: &str) -> Option<&PlexAccount> {
        std::iter::once(&self.owner)
            .chain(self.accounts.iter())
            .find(|a| a.token == token)
    }

    pub fn account(&self, id: i64) -> Option<&PlexAccount> {
        std::iter::once(&self.owner)
            .chain(self.accounts.iter())
            .find(|a| a.id == id)
    }

    /// Resolve an invite target by e-mail or username, case-insensitively.
    pub fn find_account(&self, who: &str) -> Option<&PlexAccount> {
        self.accounts
            .iter()
            .find(|a| a.email.eq_ignore_ascii_case(who) || a.username.eq_ignore_ascii_case(who))
    }

    pub fn server(&self, machine_id: &str) -> Option<&PlexServerRec> {
        self.servers.iter().find(|s| s.machine_id == machine_id)
    }

    pub fn server_mut(&mut self, machine_id: &str) -> Option<&mut PlexServerRec> {
        self.servers.iter_mut().find(|s| s.machine_id == machine_id)
    }

    pub fn server_by_name_or_id(&self, key: &str) -> Option<&PlexServerRec> {
        self.servers
            .iter()
            .find(|s| s.machine_id == key || s.name.eq_ignore_ascii_case(key))
    }

    pub fn register(&mut self, seed: PlexAccountSeed) -> PlexAccount {
        let id = match seed.id {
            Some(id) => id,
            None => self.next_id(),
        };
        let acct = PlexAccount {
            id,
            uuid: ids::hex(16),
            title: seed.username.clone(),
            username: seed.username,
            email: seed.email,
            token: seed.token.unwrap_or_else(ids::plex_token),
            plex_pass: false,
            joined_at: ids::now_secs() - 86_400 * 200,
        };
        if seed.home {
            self.home.push(id);
        }
        self.accounts.push(acct.clone());
        acct
    }

    pub fn add_section(&mut self, machine_id: &str, seed: &PlexLibrarySeed) -> Option<PlexSection> {
        let global_id = self.next_id() * 7 + 3; // large plex.tv-global id, unlike `key`
        let server = self.server_mut(machine_id)?;
        let key = server.sections.iter().map(|s| s.key).max().unwrap_or(0) + 1;
        let mut counts = BTreeMap::new();
        let top = match seed.kind.as_str() {
            "show" => 2,
            "artist" => 8,
            "photo" => 13,
            _ => 1,
        };
        counts.insert(top, seed.items);
        if seed.kind == "show" {
            let seasons = seed.seasons.unwrap_or(seed.items * 4);
            counts.insert(3, seasons);
            counts.insert(4, seed.episodes.unwrap_or(seasons * 10));
        }
        if seed.kind == "artist" {
            let albums = seed.albums.unwrap_or(seed.items * 3);
            counts.insert(9, albums);
            counts.insert(10, seed.tracks.unwrap_or(albums * 11));
        }
        let sec = PlexSection {
            key,
            global_id,
            title: seed.title.clone(),
            kind: seed.kind.clone(),
            uuid: format!(
                "{}-{}-{}-{}-{}",
                ids::hex(8),
                ids::hex(4),
                ids::hex(4),
                ids::hex(4),
                ids::hex(12)
            ),
            counts,
            created_at: ids::now_secs() - 86_400 * 365,
        };
        server.sections.push(sec.clone());
        Some(sec)
    }

    /// Users counted against the server's capacity: distinct invitees plus home users.
    pub fn users_on(&self, machine_id: &str) -> usize {
        let mut who: Vec<String> = self
            .shares
            .iter()
            .filter(|s| s.machine_id == machine_id)
            .map(|s| {
                s.invited_id
                    .map(|i| i.to_string())
                    .unwrap_or_else(|| s.invited_email.to_lowercase())
            })
            .collect();
        who.sort();
        who.dedup();
        who.len() + self.home.len()
    }

    /// Accept a share as its invitee. E-mail-only invites get an account registered
    /// for that address first (the customer signs up, then accepts).
    pub fn accept(&mut self, share_id: i64) -> Option<PlexShare> {
        let idx = self.shares.iter().position(|s| s.id == share_id)?;
        if self.shares[idx].invited_id.is_none() {
            let email = self.shares[idx].invited_email.clone();
            let uid = match self.find_account(&email) {
                Some(a) => a.id,
                None => {
                    let username = email.split('@').next().unwrap_or("user").to_string();
                    self.register(PlexAccountSeed {
                        username,
                        email: email.clone(),
                        id: None,
                        token: None,
                        home: false,
                    })
                    .id
                }
            };
            self.shares[idx].invited_id = Some(uid);
        }
        let share = &mut self.shares[idx];
        if share.accepted_at.is_none() {
            share.accepted_at = Some(ids::now_secs());
        }
        let share = share.clone();
        if let Some(uid) = share.invited_id {
            self.friends
                .entry(uid)
                .or_insert_with(|| share.settings.clone());
        }
        Some(share)
    }

    /// End every session of `user_id` on `machine_id` (access was revoked).
    pub fn drop_sessions(&mut self, machine_id: &str, user_id: i64, by: &str) {
        if let Some(srv) = self.server_mut(machine_id) {
            let (gone, keep): (Vec<_>, Vec<_>) =
                srv.sessions.drain(..).partition(|s| s.user_id == user_id);
            srv.sessions = keep;
            for s in gone {
                srv.stopped.push(StoppedSession {
                    id: s.session_id,
                    user: s.user_title,
                    title: s.seed.title,
                    by: by.into(),
                    message: None,
                    at: ids::now_secs(),
                });
            }
        }
    }

    /// Which accepted share lets `token` into `machine_id`, if any. The owner's token
    /// and the server-scoped share token are accepted, as is a friend's account token
    /// once their share is accepted.
    pub fn pms_principal(&self, machine_id: &str, token: &str) -> Option<PmsPrincipal> {
        if token == self.owner.token {
            return Some(PmsPrincipal::Owner);
        }
        let by_account = self.account_by_token(token).map(|a| a.id);
        self.shares
            .iter()
            .filter(|s| s.machine_id == machine_id && s.accepted_at.is_some())
            .find(|s| {
                s.access_token == token || (by_account.is_some() && s.invited_id == by_account)
            })
            .map(|s| PmsPrincipal::Shared(Box::new(s.clone())))
    }
}

#[derive(Debug, Clone)]
pub enum PmsPrincipal {
    Owner,
    Shared(Box<PlexShare>),
}
