//! Gateway-neutral requests and answers.

use std::fmt;

use boxoffice_domain::Money;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GatewayKind {
    Stripe,
    #[serde(rename = "paypal")]
    PayPal,
    Plisio,
}

impl fmt::Display for GatewayKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            GatewayKind::Stripe => "Stripe",
            GatewayKind::PayPal => "PayPal",
            GatewayKind::Plisio => "Plisio",
        })
    }
}

/// Which configured account of a gateway. Only PayPal has two: the primary takes checkouts
/// and can be synced; the secondary is synced only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Account {
    #[default]
    Primary,
    Secondary,
}

/// A one-off purchase (pay as you go).
#[derive(Debug, Clone)]
pub struct CheckoutRequest {
    /// Our purchase id: Stripe `client_reference_id`, PayPal `custom_id`, Plisio `order_number`.
    pub reference: String,
    /// What is bought, as the buyer sees it.
    pub description: String,
    pub amount: Money,
    pub customer_email: Option<String>,
    /// Where the provider sends the buyer after paying. Stripe replaces the literal
    /// `{CHECKOUT_SESSION_ID}`; PayPal appends `token` and `PayerID`.
    pub success_url: String,
    pub cancel_url: String,
    /// Plisio only: where status callbacks are posted.
    pub callback_url: Option<String>,
    /// Derived from our own row ids (`checkout:<purchase>:<attempt>`), so a retry after a
    /// crash reuses it.
    pub idempotency_key: String,
}

/// A recurring purchase of a plan the owner set up at the gateway.
#[derive(Debug, Clone)]
pub struct RecurringCheckoutRequest {
    pub reference: String,
    /// Stripe price id (`price_…`) or PayPal plan id (`P-…`).
    pub plan_id: String,
    pub customer_email: Option<String>,
    pub success_url: String,
    pub cancel_url: String,
    pub trial_days: Option<u32>,
    pub idempotency_key: String,
}

/// Where to send the buyer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Checkout {
    pub gateway: GatewayKind,
    /// Stripe session `cs_…`, PayPal order id or subscription `I-…`, Plisio `txn_id`.
    pub id: String,
    pub redirect_url: String,
    pub expires_at: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckoutState {
    /// Not paid yet (buyer still on the page, or payment awaiting confirmation).
    Pending,
    Paid,
    /// Paid, but not the invoiced amount (Plisio `mismatch`): the owner reviews it.
    Mismatch,
    /// Timed out or abandoned.
    Expired,
    Failed,
}

/// What a checkout came to, read back from the gateway after the buyer returned (PayPal:
/// after the capture this call performs).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckoutOutcome {
    pub checkout_id: String,
    pub state: CheckoutState,
    pub reference: Option<String>,
    /// Stripe PaymentIntent, PayPal capture id, Plisio txn id.
    pub payment_id: Option<String>,
    pub subscription_id: Option<String>,
    pub customer_id: Option<String>,
    pub payer_email: Option<String>,
    pub amount: Option<Money>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelWhen {
    Now,
    /// Stripe keeps the subscription until the period ends; PayPal has no such schedule and
    /// stops billing at once (the paid-through time is then ours to honour).
    AtPeriodEnd,
}

