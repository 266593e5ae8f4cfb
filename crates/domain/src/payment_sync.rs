//! Transaction sync: what to do with one gateway transaction (product §28.6, operations §3.4).
//!
//! Sync reads every configured gateway account each hour. For each transaction it gathers what
//! the ledger knows (is the transaction already recorded? which customers carry its subscription
//! id, its payer e-mail, its payer e-mail as their PayPal e-mail?) and [`decide`] turns that into
//! one [`Decision`]. The matching order is the reference's: the recurring subscription id, then
//! the customer's e-mail, then the customer's PayPal e-mail; several candidates at one step are
//! never guessed between, the next step is tried; what is left is an unmatched payment for the
//! administrator.

use crate::money::Money;
use serde::{Deserialize, Serialize};

/// What kind of money movement a gateway row is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Movement {
    Payment,
    Refund,
    Other,
}

/// Where the money stands, as the gateway says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Settlement {
    Succeeded,
    Pending,
    Failed,
    /// Refunded in full.
    Refunded,
    PartiallyRefunded,
    /// A chargeback or reversal.
    Reversed,
    Other,
}

/// The facts about one transaction that matching needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seen<'a> {
    pub movement: Movement,
    pub settlement: Settlement,
    pub amount: Money,
    pub payer_email: Option<&'a str>,
    /// Stripe `sub_…`, PayPal `I-…`, when the gateway says the payment is a renewal.
    pub subscription_id: Option<&'a str>,
    /// The gateway says this is a recurring payment (PayPal "Recurring Payment"), whether or
    /// not it told us which subscription.
    pub recurring: bool,
}

/// What the ledger already knows about a transaction.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Known {
    /// The payment recording this transaction id, if any: (payment id, customer id).
    pub recorded: Option<(i64, i64)>,
    /// An unmatched payment with this transaction id is already waiting for the admin.
    pub unmatched: bool,
    /// Distinct customers with an earlier payment carrying the transaction's subscription id.
    pub subscription_owners: Vec<i64>,
    /// Distinct customers whose profile e-mail is the payer e-mail.
    pub email_owners: Vec<i64>,
    /// Distinct customers whose PayPal e-mail is the payer e-mail.
    pub paypal_email_owners: Vec<i64>,
}

/// Which rule tied a transaction to its customer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchedBy {
    SubscriptionId,
    Email,
    PaypalEmail,
}

impl MatchedBy {
    pub fn label(self) -> &'static str {
        match self {
            MatchedBy::SubscriptionId => "subscription id",
            MatchedBy::Email => "e-mail",
            MatchedBy::PaypalEmail => "PayPal e-mail",
        }
    }
}

/// Why a transaction was passed over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Skip {
    /// The ledger already has it (checkout, a webhook, an earlier sync or the admin).
    AlreadyRecorded,
    /// It is already on the Unmatched payments page.
    AlreadyUnmatched,
    /// Not money in: a refund row, a transfer, a fee.
    NotAPayment,
    /// Pending or failed: looked at again by the next sync while it is in the window.
    NotSettled,
    /// Refunded or reversed before we ever recorded it: nothing to grant.
    RefundedBeforeRecorded,
}

/// Why a payment could not be tied to a customer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unmatched {
    /// Nobody carries the subscription id or the payer e-mail.
    NoCustomer,
    /// The candidates at every step were several; the reference never guesses.
    Ambiguous { candidates: Vec<i64> },
    /// A recurring payment the gateway gave no subscription id for, and no e-mail matched
    /// (the reference's "PayPal is missing subscription ID details").
    MissingSubscriptionId,
}

/// What sync does with one transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    Skip(Skip),
    /// Record a payment for this customer, extending their coverage.
    Match {
        customer_id: i64,
        by: MatchedBy,
    },
    /// Put it on the Unmatched payments page and tell the administrator.
    Unmatched(Unmatched),
    /// A payment we recorded has since been refunded or reversed at the gateway: shown to the
    /// administrator (the webhook usually got there first; sync makes sure it is never missed).
    RefundedAfterRecorded {
        payment_id: i64,
        customer_id: i64,
        settlement: Settlement,
    },
}

