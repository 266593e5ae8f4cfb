//! The admin Payments page: the ledger with filters and totals per currency, its CSV export,
//! and refunds, which a job carries out at the gateway with an idempotency key.

use super::{REFUND_JOB, gateway_label, parse_gateway, payment_failure};
use crate::audit::Actor;
use crate::notify::Notice;
use crate::queue::JobSpec;
use crate::users_page::csv_cell;
use crate::{App, AppError};
use boxoffice_payments::{Gateway, GatewayKind, Money, RefundRequest, RefundStatus, amounts};
use boxoffice_store::customers;
use boxoffice_store::payments_page::{
    self as store, CurrencyTotal, NewRefund, PaymentFilter, PaymentListRow, RefundRow,
};
use serde::Serialize;
use serde_json::json;

pub const PAGE_SIZE: i64 = 50;
/// The CSV export's row cap.
pub const CSV_MAX_ROWS: i64 = 100_000;

#[derive(Debug, Clone, Serialize)]
pub struct PaymentsPage {
    pub rows: Vec<PaymentListRow>,
    pub totals: Vec<CurrencyTotal>,
    pub page: i64,
    pub pages: i64,
    pub count: i64,
    /// Every method and currency in the ledger, for the filters.
    pub methods: Vec<String>,
    pub currencies: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RefundOutcome {
    pub refund: RefundRow,
    /// False when a refund of this payment was already asked for: nothing new was queued.
    pub queued: bool,
}

/// Which gateway can refund a payment recorded with `method` and `transaction_id`: Stripe
/// (a PaymentIntent or charge) and PayPal (a capture or sale); Plisio has no refunds, and a
/// payment recorded by hand has nothing at a gateway to refund.
pub fn refundable_at(method: &str, transaction_id: &str) -> Option<GatewayKind> {
    match parse_gateway(method)? {
        GatewayKind::Stripe
            if transaction_id.starts_with("pi_") || transaction_id.starts_with("ch_") =>
        {
            Some(GatewayKind::Stripe)
        }
        GatewayKind::PayPal
            if !transaction_id.trim().is_empty() && !transaction_id.starts_with("manual-") =>
        {
            Some(GatewayKind::PayPal)
        }
        _ => None,
    }
}

/// An amount as a plain decimal in its currency's minor unit (for the CSV).
pub fn decimal(minor: i64, currency: &str) -> String {
    match amounts::currency(currency) {
        Ok(c) => amounts::to_decimal(Money::new(minor, c)),
        Err(_) => minor.to_string(),
    }
}

fn iso(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

pub const CSV_HEADER: &str = "id,recorded_at,customer_email,plan,amount,currency,method,transaction_id,subscription_id,source,period_from,period_to,refund,notes\r\n";

/// One export line, ending in CRLF.
pub fn csv_line(r: &PaymentListRow) -> String {
    let cells = [
        r.id.to_string(),
        iso(r.created_at),
        r.customer_email.clone(),
        r.plan_name.clone(),
        decimal(r.amount_minor, &r.currency),
        r.currency.clone(),
        r.method.clone(),
        r.transaction_id.clone(),
        r.subscription_id.clone(),
        r.source.clone(),
        iso(r.period_from),
        iso(r.period_to),
        r.refund_state.clone().unwrap_or_default(),
        r.notes.clone(),
    ];
    let mut line = cells
        .iter()
        .map(|c| csv_cell(c))
        .collect::<Vec<_>>()
        .join(",");
    line.push_str("\r\n");
    line
}

impl App {
    pub async fn payments_page(
        &self,
        filter: &PaymentFilter,
        page: i64,
    ) -> Result<PaymentsPage, AppError> {
        let totals = store::totals(self.db.ex(), filter).await?;
        let count: i64 = totals.iter().map(|t| t.count).sum();
        let pages = ((count + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
        let page = page.clamp(1, pages);
        let rows = store::list(self.db.ex(), filter, PAGE_SIZE, (page - 1) * PAGE_SIZE).await?;
        Ok(PaymentsPage {
            rows,
            totals,
            page,
            pages,
            count,
            methods: store::methods(self.db.ex()).await?,
            currencies: store::currencies(self.db.ex()).await?,
        })
    }

    /// The filtered ledger as CSV (header first), newest first.
    pub async fn payments_csv(&self, filter: &PaymentFilter) -> Result<String, AppError> {
        let rows = store::list(self.db.ex(), filter, CSV_MAX_ROWS, 0).await?;
        let mut out = String::from(CSV_HEADER);
        for r in &rows {
            out.push_str(&csv_line(r));
        }
        Ok(out)
    }

    /// Asks for a full refund of payment `payment_id` at its gateway: a refund row and the job
    /// that carries it out, in one transaction. Asking again answers the first request.
    pub async fn request_refund(
        &self,
        actor: &Actor,
        payment_id: i64,
        reason: &str,
    ) -> Result<RefundOutcome, AppError> {
        let reason = reason.trim();
        if reason.chars().count() > 500 {
            return Err(AppError::invalid(
                "reason",
                "a reason is at most 500 characters",
            ));
        }
        let mut tx = self.db.begin().await?;
        let p = boxoffice_store::payments::find(tx.ex(), payment_id)
            .await
            .map_err(AppError::not_found_as("payment"))?;
        if refundable_at(&p.method, &p.transaction_id).is_none() {
            return Err(AppError::Conflict(format!(
                "payment {} was recorded as {} ({}): only Stripe and PayPal payments can be \
                 refunded from here; refund it where it was paid",
                p.id,
                gateway_label(&p.method),
                p.transaction_id
            )));
        }
        let now = self.now();
        let created = store::insert_refund(
            tx.ex(),
            NewRefund {
                payment_id,
                amount_minor: p.amount_minor,
                currency: &p.currency,
                reason,
                requested_by: &actor.label,
                now,
            },
        )
        .await?;
        let Some(refund) = created else {
            let refund = store::refund_for_payment(tx.ex(), payment_id)
                .await?
                .ok_or(AppError::NotFound("refund"))?;
            return Ok(RefundOutcome {
                refund,
                queued: false,
            });
        };
        self.enqueue(
            tx.ex(),
            JobSpec::new(REFUND_JOB, json!({ "refund_id": refund.id }))
                .key(format!("refund:{payment_id}")),
        )
        .await?;
        self.audit(
            tx.ex(),
            actor,
            "payment.refund_requested",
            &format!("customer:{}", p.customer_id),
            &format!(
                "{} {} ({})",
                gateway_label(&p.method),
                p.transaction_id,
                crate::notify::money(p.amount_minor, &p.currency)
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(RefundOutcome {
            refund,
            queued: true,
        })
    }

    /// The refund job's work: calls the gateway with the idempotency key `refund:<payment>`,
    /// so a retry after a timeout is the same refund, and records the answer. A refusal is
    /// recorded and told to the administrator; a transient failure is retried.
    pub async fn carry_out_refund_with(
        &self,
        gw: &dyn Gateway,
        refund_id: i64,
    ) -> Result<RefundRow, AppError> {
        let r = store::find_refund(self.db.ex(), refund_id)
            .await
            .map_err(AppError::not_found_as("refund"))?;
        if matches!(r.state.as_str(), "succeeded" | "pending") {
            return Ok(r);
        }
        let p = boxoffice_store::payments::find(self.db.ex(), r.payment_id)
            .await
            .map_err(AppError::not_found_as("payment"))?;
        let answer = gw
            .refund(&RefundRequest {
                payment_id: p.transaction_id.clone(),
                amount: None,
                reason: Some(r.reason.clone()).filter(|s| !s.is_empty()),
                idempotency_key: format!("refund:{}", p.id),
            })
            .await;
        let now = self.now();
        let mut tx = self.db.begin().await?;
        match answer {
            Ok(done) => {
                let state = match done.status {
                    RefundStatus::Succeeded => "succeeded",
                    RefundStatus::Pending => "pending",
                    RefundStatus::Failed => "failed",
                };
                store::set_refund_state(tx.ex(), r.id, state, &done.id, "", now).await?;
                let c = customers::find(tx.ex(), p.customer_id).await?;
                self.notify(
                    tx.ex(),
                    Notice::system_message(
                        &format!("Refund {state}: {}", p.transaction_id),
                        &format!(
                            "{} answered the refund of {} to {} ({}): {state}, refund {}. The \
                             payment's coverage changes when the gateway's refund notice \
                             arrives, or when transaction sync next reads it as refunded.",
                            gw.kind(),
                            crate::notify::money(p.amount_minor, &p.currency),
                            c.email,
                            p.transaction_id,
                            done.id
                        ),
                    )
                    .once(format!("refund_done:{}", r.id)),
                )
                .await?;
            }
            Err(e) if e.is_retryable() => {
                store::set_refund_state(tx.ex(), r.id, "queued", "", &e.to_string(), now).await?;
                tx.commit().await?;
                return Err(payment_failure(&e));
            }
            Err(e) => {
                store::set_refund_state(tx.ex(), r.id, "failed", "", &e.to_string(), now).await?;
                self.notify(
                    tx.ex(),
                    Notice::system_message(
                        &format!("Refund failed: {}", p.transaction_id),
                        &e.to_string(),
                    )
                    .once(format!("refund_failed:{}", r.id)),
                )
                .await?;
            }
        }
        tx.commit().await?;
        Ok(store::find_refund(self.db.ex(), refund_id).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_gateway_payments_with_a_gateway_id_are_refundable() {
        assert_eq!(refundable_at("stripe", "pi_123"), Some(GatewayKind::Stripe));
        assert_eq!(refundable_at("stripe", "manual-abc"), None);
        assert_eq!(
            refundable_at("paypal", "5O190127TN364715T"),
            Some(GatewayKind::PayPal)
        );
        assert_eq!(refundable_at("plisio", "65a1b2c3"), None);
        assert_eq!(refundable_at("manual", "cash-1"), None);
    }

    #[test]
    fn amounts_are_exported_in_the_currencys_minor_unit() {
        assert_eq!(decimal(1250, "USD"), "12.50");
        assert_eq!(decimal(500, "JPY"), "500");
    }
}
