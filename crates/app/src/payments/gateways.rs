//! Builds the configured gateway of each provider from the runtime settings (sections Stripe,
//! PayPal and Plisio). A gateway is rebuilt only when its settings change, so every webhook
//! and checkout shares one HTTP client (and PayPal's cached OAuth token and certificates).

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use boxoffice_payments::paypal::{
    NvpCredentials, PayPalAccount, PayPalConfig, PayPalEnvironment, PayPalGateway, RestCredentials,
    WebhookVerification,
};
use boxoffice_payments::plisio::{PlisioConfig, PlisioGateway};
use boxoffice_payments::stripe::{StripeConfig, StripeGateway};
use boxoffice_payments::{Gateway, GatewayKind, PaymentError, Secret};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::settings::Settings;
use crate::{App, AppError};

/// A payment provider boxoffice can take money through. Stored as its [`Provider::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    Stripe,
    #[serde(rename = "paypal")]
    PayPal,
    Plisio,
}

impl Provider {
    pub const ALL: [Provider; 3] = [Provider::Stripe, Provider::PayPal, Provider::Plisio];

    /// The stored and URL form: `stripe`, `paypal`, `plisio`.
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Stripe => "stripe",
            Provider::PayPal => "paypal",
            Provider::Plisio => "plisio",
        }
    }

    pub fn parse(s: &str) -> Option<Provider> {
        Provider::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(s.trim()))
    }

    /// The name customers and owners read.
    pub fn label(self) -> &'static str {
        match self {
            Provider::Stripe => "Stripe",
            Provider::PayPal => "PayPal",
            Provider::Plisio => "Plisio",
        }
    }

    pub fn kind(self) -> GatewayKind {
        match self {
            Provider::Stripe => GatewayKind::Stripe,
            Provider::PayPal => GatewayKind::PayPal,
            Provider::Plisio => GatewayKind::Plisio,
        }
    }

    /// Whether the provider bills on its own each period (Plisio does not).
    pub fn supports_recurring(self) -> bool {
        !matches!(self, Provider::Plisio)
    }

    fn enabled_key(self) -> &'static str {
        match self {
            Provider::Stripe => "payments.stripe.enabled",
            Provider::PayPal => "payments.paypal.enabled",
            Provider::Plisio => "payments.plisio.enabled",
        }
    }
}

