//! Choosing a server for a customer (domain `select_server`) and writing the share they should
//! have there, with the job that applies it. Runs inside the caller's transaction.

use super::invite::{InviteWay, ShareDelivery};
use super::plan::LoadedPlan;
use super::{NO_CAPACITY_EVENT, SHARE_APPLY_JOB};
use crate::queue::JobSpec;
use crate::{App, AppError};
use boxoffice_domain::coverage::{self, Period};
use boxoffice_domain::platform::Platform;
use boxoffice_domain::selection::{self, CandidateServer, DEFAULT_MAX_USERS, Subscriber};
use boxoffice_store::customers::CustomerRow;
use boxoffice_store::payments::PaymentRow;
use boxoffice_store::shares::{self, Desired, ShareRow};
use boxoffice_store::{Ex, Tx, admin_events, plex_account_change, provisioning, servers, waiting};
use serde_json::json;
use std::sync::Arc;

/// Admin event: a flagged customer was paid for but not invited to a Plex server.
pub const AWAITING_PLEX_CHANGE_EVENT: &str = "awaiting_plex_account_change";

pub(crate) enum Provisioned {
    Share(Box<ShareRow>),
    /// No server can take the plan: the admin event's text.
    NoCapacity(String),
    /// The customer must change their Plex account before being invited to a Plex server
    /// (operations §4.3): the admin event's text. The account change provisions them.
    AwaitingPlexChange(String),
}

/// The denormalised coverage end: the end of the coverage running now, else the last end passed.
pub(crate) fn covered_until(payments: &[PaymentRow], now: i64) -> Option<i64> {
    let periods = periods(payments);
    coverage::covered_until(&periods, now).or_else(|| coverage::coverage_end(&periods))
}

/// The key of the job applying a share at one revision: one job per revision, however often
/// a use case is retried.
fn share_job_key(share_id: i64, revision: i64) -> String {
    format!("share:{share_id}:r{revision}")
}

pub(crate) fn periods(payments: &[PaymentRow]) -> Vec<Period> {
    payments
        .iter()
        .map(|p| Period::new(p.period_from, p.period_to))
        .collect()
}

impl App {
    /// Enqueues the job applying `share` at its current revision; keyed so a retried use case
    /// never doubles it.
    pub(crate) async fn enqueue_share_apply(
        &self,
        ex: Ex<'_>,
        share: &ShareRow,
    ) -> Result<(), AppError> {
        self.enqueue(
            ex,
            JobSpec::new(SHARE_APPLY_JOB, json!({ "share_id": share.id }))
                .key(share_job_key(share.id, share.revision)),
        )
        .await?;
        Ok(())
    }

    /// As [`Self::enqueue_share_apply`], for a share whose identity changed: the job removes the
    /// server's user named `old` before it invites the current identity.
    pub(crate) async fn enqueue_share_replacing(
        &self,
        ex: Ex<'_>,
        share: &ShareRow,
        old: &str,
    ) -> Result<(), AppError> {
        self.enqueue(
            ex,
            JobSpec::new(
                SHARE_APPLY_JOB,
                json!({ "share_id": share.id, "replace": old }),
            )
            .key(share_job_key(share.id, share.revision)),
        )
        .await?;
        Ok(())
    }

    /// Writes the share an active customer should have for `plan`, on `server` or on the one
    /// selection picks, with the job that applies it; records the admin event when none can
    /// take it.
    pub(crate) async fn provision(
        &self,
        tx: &mut Tx,
        customer: &CustomerRow,
        plan: &LoadedPlan,
        server: Option<i64>,
    ) -> Result<Provisioned, AppError> {
        self.provision_with(tx, customer, plan, server, InviteWay::default())
            .await
    }

    /// As [`Self::provision`]; with [`ShareDelivery::Inline`] the share is written without its
    /// job, for the caller to apply once the transaction commits. A share left on another
    /// server is removed by its own job either way.
    pub(crate) async fn provision_with(
        &self,
        tx: &mut Tx,
        customer: &CustomerRow,
        plan: &LoadedPlan,
        server: Option<i64>,
        way: InviteWay<'_>,
    ) -> Result<Provisioned, AppError> {
        let out = self
            .provision_alone(tx, customer, plan, server, way)
            .await?;
        // A master's sub-accounts follow them to the same server (product §17). A customer
        // created by this invite, or one of a bulk run, has none yet.
        if matches!(out, Provisioned::Share(_))
            && !way.is_fresh()
            && way.reads.is_none()
            && way.delivery == ShareDelivery::Queued
        {
            self.provision_sub_accounts(tx, customer.id).await?;
        }
        Ok(out)
    }

