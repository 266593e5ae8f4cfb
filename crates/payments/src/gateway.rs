//! The one interface every gateway implements.

use async_trait::async_trait;

use crate::error::Result;
use crate::types::*;

#[async_trait]
pub trait Gateway: Send + Sync + std::fmt::Debug {
    fn kind(&self) -> GatewayKind;

    /// A hosted page for a one-off purchase.
    async fn create_checkout(&self, req: &CheckoutRequest) -> Result<Checkout>;

    /// A hosted page that starts a subscription to the plan.
    async fn create_recurring_checkout(&self, req: &RecurringCheckoutRequest) -> Result<Checkout>;

    /// Reads back (PayPal: captures) a checkout after the buyer returned. Safe to call again.
    async fn confirm_checkout(&self, checkout_id: &str) -> Result<CheckoutOutcome>;

    async fn cancel_subscription(&self, subscription_id: &str, when: CancelWhen) -> Result<()>;

    async fn refund(&self, req: &RefundRequest) -> Result<Refund>;

    /// One page of the account's transactions in the window, for sync.
    async fn list_transactions(&self, q: &TransactionQuery) -> Result<TransactionPage>;

    async fn fetch_transaction(&self, account: Account, id: &str) -> Result<Transaction>;

    /// Authenticates a webhook or callback from its raw bytes and parses it. A
    /// [`crate::PaymentError::Signature`] means: answer 400 and do nothing else.
    async fn verify_webhook(&self, n: Notification<'_>) -> Result<WebhookEvent>;
}
