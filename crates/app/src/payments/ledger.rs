//! The ledger: what a verified gateway event does to boxoffice's books. Payments are coverage
//! periods (the `payments` table) in integer minor units with a currency; a payment is recorded
//! once per gateway transaction id by the one recorder ([`super::record`]), which queues its
//! provisioning job in the same transaction. Refunds, chargebacks and disputes won change
//! coverage ([`super::giveback`]); a failed renewal marks the recurring subscription past due;
//! money that matches no customer waits on the Unmatched payments page.
//!
//! Every function here runs inside the caller's transaction: the webhook intake stores the event
//! and applies it together, so an event is applied exactly once whatever the delivery order.

use boxoffice_domain::Money;
use boxoffice_domain::coverage::{self, Period};
use boxoffice_payments::{EventKind, SubscriptionStatus, WebhookEvent};
use boxoffice_store::checkouts::{self, CheckoutRow};
use boxoffice_store::gateway_subscriptions::{self, GatewaySubscriptionRow};
use boxoffice_store::payments::{self, PaymentRow};
use boxoffice_store::{Tx, admin_events, customers};
use serde_json::json;

use super::Provider;
use super::checkout::credit_reference;
use super::giveback::Giveback;
use super::record::{MoneyTaken, Then};
use crate::audit::Actor;
use crate::notify::{Notice, date};
use crate::queue::JobSpec;
use crate::subscriptions::plan;
use crate::subscriptions::provision::periods;
use crate::{App, AppError};
use boxoffice_store::referrals;

/// Provisions the customer of a recorded gateway payment (payload `{"customer_id",
/// "payment_id"}`): server selection, the share and its job, or "paid, waiting for a server".
pub const PROVISION_JOB: &str = "payments.provision";
/// Reads back (PayPal: captures) a checkout the gateway says was approved, for a customer who
/// never came back to the return page (payload `{"checkout_id"}`).
pub const CONFIRM_CHECKOUT_JOB: &str = "payments.confirm_checkout";

/// Admin event kinds of the money path.
pub const CHARGEBACK_EVENT: &str = "chargeback";
pub const UNMATCHED_EVENT: &str = "unmatched_payment";
pub const MISMATCH_EVENT: &str = "payment_mismatch";

/// What applying one event came to (stored with the event).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Applied,
    /// Nothing to do: a type boxoffice does not act on, or already done.
    Ignored,
    /// It names a payment or subscription not recorded yet (`payment:<id>`,
    /// `subscription:<id>`); applied when that arrives.
    Waiting(String),
    /// No checkout, subscription or payment of ours matches it.
    Unmatched,
}

impl Outcome {
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Applied => "applied",
            Outcome::Ignored => "ignored",
            Outcome::Waiting(_) => "waiting",
            Outcome::Unmatched => "unmatched",
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Applied {
    pub outcome: Outcome,
    pub detail: String,
    pub customer_id: Option<i64>,
    pub payment_id: Option<i64>,
    /// Keys this event made available; events waiting for them are applied next.
    pub unlocked: Vec<String>,
}

impl Applied {
    pub(crate) fn new(outcome: Outcome, detail: impl Into<String>) -> Self {
        Applied {
            outcome,
            detail: detail.into(),
            customer_id: None,
            payment_id: None,
            unlocked: Vec::new(),
        }
    }

    pub(crate) fn customer(mut self, id: i64) -> Self {
        self.customer_id = Some(id);
        self
    }

