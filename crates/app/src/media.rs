//! Builds media clients from stored rows. One [`MediaConnector`] per `App`: it holds the shared
//! [`ClientOptions`] (timeouts, retries, a metrics observer) and keeps one plex.tv client per Plex
//! account, so every call made for that account, from any job or page, draws on one token bucket.

use crate::metrics::{Metrics, labels};
use crate::{App, AppError};
use boxoffice_domain::Clock;
use boxoffice_domain::platform::Platform;
use boxoffice_media::{
    ClientOptions, EmbyServer, JellyfinServer, MediaServer, PlexAccount, PlexClientId, PlexServer,
    PlexTvClient, ProxyConfig,
};
use boxoffice_store::plex_accounts::PlexAccountRow;
use boxoffice_store::servers::ServerRow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

pub const PLEX_TV_URL: &str = "https://plex.tv";
pub const CALL_METRIC: &str = "boxoffice_media_call_duration_seconds";

/// Records every media call's latency as `boxoffice_media_call_duration_seconds{server,op,status}`.
#[derive(Debug)]
pub struct MetricsObserver(pub Arc<Metrics>);

impl boxoffice_media::CallObserver for MetricsObserver {
    fn observe(&self, server: &str, op: &str, status: u16, secs: f64) {
        let status = status.to_string();
        self.0.observe(
            CALL_METRIC,
            labels(&[("server", server), ("op", op), ("status", &status)]),
            secs,
        );
    }
}

/// Where the providers live and how to call them. Production uses plex.tv; the sandbox and
/// tests point it at the fakes.
#[derive(Debug, Clone)]
struct Wiring {
    plex_tv_url: String,
    options: ClientOptions,
}

type CachedAccount = (String, Arc<dyn PlexAccount>);
type CachedServer = (String, Arc<dyn MediaServer>);

#[derive(Debug)]
pub struct MediaConnector {
    wiring: RwLock<Wiring>,
    client_id: PlexClientId,
    /// Keyed by account id; the string is a digest of what the client was built from (token,
    /// proxy, wiring), so an edited account gets a fresh client.
    accounts: Mutex<HashMap<i64, CachedAccount>>,
    /// Stored servers' clients, keyed by server id, the same way: one connection pool per
    /// server instead of a new client (TLS roots loaded, connection opened) for every call.
    servers: Mutex<HashMap<i64, CachedServer>>,
}

/// Plain secrets a client is built from, opened from the row just before use.
pub struct PlexAccountSecrets {
    pub token: String,
    pub proxy: Option<ProxyConfig>,
    /// The account's extra query parameters, sent on every plex.tv call.
    pub extra_query: Vec<(String, String)>,
}

impl MediaConnector {
    pub fn new(
        metrics: Arc<Metrics>,
        clock: Arc<dyn Clock>,
        installation_id: &str,
    ) -> MediaConnector {
        let options = ClientOptions {
            observer: Arc::new(MetricsObserver(metrics)),
            clock,
            ..ClientOptions::default()
        };
        MediaConnector {
            wiring: RwLock::new(Wiring {
                plex_tv_url: PLEX_TV_URL.to_string(),
                options,
            }),
            client_id: PlexClientId::new(format!("boxoffice-{installation_id}")),
            accounts: Mutex::new(HashMap::new()),
            servers: Mutex::new(HashMap::new()),
        }
    }

