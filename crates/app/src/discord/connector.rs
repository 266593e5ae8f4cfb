//! Where Discord lives and how to call it. Production uses discord.com; the sandbox and tests
//! point it at the fake. One client per bot token is kept, so every call made with it, from any
//! job or page, shares one rate-limit state.

use boxoffice_discord::{DiscordClient, DiscordError, DiscordOptions};
use boxoffice_domain::Clock;
use std::sync::{Arc, Mutex, RwLock};

pub const DEFAULT_API_URL: &str = boxoffice_discord::DEFAULT_API_URL;

#[derive(Debug, Clone)]
struct Wiring {
    api_url: String,
    options: DiscordOptions,
}

/// The cached client and what it was built from (the token stays in memory only).
struct Cached {
    api_url: String,
    token: String,
    client: Arc<DiscordClient>,
}

pub struct DiscordConnector {
    wiring: RwLock<Wiring>,
    cached: Mutex<Option<Cached>>,
}

impl std::fmt::Debug for DiscordConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiscordConnector")
            .field("api_url", &self.api_url())
            .finish_non_exhaustive()
    }
}

impl DiscordConnector {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        DiscordConnector {
            wiring: RwLock::new(Wiring {
                api_url: DEFAULT_API_URL.to_string(),
                options: DiscordOptions {
                    clock,
                    ..DiscordOptions::default()
                },
            }),
            cached: Mutex::new(None),
        }
    }

    fn wiring(&self) -> Wiring {
        match self.wiring.read() {
            Ok(w) => w.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    fn rewire(&self, f: impl FnOnce(&mut Wiring)) {
        match self.wiring.write() {
            Ok(mut w) => f(&mut w),
            Err(p) => f(&mut p.into_inner()),
        }
        if let Ok(mut c) = self.cached.lock() {
            *c = None;
        }
    }

    pub fn api_url(&self) -> String {
        self.wiring().api_url
    }

    /// Sends Discord calls to another address (the sandbox's and the tests' fake Discord).
    pub fn set_api_url(&self, url: &str) {
        let url = url.trim_end_matches('/').to_string();
        self.rewire(|w| w.api_url = url);
    }

    /// Adjusts the options every client is built with (tests: a clock sleeper, no waits).
    pub fn configure(&self, f: impl FnOnce(&mut DiscordOptions)) {
        self.rewire(|w| f(&mut w.options));
    }

    pub fn client(&self, token: &str) -> Result<Arc<DiscordClient>, DiscordError> {
        let w = self.wiring();
        let mut cached = self.cached.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = cached.as_ref()
            && c.api_url == w.api_url
            && c.token == token
        {
            return Ok(c.client.clone());
        }
        let client = Arc::new(DiscordClient::new(&w.api_url, token, w.options)?);
        *cached = Some(Cached {
            api_url: w.api_url,
            token: token.to_string(),
            client: client.clone(),
        });
        Ok(client)
    }
}