    fn waiting(key: String, detail: impl Into<String>) -> Self {
        Applied::new(Outcome::Waiting(key), detail)
    }
}

pub(crate) fn payment_key(id: &str) -> String {
    format!("payment:{id}")
}

pub(crate) fn subscription_key(id: &str) -> String {
    format!("subscription:{id}")
}

/// Our reference on a gateway checkout (Stripe `client_reference_id`, PayPal `custom_id`, Plisio
/// `order_number`): the checkout row's id.
pub fn checkout_reference(checkout_id: i64) -> String {
    format!("checkout-{checkout_id}")
}

fn parse_reference(r: &str) -> Option<i64> {
    r.trim().strip_prefix("checkout-")?.parse().ok()
}

/// A gateway payment to record.
struct NewGatewayPayment<'a> {
    provider: Provider,
    customer_id: i64,
    plan_id: i64,
    transaction_id: &'a str,
    amount: Money,
    subscription_id: Option<&'a str>,
    /// The end of the period the gateway billed (Stripe's invoice line), if it says.
    period_end: Option<i64>,
    checkout: Option<&'a CheckoutRow>,
}

impl App {
    /// The checkout an event names, by our reference or by the gateway's id for it.
    async fn event_checkout(
        &self,
        tx: &mut Tx,
        provider: Provider,
        reference: Option<&str>,
        gateway_ref: Option<&str>,
    ) -> Result<Option<CheckoutRow>, AppError> {
        if let Some(id) = reference.and_then(parse_reference) {
            match checkouts::find(tx.ex(), id).await {
                Ok(c) if c.provider == provider.as_str() => return Ok(Some(c)),
                Ok(_) | Err(boxoffice_store::StoreError::NotFound) => {}
                Err(e) => return Err(e.into()),
            }
        }
        match gateway_ref.filter(|g| !g.is_empty()) {
            Some(g) => Ok(checkouts::find_by_gateway_ref(tx.ex(), provider.as_str(), g).await?),
            None => Ok(None),
        }
    }

    /// Records a subscription the first time one of its events names its customer.
    async fn ensure_subscription(
        &self,
        tx: &mut Tx,
        provider: Provider,
        subscription_id: &str,
        customer_id: i64,
        plan_id: i64,
        at: i64,
    ) -> Result<GatewaySubscriptionRow, AppError> {
        let now = self.now();
        if gateway_subscriptions::insert_if_new(
            tx.ex(),
            gateway_subscriptions::NewSubscription {
                provider: provider.as_str(),
                subscription_id,
                customer_id,
                plan_id: Some(plan_id),
                state: "active",
                // Older than any real event, so the first state event applies.
                state_at: at.min(now) - 1,
                now,
            },
        )
        .await?
        {
            self.audit(
                tx.ex(),
                &Actor::system(),
                "subscription.started",
                &format!("customer:{customer_id}"),
                &format!("{provider} subscription {subscription_id}"),
            )
            .await?;
        }
        gateway_subscriptions::find(tx.ex(), provider.as_str(), subscription_id)
            .await?
            .ok_or_else(|| AppError::Internal("a subscription just written is missing".into()))
    }

    /// Records one gateway payment (once per transaction id) with its coverage, the customer's
    /// notice and the job that provisions them.
    async fn record_gateway_payment(
        &self,
        tx: &mut Tx,
        p: NewGatewayPayment<'_>,
    ) -> Result<(PaymentRow, bool), AppError> {
        if let Some(existing) = payments::find_by_transaction_any(tx.ex(), p.transaction_id).await?
        {
            if let Some(c) = p.checkout {
                checkouts::set_paid(tx.ex(), c.id, Some(existing.id), self.now()).await?;
            }
            return Ok((existing, false));
        }
        let now = self.now();
        let customer = customers::find(tx.ex(), p.customer_id)
            .await
            .map_err(AppError::not_found_as("customer"))?;
        let plan = plan::load(tx.ex(), p.plan_id).await?;
        // A plan change bought at checkout ends the running payment now, with its credit; the
        // history is read after that cut so coverage is reckoned from what stands.
        let changed = self
            .plan_change_payment(tx, p.checkout, customer.id, &plan, p.amount)
            .await?;
        let history = payments::list_for_customer(tx.ex(), customer.id).await?;
        let (start, period_to, amount_minor, notes) = match &changed {
            Some(c) => (c.from, c.to, c.amount_minor, c.notes.as_str()),
            None => {
                let start = coverage::renewal_start(now, &periods(&history));
                let by_plan = coverage::extend(start, plan.plan.duration, 1)
                    .map_err(|e| AppError::Internal(format!("plan {}: {e}", p.plan_id)))?;
                // The gateway's own period end when it bills by period (a Stripe invoice
                // line); otherwise one plan duration.
                let period_to = p.period_end.filter(|e| *e > start).unwrap_or(by_plan.to);
                (start, period_to, p.amount.minor, "")
            }
        };
        let payment = self
            .record_money(
                tx,
                MoneyTaken {
                    customer: &customer,
                    plan: &plan,
                    history,
                    period: Period::new(start, period_to),
                    amount_minor,
                    currency: p.amount.currency.as_str(),
                    method: p.provider.as_str(),
                    transaction_id: p.transaction_id,
                    sequence: 1,
                    subscription_id: p.subscription_id.unwrap_or(""),
                    notes,
                    source: "gateway",
                },
                Then::webhook(),
            )
            .await?;
        if let Some(c) = p.checkout {
            checkouts::set_paid(tx.ex(), c.id, Some(payment.id), now).await?;
        }
        Ok((payment, true))
    }

