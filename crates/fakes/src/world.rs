//! The sandbox world (`boxoffice sandbox`): one Plex account with Plex Pass and two
//! servers, one Jellyfin, one Emby, with the libraries of
//! `fixtures/bulk-invite/README.md` and a few existing users each.
//!
//! [`Seed::None`] starts the same fakes (same server names, so a script written against
//! the default world finds the same services) with nothing in them beyond what each fake
//! needs to answer at all: the plex.tv owner account and the Jellyfin/Emby administrator.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use serde_json::{Value, json};

use crate::mb_state::{MbLibrarySeed, MbUserSeed};
use crate::plex_state::{PlexAccountSeed, PlexFriendSeed, PlexLibrarySeed, PlexShareSettings};
use crate::{
    DiscordFake, DiscordGuildSeed, EmbyFake, EmbyOptions, JellyfinFake, JellyfinVersion,
    PlexServerFake, PlexTvFake,
};

/// All fakes of the sandbox, kept alive together.
#[derive(Debug)]
pub struct World {
    pub plex_tv: PlexTvFake,
    pub plex_servers: Vec<PlexServerFake>,
    pub jellyfin: JellyfinFake,
    pub emby: EmbyFake,
    pub discord: DiscordFake,
    pub request_apps: RequestApps,
    /// Every e-mail sent to it is kept and readable through its control API.
    pub smtp: crate::SmtpCatcher,
    /// Stripe, PayPal and Plisio.
    pub payments: crate::PaymentFakes,
}

/// The request managers of the sandbox (ref §4), empty but for their administrators.
#[derive(Debug)]
pub struct RequestApps {
    pub overseerr: crate::OverseerrFake,
    pub ombi: crate::OmbiFake,
    pub petio: crate::PetioFake,
}

/// What the world is seeded with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Seed {
    /// The realistic catalogue: libraries, friends and users.
    #[default]
    Default,
    /// Every fake started, but empty.
    None,
}

/// How to start a [`World`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorldOptions {
    pub seed: Seed,
    /// Address every fake listens on (port chosen by the OS).
    pub bind: IpAddr,
}

impl Default for WorldOptions {
    fn default() -> Self {
        WorldOptions {
            seed: Seed::Default,
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
        }
    }
}

fn plex_lib(title: &str, kind: &str, items: u64) -> PlexLibrarySeed {
    PlexLibrarySeed::new(title, kind, items)
}

fn friend(username: &str, shares: &[(&str, &[&str])], allow_sync: bool) -> PlexFriendSeed {
    PlexFriendSeed {
        username: username.into(),
        email: format!("{username}@example.com"),
        shares: shares
            .iter()
            .map(|(srv, libs)| {
                (
                    srv.to_string(),
                    libs.iter().map(|l| l.to_string()).collect(),
                )
            })
            .collect::<BTreeMap<_, _>>(),
        settings: PlexShareSettings {
            allow_sync,
            ..Default::default()
        },
        pending: false,
    }
}

impl World {
    /// Start every fake on 127.0.0.1 and seed the default sandbox data.
    pub async fn seed_default() -> crate::Result<Self> {
        Self::start(WorldOptions::default()).await
    }

    /// Start every fake on 127.0.0.1 with nothing seeded.
    pub async fn start_empty() -> crate::Result<Self> {
        Self::start(WorldOptions {
            seed: Seed::None,
            ..WorldOptions::default()
        })
        .await
    }

    /// Start every fake on `opts.bind` and seed it as `opts.seed` says.
    pub async fn start(opts: WorldOptions) -> crate::Result<Self> {
        crate::server::bind_on(opts.bind, async {
            let world = Self::start_fakes().await?;
            if opts.seed == Seed::Default {
                world.seed()?;
            }
            Ok(world)
        })
        .await
    }

