//! Money given back and given back again: a refund or chargeback shortens a payment's coverage
//! in proportion to what was given back (webhooks and transaction sync both land here), and a
//! dispute won puts back what its chargeback took.

use boxoffice_store::payments::{self, PaymentRow};
use boxoffice_store::{Tx, admin_events, customers};
use serde_json::json;

use super::Provider;
use super::ledger::{Applied, CHARGEBACK_EVENT, Outcome, PROVISION_JOB};
use crate::audit::Actor;
use crate::notify::{Notice, date, money};
use crate::queue::JobSpec;
use crate::subscriptions::plan;
use crate::subscriptions::provision::covered_until;
use crate::{App, AppError};

/// Why money goes back.
pub(crate) enum Giveback {
    Refund,
    Chargeback(Option<String>),
}

impl App {
    /// A refund or chargeback: the payment's refunded total becomes `total` and its coverage
    /// shrinks in proportion (never before now: time already used is not taken back).
    pub(crate) async fn give_back(
        &self,
        tx: &mut Tx,
        provider: Provider,
        p: &PaymentRow,
        total: i64,
        kind: Giveback,
        event_id: &str,
    ) -> Result<Applied, AppError> {
        let now = self.now();
        let total = total.clamp(0, p.amount_minor);
        if total <= p.refunded_minor && !matches!(kind, Giveback::Chargeback(_)) {
            return Ok(Applied::new(Outcome::Ignored, "already given back").customer(p.customer_id));
        }
        let period_to = shortened_end(p, total, now);
        let given = money(total - p.refunded_minor, &p.currency);
        let note = match &kind {
            Giveback::Refund => format!("Refunded {given} on {}.", date(now)),
            Giveback::Chargeback(r) => format!(
                "Chargeback{} on {}.",
                r.as_deref().map(|r| format!(" ({r})")).unwrap_or_default(),
                date(now)
            ),
        };
        match &kind {
            Giveback::Refund => {
                payments::record_refund(tx.ex(), p.id, total, period_to, &note).await?;
            }
            Giveback::Chargeback(_) => {
                payments::record_chargeback(tx.ex(), p.id, total, period_to, &note).await?;
            }
        }
        let history = payments::list_for_customer(tx.ex(), p.customer_id).await?;
        let customer = customers::find(tx.ex(), p.customer_id).await?;
        let until = covered_until(&history, now);
        customers::set_coverage(tx.ex(), customer.id, customer.plan_id, until, now).await?;
        let (action, title) = match kind {
            Giveback::Refund => ("payment.refunded", "refund"),
            Giveback::Chargeback(_) => ("payment.chargeback", "chargeback"),
        };
        self.audit(
            tx.ex(),
            &Actor::system(),
            action,
            &format!("customer:{}", customer.id),
            &format!(
                "{provider} {} {title}: {note} Coverage of this payment now ends {}",
                p.transaction_id,
                date(period_to)
            ),
        )
        .await?;
        if title == "chargeback" {
            let text = format!(
                "{} opened a chargeback on {provider} payment {} ({}): the payment's coverage now ends {}.",
                customer.email,
                p.transaction_id,
                money(p.amount_minor, &p.currency),
                date(period_to)
            );
            admin_events::record(
                tx.ex(),
                now,
                CHARGEBACK_EVENT,
                Some(customer.id),
                None,
                &text,
            )
            .await?;
            self.notify(
                tx.ex(),
                Notice::system_message("Chargeback", &text).once(format!("chargeback:{event_id}")),
            )
            .await?;
        }
        let plan_name = plan::load(tx.ex(), p.plan_id)
            .await
            .map(|l| l.plan.name)
            .unwrap_or_default();
        self.notify(
            tx.ex(),
            Notice::to_customer("payment_refunded", customer.id)
                .with("plan_name", plan_name)
                .with("refund_amount", given)
                .with("transaction_id", p.transaction_id.clone())
                .with(
                    "expiration_date",
                    until.map(date).unwrap_or_else(|| date(now)),
                )
                .once(format!("refund:{provider}:{event_id}")),
        )
        .await?;
        let mut a = Applied::new(Outcome::Applied, note).customer(customer.id);
        a.payment_id = Some(p.id);
        Ok(a)
    }