    /// Applies one verified event inside `tx`.
    pub(crate) async fn apply_event(
        &self,
        tx: &mut Tx,
        provider: Provider,
        event: &WebhookEvent,
    ) -> Result<Applied, AppError> {
        match self.apply_kind(tx, provider, event).await {
            Ok(a) | Err(Stop::Decided(a)) => Ok(a),
            Err(Stop::Failed(e)) => Err(e),
        }
    }

    /// The checkout an event names, or the event recorded as unmatched (`why`).
    async fn checkout_or_unmatched(
        &self,
        tx: &mut Tx,
        provider: Provider,
        event: &WebhookEvent,
        (reference, gateway_ref): (Option<&str>, Option<&str>),
        why: &str,
    ) -> Result<CheckoutRow, Stop> {
        match self
            .event_checkout(tx, provider, reference, gateway_ref)
            .await?
        {
            Some(c) => Ok(c),
            None => Err(Stop::Decided(
                self.unmatched(tx, provider, event, why).await?,
            )),
        }
    }

    /// The checkout an event names, or the event ignored (it is about no checkout of ours).
    async fn checkout_or_ignored(
        &self,
        tx: &mut Tx,
        provider: Provider,
        (reference, gateway_ref): (Option<&str>, Option<&str>),
    ) -> Result<CheckoutRow, Stop> {
        self.event_checkout(tx, provider, reference, gateway_ref)
            .await?
            .ok_or_else(|| Stop::Decided(Applied::new(Outcome::Ignored, "no checkout of ours")))
    }

    /// The subscription an event names, or the event waits until it is recorded.
    async fn subscription_or_wait(
        &self,
        tx: &mut Tx,
        provider: Provider,
        subscription_id: &str,
    ) -> Result<GatewaySubscriptionRow, Stop> {
        gateway_subscriptions::find(tx.ex(), provider.as_str(), subscription_id)
            .await?
            .ok_or_else(|| {
                Stop::Decided(Applied::waiting(
                    subscription_key(subscription_id),
                    format!("subscription {subscription_id} is not known yet"),
                ))
            })
    }

    /// The payment an event names, or the event waits until it is recorded.
    async fn payment_or_wait(&self, tx: &mut Tx, payment_id: &str) -> Result<PaymentRow, Stop> {
        payments::find_by_transaction_any(tx.ex(), payment_id)
            .await?
            .ok_or_else(|| {
                Stop::Decided(Applied::waiting(
                    payment_key(payment_id),
                    format!("payment {payment_id} is not recorded yet"),
                ))
            })
    }