/// The reference's matching cascade for one transaction.
pub fn decide(seen: &Seen<'_>, known: &Known) -> Decision {
    if let Some((payment_id, customer_id)) = known.recorded {
        return match seen.settlement {
            Settlement::Refunded | Settlement::PartiallyRefunded | Settlement::Reversed => {
                Decision::RefundedAfterRecorded {
                    payment_id,
                    customer_id,
                    settlement: seen.settlement,
                }
            }
            _ => Decision::Skip(Skip::AlreadyRecorded),
        };
    }
    if seen.movement != Movement::Payment || seen.amount.minor <= 0 {
        return Decision::Skip(Skip::NotAPayment);
    }
    match seen.settlement {
        Settlement::Succeeded | Settlement::PartiallyRefunded => {}
        Settlement::Refunded | Settlement::Reversed => {
            return Decision::Skip(Skip::RefundedBeforeRecorded);
        }
        Settlement::Pending | Settlement::Failed | Settlement::Other => {
            return Decision::Skip(Skip::NotSettled);
        }
    }
    if known.unmatched {
        return Decision::Skip(Skip::AlreadyUnmatched);
    }
    let mut ambiguous: Vec<i64> = Vec::new();
    let steps = [
        (
            MatchedBy::SubscriptionId,
            seen.subscription_id.is_some_and(|s| !s.trim().is_empty()),
            &known.subscription_owners,
        ),
        (
            MatchedBy::Email,
            seen.payer_email.is_some_and(|e| !e.trim().is_empty()),
            &known.email_owners,
        ),
        (
            MatchedBy::PaypalEmail,
            seen.payer_email.is_some_and(|e| !e.trim().is_empty()),
            &known.paypal_email_owners,
        ),
    ];
    for (by, applies, owners) in steps {
        if !applies {
            continue;
        }
        let mut owners = owners.clone();
        owners.sort_unstable();
        owners.dedup();
        match owners.as_slice() {
            [one] => {
                return Decision::Match {
                    customer_id: *one,
                    by,
                };
            }
            [] => {}
            many => ambiguous.extend_from_slice(many),
        }
    }
    if !ambiguous.is_empty() {
        ambiguous.sort_unstable();
        ambiguous.dedup();
        return Decision::Unmatched(Unmatched::Ambiguous {
            candidates: ambiguous,
        });
    }
    if seen.recurring && seen.subscription_id.is_none_or(|s| s.trim().is_empty()) {
        return Decision::Unmatched(Unmatched::MissingSubscriptionId);
    }
    Decision::Unmatched(Unmatched::NoCustomer)
}

/// The e-mail form matching compares: trimmed and lower-cased (operations §3.4 [INF]).
pub fn match_key(email: &str) -> String {
    email.trim().to_lowercase()
}

/// A plan as plan inference sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlanPrice {
    pub plan_id: i64,
    pub cost: Money,
    pub active: bool,
    pub is_trial: bool,
}

/// The plan a matched payment buys (operations §3.4 [INF]): the customer's current plan when
/// its price is the amount paid; else the one active, non-trial plan at exactly that price;
/// else the customer's current plan when it is priced in the same currency (the amount is
/// recorded as paid, and the admin sees it); `None` otherwise.
pub fn infer_plan(amount: Money, current: Option<PlanPrice>, plans: &[PlanPrice]) -> Option<i64> {
    if let Some(c) = current.filter(|c| c.cost == amount) {
        return Some(c.plan_id);
    }
    let same: Vec<_> = plans
        .iter()
        .filter(|p| p.active && !p.is_trial && p.cost == amount)
        .collect();
    if let [one] = same.as_slice() {
        return Some(one.plan_id);
    }
    current
        .filter(|c| !c.is_trial && c.cost.currency == amount.currency)
        .map(|c| c.plan_id)
}

