//! A customer stops their recurring payment from My account. The request is recorded and a job
//! asks the gateway (Stripe: cancel at the period's end, so the time paid for runs out; PayPal:
//! cancel, which stops billing at once while our paid-through time stays). A gateway that does
//! not answer is asked again by the job's retries; a refusal is shown on the page.

use super::Provider;
use super::checkout::gateway_error;
use crate::audit::Actor;
use crate::queue::JobSpec;
use crate::{App, AppError};
use boxoffice_payments::CancelWhen;
use boxoffice_store::recurring_cancellations as store;
use serde_json::json;

/// Asks the gateway to stop a recurring subscription (payload `{"subscription_row_id"}`).
pub const RECURRING_CANCEL_JOB: &str = "payments.cancel_recurring";

impl App {
    /// Records the customer's request to stop recurring payment `row_id` and queues the job.
    /// `NotFound` for another customer's subscription; `Conflict` when it is already stopped
    /// or being stopped.
    pub async fn request_recurring_cancel(
        &self,
        login_id: i64,
        email: &str,
        row_id: i64,
    ) -> Result<(), AppError> {
        let customer = self
            .customer_of_login(login_id, email)
            .await?
            .ok_or(AppError::NotFound("recurring payment"))?;
        let mut tx = self.db.begin().await?;
        let row = store::subscription(tx.ex(), row_id)
            .await?
            .filter(|r| r.customer_id == customer.id)
            .ok_or(AppError::NotFound("recurring payment"))?;
        if row.state == "cancelled" {
            return Err(AppError::Conflict(
                "This recurring payment is already cancelled.".into(),
            ));
        }
        if !store::request(tx.ex(), row.id, self.now()).await? {
            return Err(AppError::Conflict(
                "This recurring payment is being cancelled already.".into(),
            ));
        }
        self.enqueue(
            tx.ex(),
            JobSpec::new(
                RECURRING_CANCEL_JOB,
                json!({ "subscription_row_id": row.id }),
            )
            .key(format!("cancel-recurring:{}:{}", row.id, self.now())),
        )
        .await?;
        self.audit(
            tx.ex(),
            &Actor::system(),
            "subscription.cancel_requested",
            &format!("customer:{}", customer.id),
            &format!(
                "{} subscription {} (by the customer)",
                row.provider, row.subscription_id
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// [`RECURRING_CANCEL_JOB`]: asks the gateway. A retryable failure is returned for the job
    /// to retry; a refusal, or a failure on the `last` attempt, marks the request failed.
    pub async fn cancel_recurring_at_gateway(
        &self,
        row_id: i64,
        last: bool,
    ) -> Result<(), AppError> {
        let Some(row) = store::subscription(self.db.ex(), row_id).await? else {
            return Ok(());
        };
        match store::find(self.db.ex(), row_id).await? {
            Some(c) if c.state == "requested" => {}
            _ => return Ok(()),
        }
        let provider = Provider::parse(&row.provider)
            .ok_or_else(|| AppError::Internal(format!("subscription {row_id} has no provider")))?;
        let gateway = self.payment_gateway(provider).await?;
        let result = gateway
            .cancel_subscription(&row.subscription_id, CancelWhen::AtPeriodEnd)
            .await;
        let now = self.now();
        match result {
            Ok(()) => {
                store::finish(self.db.ex(), row_id, "done", "", now).await?;
                self.audit(
                    self.db.ex(),
                    &Actor::system(),
                    "subscription.cancelled_at_gateway",
                    &format!("customer:{}", row.customer_id),
                    &format!("{} subscription {}", row.provider, row.subscription_id),
                )
                .await?;
                Ok(())
            }
            Err(e) if e.is_retryable() && !last => Err(gateway_error(e)),
            Err(e) => {
                let message = e.to_string();
                tracing::warn!(subscription_row_id = row_id, error = %message, "the gateway did not cancel a subscription");
                store::finish(self.db.ex(), row_id, "failed", &message, now).await?;
                Ok(())
            }
        }
    }
}