#[derive(Debug, Clone)]
pub struct RefundRequest {
    /// Stripe `pi_…` or `ch_…`; PayPal capture id.
    pub payment_id: String,
    /// `None` refunds everything.
    pub amount: Option<Money>,
    pub reason: Option<String>,
    pub idempotency_key: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundStatus {
    Succeeded,
    Pending,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Refund {
    pub id: String,
    pub payment_id: String,
    pub amount: Money,
    pub status: RefundStatus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransactionKind {
    Payment,
    Refund,
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransactionStatus {
    Succeeded,
    Pending,
    Failed,
    Refunded,
    PartiallyRefunded,
    Reversed,
    Other(String),
}

/// One money movement as sync sees it, whatever the gateway.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Transaction {
    pub gateway: GatewayKind,
    pub account: Account,
    pub id: String,
    /// Unix seconds.
    pub created: i64,
    pub kind: TransactionKind,
    pub status: TransactionStatus,
    /// Gross, positive for money in.
    pub amount: Money,
    pub fee: Option<Money>,
    pub net: Option<Money>,
    pub payer_email: Option<String>,
    pub payer_name: Option<String>,
    /// Stripe `sub_…`, PayPal `I-…` when the payment is a renewal.
    pub subscription_id: Option<String>,
    /// Our purchase id when the payment came from our checkout.
    pub reference: Option<String>,
    pub description: Option<String>,
    /// Other ids the same payment goes by (Stripe: the charge's PaymentIntent `pi_…`, which
    /// checkout and webhooks record), so sync recognises a payment recorded under either.
    pub aliases: Vec<String>,
    /// How much of it has been given back, when the gateway says (Stripe's `amount_refunded`);
    /// `None` when it does not (PayPal's search shows only the status).
    pub refunded: Option<Money>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionQuery {
    /// Unix seconds, inclusive.
    pub since: i64,
    /// Unix seconds, inclusive; `None` = now.
    pub until: Option<i64>,
    pub account: Account,
    /// From the previous page's `next_cursor`.
    pub cursor: Option<String>,
}

impl TransactionQuery {
    pub fn since(since: i64) -> Self {
        TransactionQuery {
            since,
            until: None,
            account: Account::Primary,
            cursor: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TransactionPage {
    pub transactions: Vec<Transaction>,
    /// Pass back in [`TransactionQuery::cursor`] for the next page; `None` = done.
    pub next_cursor: Option<String>,
}

/// An inbound webhook or callback exactly as received.
#[derive(Debug, Clone, Copy)]
pub struct Notification<'a> {
    pub headers: &'a boxoffice_http::HeaderMap,
    /// The raw body bytes: signatures are over these, never over re-serialised JSON.
    pub body: &'a [u8],
}

impl Notification<'_> {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubscriptionStatus {
    ApprovalPending,
    Incomplete,
    Trialing,
    Active,
    PastDue,
    Unpaid,
    Paused,
    Suspended,
    Cancelled,
    Expired,
    Other(String),
}

/// A verified notification, gateway-neutral. Serialises to JSON and back, so a stored event
/// can be applied again later without its signature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookEvent {
    pub gateway: GatewayKind,
    /// The provider's event id (Stripe `evt_…`, PayPal `WH-…`), or for Plisio, which has
    /// none, `<txn_id>:<status>`: the dedupe key.
    pub event_id: String,
    /// The provider's event type, as sent.
    pub provider_type: String,
    /// Unix seconds, when the provider says.
    pub created: Option<i64>,
    pub kind: EventKind,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    /// The buyer finished the hosted page (Stripe `checkout.session.completed` and
    /// `…async_payment_succeeded`).
    CheckoutCompleted {
        checkout_id: String,
        reference: Option<String>,
        paid: bool,
        payment_id: Option<String>,
        subscription_id: Option<String>,
        customer_id: Option<String>,
        payer_email: Option<String>,
        amount: Option<Money>,
    },
    /// PayPal `CHECKOUT.ORDER.APPROVED`: approved but not captured; capture it
    /// ([`crate::Gateway::confirm_checkout`]) if the buyer never came back.
    CheckoutApproved {
        checkout_id: String,
        reference: Option<String>,
    },
    /// Abandoned or timed out (Stripe `checkout.session.expired`, Plisio `expired`/`cancelled`).
    CheckoutExpired {
        checkout_id: String,
        reference: Option<String>,
    },
    /// Money arrived: a one-off capture or a renewal.
    PaymentSucceeded {
        payment_id: String,
        checkout_id: Option<String>,
        subscription_id: Option<String>,
        reference: Option<String>,
        amount: Money,
        fee: Option<Money>,
        payer_email: Option<String>,
        /// End of the period this payment covers (Stripe invoice line `period.end`).
        period_end: Option<i64>,
        /// A renewal rather than the first payment of a subscription or a one-off.
        renewal: bool,
    },
    /// Plisio `mismatch`: paid, but not the invoiced amount. Grant access only if `received`
    /// covers the price.
    PaymentMismatch {
        payment_id: String,
        reference: Option<String>,
        expected: Option<Money>,
        received: String,
        received_currency: String,
    },
    PaymentPending {
        payment_id: String,
        reference: Option<String>,
        amount: Option<Money>,
    },
    PaymentFailed {
        payment_id: Option<String>,
        subscription_id: Option<String>,
        reference: Option<String>,
        amount: Option<Money>,
        attempt_count: Option<u32>,
        next_attempt: Option<i64>,
    },
    /// PayPal `BILLING.SUBSCRIPTION.ACTIVATED`.
    SubscriptionActivated {
        subscription_id: String,
        reference: Option<String>,
        payer_email: Option<String>,
        paid_through: Option<i64>,
    },
    SubscriptionUpdated {
        subscription_id: String,
        status: SubscriptionStatus,
        cancel_at_period_end: bool,
        current_period_end: Option<i64>,
        plan_id: Option<String>,
    },
    /// Billing stopped (Stripe `customer.subscription.deleted`, PayPal `CANCELLED`/`EXPIRED`).
    SubscriptionEnded {
        subscription_id: String,
        status: SubscriptionStatus,
        ended_at: Option<i64>,
        /// Access already paid for runs to here (PayPal `next_billing_time`).
        paid_through: Option<i64>,
        reason: Option<String>,
    },
    Refunded {
        payment_id: String,
        refund_id: Option<String>,
        amount: Money,
        /// Whether the whole payment is now refunded, when the provider says.
        full: Option<bool>,
    },
    /// A chargeback or reversal.
    Reversed {
        payment_id: String,
        reason: Option<String>,
    },
    /// A chargeback the seller won (Stripe `charge.dispute.closed` with `status=won`, PayPal
    /// `CUSTOMER.DISPUTE.RESOLVED` with outcome `RESOLVED_SELLER_FAVOUR`): the money is back.
    DisputeWon {
        payment_id: String,
        dispute_id: Option<String>,
    },
    /// An event this integration does not act on.
    Ignored,
}