    async fn start_fakes() -> crate::Result<Self> {
        let plex_tv = PlexTvFake::start().await?;
        let alpha = PlexServerFake::start(&plex_tv, "Plex Alpha").await?;
        let beta = PlexServerFake::start(&plex_tv, "Plex Beta").await?;
        let jellyfin = JellyfinFake::start_version(JellyfinVersion::V10_11, "Jelly One").await?;
        let emby = EmbyFake::start_with(EmbyOptions {
            name: "Emby One".into(),
            void_status: 204,
        })
        .await?;
        let discord = DiscordFake::start().await?;
        let request_apps = RequestApps {
            overseerr: crate::OverseerrFake::start().await?,
            ombi: crate::OmbiFake::start().await?,
            petio: crate::PetioFake::start().await?,
        };
        let smtp = crate::SmtpCatcher::start().await?;
        let payments = crate::PaymentFakes::start().await?;
        Ok(World {
            plex_tv,
            plex_servers: vec![alpha, beta],
            jellyfin,
            emby,
            discord,
            request_apps,
            smtp,
            payments,
        })
    }

    /// The default catalogue (`fixtures/bulk-invite/README.md`).
    fn seed(&self) -> crate::Result<()> {
        let World {
            plex_tv,
            plex_servers,
            jellyfin,
            emby,
            ..
        } = self;
        let [alpha, beta] = plex_servers.as_slice() else {
            return Err(crate::FakeError::Invalid(
                "the sandbox world has two Plex servers".into(),
            ));
        };
        for l in [
            plex_lib("Movies", "movie", 1843),
            plex_lib("TV Shows", "show", 312),
            plex_lib("Movies 4K", "movie", 402),
            plex_lib("Home Videos", "movie", 57),
        ] {
            alpha.seed_library(l)?;
        }
        let mut music = plex_lib("Music", "artist", 640);
        music.albums = Some(2210);
        music.tracks = Some(25_930);
        for l in [
            plex_lib("Movies", "movie", 2311),
            plex_lib("TV Shows", "show", 458),
            plex_lib("Movies 4K", "movie", 517),
            music,
        ] {
            beta.seed_library(l)?;
        }
        plex_tv.seed_friend(friend(
            "alice_plex",
            &[("Plex Alpha", &["Movies", "TV Shows"])],
            false,
        ))?;
        plex_tv.seed_friend(friend(
            "bob_plex",
            &[
                ("Plex Alpha", &["Movies", "TV Shows", "Movies 4K"]),
                ("Plex Beta", &["Music"]),
            ],
            true,
        ))?;
        plex_tv.seed_friend(friend(
            "carol_plex",
            &[("Plex Beta", &["Movies", "TV Shows"])],
            false,
        ))?;
        // A registered plex.tv account with no share yet (a customer about to buy).
        plex_tv.register_account(PlexAccountSeed {
            username: "dave_plex".into(),
            email: "dave@example.com".into(),
            id: None,
            token: None,
            home: false,
        });

        let mut shows = MbLibrarySeed::new("Shows", "tvshows", 286);
        shows.episodes = Some(11_204);
        jellyfin.seed_library(MbLibrarySeed::new("Movies", "movies", 1520));
        jellyfin.seed_library(shows.clone());
        emby.seed_library(MbLibrarySeed::new("Movies", "movies", 1377));
        shows.items = 241;
        shows.episodes = Some(9_870);
        emby.seed_library(shows);
        for (name, libs, pw) in [
            ("erin_jf", vec!["Movies", "Shows"], "erin-pass"),
            ("frank_jf", vec!["Movies"], "frank-pass"),
        ] {
            let mut s = MbUserSeed::new(name);
            s.password = Some(pw.into());
            s.libraries = Some(libs.into_iter().map(str::to_string).collect());
            jellyfin.seed_user(s);
        }
        for (name, libs, pw) in [
            ("gina_emby", vec!["Movies", "Shows"], "gina-pass"),
            ("hank_emby", vec!["Shows"], "hank-pass"),
        ] {
            let mut s = MbUserSeed::new(name);
            s.password = Some(pw.into());
            s.libraries = Some(libs.into_iter().map(str::to_string).collect());
            emby.seed_user(s);
        }
        self.seed_discord()?;
        self.payments.seed();
        Ok(())
    }

