//! One sync run of one gateway account.

use super::{
    FIRST_WINDOW_SECS, MAX_PAGES, OVERLAP_SECS, account_str, gateway_str, payment_failure,
};
use crate::audit::Actor;
use crate::notify::Notice;
use crate::payments::Provider;
use crate::payments::giveback::Giveback;
use crate::subscriptions::RenewInput;
use crate::{App, AppError};
use boxoffice_domain::payment_sync::{
    self as rules, Decision, Known, Movement, PlanPrice, Seen, Settlement, Unmatched,
};
use boxoffice_domain::{Money, money::Currency};
use boxoffice_payments::{
    Account, Gateway, GatewayKind, Transaction, TransactionKind, TransactionQuery,
    TransactionStatus,
};
use boxoffice_store::payment_sync::{self as store, NewUnmatched, RunCounts};
use boxoffice_store::{customers, plans};
use serde::{Deserialize, Serialize};

/// A gateway account sync reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncTarget {
    pub gateway: GatewayKind,
    pub account: Account,
}

/// What one run did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SyncReport {
    pub since: i64,
    pub until: i64,
    pub counts: RunCounts,
    /// Payments recorded by this run.
    pub payment_ids: Vec<i64>,
    /// Unmatched payments listed by this run.
    pub unmatched_ids: Vec<i64>,
    /// Recorded payments the gateway now shows as refunded or reversed.
    pub refunds_seen: i64,
    /// PayPal subscriptions whose renewal is overdue with no payment seen (the reference's
    /// "PayPal subscription ID: … does not have any transactions").
    pub warnings: Vec<String>,
}

/// How long after a PayPal subscription's paid period ends its renewal may still be posted
/// before sync says it has no transactions.
pub const RENEWAL_GRACE_SECS: i64 = 6 * 3600;

enum Taken {
    Matched(i64),
    Unmatched(i64),
    Skipped,
    RefundSeen,
}

fn movement(k: TransactionKind) -> Movement {
    match k {
        TransactionKind::Payment => Movement::Payment,
        TransactionKind::Refund => Movement::Refund,
        TransactionKind::Other => Movement::Other,
    }
}

fn settlement(s: &TransactionStatus) -> Settlement {
    match s {
        TransactionStatus::Succeeded => Settlement::Succeeded,
        TransactionStatus::Pending => Settlement::Pending,
        TransactionStatus::Failed => Settlement::Failed,
        TransactionStatus::Refunded => Settlement::Refunded,
        TransactionStatus::PartiallyRefunded => Settlement::PartiallyRefunded,
        TransactionStatus::Reversed => Settlement::Reversed,
        TransactionStatus::Other(_) => Settlement::Other,
    }
}

impl App {
    /// Reads one account of `gw` from the end of its last successful run (less
    /// [`OVERLAP_SECS`]) to now and takes each transaction. A gateway failure is recorded on
    /// the account's status, told to the administrator once per run of failures, and returned
    /// (transient ones are retried by the job).
    pub async fn sync_gateway_account(
        &self,
        gw: &dyn Gateway,
        account: Account,
    ) -> Result<SyncReport, AppError> {
        let (g, a) = (gateway_str(gw.kind()), account_str(account));
        let now = self.now();
        store::mark_started(self.db.ex(), g, a, now).await?;
        match self.sync_window(gw, account, now).await {
            Ok(report) => {
                store::mark_succeeded(self.db.ex(), g, a, now, report.counts, now).await?;
                Ok(report)
            }
            Err(e) => {
                self.sync_failed(gw.kind(), account, &e.to_string()).await?;
                Err(e)
            }
        }
    }

