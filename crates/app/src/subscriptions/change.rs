//! Changing plan mid-period (operations §3.5): the running payment ends now and its unused part
//! becomes a credit that buys extra time on the new plan (domain `change_plan_now`); the share
//! moves to the new plan's libraries. Renewals paid ahead move behind the new payment, so the
//! customer's coverage periods never overlap.

use super::plan::{self, LoadedPlan};
use super::provision::{Provisioned, covered_until};
use crate::audit::Actor;
use crate::{App, AppError};
use boxoffice_domain::Money;
use boxoffice_domain::coverage::Period;
use boxoffice_domain::credits::{self, PaidPeriod, PlanChange};
use boxoffice_domain::money::Currency;
use boxoffice_store::customers;
use boxoffice_store::payments::{self, NewPayment, PaymentRow};
use boxoffice_store::{Ex, Tx};

#[derive(Clone, Debug, serde::Serialize)]
pub struct PlanChanged {
    pub payment_id: i64,
    pub credit_minor: i64,
    pub note: String,
    pub period_to: i64,
    pub no_capacity: Option<String>,
}

impl App {
    pub async fn change_plan(
        &self,
        actor: &Actor,
        customer_id: i64,
        new_plan_id: i64,
    ) -> Result<PlanChanged, AppError> {
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let customer = customers::find(tx.ex(), customer_id)
            .await
            .map_err(AppError::not_found_as("customer"))?;
        let history = payments::list_for_customer(tx.ex(), customer_id).await?;
        let current = running_payment(&history, now).ok_or_else(|| {
            AppError::invalid(
                "plan_id",
                "no payment covers today: record a payment on the new plan instead",
            )
        })?;
        let new_plan = plan::load(tx.ex(), new_plan_id).await?;
        let change = self
            .end_for_plan_change(&mut tx, &history, &current, &new_plan, now)
            .await?;
        let tid = format!("plan-change-{}-{now}", current.id);
        let payment = payments::insert(
            tx.ex(),
            NewPayment {
                customer_id,
                plan_id: new_plan_id,
                amount_minor: change.new_amount.minor,
                currency: change.new_amount.currency.as_str(),
                period_from: change.new_period.from,
                period_to: change.new_period.to,
                method: "plan_change",
                transaction_id: &tid,
                sequence: 1,
                subscription_id: &current.subscription_id,
                notes: &change.new_note,
                source: "plan_change",
                now,
            },
        )
        .await?;
        let left = payments::list_for_customer(tx.ex(), customer_id).await?;
        customers::set_coverage(
            tx.ex(),
            customer_id,
            Some(new_plan_id),
            covered_until(&left, now),
            now,
        )
        .await?;
        self.enqueue_discord_sync(&mut tx, customer_id, &format!("plan:{}", payment.id))
            .await?;
        let no_capacity = match self.provision(&mut tx, &customer, &new_plan, None).await? {
            Provisioned::Share(_) => None,
            Provisioned::NoCapacity(text) | Provisioned::AwaitingPlexChange(text) => Some(text),
        };
        self.enqueue_request_app_sync(&mut tx, customer_id, &format!("payment:{}", payment.id))
            .await?;
        self.audit(
            tx.ex(),
            actor,
            "customer.change_plan",
            &format!("customer:{customer_id}"),
            &change.new_note,
        )
        .await?;
        tx.commit().await?;
        Ok(PlanChanged {
            payment_id: payment.id,
            credit_minor: change.credit.minor,
            note: change.new_note,
            period_to: payment.period_to,
            no_capacity,
        })
    }
}

/// The payment running at `now`, the one a plan change cuts short.
pub(crate) fn running_payment(history: &[PaymentRow], now: i64) -> Option<PaymentRow> {
    history
        .iter()
        .rev()
        .find(|p| p.period_from <= now && now < p.period_to)
        .cloned()
}

impl App {
    /// Operations §3.5 steps 1-4 without the new payment: the running payment `current` ends
    /// now and gives up its unused value as the credit; renewals paid ahead move behind the new
    /// payment's end, each buying time at the new plan's price. Answers the change, whose
    /// `new_period` and notes the caller's new payment takes.
    pub(crate) async fn end_for_plan_change(
        &self,
        tx: &mut Tx,
        history: &[PaymentRow],
        current: &PaymentRow,
        new_plan: &LoadedPlan,
        now: i64,
    ) -> Result<PlanChange, AppError> {
        let change = self.preview_change(tx.ex(), current, new_plan, now).await?;
        if change.old_period.is_empty() {
            // Bought this very second: nothing of it was used, so the whole amount moves.
            payments::delete(tx.ex(), current.id).await?;
        } else {
            payments::cut(
                tx.ex(),
                current.id,
                change.old_period.to,
                change.old_amount.minor,
                &change.old_note,
            )
            .await?;
        }
        let mut next = change.new_period.to;
        let mut prepaid: Vec<_> = history
            .iter()
            .filter(|p| p.id != current.id && p.period_from >= now)
            .collect();
        prepaid.sort_by_key(|p| (p.period_from, p.id));
        for p in prepaid {
            let currency = Currency::parse(&p.currency).map_err(|e| {
                AppError::Internal(format!("payment {} has a bad currency: {e}", p.id))
            })?;
            let moved = credits::rechain_prepaid(
                &PaidPeriod {
                    period: Period::new(p.period_from, p.period_to),
                    amount: Money::new(p.amount_minor, currency),
                },
                &new_plan.plan,
                next,
            )
            .map_err(|e| AppError::invalid("plan_id", e.to_string()))?;
            payments::move_period(
                tx.ex(),
                p.id,
                (moved.period.from, moved.period.to),
                new_plan.terms.id,
                &moved.note,
            )
            .await?;
            next = moved.period.to;
        }
        Ok(change)
    }

    /// What changing from `current` to `new_plan` at `now` would do; writes nothing.
    pub(crate) async fn preview_change(
        &self,
        ex: Ex<'_>,
        current: &PaymentRow,
        new_plan: &LoadedPlan,
        now: i64,
    ) -> Result<PlanChange, AppError> {
        let old_plan = plan::load(ex, current.plan_id).await?;
        let currency = Currency::parse(&current.currency).map_err(|e| {
            AppError::Internal(format!("payment {} has a bad currency: {e}", current.id))
        })?;
        credits::change_plan_now(
            &PaidPeriod {
                period: Period::new(current.period_from, current.period_to),
                amount: Money::new(current.amount_minor, currency),
            },
            &old_plan.plan.name,
            &new_plan.plan,
            now,
        )
        .map_err(|e| AppError::invalid("plan_id", e.to_string()))
    }
}