    /// As [`Self::provision_with`], for this customer alone.
    pub(crate) async fn provision_alone(
        &self,
        tx: &mut Tx,
        customer: &CustomerRow,
        plan: &LoadedPlan,
        server: Option<i64>,
        way: InviteWay<'_>,
    ) -> Result<Provisioned, AppError> {
        let now = self.now();
        let existing = if way.is_fresh() {
            Vec::new()
        } else {
            shares::list_for_customer(tx.ex(), customer.id).await?
        };
        let server_id = match server {
            Some(id) => id,
            None => match self.select(tx, customer, plan, &existing).await? {
                Ok(id) => id,
                Err(text) => {
                    // Paid, waiting for a server: visible on the customer and retried by
                    // `subscriptions.place_waiting`. The admin hears of it once per wait, not on
                    // every retry. A caller that refuses instead rolls all of this back.
                    if waiting::mark(tx.ex(), customer.id, &text, now).await? {
                        admin_events::record(
                            tx.ex(),
                            now,
                            NO_CAPACITY_EVENT,
                            Some(customer.id),
                            None,
                            &text,
                        )
                        .await?;
                        self.notify(
                            tx.ex(),
                            crate::notify::Notice::to_admin(
                                "no_server_capacity",
                                Some(customer.id),
                            )
                            .with("plan_name", plan.plan.name.clone())
                            .with("message", text.clone()),
                        )
                        .await?;
                    }
                    return Ok(Provisioned::NoCapacity(text));
                }
            },
        };
        // A customer flagged after a Plex ban is not placed on or re-invited to a Plex server
        // until they give a new Plex account; a share still live there is kept up to date.
        let target = match way.reads {
            Some(r) => r.server(tx.ex(), server_id).await?,
            None => Arc::new(
                servers::find(tx.ex(), server_id)
                    .await
                    .map_err(AppError::not_found_as("server"))?,
            ),
        };
        let live_here = existing.iter().any(|s| {
            s.server_id == server_id && matches!(s.state.as_str(), "active" | "invited" | "grace")
        });
        // A customer created by this very invite cannot have been flagged yet.
        if target.platform == Platform::Plex
            && !live_here
            && !way.is_fresh()
            && plex_account_change::is_required(tx.ex(), customer.id).await?
        {
            let text = format!(
                "{} was not invited to {}: they must change their Plex account first (Requires Plex account change).",
                customer.email, target.name
            );
            admin_events::record(
                tx.ex(),
                now,
                AWAITING_PLEX_CHANGE_EVENT,
                Some(customer.id),
                Some(server_id),
                &text,
            )
            .await?;
            waiting::clear(tx.ex(), customer.id).await?;
            return Ok(Provisioned::AwaitingPlexChange(text));
        }
        // Moving to another server: the old share goes, through its own job.
        for old in existing
            .iter()
            .filter(|s| s.server_id != server_id && s.state != "removed")
        {
            let row = shares::upsert_desired(
                tx.ex(),
                customer.id,
                old.server_id,
                &Desired {
                    state: "removed",
                    library_ids: &[],
                    downloads: false,
                    video_transcoding: false,
                    stream_limit: None,
                    delete_after: None,
                },
                now,
            )
            .await?;
            self.enqueue_share_apply(tx.ex(), &row).await?;
        }
        let groups = &plan.plan.library_group_ids;
        let libraries = match way.reads {
            Some(r) => r.libraries_in_groups(tx, server_id, groups).await?,
            None => Arc::new(provisioning::libraries_in_groups(tx.ex(), server_id, groups).await?),
        };
        let ids: Vec<i64> = libraries.iter().map(|l| l.id).collect();
        // An invite not yet accepted stays "invited"; everything else waits for its job.
        let state = match existing.iter().find(|s| s.server_id == server_id) {
            Some(s) if s.state == "invited" || s.state == "active" => s.state.as_str(),
            _ => "pending",
        };
        let row = shares::upsert_desired(
            tx.ex(),
            customer.id,
            server_id,
            &Desired {
                state,
                library_ids: &ids,
                downloads: plan.terms.downloads,
                video_transcoding: plan.terms.video_transcoding,
                stream_limit: plan.terms.stream_limit,
                delete_after: None,
            },
            now,
        )
        .await?;
        if way.delivery == ShareDelivery::Queued {
            self.enqueue_share_apply(tx.ex(), &row).await?;
        }
        // A customer this invite created has no wait to clear.
        if !way.is_fresh() {
            waiting::clear(tx.ex(), customer.id).await?;
        }
        Ok(Provisioned::Share(Box::new(row)))
    }

