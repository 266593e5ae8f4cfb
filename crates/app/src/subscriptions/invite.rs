//! Manual invite (operations §6.6) and renewal: customer + payment + share + audit in one
//! transaction, the media effects as keyed jobs.

use super::plan;
use super::provision::{Provisioned, periods};
use crate::audit::Actor;
use crate::job_reads::JobReads;
use crate::payments::record::{MoneyTaken, Then, taken_transaction};
use crate::{App, AppError};
use boxoffice_domain::Email;
use boxoffice_domain::coverage;
use boxoffice_store::customers::{self, CustomerRow, NewCustomer};
use boxoffice_store::payments::{self, PaymentRow};
use boxoffice_store::shares::ShareRow;
use boxoffice_store::{StoreError, Tx};
use std::sync::Arc;

#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct InviteInput {
    /// Plex e-mail, or the Jellyfin/Emby user name or e-mail.
    pub email: String,
    pub plan_id: i64,
    /// The server chosen by the admin; selection picks one when absent.
    pub server_id: Option<i64>,
    /// How many plan durations the payment buys (default 1).
    pub quantity: Option<u32>,
    /// Default: quantity × the plan's cost.
    pub amount_minor: Option<i64>,
    /// Generated when absent; (transaction id, sequence) is unique.
    pub transaction_id: Option<String>,
    pub sequence: Option<i64>,
    pub subscription_id: Option<String>,
    pub paypal_email: Option<String>,
    pub permanent: Option<bool>,
    /// The Jellyfin/Emby user name of a new customer (default: the e-mail).
    pub username: Option<String>,
    /// The Plex account (e-mail or username) of a new customer (default: the e-mail).
    #[serde(default)]
    pub plex_identity: Option<String>,
    /// Start of the paid period (Unix seconds); default: now, or the end of current coverage.
    pub payment_date: Option<i64>,
    /// How it was paid, e.g. "cash" (default "manual").
    pub method: Option<String>,
    pub notes: Option<String>,
    /// The money was already taken (a payment imported with its gateway's transaction id): when
    /// no server has room the payment is still recorded and the customer waits, visibly, until
    /// `subscriptions.place_waiting` finds them a server. Otherwise such an invite is refused and
    /// writes nothing.
    #[serde(default)]
    pub wait_for_server: bool,
}

/// What an invite or renewal does when no server has room for the plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum WhenNoServer {
    /// Nothing is written: no customer, payment, share or request-app account.
    Refuse,
    /// The payment stands and the customer is marked "paid, waiting for a server".
    Wait,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct InviteOutcome {
    pub customer_id: i64,
    pub payment_id: i64,
    pub transaction_id: String,
    pub period_from: i64,
    pub period_to: i64,
    pub share_id: Option<i64>,
    pub server_id: Option<i64>,
    /// The reference's text when no server could take the plan; the customer is left without a share.
    pub no_capacity: Option<String>,
    /// Why no share was written although a server was free: the customer is flagged and must
    /// change their Plex account first (the change invites them).
    pub awaiting_plex_change: Option<String>,
    /// True when this transaction had already been recorded: nothing new was written.
    pub replayed: bool,
    /// The share and customer rows as this invite wrote them, for a caller that applies the
    /// share itself ([`ShareDelivery::Inline`]) without reading them back.
    #[serde(skip)]
    pub(crate) written: Option<Box<Written>>,
}

/// A share row and its customer as an invite wrote them.
#[derive(Clone, Debug)]
pub(crate) struct Written {
    pub share: ShareRow,
    pub customer: CustomerRow,
}

/// How the share an invite writes reaches its server. The caller decides once, before anything
/// is written, so each share has exactly one path to its server.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ShareDelivery {
    /// A keyed share job applies it, with retries and backoff (forms, the API, payments).
    #[default]
    Queued,
    /// The caller applies it itself once the invite has committed (the bulk import, whose row
    /// reports the server's answer and is itself the durable retry): no share job is queued.
    Inline,
}

/// How one invite is carried out: where its share goes, and what a job inviting many rows has
/// read once for all of them.
#[derive(Clone, Copy, Default)]
pub struct InviteWay<'a> {
    pub delivery: ShareDelivery,
    pub reads: Option<&'a JobReads>,
    /// The customer was created by this invite: nothing of theirs is stored yet to be read.
    fresh: bool,
}