    async fn apply_kind(
        &self,
        tx: &mut Tx,
        provider: Provider,
        event: &WebhookEvent,
    ) -> Result<Applied, Stop> {
        let at = event.created.unwrap_or_else(|| self.now());
        match &event.kind {
            EventKind::CheckoutCompleted {
                checkout_id,
                reference,
                paid,
                payment_id,
                subscription_id,
                amount,
                ..
            } => {
                let co = self
                    .checkout_or_unmatched(
                        tx,
                        provider,
                        event,
                        (reference.as_deref(), Some(checkout_id)),
                        "no checkout of ours has this reference",
                    )
                    .await?;
                let mut applied = Applied::new(Outcome::Applied, "").customer(co.customer_id);
                if let Some(sub) = subscription_id {
                    self.ensure_subscription(tx, provider, sub, co.customer_id, co.plan_id, at)
                        .await?;
                    applied.unlocked.push(subscription_key(sub));
                }
                if !paid {
                    applied.detail =
                        "the buyer finished the page; the payment is still on its way".into();
                    return Ok(applied);
                }
                if co.mode == "recurring" {
                    // The subscription's payments arrive as their own events (invoices, sales).
                    checkouts::set_paid(tx.ex(), co.id, None, self.now()).await?;
                    applied.detail = "subscription started".into();
                    return Ok(applied);
                }
                let tid = payment_id.clone().unwrap_or_else(|| checkout_id.clone());
                let amount = match amount {
                    Some(a) => *a,
                    None => checkout_amount(&co)?,
                };
                let (payment, new) = self
                    .record_gateway_payment(
                        tx,
                        NewGatewayPayment {
                            provider,
                            customer_id: co.customer_id,
                            plan_id: co.plan_id,
                            transaction_id: &tid,
                            amount,
                            subscription_id: subscription_id.as_deref(),
                            period_end: None,
                            checkout: Some(&co),
                        },
                    )
                    .await?;
                applied.payment_id = Some(payment.id);
                applied.unlocked.push(payment_key(&tid));
                applied.detail = if new {
                    format!("payment {tid} recorded")
                } else {
                    format!("payment {tid} was already recorded")
                };
                Ok(applied)
            }
            EventKind::PaymentSucceeded {
                payment_id,
                checkout_id,
                subscription_id,
                reference,
                amount,
                period_end,
                ..
            } => {
                let known = match subscription_id {
                    Some(s) => gateway_subscriptions::find(tx.ex(), provider.as_str(), s).await?,
                    None => None,
                };
                let co = self
                    .event_checkout(tx, provider, reference.as_deref(), checkout_id.as_deref())
                    .await?;
                let (customer_id, plan_id) = match (&known, &co) {
                    (Some(s), _) => {
                        let plan = match s.plan_id {
                            Some(p) => Some(p),
                            None => customers::find(tx.ex(), s.customer_id).await?.plan_id,
                        };
                        match plan {
                            Some(p) => (s.customer_id, p),
                            None => {
                                return Ok(self
                                    .unmatched(
                                        tx,
                                        provider,
                                        event,
                                        "the subscription's plan is gone",
                                    )
                                    .await?);
                            }
                        }
                    }
                    (None, Some(c)) => (c.customer_id, c.plan_id),
                    (None, None) => {
                        if let Some(s) = subscription_id {
                            return Ok(Applied::waiting(
                                subscription_key(s),
                                format!("subscription {s} is not known yet"),
                            ));
                        }
                        return Ok(self
                            .unmatched(
                                tx,
                                provider,
                                event,
                                "no checkout or subscription of ours matches it",
                            )
                            .await?);
                    }
                };
                let mut applied = Applied::new(Outcome::Applied, "").customer(customer_id);
                if let Some(s) = subscription_id {
                    let row = match known {
                        Some(r) => r,
                        None => {
                            applied.unlocked.push(subscription_key(s));
                            self.ensure_subscription(tx, provider, s, customer_id, plan_id, at)
                                .await?
                        }
                    };
                    gateway_subscriptions::set_state(
                        tx.ex(),
                        row.id,
                        "active",
                        at,
                        *period_end,
                        None,
                        self.now(),
                    )
                    .await?;
                }
                let (payment, new) = self
                    .record_gateway_payment(
                        tx,
                        NewGatewayPayment {
                            provider,
                            customer_id,
                            plan_id,
                            transaction_id: payment_id,
                            amount: *amount,
                            subscription_id: subscription_id.as_deref(),
                            period_end: *period_end,
                            checkout: co.as_ref(),
                        },
                    )
                    .await?;
                applied.payment_id = Some(payment.id);
                applied.unlocked.push(payment_key(payment_id));
                applied.detail = if new {
                    format!("payment {payment_id} recorded")
                } else {
                    format!("payment {payment_id} was already recorded")
                };
                Ok(applied)
            }
            EventKind::CheckoutApproved {
                checkout_id,
                reference,
            } => {
                let co = self
                    .checkout_or_unmatched(
                        tx,
                        provider,
                        event,
                        (reference.as_deref(), Some(checkout_id)),
                        "no checkout of ours has this reference",
                    )
                    .await?;
                self.enqueue(
                    tx.ex(),
                    JobSpec::new(CONFIRM_CHECKOUT_JOB, json!({ "checkout_id": co.id }))
                        .key(format!("confirm-checkout:{}", co.id)),
                )
                .await?;
                Ok(
                    Applied::new(Outcome::Applied, "approved: the capture is queued")
                        .customer(co.customer_id),
                )
            }
            EventKind::CheckoutExpired {
                checkout_id,
                reference,
            } => {
                let co = self
                    .checkout_or_ignored(tx, provider, (reference.as_deref(), Some(checkout_id)))
                    .await?;
                checkouts::set_state(tx.ex(), co.id, "expired", "", self.now()).await?;
                referrals::release_used(tx.ex(), &credit_reference(co.id)).await?;
                Ok(Applied::new(Outcome::Applied, "checkout expired").customer(co.customer_id))
            }
            EventKind::PaymentMismatch {
                payment_id,
                reference,
                expected,
                received,
                received_currency,
            } => {
                let co = self
                    .checkout_or_unmatched(
                        tx,
                        provider,
                        event,
                        (reference.as_deref(), Some(payment_id)),
                        "no checkout of ours has this reference",
                    )
                    .await?;
                let text = format!(
                    "{provider} payment {payment_id} paid {received} {received_currency}{}: no access was given. Check it in {provider} and record the payment by hand if it covers the plan.",
                    expected
                        .map(|m| format!(" instead of {m}"))
                        .unwrap_or_default()
                );
                checkouts::set_state(tx.ex(), co.id, "mismatch", &text, self.now()).await?;
                admin_events::record(
                    tx.ex(),
                    self.now(),
                    MISMATCH_EVENT,
                    Some(co.customer_id),
                    None,
                    &text,
                )
                .await?;
                self.notify(
                    tx.ex(),
                    Notice::system_message(&format!("{provider} payment amount differs"), &text)
                        .once(format!("mismatch:{provider}:{payment_id}")),
                )
                .await?;
                Ok(Applied::new(Outcome::Applied, text).customer(co.customer_id))
            }
            EventKind::PaymentPending { .. } => Ok(Applied::new(
                Outcome::Ignored,
                "payment pending at the gateway",
            )),
            EventKind::PaymentFailed {
                subscription_id,
                reference,
                payment_id,
                next_attempt,
                ..
            } => {
                if let Some(s) = subscription_id {
                    let row = self.subscription_or_wait(tx, provider, s).await?;
                    let moved = gateway_subscriptions::set_state(
                        tx.ex(),
                        row.id,
                        "past_due",
                        at,
                        None,
                        None,
                        self.now(),
                    )
                    .await?;
                    if moved {
                        self.renewal_failed(tx, provider, &row, *next_attempt, &event.event_id)
                            .await?;
                        return Ok(Applied::new(Outcome::Applied, "renewal failed: past due")
                            .customer(row.customer_id));
                    }
                    return Ok(
                        Applied::new(Outcome::Ignored, "a newer event decided the state")
                            .customer(row.customer_id),
                    );
                }
                let co = self
                    .checkout_or_ignored(
                        tx,
                        provider,
                        (reference.as_deref(), payment_id.as_deref()),
                    )
                    .await?;
                checkouts::set_state(tx.ex(), co.id, "failed", "the payment failed", self.now())
                    .await?;
                referrals::release_used(tx.ex(), &credit_reference(co.id)).await?;
                Ok(Applied::new(Outcome::Applied, "checkout payment failed")
                    .customer(co.customer_id))
            }
            EventKind::SubscriptionActivated {
                subscription_id,
                reference,
                paid_through,
                ..
            } => {
                if let Some(row) =
                    gateway_subscriptions::find(tx.ex(), provider.as_str(), subscription_id).await?
                {
                    gateway_subscriptions::set_state(
                        tx.ex(),
                        row.id,
                        "active",
                        at,
                        *paid_through,
                        None,
                        self.now(),
                    )
                    .await?;
                    return Ok(Applied::new(Outcome::Applied, "subscription active")
                        .customer(row.customer_id));
                }
                let co = self
                    .checkout_or_unmatched(
                        tx,
                        provider,
                        event,
                        (reference.as_deref(), Some(subscription_id)),
                        "no checkout of ours started this subscription",
                    )
                    .await?;
                self.ensure_subscription(
                    tx,
                    provider,
                    subscription_id,
                    co.customer_id,
                    co.plan_id,
                    at,
                )
                .await?;
                let mut a =
                    Applied::new(Outcome::Applied, "subscription active").customer(co.customer_id);
                a.unlocked.push(subscription_key(subscription_id));
                Ok(a)
            }
            EventKind::SubscriptionUpdated {
                subscription_id,
                status,
                cancel_at_period_end,
                current_period_end,
                ..
            } => {
                let row = self
                    .subscription_or_wait(tx, provider, subscription_id)
                    .await?;
                let Some(state) = subscription_state(status) else {
                    return Ok(Applied::new(Outcome::Ignored, format!("status {status:?}"))
                        .customer(row.customer_id));
                };
                gateway_subscriptions::set_state(
                    tx.ex(),
                    row.id,
                    state,
                    at,
                    *current_period_end,
                    Some(*cancel_at_period_end),
                    self.now(),
                )
                .await?;
                if state == "cancelled" {
                    self.subscription_cancelled(tx, provider, &row, None, *current_period_end)
                        .await?;
                }
                Ok(
                    Applied::new(Outcome::Applied, format!("subscription {state}"))
                        .customer(row.customer_id),
                )
            }
            EventKind::SubscriptionEnded {
                subscription_id,
                paid_through,
                reason,
                ..
            } => {
                let row = self
                    .subscription_or_wait(tx, provider, subscription_id)
                    .await?;
                // Cancelled is final: its time is "now or later" whatever order events come in.
                if gateway_subscriptions::set_state(
                    tx.ex(),
                    row.id,
                    "cancelled",
                    at.max(row.state_at),
                    *paid_through,
                    None,
                    self.now(),
                )
                .await?
                {
                    self.subscription_cancelled(
                        tx,
                        provider,
                        &row,
                        reason.as_deref(),
                        *paid_through,
                    )
                    .await?;
                }
                Ok(Applied::new(Outcome::Applied, "subscription cancelled")
                    .customer(row.customer_id))
            }
            EventKind::Refunded {
                payment_id,
                amount,
                full,
                ..
            } => {
                let p = self.payment_or_wait(tx, payment_id).await?;
                // Stripe reports the charge's refunded total; PayPal each refund on its own.
                let total = if *full == Some(true) {
                    p.amount_minor
                } else if provider == Provider::Stripe {
                    p.refunded_minor.max(amount.minor)
                } else {
                    p.refunded_minor.saturating_add(amount.minor)
                };
                Ok(self
                    .give_back(tx, provider, &p, total, Giveback::Refund, &event.event_id)
                    .await?)
            }
            EventKind::Reversed { payment_id, reason } => {
                let p = self.payment_or_wait(tx, payment_id).await?;
                Ok(self
                    .give_back(
                        tx,
                        provider,
                        &p,
                        p.amount_minor,
                        Giveback::Chargeback(reason.clone()),
                        &event.event_id,
                    )
                    .await?)
            }
            EventKind::DisputeWon { payment_id, .. } => {
                let p = self.payment_or_wait(tx, payment_id).await?;
                Ok(self.dispute_won(tx, provider, &p, &event.event_id).await?)
            }
            EventKind::Ignored => Ok(Applied::new(
                Outcome::Ignored,
                format!("{} is not an event boxoffice acts on", event.provider_type),
            )),
        }
    }

