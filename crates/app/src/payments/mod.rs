//! Selling access: the configured payment gateways ([`gateways`]), the webhook intake
//! ([`webhooks`]), the ledger that turns gateway events into coverage ([`ledger`]) and checkout
//! ([`checkout`]). See docs/payments.md.

pub mod checkout;
pub mod gateways;
pub(crate) mod giveback;
pub mod ledger;
pub mod offers;
pub mod plan_change;
pub(crate) mod record;
pub mod recurring_cancel;
pub mod trial;
pub mod webhooks;

pub use checkout::{
    CheckoutMode, CheckoutOptions, CheckoutRefused, CheckoutRequest, CheckoutStarted,
    CheckoutStatus, PlanOffer, SERVERS_FULL_CUSTOMER, SERVERS_FULL_EVENT, SERVERS_FULL_TEXT,
};
pub use gateways::{GatewayConnector, GatewayUnavailable, Provider};
pub use ledger::{CONFIRM_CHECKOUT_JOB, Outcome, PROVISION_JOB, checkout_reference};
pub use offers::{CustomerCheckout, LocationChoice};
pub use plan_change::{CheckoutExtras, PlanChangePreview};
pub use recurring_cancel::RECURRING_CANCEL_JOB;
pub use trial::{TrialOffer, TrialStarted};
pub use webhooks::{WebhookReceipt, WebhookRefused};