    /// A Discord server with the integration's roles, an admin channel and two members.
    fn seed_discord(&self) -> crate::Result<()> {
        let guild = self.discord.seed_guild(&DiscordGuildSeed::new(
            "Movie Club",
            &["Subscriber", "Trial"],
        ));
        self.discord.add_text_channel(&guild.id, "admin")?;
        self.discord
            .add_member(&guild.id, "alice", &["Subscriber"])?;
        self.discord.add_member(&guild.id, "dave", &[])?;
        Ok(())
    }

    /// The description printed as the first stdout line of `boxoffice sandbox`.
    pub fn describe(&self) -> Value {
        let owner = self.plex_tv.owner();
        let servers: Vec<Value> = self
            .plex_servers
            .iter()
            .map(|s| {
                json!({
                    "name": s.name(), "url": s.url(), "control": s.control_url(),
                    "machine_identifier": s.machine_identifier(), "token": s.token(),
                    "libraries": s.libraries().iter().map(|l| json!({
                        "title": l.title, "key": l.key, "id": l.global_id, "type": l.kind,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        let mb = |name: String,
                  url: String,
                  control: String,
                  key: String,
                  id: String,
                  libs: Vec<crate::mb_state::MbLibrary>,
                  emby: bool| {
            json!({
                "name": name, "url": url, "control": control, "api_key": key, "server_id": id,
                "libraries": libs.iter().map(|l| {
                    let mut v = json!({"name": l.name, "id": l.id, "collection_type": l.collection_type});
                    if emby { v["guid"] = json!(l.guid); }
                    v
                }).collect::<Vec<_>>(),
            })
        };
        let mut line = json!({
            "plex_tv": {
                "url": self.plex_tv.url(), "control": self.plex_tv.control_url(), "token": owner.token,
                "account_id": owner.id, "username": owner.username, "email": owner.email, "plex_pass": owner.plex_pass,
            },
            "plex_servers": servers,
            "jellyfin": mb(self.jellyfin.server_name(), self.jellyfin.url(), self.jellyfin.control_url(),
                           self.jellyfin.api_key(), self.jellyfin.server_id(), self.jellyfin.libraries(), false),
            "discord": self.describe_discord(),
            "emby": mb(self.emby.server_name(), self.emby.url(), self.emby.control_url(),
                       self.emby.api_key(), self.emby.server_id(), self.emby.libraries(), true),
            "request_apps": self.request_apps.describe(),
            "smtp": self.smtp.describe(),
        });
        self.payments.describe_into(&mut line);
        line
    }
}

impl RequestApps {
    /// URLs and credentials to paste into Settings → Request apps.
    pub fn describe(&self) -> Value {
        let (o, m, p) = (&self.overseerr, &self.ombi, &self.petio);
        json!({
            "overseerr": {"url": o.url(), "control": o.control_url(), "api_key": o.api_key()},
            "ombi": {"url": m.url(), "control": m.control_url(), "api_key": m.api_key()},
            "petio": {"url": p.url(), "control": p.control_url(), "email": p.admin_email(), "password": p.admin_password()},
        })
    }
}

impl World {
    fn describe_discord(&self) -> Value {
        let d = &self.discord;
        let guilds: Vec<Value> = d.guilds().iter().map(|g| json!({
            "id": g.id, "name": g.name,
            "roles": g.roles.iter().map(|r| json!({"id": r.id, "name": r.name})).collect::<Vec<_>>(),
            "members": g.members.values().map(|m| json!({"id": m.user_id, "username": m.username})).collect::<Vec<_>>(),
            "channels": d.channels_of(&g.id),
        })).collect();
        json!({
            "url": d.url(), "control": d.control_url(), "bot_token": d.token(), "bot_id": d.bot_id(),
            "guild_id": guilds.first().map(|g| g["id"].clone()),
            "guilds": guilds,
        })
    }
}