    /// An event about money that matches nothing of ours: kept, and the administrator told.
    async fn unmatched(
        &self,
        tx: &mut Tx,
        provider: Provider,
        event: &WebhookEvent,
        why: &str,
    ) -> Result<Applied, AppError> {
        let text = format!(
            "{provider} event {} ({}) matches no customer: {why}.",
            event.event_id, event.provider_type
        );
        // Money that arrived: listed on the Unmatched payments page, to assign or dismiss.
        let money_in = match &event.kind {
            EventKind::PaymentSucceeded {
                payment_id,
                amount,
                payer_email,
                subscription_id,
                ..
            } => Some((payment_id, *amount, payer_email, subscription_id)),
            EventKind::CheckoutCompleted {
                paid: true,
                payment_id: Some(payment_id),
                amount: Some(amount),
                payer_email,
                subscription_id,
                ..
            } => Some((payment_id, *amount, payer_email, subscription_id)),
            _ => None,
        };
        if let Some((payment_id, amount, payer_email, subscription_id)) = money_in {
            admin_events::record(tx.ex(), self.now(), UNMATCHED_EVENT, None, None, &text).await?;
            let raw = json!({
                "event_id": event.event_id,
                "type": event.provider_type,
                "created": event.created,
            })
            .to_string();
            self.list_unmatched_payment(
                tx,
                boxoffice_store::payment_sync::NewUnmatched {
                    gateway: provider.as_str(),
                    account: "primary",
                    transaction_id: payment_id,
                    payer_email: payer_email.as_deref().unwrap_or(""),
                    payer_name: "",
                    amount_minor: amount.minor,
                    currency: amount.currency.as_str(),
                    paid_at: event.created.unwrap_or_else(|| self.now()),
                    subscription_id: subscription_id.as_deref().unwrap_or(""),
                    reason: &format!("Arrived by webhook ({}): {why}.", event.provider_type),
                    raw: &raw,
                    now: self.now(),
                },
            )
            .await?;
        }
        Ok(Applied::new(Outcome::Unmatched, text))
    }

