//! The one recorder of money taken. Every path that puts a payment in the ledger — a gateway
//! webhook, transaction sync, an unmatched payment the admin assigns, a manual invite or renewal,
//! a bulk-invite row — writes it here, so the rules live once: the payment row, the customer's
//! coverage, their "payment received" notice, and, for money a gateway took, the audit row, the
//! referrer's credit and the provisioning job.
//!
//! It runs in the caller's transaction and reads nothing the caller already holds (the plan,
//! the customer's earlier payments), so a caller inviting many rows adds no query by calling it.

use boxoffice_domain::coverage::Period;
use boxoffice_store::customers::{self, CustomerRow};
use boxoffice_store::payments::{self, NewPayment, PaymentRow};
use boxoffice_store::{StoreError, Tx};
use serde_json::json;

use super::ledger::PROVISION_JOB;
use crate::audit::Actor;
use crate::job_reads::JobReads;
use crate::notify::{Notice, date, money};
use crate::queue::JobSpec;
use crate::subscriptions::plan::LoadedPlan;
use crate::subscriptions::provision::covered_until;
use crate::{App, AppError};

/// One payment to record.
pub(crate) struct MoneyTaken<'a> {
    pub customer: &'a CustomerRow,
    pub plan: &'a LoadedPlan,
    /// The customer's payments before this one (empty for a customer this transaction made).
    pub history: Vec<PaymentRow>,
    pub period: Period,
    pub amount_minor: i64,
    pub currency: &'a str,
    /// `stripe`, `paypal`, `plisio`, `manual`, `cash`, …
    pub method: &'a str,
    pub transaction_id: &'a str,
    pub sequence: i64,
    pub subscription_id: &'a str,
    pub notes: &'a str,
    /// The ledger's `source`: `gateway`, `sync`, `manual`.
    pub source: &'a str,
}

/// What follows the payment row besides coverage and the notice.
#[derive(Clone, Copy, Default)]
pub(crate) struct Then<'a> {
    /// A job inviting many rows sends each notice through the batch it read once.
    pub reads: Option<&'a JobReads>,
    /// A "payment.recorded" audit row (callers that audit the payment themselves leave it off).
    pub audit: bool,
    /// Money a gateway took: a referred customer's first paid payment credits their referrer.
    pub referral: bool,
    /// Provisioning by [`PROVISION_JOB`]; otherwise the caller provisions in its transaction.
    pub provision_job: bool,
}

impl Then<'_> {
    /// A payment arriving by webhook: audited, credited, provisioned by a job.
    pub fn webhook() -> Self {
        Then {
            reads: None,
            audit: true,
            referral: true,
            provision_job: true,
        }
    }
}

impl App {
    /// Records `m` and what follows it (see the module doc). A transaction id already in the
    /// ledger is the store's `Conflict`, and nothing is written.
    pub(crate) async fn record_money(
        &self,
        tx: &mut Tx,
        m: MoneyTaken<'_>,
        then: Then<'_>,
    ) -> Result<PaymentRow, AppError> {
        let now = self.now();
        let customer = m.customer;
        let payment = payments::insert(
            tx.ex(),
            NewPayment {
                customer_id: customer.id,
                plan_id: m.plan.terms.id,
                amount_minor: m.amount_minor,
                currency: m.currency,
                period_from: m.period.from,
                period_to: m.period.to,
                method: m.method,
                transaction_id: m.transaction_id,
                sequence: m.sequence,
                subscription_id: m.subscription_id,
                notes: m.notes,
                source: m.source,
                now,
            },
        )
        .await?;
        let mut history = m.history;
        history.push(payment.clone());
        customers::set_coverage(
            tx.ex(),
            customer.id,
            Some(m.plan.terms.id),
            covered_until(&history, now),
            now,
        )
        .await?;
        let notice = Notice::to_customer("payment_received", customer.id)
            .with("plan_name", m.plan.plan.name.clone())
            .with(
                "payment_amount",
                money(payment.amount_minor, &payment.currency),
            )
            .with("payment_from", date(payment.period_from))
            .with("payment_to", date(payment.period_to))
            .with("transaction_id", payment.transaction_id.clone())
            .once(format!("payment:{}", payment.id));
        match then.reads {
            Some(r) => {
                let batch = r.notice_batch(self, tx.ex(), "payment_received").await?;
                self.queue_notice(tx.ex(), &batch, notice).await?;
            }
            None => {
                self.notify(tx.ex(), notice).await?;
            }
        }
        if then.referral {
            // A free payment earns nothing; credit_referral_in_tx decides that itself.
            self.credit_referral_in_tx(tx.ex(), customer.id, payment.id)
                .await?;
        }
        if then.provision_job {
            self.enqueue(
                tx.ex(),
                JobSpec::new(
                    PROVISION_JOB,
                    json!({ "customer_id": customer.id, "payment_id": payment.id }),
                )
                .key(format!("payment-provision:{}", payment.id)),
            )
            .await?;
        }
        if then.audit {
            self.audit(
                tx.ex(),
                &Actor::system(),
                "payment.recorded",
                &format!("customer:{}", customer.id),
                &format!(
                    "{} {} {} ({} to {})",
                    m.method,
                    payment.transaction_id,
                    money(payment.amount_minor, &payment.currency),
                    date(payment.period_from),
                    date(payment.period_to)
                ),
            )
            .await?;
        }
        Ok(payment)
    }
}

/// A transaction id already in the ledger, as the admin reads it.
pub(crate) fn taken_transaction(e: AppError, transaction_id: &str) -> AppError {
    match e {
        AppError::Store(StoreError::Conflict { .. }) => AppError::Conflict(format!(
            "transaction id \"{transaction_id}\" is already recorded for another payment"
        )),
        other => other,
    }
}