impl<'a> InviteWay<'a> {
    pub fn new(delivery: ShareDelivery, reads: Option<&'a JobReads>) -> Self {
        Self {
            delivery,
            reads,
            fresh: false,
        }
    }

    pub(crate) fn is_fresh(&self) -> bool {
        self.fresh
    }
}

/// A renewal: another payment for a customer.
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct RenewInput {
    /// Default: the customer's current plan.
    pub plan_id: Option<i64>,
    pub quantity: Option<u32>,
    pub amount_minor: Option<i64>,
    pub transaction_id: Option<String>,
    pub sequence: Option<i64>,
    /// Start of the paid period; never inside coverage already paid for.
    #[serde(default)]
    pub starts_at: Option<i64>,
    #[serde(default)]
    pub method: Option<String>,
    #[serde(default)]
    pub notes: Option<String>,
}

impl App {
    pub async fn invite(
        &self,
        actor: &Actor,
        input: InviteInput,
    ) -> Result<InviteOutcome, AppError> {
        self.invite_with(actor, input, InviteWay::default()).await
    }

    /// As [`Self::invite`], carried out the `way` given.
    pub async fn invite_with(
        &self,
        actor: &Actor,
        input: InviteInput,
        way: InviteWay<'_>,
    ) -> Result<InviteOutcome, AppError> {
        match self.invite_once(actor, &input, way).await {
            // A unique index made this attempt wait for another writing the same transaction
            // (a worker killed while its commit was in flight, a form sent twice at once) and
            // then refused it: once that one has committed, this request is its replay.
            Err(e @ (AppError::Conflict(_) | AppError::Store(StoreError::Conflict { .. })))
                if input.transaction_id.is_some() =>
            {
                let Ok(email) = Email::parse(&input.email) else {
                    return Err(e);
                };
                let mut tx = self.db.begin().await?;
                match replay(&mut tx, &input.transaction_id, input.sequence, &email).await? {
                    Some(done) => Ok(done),
                    None => Err(e),
                }
            }
            other => other,
        }
    }