    /// A renewal the gateway could not charge: the customer is told, once per event.
    async fn renewal_failed(
        &self,
        tx: &mut Tx,
        provider: Provider,
        row: &GatewaySubscriptionRow,
        next_attempt: Option<i64>,
        event_id: &str,
    ) -> Result<(), AppError> {
        let customer = customers::find(tx.ex(), row.customer_id).await?;
        let plan_name = match row.plan_id {
            Some(p) => plan::load(tx.ex(), p)
                .await
                .map(|l| l.plan.name)
                .unwrap_or_default(),
            None => String::new(),
        };
        self.audit(
            tx.ex(),
            &Actor::system(),
            "subscription.past_due",
            &format!("customer:{}", row.customer_id),
            &format!(
                "{provider} could not charge subscription {}",
                row.subscription_id
            ),
        )
        .await?;
        let renew_url = self.settings_in_tx(tx).await?.account_url();
        self.notify(
            tx.ex(),
            Notice::to_customer("renewal_failed", row.customer_id)
                .with("plan_name", plan_name)
                .with("gateway", provider.label())
                .with(
                    "expiration_date",
                    customer.covered_until.map(date).unwrap_or_default(),
                )
                .with("next_attempt", next_attempt.map(date).unwrap_or_default())
                .with("renew_url", renew_url)
                .once(format!("renewal-failed:{provider}:{event_id}")),
        )
        .await?;
        Ok(())
    }

