//! What a customer's plan grants a share now: the libraries of the plan's groups on that server
//! (the grace groups during grace), downloads, video transcoding and the stream limit. Drift is
//! measured against it, and a library moved to another group or a plan edited is brought to the
//! existing shares by writing it as their desired state, with their jobs, in one transaction.

use crate::audit::Actor;
use crate::{App, AppError};
use boxoffice_store::shares::{self, Desired, ShareRow};
use boxoffice_store::{Ex, StoreError, provisioning};
use std::collections::hash_map::Entry;
use std::collections::{BTreeSet, HashMap};

/// The desired state a share's plan asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Grant {
    pub library_ids: BTreeSet<i64>,
    pub downloads: bool,
    pub video_transcoding: bool,
    pub stream_limit: Option<i64>,
}

impl Grant {
    /// Whether the share's stored desired state already is this grant.
    pub fn matches(&self, share: &ShareRow) -> bool {
        let stored: BTreeSet<i64> = share.library_ids().into_iter().collect();
        stored == self.library_ids
            && share.downloads == self.downloads
            && share.video_transcoding == self.video_transcoding
            && share.stream_limit == self.stream_limit
    }

    /// The share as it would read with this grant as its desired state.
    pub fn applied_to(&self, share: &ShareRow) -> ShareRow {
        let ids: Vec<i64> = self.library_ids.iter().copied().collect();
        ShareRow {
            desired_libraries: serde_json::to_string(&ids).unwrap_or_else(|_| "[]".into()),
            downloads: self.downloads,
            video_transcoding: self.video_transcoding,
            stream_limit: self.stream_limit,
            ..share.clone()
        }
    }
}

/// Plans and libraries read once per pass, however many shares use them.
#[derive(Default)]
pub(crate) struct GrantBook {
    plans: HashMap<i64, Option<provisioning::PlanTerms>>,
    groups: HashMap<(i64, bool), Vec<i64>>,
    libraries: HashMap<(i64, i64, bool), BTreeSet<i64>>,
}

impl GrantBook {
    /// What `plan_id` grants `share` now; `None` when there is nothing to compare with (no plan,
    /// a deleted plan, or a share being removed).
    pub async fn grant(
        &mut self,
        mut ex: Ex<'_>,
        plan_id: Option<i64>,
        share: &ShareRow,
    ) -> Result<Option<Grant>, AppError> {
        let Some(plan_id) = plan_id else {
            return Ok(None);
        };
        if share.state == "removed" {
            return Ok(None);
        }
        if let Entry::Vacant(slot) = self.plans.entry(plan_id) {
            slot.insert(match provisioning::plan(ex.reborrow(), plan_id).await {
                Ok(t) => Some(t),
                Err(StoreError::NotFound) => None,
                Err(e) => return Err(e.into()),
            });
        }
        let Some(terms) = self.plans.get(&plan_id).cloned().flatten() else {
            return Ok(None);
        };
        // During grace only the grace groups stay, downloads off, the rest as expiry wrote it.
        let grace = share.state == "grace";
        let key = (share.server_id, plan_id, grace);
        if !self.libraries.contains_key(&key) {
            if let Entry::Vacant(slot) = self.groups.entry((plan_id, grace)) {
                slot.insert(provisioning::plan_groups(ex.reborrow(), plan_id, grace).await?);
            }
            let groups = self
                .groups
                .get(&(plan_id, grace))
                .cloned()
                .unwrap_or_default();
            let libs = provisioning::libraries_in_groups(ex.reborrow(), share.server_id, &groups)
                .await?
                .iter()
                .map(|l| l.id)
                .collect();
            self.libraries.insert(key, libs);
        }
        let library_ids = self.libraries.get(&key).cloned().unwrap_or_default();
        Ok(Some(if grace {
            Grant {
                library_ids,
                downloads: false,
                video_transcoding: share.video_transcoding,
                stream_limit: share.stream_limit,
            }
        } else {
            Grant {
                library_ids,
                downloads: terms.downloads,
                video_transcoding: terms.video_transcoding,
                stream_limit: terms.stream_limit,
            }
        }))
    }
}

impl App {
    /// Live shares whose desired state is not what their customer's plan grants now (after a
    /// library moved to another group, a plan's groups or switches changed, or an import
    /// recorded more than the plan gives). On one server, or every server.
    pub async fn shares_out_of_step(&self, server_id: Option<i64>) -> Result<usize, AppError> {
        let mut book = GrantBook::default();
        let mut n = 0;
        for row in shares::live_with_plan(self.db.ex(), server_id).await? {
            if let Some(g) = book.grant(self.db.ex(), row.plan_id, &row.share).await?
                && !g.matches(&row.share)
            {
                n += 1;
            }
        }
        Ok(n)
    }

    /// "Apply to N existing shares": writes what each plan grants now as the desired state of
    /// every live share out of step, and queues their share jobs, in one transaction; the jobs
    /// write each server, read it back and compare. Answers how many shares were changed.
    pub async fn apply_plan_grants(
        &self,
        actor: &Actor,
        server_id: Option<i64>,
    ) -> Result<usize, AppError> {
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let mut book = GrantBook::default();
        let mut n = 0;
        for row in shares::live_with_plan(tx.ex(), server_id).await? {
            let share = &row.share;
            let Some(g) = book.grant(tx.ex(), row.plan_id, share).await? else {
                continue;
            };
            if g.matches(share) {
                continue;
            }
            let ids: Vec<i64> = g.library_ids.iter().copied().collect();
            let updated = shares::upsert_desired(
                tx.ex(),
                share.customer_id,
                share.server_id,
                &Desired {
                    state: &share.state,
                    library_ids: &ids,
                    downloads: g.downloads,
                    video_transcoding: g.video_transcoding,
                    stream_limit: g.stream_limit,
                    delete_after: share.delete_after,
                },
                now,
            )
            .await?;
            self.enqueue_share_apply(tx.ex(), &updated).await?;
            n += 1;
        }
        self.audit(
            tx.ex(),
            actor,
            "shares.apply_plan_grants",
            &server_id.map_or_else(|| "all".to_string(), |s| format!("server:{s}")),
            &format!("{n} shares"),
        )
        .await?;
        tx.commit().await?;
        Ok(n)
    }
}
