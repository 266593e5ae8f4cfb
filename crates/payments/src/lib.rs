//! Payment gateways behind one [`Gateway`] trait: Stripe (Checkout Sessions, subscriptions,
//! `Stripe-Signature`), PayPal (Orders v2, Subscriptions v1, webhooks verified locally or by
//! postback, NVP TransactionSearch for sync, a primary and a sync-only secondary account) and
//! Plisio (crypto invoices, `verify_hash` in its JSON and form variants).
//!
//! The crate knows no database: callers pass configuration and idempotency keys derived from
//! their own rows, and get typed, gateway-neutral answers ([`Checkout`], [`Transaction`],
//! [`WebhookEvent`]). Every outbound call goes through `boxoffice-http`. Amounts are integer
//! minor units plus a currency ([`Money`]); each gateway converts at its boundary.
//!
//! Signatures follow docs/payments.md, which also lists the test vectors every verifier here
//! is checked against.

pub mod amounts;
mod crc32;
mod error;
mod gateway;
mod json;
pub mod paypal;
pub mod plisio;
pub mod stripe;
mod types;

pub use boxoffice_domain::Money;
pub use boxoffice_domain::money::Currency;
pub use boxoffice_http::Secret;
pub use error::{PaymentError, Result, SignatureError};
pub use gateway::Gateway;
pub use types::*;