impl From<GatewayKind> for Provider {
    fn from(k: GatewayKind) -> Self {
        match k {
            GatewayKind::Stripe => Provider::Stripe,
            GatewayKind::PayPal => Provider::PayPal,
            GatewayKind::Plisio => Provider::Plisio,
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// Why no gateway could be built for a provider.
#[derive(Debug, thiserror::Error)]
pub enum GatewayUnavailable {
    /// Switched off, or a credential it needs is empty: nothing to retry until an owner
    /// changes the settings.
    #[error("{provider} is not configured: {reason} (Settings → {provider})")]
    NotConfigured { provider: Provider, reason: String },
    /// The settings are there but the client refused them (e.g. a malformed address).
    #[error(transparent)]
    Payment(#[from] PaymentError),
    #[error(transparent)]
    App(#[from] AppError),
}

impl GatewayUnavailable {
    fn not_configured(provider: Provider, reason: impl Into<String>) -> Self {
        GatewayUnavailable::NotConfigured {
            provider,
            reason: reason.into(),
        }
    }
}

impl From<GatewayUnavailable> for AppError {
    fn from(e: GatewayUnavailable) -> Self {
        match e {
            GatewayUnavailable::App(a) => a,
            GatewayUnavailable::NotConfigured { .. } => AppError::Conflict(e.to_string()),
            GatewayUnavailable::Payment(p) => AppError::Internal(p.to_string()),
        }
    }
}

/// The settings a gateway was built from, as a digest (secrets never kept in the clear here).
type Fingerprint = [u8; 32];

type Built = (Fingerprint, Arc<dyn Gateway>);

/// Caches one gateway per provider, rebuilt when its settings change.
#[derive(Default)]
pub struct GatewayConnector {
    cached: Mutex<HashMap<Provider, Built>>,
}

impl fmt::Debug for GatewayConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GatewayConnector").finish_non_exhaustive()
    }
}

/// Everything a provider's gateway is built from, read from the settings once.
struct Wiring {
    values: Vec<(&'static str, String)>,
}

impl Wiring {
    fn read(app: &App, s: &Settings, keys: &[&'static str]) -> Result<Self, AppError> {
        let mut values = Vec::with_capacity(keys.len());
        for &k in keys {
            let is_secret = boxoffice_domain::settings::find(k)
                .is_some_and(|d| d.kind == boxoffice_domain::settings::Kind::Secret);
            let v = if is_secret {
                s.secret(app, k)?.unwrap_or_default()
            } else {
                s.get(k).to_string()
            };
            values.push((k, v.trim().to_string()));
        }
        Ok(Wiring { values })
    }

    fn get(&self, key: &str) -> &str {
        self.values
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    fn opt(&self, key: &str) -> Option<String> {
        Some(self.get(key).to_string()).filter(|v| !v.is_empty())
    }

    fn fingerprint(&self) -> Fingerprint {
        let mut h = Sha256::new();
        for (k, v) in &self.values {
            h.update(k.as_bytes());
            h.update([0]);
            h.update(v.as_bytes());
            h.update([0]);
        }
        h.finalize().into()
    }
}

const STRIPE_KEYS: &[&str] = &[
    "payments.stripe.secret_key",
    "payments.stripe.webhook_secret",
    "payments.stripe.webhook_secret_previous",
    "payments.stripe.api_base",
];
const PAYPAL_KEYS: &[&str] = &[
    "payments.paypal.environment",
    "payments.paypal.client_id",
    "payments.paypal.client_secret",
    "payments.paypal.webhook_id",
    "payments.paypal.nvp_username",
    "payments.paypal.nvp_password",
    "payments.paypal.nvp_signature",
    "payments.paypal.secondary_nvp_username",
    "payments.paypal.secondary_nvp_password",
    "payments.paypal.secondary_nvp_signature",
    "payments.paypal.api_base",
    "payments.paypal.nvp_url",
];
const PLISIO_KEYS: &[&str] = &["payments.plisio.secret_key", "payments.plisio.api_base"];

fn keys(p: Provider) -> &'static [&'static str] {
    match p {
        Provider::Stripe => STRIPE_KEYS,
        Provider::PayPal => PAYPAL_KEYS,
        Provider::Plisio => PLISIO_KEYS,
    }
}

impl GatewayConnector {
    pub fn new() -> Self {
        Self::default()
    }

    /// The gateway for `provider` as the settings `s` configure it, built once per change.
    pub fn gateway(
        &self,
        app: &App,
        s: &Settings,
        provider: Provider,
    ) -> Result<Arc<dyn Gateway>, GatewayUnavailable> {
        if !s.bool(provider.enabled_key()) {
            return Err(GatewayUnavailable::not_configured(
                provider,
                format!("{provider} is switched off"),
            ));
        }
        let w = Wiring::read(app, s, keys(provider))?;
        let fp = w.fingerprint();
        let mut cached = self.cached.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((f, g)) = cached.get(&provider)
            && *f == fp
        {
            return Ok(g.clone());
        }
        let g = build(app, provider, &w)?;
        cached.insert(provider, (fp, g.clone()));
        Ok(g)
    }

    /// Forgets every built gateway (the next call rebuilds from the settings).
    pub fn reset(&self) {
        self.cached
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }
}

fn build(
    app: &App,
    provider: Provider,
    w: &Wiring,
) -> Result<Arc<dyn Gateway>, GatewayUnavailable> {
    let missing =
        |what: &str| GatewayUnavailable::not_configured(provider, format!("{what} is not set"));
    Ok(match provider {
        Provider::Stripe => {
            let secret_key = w
                .opt("payments.stripe.secret_key")
                .ok_or_else(|| missing("the secret key"))?;
            let hook = w
                .opt("payments.stripe.webhook_secret")
                .ok_or_else(|| missing("the webhook signing secret"))?;
            let mut cfg = StripeConfig::new(Secret::new(secret_key), Secret::new(hook));
            if let Some(prev) = w.opt("payments.stripe.webhook_secret_previous") {
                cfg.webhook_secrets.push(Secret::new(prev));
            }
            if let Some(base) = w.opt("payments.stripe.api_base") {
                cfg = cfg.api_base(&base);
            }
            Arc::new(StripeGateway::with_clock(cfg, app.clock.clone(), None)?)
        }
        Provider::PayPal => {
            let base = w.opt("payments.paypal.api_base");
            let environment = match &base {
                Some(api_base) => PayPalEnvironment::Custom {
                    api_base: api_base.clone(),
                    nvp_url: w
                        .opt("payments.paypal.nvp_url")
                        .unwrap_or_else(|| format!("{api_base}/nvp")),
                },
                None if w.get("payments.paypal.environment") == "sandbox" => {
                    PayPalEnvironment::Sandbox
                }
                None => PayPalEnvironment::Live,
            };
            let rest = match (
                w.opt("payments.paypal.client_id"),
                w.opt("payments.paypal.client_secret"),
            ) {
                (Some(client_id), Some(secret)) => Some(RestCredentials {
                    client_id,
                    secret: Secret::new(secret),
                }),
                _ => None,
            };
            let nvp = |prefix: &str| -> Option<NvpCredentials> {
                Some(NvpCredentials {
                    username: w.opt(&format!("payments.paypal.{prefix}nvp_username"))?,
                    password: Secret::new(w.opt(&format!("payments.paypal.{prefix}nvp_password"))?),
                    signature: Secret::new(
                        w.opt(&format!("payments.paypal.{prefix}nvp_signature"))?,
                    ),
                })
            };
            let primary = PayPalAccount { rest, nvp: nvp("") };
            if primary.rest.is_none() && primary.nvp.is_none() {
                return Err(missing(
                    "neither the REST client ID and secret nor the NVP credentials",
                ));
            }
            let mut cfg = PayPalConfig::new(environment, primary);
            cfg.secondary = nvp("secondary_").map(|n| PayPalAccount {
                rest: None,
                nvp: Some(n),
            });
            cfg.webhook_id = w.opt("payments.paypal.webhook_id");
            if let (Some(api_base), WebhookVerification::Local { cert_origins }) =
                (&base, &mut cfg.verification)
            {
                // A self-hosted PayPal (the sandbox's fake) serves its own signing certificate.
                cert_origins.push(api_base.clone());
            }
            Arc::new(PayPalGateway::with_clock(cfg, app.clock.clone(), None)?)
        }
        Provider::Plisio => {
            let key = w
                .opt("payments.plisio.secret_key")
                .ok_or_else(|| missing("the secret key"))?;
            let mut cfg = PlisioConfig::new(Secret::new(key));
            if let Some(base) = w.opt("payments.plisio.api_base") {
                cfg.api_base = base;
            }
            Arc::new(PlisioGateway::new(cfg)?)
        }
    })
}

impl App {
    /// The configured gateway of `provider`, or why there is none.
    pub async fn payment_gateway(
        &self,
        provider: Provider,
    ) -> Result<Arc<dyn Gateway>, GatewayUnavailable> {
        let s = self.settings().await?;
        self.gateways.gateway(self, &s, provider)
    }

    /// The providers switched on in the settings (whether fully set up or not).
    pub fn enabled_providers(s: &Settings) -> Vec<Provider> {
        Provider::ALL
            .into_iter()
            .filter(|p| s.bool(p.enabled_key()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn providers_round_trip_through_their_stored_names() {
        for p in Provider::ALL {
            assert_eq!(Provider::parse(p.as_str()), Some(p));
            assert_eq!(Provider::from(p.kind()), p);
        }
        assert_eq!(Provider::parse("PayPal"), Some(Provider::PayPal));
        assert_eq!(Provider::parse("square"), None);
    }
}
