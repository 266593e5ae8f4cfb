//! Sync wiring on the configured gateways: which accounts are read, the jobs that read them,
//! "Sync now", each account's status, the webhook addresses and "Test connection".

use super::{
    SYNC_JOB, SyncReport, SyncTarget, account_str, gateway_str, parse_account, parse_gateway,
};
use crate::audit::Actor;
use crate::payments::{GatewayUnavailable, Provider};
use crate::queue::JobSpec;
use crate::settings::Settings;
use crate::{App, AppError};
use boxoffice_payments::{Account, TransactionQuery};
use boxoffice_store::payment_sync::{self as store, SyncStatusRow};
use serde::Serialize;
use serde_json::json;

/// One gateway account on the Payments and Payment gateways pages.
#[derive(Debug, Clone, Serialize)]
pub struct GatewayStatusView {
    pub gateway: &'static str,
    pub label: &'static str,
    pub account: &'static str,
    /// Switched on with the credentials sync needs.
    pub configured: bool,
    pub status: Option<SyncStatusRow>,
}

/// One gateway on the Payment gateways page.
#[derive(Debug, Clone, Serialize)]
pub struct GatewayOverview {
    pub slug: &'static str,
    pub label: &'static str,
    pub enabled: bool,
    /// Site URI + `/webhooks/<gateway>`; just the path when the Site URI is not set.
    pub webhook_url: String,
    pub sync: Vec<GatewayStatusView>,
}

fn filled(s: &Settings, key: &str) -> bool {
    !s.get(key).trim().is_empty()
}

fn enabled(s: &Settings, p: Provider) -> bool {
    App::enabled_providers(s).contains(&p)
}

/// The accounts of `p` sync reads, switched on or not: Stripe and Plisio have one; PayPal its
/// primary and, when its NVP credentials are set, the sync-only secondary.
fn accounts(s: &Settings, p: Provider) -> Vec<Account> {
    match p {
        Provider::PayPal if filled(s, "payments.paypal.secondary_nvp_username") => {
            vec![Account::Primary, Account::Secondary]
        }
        _ => vec![Account::Primary],
    }
}

/// The accounts sync reads now: every account of every switched-on gateway.
pub fn sync_targets(s: &Settings) -> Vec<SyncTarget> {
    App::enabled_providers(s)
        .into_iter()
        .flat_map(|p| {
            accounts(s, p).into_iter().map(move |account| SyncTarget {
                gateway: p.kind(),
                account,
            })
        })
        .collect()
}

