//! Hourly expiry (operations §3.2), cancel and customer deletion. Permanent customers are never
//! touched: the store query leaves them out.

use super::provision::covered_until;
use super::{CUSTOMER_DELETE_JOB, DAY};
use crate::audit::Actor;
use crate::queue::JobSpec;
use crate::{App, AppError};
use boxoffice_store::shares::{self, Desired, ShareRow};
use boxoffice_store::{Tx, customers, payments, provisioning};
use serde_json::json;

/// What one expiry pass changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExpiryReport {
    pub restricted: usize,
    pub removed: usize,
    pub failed: usize,
}

impl App {
    /// Expired customers lose every share (or keep only their plan's grace groups) until
    /// `media.delete_expired_after_days` after their coverage ended, then are removed from the
    /// server; 0 removes them at once. One customer failing does not stop the others.
    pub async fn run_expiry(&self) -> Result<ExpiryReport, AppError> {
        let now = self.now();
        let mut report = ExpiryReport::default();
        for share in shares::due_for_expiry(self.db.ex(), now).await? {
            match self.expire_share(&share).await {
                Ok(true) => report.removed += 1,
                Ok(false) => report.restricted += 1,
                Err(e) => {
                    report.failed += 1;
                    tracing::warn!(share = share.id, error = %e, "expiry failed for a share");
                }
            }
        }
        for share in shares::due_for_deletion(self.db.ex(), now).await? {
            let mut tx = self.db.begin().await?;
            self.set_removed(&mut tx, &share).await?;
            tx.commit().await?;
            report.removed += 1;
        }
        Ok(report)
    }

    /// Answers whether the share was removed outright (rather than restricted).
    pub(super) async fn expire_share(&self, share: &ShareRow) -> Result<bool, AppError> {
        let settings = self.settings().await?;
        let days = settings.int("media.delete_expired_after_days").max(0);
        let mut tx = self.db.begin().await?;
        let customer = customers::find(tx.ex(), share.customer_id).await?;
        let notice = self
            .access_removed_notice(&mut tx, &customer, share)
            .await?;
        self.notify(tx.ex(), notice).await?;
        let ended = customer.covered_until.unwrap_or(0);
        self.enqueue_discord_sync(&mut tx, customer.id, &format!("expired:{ended}"))
            .await?;
        let expired_at = customer.covered_until.unwrap_or_default();
        self.enqueue_request_app_sync(&mut tx, customer.id, &format!("expired:{expired_at}"))
            .await?;
        if days == 0 {
            self.set_removed(&mut tx, share).await?;
            tx.commit().await?;
            return Ok(true);
        }
        let grace_groups = match customer.plan_id {
            Some(p) => provisioning::plan_groups(tx.ex(), p, true).await?,
            None => Vec::new(),
        };
        let libs =
            provisioning::libraries_in_groups(tx.ex(), share.server_id, &grace_groups).await?;
        let ids: Vec<i64> = libs.iter().map(|l| l.id).collect();
        let ended = customer.covered_until.unwrap_or_else(|| self.now());
        let row = shares::upsert_desired(
            tx.ex(),
            share.customer_id,
            share.server_id,
            &Desired {
                state: "grace",
                library_ids: &ids,
                downloads: false,
                video_transcoding: share.video_transcoding,
                stream_limit: share.stream_limit,
                delete_after: Some(ended.saturating_add(days.saturating_mul(DAY))),
            },
            self.now(),
        )
        .await?;
        self.enqueue_share_apply(tx.ex(), &row).await?;
        tx.commit().await?;
        Ok(false)
    }

    pub(crate) async fn set_removed(&self, tx: &mut Tx, share: &ShareRow) -> Result<(), AppError> {
        let row = shares::upsert_desired(
            tx.ex(),
            share.customer_id,
            share.server_id,
            &Desired {
                state: "removed",
                library_ids: &[],
                downloads: false,
                video_transcoding: false,
                stream_limit: None,
                delete_after: None,
            },
            self.now(),
        )
        .await?;
        self.enqueue_share_apply(tx.ex(), &row).await
    }

    /// Ends the customer's paid coverage now: the running payment is cut, future ones dropped;
    /// the next expiry pass takes the shares away.
    pub async fn cancel_subscription(
        &self,
        actor: &Actor,
        customer_id: i64,
    ) -> Result<(), AppError> {
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let customer = customers::find(tx.ex(), customer_id)
            .await
            .map_err(AppError::not_found_as("customer"))?;
        for p in payments::list_for_customer(tx.ex(), customer_id).await? {
            if p.period_from >= now {
                payments::delete(tx.ex(), p.id).await?;
            } else if p.period_to > now {
                let note = if p.notes.is_empty() {
                    "Cancelled".to_string()
                } else {
                    format!("{}; cancelled", p.notes)
                };
                payments::cut(tx.ex(), p.id, now, p.amount_minor, &note).await?;
            }
        }
        let left = payments::list_for_customer(tx.ex(), customer_id).await?;
        customers::set_coverage(
            tx.ex(),
            customer_id,
            customer.plan_id,
            covered_until(&left, now),
            now,
        )
        .await?;
        self.audit(
            tx.ex(),
            actor,
            "customer.cancel",
            &format!("customer:{customer_id}"),
            "",
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Removes every share through jobs, then (in a later job, once they are gone from the
    /// servers) the customer row with its payments.
    pub async fn delete_customer(&self, actor: &Actor, customer_id: i64) -> Result<(), AppError> {
        let now = self.now();
        let mut tx = self.db.begin().await?;
        customers::find(tx.ex(), customer_id)
            .await
            .map_err(AppError::not_found_as("customer"))?;
        customers::mark_deleting(tx.ex(), customer_id, now).await?;
        self.enqueue_request_app_sync(&mut tx, customer_id, "deleted")
            .await?;
        for s in shares::list_for_customer(tx.ex(), customer_id).await? {
            if s.state != "removed" || !s.is_applied() {
                self.set_removed(&mut tx, &s).await?;
            }
        }
        self.enqueue(
            tx.ex(),
            JobSpec::new(CUSTOMER_DELETE_JOB, json!({ "customer_id": customer_id }))
                .key(format!("customer.delete:{customer_id}")),
        )
        .await?;
        self.audit(
            tx.ex(),
            actor,
            "customer.delete",
            &format!("customer:{customer_id}"),
            "",
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The second half of deletion: refuses (to be retried) while a share is still on a server.
    pub async fn finish_customer_deletion(&self, customer_id: i64) -> Result<bool, AppError> {
        let left: Vec<ShareRow> = shares::list_for_customer(self.db.ex(), customer_id)
            .await?
            .into_iter()
            .filter(|s| s.state != "removed" || !s.is_applied())
            .collect();
        if !left.is_empty() {
            return Err(AppError::Internal(format!(
                "waiting for {} share(s) to be removed from their servers",
                left.len()
            )));
        }
        Ok(customers::delete(self.db.ex(), customer_id).await? > 0)
    }
}