/// The reference's PayPal troubleshooting errors, with its wording and the advice that goes
/// with each (operations §5.1–§5.3).
pub mod paypal_errors {
    /// A recurring payment without its subscription id (operations §5.1).
    pub const MISSING_SUBSCRIPTION_ID: &str = "PayPal is missing subscription ID details";
    pub const MISSING_SUBSCRIPTION_ID_ADVICE: &str = "PayPal reported this payment as recurring \
        but gave no subscription ID (I-…), so it cannot be tied to a subscriber by subscription. \
        Check that the PayPal REST and NVP credentials are for the environment (sandbox or live) \
        the settings say, assign the payment to the right customer, and put the subscription ID \
        on that customer's payment so the next renewals match by themselves.";

    /// A PayPal subscription with no payment seen (operations §5.2).
    pub fn no_transactions(subscription_id: &str) -> String {
        format!("PayPal subscription ID: {subscription_id} does not have any transactions")
    }
    pub const NO_TRANSACTIONS_ADVICE: &str = "PayPal has not posted a payment for this \
        subscription yet: the first charge may still be pending or have failed, the plan may \
        start with a free cycle, or the subscription belongs to the other environment (sandbox \
        or live). The subscription is kept and looked at again by the next hourly sync; if the \
        customer did pay, check the subscription in the PayPal dashboard and add the payment \
        by hand with its transaction and subscription IDs.";

    /// A PayPal id that does not exist for the configured credentials (operations §5.3).
    pub const RESOURCE_NOT_FOUND: &str =
        "Create Subscription Api response error RESOURCE_NOT_FOUND";
    pub const RESOURCE_NOT_FOUND_ADVICE: &str = "The PayPal plan ID does not exist for the \
        credentials in use: it was made in sandbox while live credentials are configured (or the \
        other way round), under another PayPal account (such as the sync-only secondary), \
        mistyped, or deleted. Re-create the plan in the same PayPal account and environment as \
        the primary REST credentials and paste its new ID on the plan; recurring billing needs \
        a PayPal business account.";
}

