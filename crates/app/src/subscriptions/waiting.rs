//! Paid, waiting for a server: customers whose money was taken (a renewal, a plan change, a
//! payment imported with `wait_for_server`) when no server had room for their plan. The job
//! `subscriptions.place_waiting` tries each again; the first server with room gets their share
//! and its job, in the transaction that ends the wait.

use super::plan;
use super::provision::Provisioned;
use crate::audit::Actor;
use crate::{App, AppError};
use boxoffice_store::customers;
use boxoffice_store::waiting;

/// What one pass over the waiting customers did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PlacementReport {
    /// Given a share (its job is queued).
    pub placed: usize,
    /// Still no server with room.
    pub waiting: usize,
    /// No longer waiting for a server: their coverage ended, they are being deleted, or they
    /// must change their Plex account first.
    pub dropped: usize,
}

impl App {
    /// Tries every waiting customer, longest waiting first; one failing does not stop the others.
    pub async fn place_waiting_customers(&self) -> Result<PlacementReport, AppError> {
        let mut report = PlacementReport::default();
        for w in waiting::list(self.db.ex()).await? {
            match self.place_waiting(w.customer_id).await {
                Ok(Placed::Share) => report.placed += 1,
                Ok(Placed::StillWaiting) => report.waiting += 1,
                Ok(Placed::NoLongerWaiting) => report.dropped += 1,
                Err(e) => {
                    report.waiting += 1;
                    tracing::warn!(customer = w.customer_id, error = %e, "placing a waiting customer failed");
                }
            }
        }
        Ok(report)
    }

    async fn place_waiting(&self, customer_id: i64) -> Result<Placed, AppError> {
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let customer = customers::find(tx.ex(), customer_id)
            .await
            .map_err(AppError::not_found_as("customer"))?;
        let covered = customer.permanent || customer.covered_until.is_some_and(|c| c > now);
        let Some(plan_id) = customer.plan_id.filter(|_| covered) else {
            waiting::clear(tx.ex(), customer_id).await?;
            tx.commit().await?;
            return Ok(Placed::NoLongerWaiting);
        };
        if customer.deleting_at.is_some() {
            waiting::clear(tx.ex(), customer_id).await?;
            tx.commit().await?;
            return Ok(Placed::NoLongerWaiting);
        }
        let plan = plan::load(tx.ex(), plan_id).await?;
        let placed = match self.provision(&mut tx, &customer, &plan, None).await? {
            Provisioned::Share(s) => {
                self.audit(
                    tx.ex(),
                    &Actor::system(),
                    "customer.placed",
                    &format!("customer:{customer_id}"),
                    &format!("on server {} after waiting for room", s.server_id),
                )
                .await?;
                self.enqueue_request_app_sync(&mut tx, customer_id, &format!("placed:{}", s.id))
                    .await?;
                Placed::Share
            }
            // Recorded as the latest try; the admin was told when the wait began.
            Provisioned::NoCapacity(_) => Placed::StillWaiting,
            Provisioned::AwaitingPlexChange(_) => Placed::NoLongerWaiting,
        };
        tx.commit().await?;
        Ok(placed)
    }
}

enum Placed {
    Share,
    StillWaiting,
    NoLongerWaiting,
}