    /// Billing stopped at the gateway (the customer cancelled, or it gave up): the paid time
    /// is kept, so access runs to the end of what was paid and then lapses as any other; the
    /// administrator is told.
    async fn subscription_cancelled(
        &self,
        tx: &mut Tx,
        provider: Provider,
        row: &GatewaySubscriptionRow,
        reason: Option<&str>,
        paid_through: Option<i64>,
    ) -> Result<(), AppError> {
        let customer = customers::find(tx.ex(), row.customer_id).await?;
        let until = customer
            .covered_until
            .or(paid_through)
            .or(row.current_period_end);
        let kept = until
            .map(|u| format!("access is kept until {}", date(u)))
            .unwrap_or_else(|| "paid time is kept".into());
        let why = reason.map(|r| format!(" ({r})")).unwrap_or_default();
        self.audit(
            tx.ex(),
            &Actor::system(),
            "subscription.cancelled",
            &format!("customer:{}", row.customer_id),
            &format!(
                "{provider} subscription {} cancelled{why}; {kept}",
                row.subscription_id
            ),
        )
        .await?;
        self.notify(
            tx.ex(),
            Notice::system_message(
                "Recurring subscription cancelled",
                &format!(
                    "{}'s {provider} subscription {} was cancelled at {provider}{why}: no more \
                     renewals will be charged, and {kept}.",
                    customer.email, row.subscription_id
                ),
            )
            .once(format!(
                "subscription-cancelled:{provider}:{}",
                row.subscription_id
            )),
        )
        .await?;
        Ok(())
    }