impl Unmatched {
    /// One line for the Unmatched payments page and the notification.
    pub fn describe(&self) -> String {
        match self {
            Unmatched::NoCustomer => {
                "no customer has this subscription id, e-mail or PayPal e-mail".to_string()
            }
            Unmatched::Ambiguous { candidates } => format!(
                "{} customers could be this payer; it was not guessed",
                candidates.len()
            ),
            Unmatched::MissingSubscriptionId => format!(
                "{}. {}",
                paypal_errors::MISSING_SUBSCRIPTION_ID,
                paypal_errors::MISSING_SUBSCRIPTION_ID_ADVICE
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;

    fn usd(minor: i64) -> Money {
        Money::new(minor, Currency::parse("USD").unwrap())
    }

    fn paid<'a>(email: Option<&'a str>, sub: Option<&'a str>) -> Seen<'a> {
        Seen {
            movement: Movement::Payment,
            settlement: Settlement::Succeeded,
            amount: usd(999),
            payer_email: email,
            subscription_id: sub,
            recurring: sub.is_some(),
        }
    }

    #[test]
    fn a_subscription_id_on_exactly_one_customer_wins_over_the_email() {
        let known = Known {
            subscription_owners: vec![7, 7],
            email_owners: vec![8],
            ..Known::default()
        };
        assert_eq!(
            decide(&paid(Some("a@x.com"), Some("I-ABC")), &known),
            Decision::Match {
                customer_id: 7,
                by: MatchedBy::SubscriptionId
            }
        );
    }

    #[test]
    fn the_same_subscription_id_on_two_customers_falls_through_to_the_paypal_email() {
        let known = Known {
            subscription_owners: vec![7, 9],
            paypal_email_owners: vec![9],
            ..Known::default()
        };
        assert_eq!(
            decide(&paid(Some("Bob@X.com"), Some("I-ABC")), &known),
            Decision::Match {
                customer_id: 9,
                by: MatchedBy::PaypalEmail
            }
        );
    }

    #[test]
    fn the_profile_email_is_tried_before_the_paypal_email() {
        let known = Known {
            email_owners: vec![3],
            paypal_email_owners: vec![4],
            ..Known::default()
        };
        assert_eq!(
            decide(&paid(Some("bob@x.com"), None), &known),
            Decision::Match {
                customer_id: 3,
                by: MatchedBy::Email
            }
        );
    }

    #[test]
    fn no_candidate_is_unmatched_and_several_are_never_guessed() {
        assert_eq!(
            decide(&paid(Some("who@x.com"), None), &Known::default()),
            Decision::Unmatched(Unmatched::NoCustomer)
        );
        let known = Known {
            paypal_email_owners: vec![5, 2],
            ..Known::default()
        };
        assert_eq!(
            decide(&paid(Some("who@x.com"), None), &known),
            Decision::Unmatched(Unmatched::Ambiguous {
                candidates: vec![2, 5]
            })
        );
    }

    #[test]
    fn a_recurring_payment_without_its_subscription_id_says_so_in_the_references_words() {
        let seen = Seen {
            recurring: true,
            ..paid(Some("who@x.com"), None)
        };
        let d = decide(&seen, &Known::default());
        assert_eq!(d, Decision::Unmatched(Unmatched::MissingSubscriptionId));
        let Decision::Unmatched(u) = d else {
            unreachable!()
        };
        assert!(
            u.describe()
                .starts_with("PayPal is missing subscription ID details")
        );
    }

    #[test]
    fn a_recorded_transaction_is_skipped_and_its_refund_surfaced() {
        let known = Known {
            recorded: Some((11, 3)),
            email_owners: vec![3],
            ..Known::default()
        };
        assert_eq!(
            decide(&paid(Some("a@x.com"), None), &known),
            Decision::Skip(Skip::AlreadyRecorded)
        );
        let refunded = Seen {
            settlement: Settlement::Refunded,
            ..paid(Some("a@x.com"), None)
        };
        assert_eq!(
            decide(&refunded, &known),
            Decision::RefundedAfterRecorded {
                payment_id: 11,
                customer_id: 3,
                settlement: Settlement::Refunded
            }
        );
    }

    #[test]
    fn refunds_pending_payments_and_known_unmatched_rows_record_nothing() {
        let known = Known {
            email_owners: vec![3],
            ..Known::default()
        };
        let refund = Seen {
            movement: Movement::Refund,
            amount: usd(-999),
            ..paid(Some("a@x.com"), None)
        };
        assert_eq!(decide(&refund, &known), Decision::Skip(Skip::NotAPayment));
        let pending = Seen {
            settlement: Settlement::Pending,
            ..paid(Some("a@x.com"), None)
        };
        assert_eq!(decide(&pending, &known), Decision::Skip(Skip::NotSettled));
        let gone = Seen {
            settlement: Settlement::Reversed,
            ..paid(Some("a@x.com"), None)
        };
        assert_eq!(
            decide(&gone, &known),
            Decision::Skip(Skip::RefundedBeforeRecorded)
        );
        let waiting = Known {
            unmatched: true,
            ..Known::default()
        };
        assert_eq!(
            decide(&paid(Some("who@x.com"), None), &waiting),
            Decision::Skip(Skip::AlreadyUnmatched)
        );
    }

    #[test]
    fn the_plan_is_the_customers_own_at_that_price_else_the_only_plan_at_that_price() {
        let p = |plan_id, minor| PlanPrice {
            plan_id,
            cost: usd(minor),
            active: true,
            is_trial: false,
        };
        let plans = [p(1, 999), p(2, 1999), p(3, 1999)];
        assert_eq!(infer_plan(usd(999), Some(p(2, 1999)), &plans), Some(1));
        assert_eq!(infer_plan(usd(1999), Some(p(3, 1999)), &plans), Some(3));
        assert_eq!(infer_plan(usd(1999), None, &plans), None);
        assert_eq!(infer_plan(usd(500), Some(p(2, 1999)), &plans), Some(2));
        assert_eq!(infer_plan(usd(500), None, &plans), None);
    }

    #[test]
    fn the_subscription_error_names_the_id_as_the_reference_does() {
        assert_eq!(
            paypal_errors::no_transactions("I-ABC123"),
            "PayPal subscription ID: I-ABC123 does not have any transactions"
        );
    }
}
