//! The Unmatched payments page: list, assign to a customer (a payment extending them), dismiss.

use super::gateway_label;
use crate::audit::Actor;
use crate::subscriptions::RenewInput;
use crate::{App, AppError};
use boxoffice_store::payment_sync::{self as store, UnmatchedRow};
use boxoffice_store::{StoreError, customers};
use serde::Serialize;

pub const PAGE_SIZE: i64 = 50;
const REASON_MAX: usize = 500;

#[derive(Debug, Clone, Serialize)]
pub struct UnmatchedPage {
    pub rows: Vec<UnmatchedRow>,
    pub total: i64,
    pub open: i64,
    pub page: i64,
    pub pages: i64,
}

impl App {
    /// Unmatched payments in `state` (`open`, `assigned`, `dismissed`; all when `None`).
    pub async fn unmatched_payments(
        &self,
        state: Option<&str>,
        page: i64,
    ) -> Result<UnmatchedPage, AppError> {
        let state = match state.map(str::trim).filter(|s| !s.is_empty()) {
            None | Some("all") => None,
            Some(s @ ("open" | "assigned" | "dismissed")) => Some(s),
            Some(other) => {
                return Err(AppError::invalid(
                    "state",
                    format!("\"{other}\" is not a state: use open, assigned, dismissed or all"),
                ));
            }
        };
        let total = store::count_unmatched(self.db.ex(), state).await?;
        let open = store::count_unmatched(self.db.ex(), Some("open")).await?;
        let pages = ((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
        let page = page.clamp(1, pages);
        let rows =
            store::list_unmatched(self.db.ex(), state, PAGE_SIZE, (page - 1) * PAGE_SIZE).await?;
        Ok(UnmatchedPage {
            rows,
            total,
            open,
            page,
            pages,
        })
    }

    pub async fn unmatched_payment(&self, id: i64) -> Result<UnmatchedRow, AppError> {
        store::find_unmatched(self.db.ex(), id)
            .await
            .map_err(AppError::not_found_as("unmatched payment"))
    }

    /// Records the unmatched payment `id` on `customer_id` with `plan_id` (default: the
    /// customer's plan): a payment with the gateway's transaction id that extends the
    /// customer's coverage from their current expiry, the share it implies, the customer's
    /// notice and an audit row, in one transaction.
    pub async fn assign_unmatched(
        &self,
        actor: &Actor,
        id: i64,
        customer_id: i64,
        plan_id: Option<i64>,
    ) -> Result<crate::subscriptions::InviteOutcome, AppError> {
        let mut tx = self.db.begin().await?;
        let row = store::find_unmatched(tx.ex(), id)
            .await
            .map_err(AppError::not_found_as("unmatched payment"))?;
        if row.state != "open" {
            return Err(AppError::Conflict(format!(
                "this payment was already {}",
                row.state
            )));
        }
        let customer = customers::find(tx.ex(), customer_id)
            .await
            .map_err(AppError::not_found_as("customer"))?;
        let plan_id = plan_id
            .or(customer.plan_id)
            .ok_or_else(|| AppError::invalid("plan_id", "choose the plan this payment pays for"))?;
        let plan = boxoffice_store::plans::find(tx.ex(), plan_id)
            .await
            .map_err(AppError::not_found_as("plan"))?;
        if !plan.plan.currency.eq_ignore_ascii_case(&row.currency) {
            return Err(AppError::invalid(
                "plan_id",
                format!(
                    "this payment is in {}, and plan {} is priced in {}: choose a plan priced in {}",
                    row.currency, plan.plan.name, plan.plan.currency, row.currency
                ),
            ));
        }
        let input = RenewInput {
            plan_id: Some(plan_id),
            amount_minor: Some(row.amount_minor),
            transaction_id: Some(row.transaction_id.clone()),
            sequence: Some(1),
            starts_at: Some(row.paid_at.min(self.now())),
            method: Some(row.gateway.clone()),
            notes: Some(format!(
                "Unmatched {} payment assigned by {}.",
                gateway_label(&row.gateway),
                actor.label
            )),
            ..RenewInput::default()
        };
        let sub = Some(row.subscription_id.as_str()).filter(|s| !s.is_empty());
        let out = self
            .record_synced_payment(&mut tx, &customer, &input, sub, "sync")
            .await?;
        store::mark_assigned(
            tx.ex(),
            id,
            customer_id,
            out.payment_id,
            &actor.label,
            self.now(),
        )
        .await
        .map_err(|e| match e {
            StoreError::NotFound => AppError::Conflict("this payment was already resolved".into()),
            other => other.into(),
        })?;
        self.audit(
            tx.ex(),
            actor,
            "payment.unmatched_assign",
            &format!("customer:{customer_id}"),
            &format!(
                "{} {} ({} {}) on plan {}",
                gateway_label(&row.gateway),
                row.transaction_id,
                crate::notify::money(row.amount_minor, &row.currency),
                row.payer_email,
                plan.plan.name
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(out)
    }

    /// Dismisses the unmatched payment `id` (not a subscription payment, a duplicate, …) with
    /// the admin's reason. Nothing is recorded in the ledger.
    pub async fn dismiss_unmatched(
        &self,
        actor: &Actor,
        id: i64,
        reason: &str,
    ) -> Result<(), AppError> {
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(AppError::invalid(
                "reason",
                "say why this payment is dismissed (e.g. \"not for the server\")",
            ));
        }
        if reason.chars().count() > REASON_MAX {
            return Err(AppError::invalid(
                "reason",
                format!("a reason is at most {REASON_MAX} characters"),
            ));
        }
        let mut tx = self.db.begin().await?;
        let row = store::find_unmatched(tx.ex(), id)
            .await
            .map_err(AppError::not_found_as("unmatched payment"))?;
        store::mark_dismissed(tx.ex(), id, reason, &actor.label, self.now())
            .await
            .map_err(|e| match e {
                StoreError::NotFound => {
                    AppError::Conflict(format!("this payment was already {}", row.state))
                }
                other => other.into(),
            })?;
        self.audit(
            tx.ex(),
            actor,
            "payment.unmatched_dismiss",
            &format!("unmatched_payment:{id}"),
            &format!(
                "{} {}: {reason}",
                gateway_label(&row.gateway),
                row.transaction_id
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

impl App {
    /// Lists a payment no customer matched on the Unmatched payments page and tells the
    /// administrator, once per gateway transaction, in the caller's transaction. Transaction
    /// sync and the webhook intake both land here. `None` when it was already listed.
    pub(crate) async fn list_unmatched_payment(
        &self,
        tx: &mut boxoffice_store::Tx,
        new: store::NewUnmatched<'_>,
    ) -> Result<Option<i64>, AppError> {
        let Some(row) = store::insert_unmatched(tx.ex(), new).await? else {
            return Ok(None);
        };
        let payer = if row.payer_email.is_empty() {
            "an unknown payer".to_string()
        } else {
            row.payer_email.clone()
        };
        self.notify(
            tx.ex(),
            crate::notify::Notice::to_admin("unmatched_payment", None)
                .with("gateway", gateway_label(&row.gateway))
                .with("transaction_id", row.transaction_id.clone())
                .with("payer_email", payer)
                .with(
                    "payment_amount",
                    crate::notify::money(row.amount_minor, &row.currency),
                )
                .with("reason", row.reason.clone())
                .once(format!("unmatched_payment:{}", row.id)),
        )
        .await?;
        Ok(Some(row.id))
    }

    /// Customers for the assign form: those whose e-mail, PayPal e-mail, Plex e-mail or name
    /// contains `term` (at most 20).
    pub async fn customer_picks(&self, term: &str) -> Result<Vec<store::CustomerPick>, AppError> {
        if term.trim().is_empty() {
            return Ok(Vec::new());
        }
        Ok(store::search_customers(self.db.ex(), term, 20).await?)
    }

    /// The plans priced in `currency`, for the assign form: (id, "name — price").
    pub async fn plan_choices_in(&self, currency: &str) -> Result<Vec<(i64, String)>, AppError> {
        Ok(boxoffice_store::plans::list(self.db.ex())
            .await?
            .into_iter()
            .filter(|r| r.plan.currency.eq_ignore_ascii_case(currency))
            .map(|r| {
                let price = crate::notify::money(r.plan.cost_minor, &r.plan.currency);
                (r.plan.id, format!("{} — {price}", r.plan.name))
            })
            .collect())
    }
}