impl App {
    /// Queues one [`SYNC_JOB`] per account sync reads; `tag` names the occasion in the job
    /// key (a scheduler tick, or "Sync now" at a time), so each occasion queues each account
    /// once however many instances ask.
    pub async fn queue_payment_syncs(&self, tag: &str) -> Result<usize, AppError> {
        let s = self.settings().await?;
        let targets = sync_targets(&s);
        let mut tx = self.db.begin().await?;
        for t in &targets {
            let (g, a) = (gateway_str(t.gateway), account_str(t.account));
            self.enqueue(
                tx.ex(),
                JobSpec::new(SYNC_JOB, json!({ "gateway": g, "account": a }))
                    .key(format!("payments.sync:{g}:{a}:{tag}")),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(targets.len())
    }

    /// "Sync now": every account, at once, with an audit row.
    pub async fn queue_payment_sync_now(&self, actor: &Actor) -> Result<usize, AppError> {
        let n = self
            .queue_payment_syncs(&format!("now:{}", self.now()))
            .await?;
        let mut tx = self.db.begin().await?;
        self.audit(
            tx.ex(),
            actor,
            "payments.sync_now",
            "payments",
            &format!("{n} accounts"),
        )
        .await?;
        tx.commit().await?;
        Ok(n)
    }

    /// The [`SYNC_JOB`]'s work for payload `{"gateway", "account"}`.
    pub async fn run_payment_sync_job(
        &self,
        payload: &serde_json::Value,
    ) -> Result<SyncReport, AppError> {
        let gateway = payload["gateway"]
            .as_str()
            .and_then(parse_gateway)
            .ok_or_else(|| AppError::invalid("gateway", "the job names no gateway"))?;
        let account = payload["account"]
            .as_str()
            .and_then(parse_account)
            .unwrap_or(Account::Primary);
        self.run_payment_sync(SyncTarget { gateway, account }).await
    }

    /// Reads one account of a configured gateway.
    pub async fn run_payment_sync(&self, t: SyncTarget) -> Result<SyncReport, AppError> {
        let gw = match self.payment_gateway(Provider::from(t.gateway)).await {
            Ok(g) => g,
            Err(GatewayUnavailable::App(e)) => return Err(e),
            Err(e) => {
                // Not set up (switched off since, a credential removed): shown on the status
                // and the job stops; nothing will change until the settings do.
                self.sync_failed(t.gateway, t.account, &e.to_string())
                    .await?;
                return Err(AppError::Conflict(e.to_string()));
            }
        };
        self.sync_gateway_account(gw.as_ref(), t.account).await
    }

    /// The [`REFUND_JOB`]'s work for payload `{"refund_id"}`.
    pub async fn run_refund_job(&self, payload: &serde_json::Value) -> Result<(), AppError> {
        let id = payload["refund_id"]
            .as_i64()
            .ok_or_else(|| AppError::invalid("refund_id", "the job names no refund"))?;
        let r = boxoffice_store::payments_page::find_refund(self.db.ex(), id)
            .await
            .map_err(AppError::not_found_as("refund"))?;
        let p = boxoffice_store::payments::find(self.db.ex(), r.payment_id)
            .await
            .map_err(AppError::not_found_as("payment"))?;
        let kind = super::refundable_at(&p.method, &p.transaction_id).ok_or_else(|| {
            AppError::Conflict(format!("{} payments cannot be refunded here", p.method))
        })?;
        let gw = self
            .payment_gateway(Provider::from(kind))
            .await
            .map_err(AppError::from)?;
        self.carry_out_refund_with(gw.as_ref(), id).await?;
        Ok(())
    }

    /// Every account of every gateway with its sync status, for the Payments page.
    pub async fn payment_sync_overview(&self) -> Result<Vec<GatewayStatusView>, AppError> {
        let s = self.settings().await?;
        let rows = store::statuses(self.db.ex()).await?;
        let mut out = Vec::new();
        for p in Provider::ALL {
            let on = enabled(&s, p);
            for account in accounts(&s, p) {
                let (g, a) = (gateway_str(p.kind()), account_str(account));
                let status = rows
                    .iter()
                    .find(|r| r.gateway == g && r.account == a)
                    .cloned();
                if !on && status.is_none() {
                    continue;
                }
                out.push(GatewayStatusView {
                    gateway: g,
                    label: p.label(),
                    account: a,
                    configured: on,
                    status,
                });
            }
        }
        Ok(out)
    }

    /// The Payment gateways page: each gateway's webhook address and sync status.
    pub async fn payment_gateways_overview(&self) -> Result<Vec<GatewayOverview>, AppError> {
        let s = self.settings().await?;
        let site = s
            .get("general.site_uri")
            .trim()
            .trim_end_matches('/')
            .to_string();
        let sync = self.payment_sync_overview().await?;
        Ok(Provider::ALL
            .into_iter()
            .map(|p| GatewayOverview {
                slug: p.as_str(),
                label: p.label(),
                enabled: enabled(&s, p),
                webhook_url: format!("{site}/webhooks/{}", p.as_str()),
                sync: sync
                    .iter()
                    .filter(|v| v.gateway == p.as_str())
                    .cloned()
                    .collect(),
            })
            .collect())
    }

    /// "Test connection": one cheap authenticated call (a one-minute transaction search of
    /// each account, which needs the same credentials sync and checkout use). Answers what
    /// worked, or the gateway's specific error.
    pub async fn test_payment_gateway(
        &self,
        actor: &Actor,
        gateway: &str,
    ) -> Result<String, AppError> {
        let p = Provider::parse(gateway).ok_or(AppError::NotFound("payment gateway"))?;
        let s = self.settings().await?;
        let outcome = self.probe(p, &s).await;
        let mut tx = self.db.begin().await?;
        self.audit(
            tx.ex(),
            actor,
            "payments.test_connection",
            p.as_str(),
            match &outcome {
                Ok(_) => "ok",
                Err(_) => "failed",
            },
        )
        .await?;
        tx.commit().await?;
        outcome
    }

    async fn probe(&self, p: Provider, s: &Settings) -> Result<String, AppError> {
        let gw = self
            .payment_gateway(p)
            .await
            .map_err(|e| AppError::Conflict(e.to_string()))?;
        let now = self.now();
        let mut said = Vec::new();
        for account in accounts(s, p) {
            let q = TransactionQuery {
                since: now - 60,
                until: Some(now),
                account,
                cursor: None,
            };
            match gw.list_transactions(&q).await {
                Ok(_) => said.push(format!("{} account: ok", account_str(account))),
                Err(e) => {
                    return Err(AppError::Conflict(format!(
                        "{} account: {e}",
                        account_str(account)
                    )));
                }
            }
        }
        Ok(format!(
            "connected with the configured credentials ({})",
            said.join(", ")
        ))
    }
}