    async fn invite_once(
        &self,
        actor: &Actor,
        input: &InviteInput,
        mut way: InviteWay<'_>,
    ) -> Result<InviteOutcome, AppError> {
        let email =
            Email::parse(&input.email).map_err(|e| AppError::invalid("email", e.to_string()))?;
        let now = self.now();
        let mut tx = self.db.begin().await?;
        if let Some(done) = replay(&mut tx, &input.transaction_id, input.sequence, &email).await? {
            return Ok(done);
        }
        let customer = match customers::find_by_email_key(tx.ex(), &email.normalized()).await {
            Ok(c) => c,
            Err(StoreError::NotFound) => {
                way.fresh = true;
                let e = email.as_str();
                let username = input
                    .username
                    .as_deref()
                    .map(str::trim)
                    .filter(|u| !u.is_empty())
                    .unwrap_or(e);
                customers::insert(
                    tx.ex(),
                    NewCustomer {
                        email: e,
                        email_key: &email.normalized(),
                        // One identity field on the form: it names the customer on any platform.
                        plex_email: input
                            .plex_identity
                            .as_deref()
                            .map(str::trim)
                            .filter(|p| !p.is_empty())
                            .unwrap_or(e),
                        jellyfin_username: username,
                        emby_username: username,
                        paypal_email: input.paypal_email.as_deref().unwrap_or(""),
                        permanent: input.permanent.unwrap_or(false),
                        plan_id: Some(input.plan_id),
                        now,
                    },
                )
                .await?
            }
            Err(e) => return Err(e.into()),
        };
        let renew = RenewInput {
            plan_id: Some(input.plan_id),
            quantity: input.quantity,
            amount_minor: input.amount_minor,
            transaction_id: input.transaction_id.clone(),
            sequence: input.sequence,
            starts_at: input.payment_date,
            method: input.method.clone(),
            notes: input.notes.clone(),
        };
        let out = self
            .pay_and_provision(
                &mut tx,
                &customer,
                &renew,
                Placement {
                    server: input.server_id,
                    subscription_id: input.subscription_id.as_deref(),
                    when_no_server: if input.wait_for_server {
                        WhenNoServer::Wait
                    } else {
                        WhenNoServer::Refuse
                    },
                    source: "manual",
                    gateway_money: false,
                },
                way,
            )
            .await?;
        self.audit(
            tx.ex(),
            actor,
            "customer.invite",
            &format!("customer:{}", customer.id),
            &format!(
                "{} on plan {} ({})",
                email.as_str(),
                input.plan_id,
                out.transaction_id
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(out)
    }

    /// Activates or extends: the payment starts at max(now, coverage end).
    pub async fn renew(
        &self,
        actor: &Actor,
        customer_id: i64,
        input: RenewInput,
    ) -> Result<InviteOutcome, AppError> {
        let mut tx = self.db.begin().await?;
        let customer = customers::find(tx.ex(), customer_id)
            .await
            .map_err(AppError::not_found_as("customer"))?;
        let email = Email::parse(&customer.email)
            .map_err(|e| AppError::Internal(format!("stored e-mail is invalid: {e}")))?;
        if let Some(done) = replay(&mut tx, &input.transaction_id, input.sequence, &email).await? {
            return Ok(done);
        }
        let out = self
            .pay_and_provision(
                &mut tx,
                &customer,
                &input,
                Placement {
                    server: None,
                    subscription_id: None,
                    // The renewal is money already taken: it is never lost for want of a server.
                    when_no_server: WhenNoServer::Wait,
                    source: "manual",
                    gateway_money: false,
                },
                InviteWay::default(),
            )
            .await?;
        self.audit(
            tx.ex(),
            actor,
            "customer.renew",
            &format!("customer:{customer_id}"),
            &out.transaction_id,
        )
        .await?;
        tx.commit().await?;
        Ok(out)
    }

    /// Records money a gateway already took for `customer` (transaction sync, an unmatched
    /// payment assigned by the admin) in the caller's transaction: the payment extends their
    /// coverage, and the share and the customer's notice are queued beside it. With no server
    /// free the payment still stands and the customer waits, visibly. Like a webhook payment,
    /// a referred customer's first paid one credits whoever referred them.
    pub(crate) async fn record_synced_payment(
        &self,
        tx: &mut Tx,
        customer: &CustomerRow,
        input: &RenewInput,
        subscription_id: Option<&str>,
        source: &'static str,
    ) -> Result<InviteOutcome, AppError> {
        self.pay_and_provision(
            tx,
            customer,
            input,
            Placement {
                server: None,
                subscription_id,
                when_no_server: WhenNoServer::Wait,
                source,
                gateway_money: true,
            },
            InviteWay::default(),
        )
        .await
    }

    async fn pay_and_provision(
        &self,
        tx: &mut Tx,
        customer: &CustomerRow,
        input: &RenewInput,
        placement: Placement<'_>,
        way: InviteWay<'_>,
    ) -> Result<InviteOutcome, AppError> {
        let Placement {
            server,
            subscription_id,
            when_no_server,
            source,
            gateway_money,
        } = placement;
        let now = self.now();
        let plan_id = input
            .plan_id
            .or(customer.plan_id)
            .ok_or_else(|| AppError::invalid("plan_id", "choose a plan"))?;
        let plan = match way.reads {
            Some(r) => r.plan(tx.ex(), plan_id).await?,
            None => Arc::new(plan::load(tx.ex(), plan_id).await?),
        };
        let quantity = input.quantity.unwrap_or(1);
        if !(1..=120).contains(&quantity) {
            return Err(AppError::invalid(
                "quantity",
                "quantity is between 1 and 120",
            ));
        }
        let history = if way.fresh {
            Vec::new()
        } else {
            payments::list_for_customer(tx.ex(), customer.id).await?
        };
        let paid = periods(&history);
        // A given payment date starts the period, but never inside coverage already paid for.
        let start = match input.starts_at {
            Some(d) => coverage::coverage_end(&paid).map_or(d, |end| end.max(d)),
            None => coverage::renewal_start(now, &paid),
        };
        let period = coverage::extend(start, plan.plan.duration, quantity)
            .map_err(|e| AppError::invalid("quantity", e.to_string()))?;
        let amount = match input.amount_minor {
            Some(a) if a < 0 => {
                return Err(AppError::invalid(
                    "amount_minor",
                    "an amount is not negative",
                ));
            }
            Some(a) => a,
            None => plan.terms.cost_minor.saturating_mul(i64::from(quantity)),
        };
        let transaction_id = match input.transaction_id.as_deref().map(str::trim) {
            Some(t) if !t.is_empty() => t.to_string(),
            _ => format!("manual-{}", crate::crypto::random_token()?),
        };
        let method = input
            .method
            .as_deref()
            .map(str::trim)
            .filter(|m| !m.is_empty())
            .unwrap_or("manual");
        let currency = plan.currency();
        let payment = self
            .record_money(
                tx,
                MoneyTaken {
                    customer,
                    plan: &plan,
                    history,
                    period,
                    amount_minor: amount,
                    currency: currency.as_str(),
                    method,
                    transaction_id: &transaction_id,
                    sequence: input.sequence.unwrap_or(1),
                    subscription_id: subscription_id.unwrap_or(""),
                    notes: input.notes.as_deref().unwrap_or(""),
                    source,
                },
                Then {
                    reads: way.reads,
                    referral: gateway_money,
                    ..Then::default()
                },
            )
            .await
            .map_err(|e| taken_transaction(e, &transaction_id))?;
        if way.reads.is_none_or(JobReads::discord_sync_on) {
            self.enqueue_discord_sync(tx, customer.id, &format!("pay:{}", payment.id))
                .await?;
        }
        let mut written = None;
        let (share_id, server_id, no_capacity, awaiting_plex_change) = match self
            .provision_with(tx, customer, &plan, server, way)
            .await?
        {
            Provisioned::Share(s) => {
                let ids = (Some(s.id), Some(s.server_id));
                if way.delivery == ShareDelivery::Inline {
                    written = Some(Box::new(Written {
                        share: *s,
                        customer: customer.clone(),
                    }));
                }
                (ids.0, ids.1, None, None)
            }
            Provisioned::NoCapacity(text) if when_no_server == WhenNoServer::Refuse => {
                // The caller's transaction is dropped with this error: the customer, the
                // payment and every job queued above go with it.
                return Err(AppError::Conflict(format!(
                    "{text}: nothing was recorded. Give a server room for this plan (raise its \
                     maximum number of users or open it to new subscriptions), or choose the \
                     server, then invite again."
                )));
            }
            Provisioned::NoCapacity(text) => (None, None, Some(text), None),
            Provisioned::AwaitingPlexChange(text) => (None, None, None, Some(text)),
        };
        if way.reads.is_none_or(JobReads::request_apps_on) {
            self.enqueue_request_app_sync(tx, customer.id, &format!("payment:{}", payment.id))
                .await?;
        }
        Ok(InviteOutcome {
            customer_id: customer.id,
            payment_id: payment.id,
            transaction_id,
            period_from: payment.period_from,
            period_to: payment.period_to,
            share_id,
            server_id,
            no_capacity,
            awaiting_plex_change,
            replayed: false,
            written,
        })
    }
}

/// Where a payment's customer goes: the admin's server (else selection), and what happens when
/// none has room.
struct Placement<'a> {
    server: Option<i64>,
    subscription_id: Option<&'a str>,
    when_no_server: WhenNoServer,
    /// The ledger's `source`: `manual`, `sync`, …
    source: &'static str,
    /// Money a gateway took (sync, an assigned unmatched payment): it credits a referrer.
    gateway_money: bool,
}

/// A request retried with a transaction id already recorded for the same customer answers what
/// the first one did, writing nothing; for another customer it is a conflict.
async fn replay(
    tx: &mut Tx,
    transaction_id: &Option<String>,
    sequence: Option<i64>,
    email: &Email,
) -> Result<Option<InviteOutcome>, AppError> {
    let Some(tid) = transaction_id
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    else {
        return Ok(None);
    };
    let p: PaymentRow =
        match payments::find_by_transaction(tx.ex(), tid, sequence.unwrap_or(1)).await {
            Ok(p) => p,
            Err(StoreError::NotFound) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
    let owner = customers::find(tx.ex(), p.customer_id).await?;
    if owner.email_key != email.normalized() {
        return Err(AppError::Conflict(format!(
            "transaction id \"{tid}\" is already recorded for another customer"
        )));
    }
    let share = boxoffice_store::shares::list_for_customer(tx.ex(), owner.id)
        .await?
        .into_iter()
        .find(|s| s.state != "removed");
    Ok(Some(InviteOutcome {
        customer_id: owner.id,
        payment_id: p.id,
        transaction_id: p.transaction_id,
        period_from: p.period_from,
        period_to: p.period_to,
        share_id: share.as_ref().map(|s| s.id),
        server_id: share.as_ref().map(|s| s.server_id),
        no_capacity: None,
        awaiting_plex_change: None,
        replayed: true,
        written: None,
    }))
}