    /// A chargeback the seller won: the payment gives and covers again what it did before it,
    /// the customer is provisioned again if that brings their access back, and the
    /// administrator is told.
    pub(crate) async fn dispute_won(
        &self,
        tx: &mut Tx,
        provider: Provider,
        p: &PaymentRow,
        event_id: &str,
    ) -> Result<Applied, AppError> {
        let now = self.now();
        let note = format!("Dispute won on {}: coverage restored.", date(now));
        let Some(period_to) = payments::restore_disputed(tx.ex(), p.id, &note).await? else {
            return Ok(
                Applied::new(Outcome::Ignored, "no chargeback stands on this payment")
                    .customer(p.customer_id),
            );
        };
        let history = payments::list_for_customer(tx.ex(), p.customer_id).await?;
        let customer = customers::find(tx.ex(), p.customer_id).await?;
        let until = covered_until(&history, now);
        customers::set_coverage(tx.ex(), customer.id, customer.plan_id, until, now).await?;
        let text = format!(
            "The chargeback on {provider} payment {} of {} ({}) was decided in your favour: the \
             payment's coverage ends {} again.",
            p.transaction_id,
            customer.email,
            money(p.amount_minor, &p.currency),
            date(period_to)
        );
        self.audit(
            tx.ex(),
            &Actor::system(),
            "payment.dispute_won",
            &format!("customer:{}", customer.id),
            &text,
        )
        .await?;
        admin_events::record(
            tx.ex(),
            now,
            CHARGEBACK_EVENT,
            Some(customer.id),
            None,
            &text,
        )
        .await?;
        self.notify(
            tx.ex(),
            Notice::system_message("Dispute won", &text).once(format!("dispute-won:{event_id}")),
        )
        .await?;
        if period_to > now {
            self.enqueue(
                tx.ex(),
                JobSpec::new(
                    PROVISION_JOB,
                    json!({ "customer_id": customer.id, "payment_id": p.id }),
                )
                .key(format!("dispute-won-provision:{}:{event_id}", p.id)),
            )
            .await?;
        }
        let mut a = Applied::new(Outcome::Applied, note).customer(customer.id);
        a.payment_id = Some(p.id);
        Ok(a)
    }
}

/// Where a payment's coverage ends once `refunded` of it is given back: the unrefunded share of
/// what was left, but never before now (or its start) and never later than it was.
pub(crate) fn shortened_end(p: &PaymentRow, refunded: i64, now: i64) -> i64 {
    let before = (p.amount_minor - p.refunded_minor).max(0);
    let after = (p.amount_minor - refunded).max(0);
    let len = i128::from(p.period_to - p.period_from);
    let proportional = if before == 0 {
        p.period_from
    } else {
        p.period_from + i64::try_from(len * i128::from(after) / i128::from(before)).unwrap_or(0)
    };
    let used = now.clamp(p.period_from, p.period_to);
    proportional
        .max(used)
        .min(p.period_to)
        .max(p.period_from + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payment(from: i64, to: i64, amount: i64, refunded: i64) -> PaymentRow {
        PaymentRow {
            id: 1,
            customer_id: 1,
            plan_id: 1,
            amount_minor: amount,
            currency: "USD".into(),
            period_from: from,
            period_to: to,
            method: "stripe".into(),
            transaction_id: "pi_1".into(),
            sequence: 1,
            subscription_id: String::new(),
            notes: String::new(),
            source: "gateway".into(),
            created_at: 0,
            refunded_minor: refunded,
        }
    }

    #[test]
    fn a_full_refund_ends_coverage_now_and_a_half_refund_halves_what_is_left() {
        let p = payment(0, 1000, 1000, 0);
        assert_eq!(shortened_end(&p, 1000, 100), 100);
        assert_eq!(shortened_end(&p, 500, 100), 500);
        // Late in the period, half back still ends it now, not in the past.
        assert_eq!(shortened_end(&p, 500, 800), 800);
        // A payment for a future period keeps a one-second stub (a period is never empty).
        assert_eq!(shortened_end(&payment(500, 1000, 10, 0), 10, 100), 501);
        // A second partial refund shrinks what the first left.
        let once = payment(0, 500, 1000, 500);
        assert_eq!(shortened_end(&once, 750, 0), 250);
    }
}
