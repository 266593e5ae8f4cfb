//! A customer changes plan from My account (product §10.3, §28.5): the preview shows the credit
//! the running payment leaves, the customer pays the new plan's price at a gateway, and when the
//! payment arrives the running payment ends and its credit lengthens the new one, by the same
//! rules as an administrator's change (`subscriptions::change`).

use super::CheckoutRequest;
use super::checkout::{CheckoutMode, duration_text};
use crate::notify::date;
use crate::subscriptions::change::running_payment;
use crate::subscriptions::plan::{self, LoadedPlan};
use crate::{App, AppError};
use boxoffice_domain::Money;
use boxoffice_domain::credits::to_days;
use boxoffice_store::checkouts::CheckoutRow;
use boxoffice_store::customers::CustomerRow;
use boxoffice_store::payments::{self, PaymentRow};
use boxoffice_store::{Ex, Tx, plan_change_checkouts};

/// The checkout page's choices beyond plan, gateway, mode and code.
#[derive(Debug, Clone, Copy, Default)]
pub struct CheckoutExtras {
    /// A server location among those offered; `None` for no preference.
    pub location_id: Option<i64>,
    /// The plan bought replaces the current one now, with the credit of the running payment.
    pub change_plan: bool,
}

/// What changing plan now would do, for the customer to read before paying.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PlanChangePreview {
    pub from_plan: String,
    pub to_plan_id: i64,
    pub to_plan: String,
    /// The new plan's price, paid at the gateway.
    pub price: String,
    /// The unused value of the running payment ("0.00 USD" on a trial).
    pub credit: String,
    pub credit_minor: i64,
    /// How much of the running payment is unused ("12 days").
    pub unused: String,
    /// The new plan's period and the time the credit adds to it.
    pub period: String,
    pub extra: String,
    /// The day the new plan would run to if paid now (UTC).
    pub until: String,
}

/// The new payment a plan-change checkout records instead of a renewal.
pub(crate) struct ChangedPayment {
    pub from: i64,
    pub to: i64,
    pub amount_minor: i64,
    pub notes: String,
}

impl App {
    /// The plans a customer may change to, each with its preview; `Conflict` with the reason
    /// when no change is possible (nothing running, permanent, ...).
    pub async fn plan_change_previews(
        &self,
        login_id: i64,
        email: &str,
    ) -> Result<Vec<PlanChangePreview>, AppError> {
        let customer = self
            .customer_of_login(login_id, email)
            .await?
            .ok_or_else(|| AppError::Conflict(NOTHING_RUNNING.into()))?;
        let offers = self.checkout_options().await?;
        let current = self.changeable_payment(self.db.ex(), &customer).await?;
        let mut out = Vec::new();
        for offer in offers.plans {
            if offer.plan_id == current.plan_id {
                continue;
            }
            let new_plan = plan::load(self.db.ex(), offer.plan_id).await?;
            if let Ok(p) = self.preview(self.db.ex(), &current, &new_plan).await {
                out.push(p);
            }
        }
        Ok(out)
    }

    async fn preview(
        &self,
        mut ex: Ex<'_>,
        current: &PaymentRow,
        new_plan: &LoadedPlan,
    ) -> Result<PlanChangePreview, AppError> {
        let now = self.now();
        let change = self
            .preview_change(ex.reborrow(), current, new_plan, now)
            .await?;
        let from = plan::load(ex, current.plan_id).await?;
        Ok(PlanChangePreview {
            from_plan: from.plan.name,
            to_plan_id: new_plan.terms.id,
            to_plan: new_plan.plan.name.clone(),
            price: new_plan.plan.cost.to_string(),
            credit: change.credit.to_string(),
            credit_minor: change.credit.minor,
            unused: to_days(i128::from(current.period_to - now.max(current.period_from))),
            period: duration_text(&new_plan.terms.duration_unit, new_plan.terms.duration_count),
            extra: to_days(i128::from(change.extra_secs)),
            until: date(change.new_period.to),
        })
    }

    /// The payment a change would cut: one running now, the customer not permanent.
    async fn changeable_payment(
        &self,
        ex: Ex<'_>,
        customer: &CustomerRow,
    ) -> Result<PaymentRow, AppError> {
        if customer.permanent {
            return Err(AppError::Conflict(
                "Your access is permanent: there is no plan to change.".into(),
            ));
        }
        let history = payments::list_for_customer(ex, customer.id).await?;
        running_payment(&history, self.now())
            .ok_or_else(|| AppError::Conflict(NOTHING_RUNNING.into()))
    }

    /// Checks a plan-change checkout before it is written; answers the plan being left.
    pub(crate) async fn check_plan_change(
        &self,
        tx: &mut Tx,
        customer: &CustomerRow,
        req: &CheckoutRequest,
    ) -> Result<i64, AppError> {
        if req.mode != CheckoutMode::OneOff {
            return Err(AppError::invalid(
                "mode",
                "a change of plan is paid as you go; cancel the recurring payment and subscribe again to be billed every period",
            ));
        }
        if customer.id == 0 {
            return Err(AppError::Conflict(NOTHING_RUNNING.into()));
        }
        let current = self.changeable_payment(tx.ex(), customer).await?;
        if current.plan_id == req.plan_id {
            return Err(AppError::invalid(
                "plan_id",
                "this is your plan already: renew it instead",
            ));
        }
        let new_plan = plan::load(tx.ex(), req.plan_id).await?;
        self.preview(tx.ex(), &current, &new_plan).await?;
        Ok(current.plan_id)
    }

    /// For the ledger recording a paid checkout: when it is a plan change and a payment still
    /// runs, that payment ends now and the new one (`paid` plus the credit) runs one period of
    /// the new plan plus the time the credit buys. `None`: record an ordinary purchase.
    pub(crate) async fn plan_change_payment(
        &self,
        tx: &mut Tx,
        checkout: Option<&CheckoutRow>,
        customer_id: i64,
        new_plan: &LoadedPlan,
        paid: Money,
    ) -> Result<Option<ChangedPayment>, AppError> {
        let Some(c) = checkout else {
            return Ok(None);
        };
        if plan_change_checkouts::from_plan(tx.ex(), c.id)
            .await?
            .is_none()
        {
            return Ok(None);
        }
        let now = self.now();
        let history = payments::list_for_customer(tx.ex(), customer_id).await?;
        let Some(current) = running_payment(&history, now) else {
            return Ok(None);
        };
        let change = self
            .end_for_plan_change(tx, &history, &current, new_plan, now)
            .await?;
        Ok(Some(ChangedPayment {
            from: change.new_period.from,
            to: change.new_period.to,
            amount_minor: paid.minor.saturating_add(change.credit.minor),
            notes: change.new_note,
        }))
    }
}

const NOTHING_RUNNING: &str = "No payment of yours runs today, so there is no plan to change: subscribe to the plan you want.";
