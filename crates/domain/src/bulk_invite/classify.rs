//! The dry run: what importing each validated row would do to the customer it names, so the
//! owner confirms knowing which rows create customers and which touch existing ones (operations
//! §6.6 [INF]: an existing e-mail gets the payment added, not a duplicate customer; an existing
//! share on the server is not re-invited).

use super::{Catalogue, ValidatedRow};
use crate::coverage::{self, Period};
use crate::ids::ServerId;
use serde::Serialize;
use std::collections::HashMap;

/// What the store knows about a customer whose e-mail appears in the file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ExistingCustomer {
    /// Servers the customer currently has a share on.
    pub server_ids: Vec<ServerId>,
    /// End of the customer's paid coverage (`coverage::coverage_end`), if any.
    pub coverage_end: Option<i64>,
    pub permanent: bool,
}

/// What the import would do for one row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RowAction {
    /// No customer has this e-mail: one is created, paid for and invited.
    NewCustomer,
    /// The customer exists without a share: the payment is added after their coverage and they
    /// are invited to the named server.
    ExtendExisting,
    /// The customer already has a share on the named server: the payment extends their coverage
    /// and no invite is sent.
    AlreadyShared,
    /// The customer is shared on other server(s): they would be invited to the named one.
    MovesServer { from: Vec<ServerId> },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RowPreview {
    pub row: usize,
    pub action: RowAction,
    /// The period the payment would cover: from the later of the Payment Date and the end of
    /// the customer's coverage, Quantity plan periods long. `None` when the end would leave the
    /// supported range of dates or the plan is not in the catalogue.
    pub period: Option<Period>,
}

/// Classifies validated rows. `existing` is keyed by `Email::normalized()`.
pub fn classify(
    rows: &[ValidatedRow],
    existing: &HashMap<String, ExistingCustomer>,
    catalogue: &Catalogue,
) -> Vec<RowPreview> {
    rows.iter()
        .map(|r| {
            let customer = existing.get(&r.email.normalized());
            let action = match customer {
                None => RowAction::NewCustomer,
                Some(c) if c.server_ids.contains(&r.server_id) => RowAction::AlreadyShared,
                Some(c) if c.server_ids.is_empty() => RowAction::ExtendExisting,
                Some(c) => RowAction::MovesServer {
                    from: c.server_ids.clone(),
                },
            };
            let start = customer
                .and_then(|c| c.coverage_end)
                .map_or(r.payment_date, |end| end.max(r.payment_date));
            let period = catalogue
                .plans
                .iter()
                .find(|p| p.id == r.plan_id)
                .and_then(|p| coverage::extend(start, p.duration, r.quantity).ok());
            RowPreview {
                row: r.row,
                action,
                period,
            }
        })
        .collect()
}
