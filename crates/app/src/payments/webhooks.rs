//! The webhook intake: a gateway's notification is authenticated from its raw bytes, then stored
//! by (provider, event id) and applied in one transaction. A replay finds the event stored and
//! changes nothing; an event that names a payment or subscription not recorded yet waits, and is
//! applied in the transaction that records it, so the order of deliveries does not matter.

use std::collections::HashSet;

use boxoffice_http::HeaderMap;
use boxoffice_payments::{Notification, PaymentError, WebhookEvent};
use boxoffice_store::payment_events::{self, NewEvent, Outcome as StoredOutcome};
use boxoffice_store::{StoreError, Tx};

use super::ledger::{Applied, Outcome};
use super::{GatewayUnavailable, Provider};
use crate::{App, AppError};

/// What the door answers a notification it accepted (every case is a 2xx).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookReceipt {
    pub event_id: String,
    /// `None`: the event was stored before and nothing was done this time.
    pub outcome: Option<Outcome>,
    pub detail: String,
}

/// Why a notification was refused.
#[derive(Debug, thiserror::Error)]
pub enum WebhookRefused {
    /// Not the provider's (bad or stale signature, malformed): 400, nothing written.
    #[error("{0}")]
    Signature(String),
    /// The provider is switched off or lacks its webhook secret: 503, so it retries later.
    #[error(transparent)]
    NotConfigured(GatewayUnavailable),
    /// Verification needed the gateway and it failed (PayPal certificate or postback): 503.
    #[error("{0}")]
    Gateway(PaymentError),
    /// Our side failed: 500, nothing written, the provider retries.
    #[error(transparent)]
    Failed(#[from] AppError),
}

impl App {
    /// Authenticates a notification from `provider` and applies it (see the module doc).
    pub async fn receive_webhook(
        &self,
        provider: Provider,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<WebhookReceipt, WebhookRefused> {
        let gateway = match self.payment_gateway(provider).await {
            Ok(g) => g,
            Err(GatewayUnavailable::App(e)) => return Err(WebhookRefused::Failed(e)),
            Err(e) => return Err(WebhookRefused::NotConfigured(e)),
        };
        let event = match gateway.verify_webhook(Notification { headers, body }).await {
            Ok(e) => e,
            Err(e @ PaymentError::Signature { .. }) => {
                self.metrics.inc(
                    "boxoffice_webhooks_refused_total",
                    crate::metrics::labels(&[("provider", provider.as_str())]),
                );
                return Err(WebhookRefused::Signature(e.to_string()));
            }
            Err(e) => return Err(WebhookRefused::Gateway(e)),
        };
        Ok(self.record_event(provider, &event).await?)
    }

    /// Stores a verified event and applies it, once. A unique-index conflict (another instance
    /// applying an event for the same payment at the same moment) retries the whole
    /// transaction, which then sees the other's work.
    pub async fn record_event(
        &self,
        provider: Provider,
        event: &WebhookEvent,
    ) -> Result<WebhookReceipt, AppError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.record_event_once(provider, event).await {
                Err(AppError::Store(StoreError::Conflict { .. })) if attempt < 4 => continue,
                other => return other,
            }
        }
    }

    async fn record_event_once(
        &self,
        provider: Provider,
        event: &WebhookEvent,
    ) -> Result<WebhookReceipt, AppError> {
        let now = self.now();
        let json = serde_json::to_string(event)
            .map_err(|e| AppError::Internal(format!("event does not serialise: {e}")))?;
        let mut tx = self.db.begin().await?;
        let Some(row_id) = payment_events::insert_new(
            tx.ex(),
            NewEvent {
                provider: provider.as_str(),
                event_id: &event.event_id,
                event_type: &event.provider_type,
                event: &json,
                occurred_at: event.created,
                now,
            },
        )
        .await?
        else {
            drop(tx);
            return Ok(WebhookReceipt {
                event_id: event.event_id.clone(),
                outcome: None,
                detail: "already received".into(),
            });
        };
        let applied = self.apply_event(&mut tx, provider, event).await?;
        store_outcome(&mut tx, row_id, &applied).await?;
        self.apply_waiting(&mut tx, provider, applied.unlocked.clone())
            .await?;
        tx.commit().await?;
        Ok(WebhookReceipt {
            event_id: event.event_id.clone(),
            outcome: Some(applied.outcome),
            detail: applied.detail,
        })
    }

    /// Applies, in `tx`, every stored event waiting for one of `keys`, and what those unlock.
    pub(crate) async fn apply_waiting(
        &self,
        tx: &mut Tx,
        provider: Provider,
        mut keys: Vec<String>,
    ) -> Result<(), AppError> {
        let mut seen = HashSet::new();
        while let Some(key) = keys.pop() {
            if !seen.insert(key.clone()) {
                continue;
            }
            for row in payment_events::waiting_for(tx.ex(), provider.as_str(), &key).await? {
                let ev: WebhookEvent = serde_json::from_str(&row.event).map_err(|e| {
                    AppError::Internal(format!("stored event {} does not parse: {e}", row.id))
                })?;
                let applied = self.apply_event(tx, provider, &ev).await?;
                store_outcome(tx, row.id, &applied).await?;
                keys.extend(applied.unlocked);
            }
        }
        Ok(())
    }
}

async fn store_outcome(tx: &mut Tx, id: i64, a: &Applied) -> Result<(), AppError> {
    let waiting = match &a.outcome {
        Outcome::Waiting(k) => k.as_str(),
        _ => "",
    };
    payment_events::set_outcome(
        tx.ex(),
        id,
        StoredOutcome {
            outcome: a.outcome.as_str(),
            waiting_for: waiting,
            detail: &a.detail,
            customer_id: a.customer_id,
            payment_id: a.payment_id,
        },
    )
    .await?;
    Ok(())
}
