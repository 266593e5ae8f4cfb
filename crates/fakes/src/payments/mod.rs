//! Fakes of the payment gateways (docs/sandbox.md, "Payment gateways"): Stripe, PayPal (REST
//! and NVP) and Plisio, each stateful, with hosted pages a browser can pay on, signed webhooks
//! delivered with retries, the list endpoints sync reads, the providers' error bodies, and the
//! common fault rules and request log.

pub(crate) mod common;
mod paypal;
mod plisio;
mod stripe;
mod webhooks;
mod world;

pub use paypal::{PayPalFake, PayPalNvpAccount};
pub use plisio::PlisioFake;
pub use stripe::StripeFake;
pub use webhooks::{Delivery, WebhookSettings};
pub use world::PaymentFakes;
