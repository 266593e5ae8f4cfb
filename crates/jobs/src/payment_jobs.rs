//! Jobs of the money path: provisioning the customer of a recorded payment, and confirming (for
//! PayPal: capturing) a checkout the gateway approved while its buyer never came back, and
//! stopping a recurring payment a customer cancelled.

use crate::{JobError, Registry};
use boxoffice_app::payments::{CONFIRM_CHECKOUT_JOB, PROVISION_JOB, RECURRING_CANCEL_JOB};

pub fn register(r: &mut Registry) {
    r.handle(PROVISION_JOB, |app, ctx| async move {
        let (Some(customer), Some(payment)) = (
            ctx.payload["customer_id"].as_i64(),
            ctx.payload["payment_id"].as_i64(),
        ) else {
            return Err(JobError::Fail(format!(
                "payload has no customer_id and payment_id: {}",
                ctx.payload
            )));
        };
        app.provision_payment(customer, payment).await?;
        tracing::info!(
            customer_id = customer,
            payment_id = payment,
            "provisioned after payment"
        );
        Ok::<(), JobError>(())
    });
    r.handle(CONFIRM_CHECKOUT_JOB, |app, ctx| async move {
        let Some(id) = ctx.payload["checkout_id"].as_i64() else {
            return Err(JobError::Fail(format!(
                "payload has no checkout_id: {}",
                ctx.payload
            )));
        };
        let c = app.confirm_checkout(id).await?;
        tracing::info!(checkout_id = id, state = %c.state, "checkout confirmed");
        Ok::<(), JobError>(())
    });
    r.handle(RECURRING_CANCEL_JOB, |app, ctx| async move {
        let Some(id) = ctx.payload["subscription_row_id"].as_i64() else {
            return Err(JobError::Fail(format!(
                "payload has no subscription_row_id: {}",
                ctx.payload
            )));
        };
        let last = ctx.attempt >= ctx.max_attempts;
        app.cancel_recurring_at_gateway(id, last).await?;
        tracing::info!(
            subscription_row_id = id,
            "recurring payment cancellation handled"
        );
        Ok::<(), JobError>(())
    });
}