    async fn settings_in_tx(&self, tx: &mut Tx) -> Result<crate::settings::Settings, AppError> {
        App::settings_in(tx.ex()).await
    }
}

/// Why applying an event stopped before its end: it was decided early (unmatched, waiting,
/// nothing of ours) or it failed.
enum Stop {
    Decided(Applied),
    Failed(AppError),
}

impl From<AppError> for Stop {
    fn from(e: AppError) -> Self {
        Stop::Failed(e)
    }
}

impl From<boxoffice_store::StoreError> for Stop {
    fn from(e: boxoffice_store::StoreError) -> Self {
        Stop::Failed(e.into())
    }
}

fn checkout_amount(c: &CheckoutRow) -> Result<Money, AppError> {
    boxoffice_domain::money::Currency::parse(&c.currency)
        .map(|cur| Money::new(c.amount_minor, cur))
        .map_err(|e| AppError::Internal(format!("checkout {} has a bad currency: {e}", c.id)))
}

fn subscription_state(s: &SubscriptionStatus) -> Option<&'static str> {
    match s {
        SubscriptionStatus::Active | SubscriptionStatus::Trialing => Some("active"),
        SubscriptionStatus::PastDue
        | SubscriptionStatus::Unpaid
        | SubscriptionStatus::Suspended
        | SubscriptionStatus::Paused => Some("past_due"),
        SubscriptionStatus::Cancelled | SubscriptionStatus::Expired => Some("cancelled"),
        SubscriptionStatus::ApprovalPending
        | SubscriptionStatus::Incomplete
        | SubscriptionStatus::Other(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_round_trip() {
        assert_eq!(parse_reference(&checkout_reference(42)), Some(42));
        assert_eq!(parse_reference("order_42"), None);
    }
}