    /// Domain selection over the stored servers: Ok(server) or Err(the reference's text).
    async fn select(
        &self,
        tx: &mut Tx,
        customer: &CustomerRow,
        plan: &LoadedPlan,
        existing: &[ShareRow],
    ) -> Result<Result<i64, String>, AppError> {
        Ok(self
            .selection(tx, customer, plan, existing)
            .await?
            .map_err(|e| e.to_string()))
    }

    /// Whether a server has room for `customer` on `plan` now, writing nothing (checkout asks
    /// before any money moves).
    pub(crate) async fn capacity_for(
        &self,
        tx: &mut Tx,
        customer: &CustomerRow,
        plan: &LoadedPlan,
    ) -> Result<Result<i64, selection::NoCapacity>, AppError> {
        let existing = if customer.id > 0 {
            shares::list_for_customer(tx.ex(), customer.id).await?
        } else {
            Vec::new()
        };
        self.selection(tx, customer, plan, &existing).await
    }

    /// Every stored server as selection sees it: its groups, users and room.
    pub(crate) async fn candidate_servers(
        &self,
        mut ex: Ex<'_>,
    ) -> Result<Vec<CandidateServer>, AppError> {
        let rows = servers::list(ex.reborrow()).await?;
        let groups = provisioning::server_groups(ex.reborrow()).await?;
        let counts = shares::counts_by_server(ex).await?;
        Ok(rows
            .iter()
            .map(|s| {
                let users = counts
                    .iter()
                    .find(|(id, _)| *id == s.id)
                    .map_or(0, |(_, n)| u32::try_from(*n).unwrap_or(u32::MAX));
                let max = u32::try_from(s.max_users).ok().filter(|m| *m > 0);
                CandidateServer {
                    id: s.id,
                    enabled: s.enabled,
                    allow_new_subscriptions: s.allow_new_subscriptions,
                    allow_trial_subscriptions: s.allow_trial_subscriptions,
                    library_group_ids: groups
                        .iter()
                        .filter(|(sid, _)| *sid == s.id)
                        .map(|(_, g)| *g)
                        .collect(),
                    location: s.location_id,
                    users,
                    max_users: Some(max.unwrap_or(DEFAULT_MAX_USERS)),
                    platform: s.platform,
                    // Our own shares on a Plex server are its friends as far as we know them.
                    plex_friends_and_home: users,
                }
            })
            .collect())
    }

    async fn selection(
        &self,
        tx: &mut Tx,
        customer: &CustomerRow,
        plan: &LoadedPlan,
        existing: &[ShareRow],
    ) -> Result<Result<i64, selection::NoCapacity>, AppError> {
        let candidates = self.candidate_servers(tx.ex()).await?;
        let find = |states: &[&str]| {
            existing
                .iter()
                .find(|s| states.contains(&s.state.as_str()))
                .map(|s| s.server_id)
        };
        let subscriber = Subscriber {
            current_share: find(&["active", "grace"]),
            pending_invite: find(&["pending", "invited"]),
            previous_servers: existing
                .iter()
                .filter(|s| s.state == "removed")
                .map(|s| s.server_id)
                .collect(),
            has_plex_identity: !customer.plex_email.is_empty(),
            has_emby_identity: !customer.jellyfin_username.is_empty()
                || !customer.emby_username.is_empty(),
        };
        Ok(selection::select_server(
            &subscriber,
            &plan.plan,
            customer.preferred_location_id,
            &candidates,
        )
        .map(|s| s.server))
    }
}
