//! Transaction sync (product §28.6, operations §3.4): each hour every configured gateway
//! account is read, each new payment is matched to a customer by the reference's order
//! (subscription id, e-mail, PayPal e-mail) and recorded as a payment that extends their
//! coverage; what cannot be matched waits on the Unmatched payments page. Also the admin's
//! Payments page (filters, totals, CSV, refunds).
//!
//! Each transaction is decided and written in its own database transaction with the jobs it
//! implies, and the ledger's unique (transaction id, sequence) and the unmatched list's unique
//! (gateway, transaction id) make a second run, or two instances at once, record nothing twice.

mod gateways_admin;
mod ledger;
mod run;
mod unmatched;

pub use gateways_admin::{GatewayOverview, GatewayStatusView, sync_targets};
pub use ledger::{PaymentsPage, RefundOutcome, decimal as ledger_decimal, refundable_at};
pub use run::{SyncReport, SyncTarget};
pub use unmatched::UnmatchedPage;

use boxoffice_payments::PaymentError;
pub use boxoffice_payments::{Account, GatewayKind};

/// Reads one gateway account (payload `{"gateway", "account"}`).
pub const SYNC_JOB: &str = "payments.sync";
/// The hourly tick: queues [`SYNC_JOB`] for every configured account.
pub const SYNC_ALL_JOB: &str = "payments.sync_all";
/// Carries out a refund asked for on the Payments page (payload `{"refund_id"}`).
pub const REFUND_JOB: &str = "payments.refund";

/// How far before the last successful run's end each run reads again: gateways post some
/// transactions late (PayPal's NVP search is near real time, its REST reporting up to 3 hours),
/// and what is read twice is recognised and skipped.
pub const OVERLAP_SECS: i64 = 86_400;
/// How far back the first run of an account reads.
pub const FIRST_WINDOW_SECS: i64 = 30 * 86_400;
/// Pages read per run at most (100 transactions each), so one run always ends.
pub const MAX_PAGES: usize = 200;

/// The stored form of a gateway: `stripe`, `paypal`, `plisio`.
pub fn gateway_str(g: GatewayKind) -> &'static str {
    match g {
        GatewayKind::Stripe => "stripe",
        GatewayKind::PayPal => "paypal",
        GatewayKind::Plisio => "plisio",
    }
}

pub fn parse_gateway(s: &str) -> Option<GatewayKind> {
    [
        GatewayKind::Stripe,
        GatewayKind::PayPal,
        GatewayKind::Plisio,
    ]
    .into_iter()
    .find(|g| gateway_str(*g).eq_ignore_ascii_case(s.trim()))
}

pub fn account_str(a: Account) -> &'static str {
    match a {
        Account::Primary => "primary",
        Account::Secondary => "secondary",
    }
}

pub fn parse_account(s: &str) -> Option<Account> {
    match s.trim() {
        "primary" => Some(Account::Primary),
        "secondary" => Some(Account::Secondary),
        _ => None,
    }
}

/// A gateway's name as the owner reads it, from its stored form.
pub fn gateway_label(s: &str) -> String {
    parse_gateway(s).map_or_else(|| s.to_string(), |g| g.to_string())
}

/// Whether the Payments page offers a refund for a payment recorded this way.
pub fn refundable(method: &str, transaction_id: &str) -> bool {
    refundable_at(method, transaction_id).is_some()
}

/// A gateway failure as the job layer sees it: transient ones are retried (after the
/// provider's Retry-After when it gave one), the rest park the job and tell the admin.
pub(crate) fn payment_failure(e: &PaymentError) -> crate::AppError {
    crate::AppError::Delivery {
        message: e.to_string(),
        retryable: e.is_retryable(),
        retry_after_secs: e
            .retry_after()
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX)),
    }
}