    /// Records a failed run on the account's status; the first failure after a success is
    /// told to the administrator.
    pub(crate) async fn sync_failed(
        &self,
        gateway: GatewayKind,
        account: Account,
        error: &str,
    ) -> Result<(), AppError> {
        let (g, a) = (gateway_str(gateway), account_str(account));
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let before = store::status(tx.ex(), g, a).await?;
        let streak = store::mark_failed(tx.ex(), g, a, error, now).await?;
        if streak == 1 {
            let since_ok = before.and_then(|s| s.last_success_at).unwrap_or(0);
            self.notify(
                tx.ex(),
                Notice::system_message(
                    &format!("{gateway} transaction sync failed ({a} account)"),
                    &format!(
                        "{error}\n\nPayments made at {gateway} are not recorded until sync \
                         succeeds again; it is retried by itself. The Payments page shows each \
                         gateway's sync status."
                    ),
                )
                .once(format!("payment_sync_failed:{g}:{a}:{since_ok}")),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn sync_window(
        &self,
        gw: &dyn Gateway,
        account: Account,
        now: i64,
    ) -> Result<SyncReport, AppError> {
        let (g, a) = (gateway_str(gw.kind()), account_str(account));
        let since = store::status(self.db.ex(), g, a)
            .await?
            .and_then(|s| s.synced_through)
            .map_or(now - FIRST_WINDOW_SECS, |t| t - OVERLAP_SECS);
        let plans = self.plan_prices().await?;
        let mut report = SyncReport {
            since,
            until: now,
            ..SyncReport::default()
        };
        let mut cursor = None;
        for _ in 0..MAX_PAGES {
            let q = TransactionQuery {
                since,
                until: Some(now),
                account,
                cursor: cursor.take(),
            };
            let page = gw
                .list_transactions(&q)
                .await
                .map_err(|e| payment_failure(&e))?;
            for t in &page.transactions {
                report.counts.seen += 1;
                match self.take_transaction(t, &plans).await? {
                    Taken::Matched(id) => {
                        report.counts.matched += 1;
                        report.payment_ids.push(id);
                    }
                    Taken::Unmatched(id) => {
                        report.counts.unmatched += 1;
                        report.unmatched_ids.push(id);
                    }
                    Taken::Skipped => report.counts.skipped += 1,
                    Taken::RefundSeen => {
                        report.counts.skipped += 1;
                        report.refunds_seen += 1;
                    }
                }
            }
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        // A payment the admin recorded by hand with the transaction id settles its row.
        store::settle_recorded(self.db.ex(), now).await?;
        if gw.kind() == GatewayKind::PayPal && account == Account::Primary {
            report.warnings = self.overdue_paypal_subscriptions(now).await?;
        }
        Ok(report)
    }

    /// PayPal subscriptions in the ledger whose renewal fell due between [`RENEWAL_GRACE_SECS`]
    /// and three days ago while no payment for it has been recorded since: each is told to the
    /// administrator once, in the reference's words, with what to check.
    async fn overdue_paypal_subscriptions(&self, now: i64) -> Result<Vec<String>, AppError> {
        let due = store::overdue_subscriptions(
            self.db.ex(),
            "paypal",
            now - 3 * 86_400,
            now - RENEWAL_GRACE_SECS,
        )
        .await?;
        let mut said = Vec::new();
        for d in due {
            let title = rules::paypal_errors::no_transactions(&d.subscription_id);
            let customer = customers::find(self.db.ex(), d.customer_id).await?;
            let mut tx = self.db.begin().await?;
            self.notify(
                tx.ex(),
                Notice::system_message(
                    &format!("Error: {title}"),
                    &format!(
                        "{title}. The renewal of {} was due on {} and sync found no payment for \
                         it. {}",
                        customer.email,
                        crate::notify::date(d.paid_until),
                        rules::paypal_errors::NO_TRANSACTIONS_ADVICE
                    ),
                )
                .once(format!(
                    "paypal_no_transactions:{}:{}",
                    d.subscription_id, d.paid_until
                )),
            )
            .await?;
            tx.commit().await?;
            tracing::warn!(subscription = %d.subscription_id, "{title}");
            said.push(title);
        }
        Ok(said)
    }

    async fn plan_prices(&self) -> Result<Vec<PlanPrice>, AppError> {
        Ok(plans::list(self.db.ex())
            .await?
            .into_iter()
            .filter_map(|r| {
                let c = Currency::parse(&r.plan.currency).ok()?;
                Some(PlanPrice {
                    plan_id: r.plan.id,
                    cost: Money::new(r.plan.cost_minor, c),
                    active: r.plan.active,
                    is_trial: r.plan.is_trial,
                })
            })
            .collect())
    }

    /// Decides and writes one transaction in one database transaction.
    async fn take_transaction(
        &self,
        t: &Transaction,
        plans: &[PlanPrice],
    ) -> Result<Taken, AppError> {
        let g = gateway_str(t.gateway);
        let ids: Vec<&str> = std::iter::once(t.id.as_str())
            .chain(t.aliases.iter().map(String::as_str))
            .collect();
        let email_key = t
            .payer_email
            .as_deref()
            .map(rules::match_key)
            .filter(|k| !k.is_empty());
        let subscription_id = t
            .subscription_id
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty());
        let mut tx = self.db.begin().await?;
        let mut known = Known {
            recorded: store::recorded(tx.ex(), &ids).await?,
            unmatched: store::unmatched_exists(tx.ex(), g, &ids).await?,
            ..Known::default()
        };
        if known.recorded.is_none() && !known.unmatched {
            if let Some(s) = subscription_id {
                known.subscription_owners = store::subscription_owners(tx.ex(), s).await?;
            }
            if let Some(k) = &email_key {
                known.email_owners = store::email_owners(tx.ex(), k).await?;
                known.paypal_email_owners = store::paypal_email_owners(tx.ex(), k).await?;
            }
        }
        let seen = Seen {
            movement: movement(t.kind),
            settlement: settlement(&t.status),
            amount: t.amount,
            payer_email: t.payer_email.as_deref(),
            subscription_id,
            recurring: t.gateway == GatewayKind::PayPal
                && t.description
                    .as_deref()
                    .is_some_and(|d| d.contains("Recurring") || d.contains("recurring")),
        };
        let taken = match rules::decide(&seen, &known) {
            Decision::Skip(_) => return Ok(Taken::Skipped),
            Decision::Match { customer_id, by } => {
                let customer = customers::find(tx.ex(), customer_id).await?;
                let current = customer
                    .plan_id
                    .and_then(|id| plans.iter().find(|p| p.plan_id == id).copied());
                match rules::infer_plan(t.amount, current, plans) {
                    Some(plan_id) => {
                        let input = RenewInput {
                            plan_id: Some(plan_id),
                            amount_minor: Some(t.amount.minor),
                            transaction_id: Some(t.id.clone()),
                            sequence: Some(1),
                            starts_at: Some(t.created.min(self.now())),
                            method: Some(g.to_string()),
                            notes: Some(format!(
                                "Found by {} transaction sync ({} account), matched by {}.",
                                t.gateway,
                                account_str(t.account),
                                by.label()
                            )),
                            ..RenewInput::default()
                        };
                        let out = match self
                            .record_synced_payment(
                                &mut tx,
                                &customer,
                                &input,
                                subscription_id,
                                "sync",
                            )
                            .await
                        {
                            Ok(o) => o,
                            // Another run (or instance) recorded it first.
                            Err(AppError::Conflict(_)) => return Ok(Taken::Skipped),
                            Err(e) => return Err(e),
                        };
                        self.audit(
                            tx.ex(),
                            &Actor::system(),
                            "payment.sync_matched",
                            &format!("customer:{customer_id}"),
                            &format!("{} {} matched by {}", t.gateway, t.id, by.label()),
                        )
                        .await?;
                        Taken::Matched(out.payment_id)
                    }
                    None => {
                        let reason = format!(
                            "matched customer {} by {}, but no plan is priced at {}: assign it \
                             with the plan it pays for",
                            customer.email,
                            by.label(),
                            t.amount
                        );
                        self.list_unmatched(&mut tx, t, &reason).await?
                    }
                }
            }
            Decision::Unmatched(u) => {
                let reason = u.describe();
                let taken = self.list_unmatched(&mut tx, t, &reason).await?;
                if matches!(u, Unmatched::MissingSubscriptionId) {
                    tracing::warn!(gateway = g, transaction = %t.id, "{}", rules::paypal_errors::MISSING_SUBSCRIPTION_ID);
                }
                taken
            }
            Decision::RefundedAfterRecorded {
                payment_id,
                customer_id,
                settlement,
            } => {
                let p = boxoffice_store::payments::find(tx.ex(), payment_id).await?;
                // Full refunds and reversals give back the whole payment; a partial refund
                // what the gateway says was given back, when it says.
                let total = match settlement {
                    Settlement::Refunded | Settlement::Reversed => Some(p.amount_minor),
                    _ => t
                        .refunded
                        .filter(|r| r.currency.as_str().eq_ignore_ascii_case(&p.currency))
                        .map(|r| r.minor),
                };
                let provider = Provider::parse(g)
                    .ok_or_else(|| AppError::Internal(format!("unknown gateway {g}")))?;
                match total {
                    Some(total) if total > p.refunded_minor => {
                        let kind = if settlement == Settlement::Reversed {
                            Giveback::Chargeback(None)
                        } else {
                            Giveback::Refund
                        };
                        let key = format!("sync:{}:{total}", t.id);
                        self.give_back(&mut tx, provider, &p, total, kind, &key)
                            .await?;
                    }
                    Some(_) => {}
                    None => {
                        let customer = customers::find(tx.ex(), customer_id).await?;
                        self.notify(
                            tx.ex(),
                            Notice::system_message(
                                &format!("A {} payment was partly refunded", t.gateway),
                                &format!(
                                    "{} shows payment {} ({}) of {} as partly refunded without \
                                     saying how much: shorten the payment on the customer's page \
                                     by the share refunded.",
                                    t.gateway, t.id, t.amount, customer.email
                                ),
                            )
                            .once(format!("payment_refund_seen:{payment_id}:{settlement:?}")),
                        )
                        .await?;
                    }
                }
                Taken::RefundSeen
            }
        };
        tx.commit().await?;
        Ok(taken)
    }

    /// Lists `t` on the Unmatched payments page and tells the administrator, once.
    async fn list_unmatched(
        &self,
        tx: &mut boxoffice_store::Tx,
        t: &Transaction,
        reason: &str,
    ) -> Result<Taken, AppError> {
        let g = gateway_str(t.gateway);
        let raw = serde_json::to_string(t).unwrap_or_else(|_| "{}".into());
        let row = NewUnmatched {
            gateway: g,
            account: account_str(t.account),
            transaction_id: &t.id,
            payer_email: t.payer_email.as_deref().unwrap_or(""),
            payer_name: t.payer_name.as_deref().unwrap_or(""),
            amount_minor: t.amount.minor,
            currency: t.amount.currency.as_str(),
            paid_at: t.created,
            subscription_id: t.subscription_id.as_deref().unwrap_or(""),
            reason,
            raw: &raw,
            now: self.now(),
        };
        Ok(match self.list_unmatched_payment(tx, row).await? {
            Some(id) => Taken::Unmatched(id),
            None => Taken::Skipped,
        })
    }
}
