//! Selling access: the configured payment gateways ([`gateways`]), and on top of them the
//! webhook intake, the ledger and checkout (docs/payments.md).

pub mod gateways;

pub use gateways::{GatewayConnector, GatewayUnavailable, Provider};