    fn wiring(&self) -> Wiring {
        match self.wiring.read() {
            Ok(w) => w.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn rewire(&self, f: impl FnOnce(&mut Wiring)) {
        match self.wiring.write() {
            Ok(mut w) => f(&mut w),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
        if let Ok(mut a) = self.accounts.lock() {
            a.clear();
        }
        if let Ok(mut s) = self.servers.lock() {
            s.clear();
        }
    }

    /// Sends plex.tv calls to another address (the sandbox's and the tests' fake plex.tv).
    pub fn set_plex_tv_url(&self, url: &str) {
        let url = url.trim_end_matches('/').to_string();
        self.rewire(|w| w.plex_tv_url = url);
    }

    /// Where plex.tv calls go (and Plex account tokens with them).
    pub fn plex_tv_url(&self) -> String {
        self.wiring().plex_tv_url
    }

    /// Adjusts the options every client is built with; the observer is kept.
    pub fn configure(&self, f: impl FnOnce(&mut ClientOptions)) {
        self.rewire(|w| {
            let observer = w.options.observer.clone();
            f(&mut w.options);
            w.options.observer = observer;
        });
    }

    pub fn client_id(&self) -> &PlexClientId {
        &self.client_id
    }

    /// A plex.tv client for a token not stored yet (the "Test token" of the add form).
    pub fn plex_account_unsaved(
        &self,
        secrets: &PlexAccountSecrets,
    ) -> Result<Arc<dyn PlexAccount>, AppError> {
        let w = self.wiring();
        let mut opts = w.options.clone();
        opts.proxy = secrets.proxy.clone();
        opts.extra_query = secrets.extra_query.clone();
        let c = PlexTvClient::new(&w.plex_tv_url, &secrets.token, &self.client_id, opts)?;
        Ok(Arc::new(c))
    }

    /// The shared client of a stored account.
    pub fn plex_account(
        &self,
        app: &App,
        row: &PlexAccountRow,
    ) -> Result<Arc<dyn PlexAccount>, AppError> {
        let w = self.wiring();
        // A digest rather than the secrets themselves, so the map never holds them twice.
        let fingerprint = crate::crypto::token_hash(&format!(
            "{}\0{}\0{}\0{}\0{}\0{}",
            row.token_enc,
            row.proxy_url,
            row.proxy_username,
            row.proxy_password_enc,
            row.extra_query,
            w.plex_tv_url
        ));
        if let Ok(map) = self.accounts.lock()
            && let Some((fp, client)) = map.get(&row.id)
            && *fp == fingerprint
        {
            return Ok(client.clone());
        }
        let secrets = open_account(app, row)?;
        let client = self.plex_account_unsaved(&secrets)?;
        if let Ok(mut map) = self.accounts.lock() {
            map.insert(row.id, (fingerprint, client.clone()));
        }
        Ok(client)
    }

    /// A Plex Media Server client at `url`, through the owning account.
    pub fn plex_server(
        &self,
        account: Arc<dyn PlexAccount>,
        token: &str,
        url: &str,
        machine_id: &str,
    ) -> Result<Box<dyn MediaServer>, AppError> {
        let w = self.wiring();
        let s = PlexServer::new(account, url, token, machine_id, &self.client_id, w.options)?;
        Ok(Box::new(s))
    }

    /// A Jellyfin or Emby client from a URL and a plain API key (add form, or a stored row).
    pub fn mediabrowser_server(
        &self,
        platform: &str,
        url: &str,
        api_key: &str,
    ) -> Result<Box<dyn MediaServer>, AppError> {
        let w = self.wiring();
        match platform {
            "jellyfin" => Ok(Box::new(JellyfinServer::new(
                url,
                api_key,
                &self.client_id.identifier,
                w.options,
            )?)),
            "emby" => Ok(Box::new(EmbyServer::new(url, api_key, w.options)?)),
            other => Err(AppError::invalid(
                "platform",
                format!("\"{other}\" is not jellyfin or emby"),
            )),
        }
    }

    /// The client of a stored server, whatever its platform; shared while the row (and, on
    /// Plex, its account) is unchanged.
    pub async fn server(
        &self,
        app: &App,
        row: &ServerRow,
    ) -> Result<Arc<dyn MediaServer>, AppError> {
        let account_row = match row.plex_account_id {
            Some(id) if row.platform == Platform::Plex => Some(
                boxoffice_store::plex_accounts::find(app.db.ex(), id)
                    .await
                    .map_err(AppError::not_found_as("Plex account"))?,
            ),
            _ => None,
        };
        // A digest rather than the secrets themselves, so the map never holds them twice.
        let fingerprint = crate::crypto::token_hash(&format!(
            "{}\0{}\0{}\0{}\0{}\0{}",
            row.platform,
            row.url,
            row.api_key_enc,
            row.remote_id,
            account_row
                .as_ref()
                .map(|a| format!(
                    "{}\0{}\0{}\0{}\0{}",
                    a.id, a.token_enc, a.proxy_url, a.proxy_password_enc, a.extra_query
                ))
                .unwrap_or_default(),
            self.wiring().plex_tv_url
        ));
        if let Ok(map) = self.servers.lock()
            && let Some((fp, client)) = map.get(&row.id)
            && *fp == fingerprint
        {
            return Ok(client.clone());
        }
        let client: Arc<dyn MediaServer> = if row.platform == Platform::Plex {
            let Some(account_row) = account_row else {
                return Err(AppError::Internal(format!(
                    "Plex server {} has no Plex account",
                    row.id
                )));
            };
            let account = self.plex_account(app, &account_row)?;
            let token = app.secrets.open(&account_row.token_enc)?;
            self.plex_server(account, &token, &row.url, &row.remote_id)?
                .into()
        } else {
            let key = app.secrets.open(&row.api_key_enc)?;
            self.mediabrowser_server(row.platform.as_str(), &row.url, &key)?
                .into()
        };
        if let Ok(mut map) = self.servers.lock() {
            map.insert(row.id, (fingerprint, client.clone()));
        }
        Ok(client)
    }
}

/// Opens a stored account's token and proxy credentials.
pub fn open_account(app: &App, row: &PlexAccountRow) -> Result<PlexAccountSecrets, AppError> {
    let token = app.secrets.open(&row.token_enc)?;
    let proxy = if row.proxy_url.is_empty() {
        None
    } else {
        let password = if row.proxy_password_enc.is_empty() {
            None
        } else {
            Some(app.secrets.open(&row.proxy_password_enc)?)
        };
        Some(ProxyConfig {
            url: row.proxy_url.clone(),
            username: Some(row.proxy_username.clone()).filter(|u| !u.is_empty()),
            password,
        })
    };
    Ok(PlexAccountSecrets {
        token,
        proxy,
        extra_query: boxoffice_media::parse_extra_query(&row.extra_query),
    })
}
