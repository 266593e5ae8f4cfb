//! Moving customers from one server to another (operations §4.1, README essential 21). Starting
//! checks the preconditions (domain `check_migration`) and refuses with every blocking reason;
//! otherwise it writes the migration, one item per customer and the `migration.run` job in one
//! transaction. The job moves each customer with the existing share job: the target share is
//! written and applied first, and only once the server holds it is the source share set to
//! `removed` and applied. Payments, logins and the customer row are never touched.

use super::apply::ShareApplied;
use super::plan::{self, LoadedPlan};
use crate::audit::Actor;
use crate::queue::JobSpec;
use crate::{App, AppError};
use boxoffice_domain::migration::{
    MigratingUser, MigrationCheck, MigrationContext, MigrationServer, check_migration,
};
use boxoffice_domain::platform::Platform;
use boxoffice_store::customers::{self, CustomerRow};
use boxoffice_store::server_migrations::{self, MigrationItemRow, MigrationRow};
use boxoffice_store::servers::{self, ServerRow};
use boxoffice_store::shares::{self, Desired};
use boxoffice_store::{Ex, StoreError, admin_events, library_groups, plex_accounts, provisioning};
use serde_json::json;
use std::collections::BTreeSet;

/// Moves the customers of a migration (payload `{"migration_id"}`).
pub const MIGRATION_JOB: &str = "migration.run";
/// The admin event written when a migration finishes (e-mailed with the System Message template
/// once notifications exist).
pub const MIGRATION_DONE_EVENT: &str = "migration_done";

/// What to migrate: every customer on the source, or only those listed.
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct MigrationInput {
    pub source_server_id: i64,
    pub target_server_id: i64,
    /// `None` or empty = every customer with a live share on the source.
    pub customer_ids: Option<Vec<i64>>,
}

/// The precondition check for a prospective migration, shown before the admin confirms.
#[derive(Clone, Debug)]
pub struct MigrationPreview {
    pub source: ServerRow,
    pub target: ServerRow,
    pub customer_ids: Vec<i64>,
    pub check: MigrationCheck,
}

/// A migration with its items.
#[derive(Clone, Debug)]
pub struct MigrationView {
    pub row: MigrationRow,
    pub source_name: String,
    pub target_name: String,
    pub items: Vec<MigrationItemRow>,
}

/// What one run of the job did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MigrationReport {
    pub moved: usize,
    pub failed: usize,
    /// Expired customers: not moved, and not a failure (they have no access to keep).
    pub skipped: usize,
}

/// From this many users, moving to a Plex server shows the Plex-ban warning.
pub const PLEX_BAN_WARNING_FROM: usize = 20;

impl MigrationPreview {
    /// The Plex-ban warning when many users are about to be invited to a Plex server.
    pub fn plex_ban_warning(&self) -> Option<String> {
        (self.target.platform == Platform::Plex && self.customer_ids.len() >= PLEX_BAN_WARNING_FROM)
            .then(|| {
                format!(
                    "{} users will be invited to a Plex server. {}",
                    self.customer_ids.len(),
                    super::PLEX_BAN_WARNING
                )
            })
    }
}

impl App {
    /// The preconditions of moving `input`'s customers, without starting anything.
    pub async fn preview_migration(
        &self,
        input: &MigrationInput,
    ) -> Result<MigrationPreview, AppError> {
        let mut ex = self.db.ex();
        let source = servers::find(ex.reborrow(), input.source_server_id)
            .await
            .map_err(AppError::not_found_as("source server"))?;
        let target = servers::find(ex.reborrow(), input.target_server_id)
            .await
            .map_err(AppError::not_found_as("target server"))?;
        let wanted: Option<BTreeSet<i64>> = input
            .customer_ids
            .as_ref()
            .filter(|ids| !ids.is_empty())
            .map(|ids| ids.iter().copied().collect());
        let mut customers_on = Vec::new();
        for s in shares::list_for_server(ex.reborrow(), source.id).await? {
            if s.state == "removed" || wanted.as_ref().is_some_and(|w| !w.contains(&s.customer_id))
            {
                continue;
            }
            let c = customers::find(ex.reborrow(), s.customer_id).await?;
            if c.deleting_at.is_none() {
                customers_on.push(c);
            }
        }
        if let Some(missing) = wanted
            .iter()
            .flatten()
            .find(|id| !customers_on.iter().any(|c| c.id == **id))
        {
            return Err(AppError::invalid(
                "customer_ids",
                format!("customer {missing} has no share on \"{}\"", source.name),
            ));
        }
        let plan_ids: BTreeSet<i64> = customers_on.iter().filter_map(|c| c.plan_id).collect();
        let mut plans = Vec::new();
        for id in plan_ids {
            plans.push(plan::load(ex.reborrow(), id).await?.plan);
        }
        let groups = provisioning::server_groups(ex.reborrow()).await?;
        let counts = shares::counts_by_server(ex.reborrow()).await?;
        let group_names: Vec<(i64, String)> = library_groups::list(ex.reborrow())
            .await?
            .into_iter()
            .map(|g| (g.id, g.name))
            .collect();
        let src = self
            .migration_server(ex.reborrow(), &source, &groups, &counts)
            .await?;
        let tgt = self
            .migration_server(ex.reborrow(), &target, &groups, &counts)
            .await?;
        let users: Vec<MigratingUser> = customers_on
            .iter()
            .map(|c| MigratingUser {
                label: c.email.clone(),
                has_plex_identity: !c.plex_email.is_empty(),
                // The share job names the user by the target platform's own field, so that is
                // the one that must be there (Emby ↔ Jellyfin keeps whichever the source used).
                has_emby_identity: match tgt.platform {
                    Platform::Jellyfin => !c.jellyfin_username.is_empty(),
                    Platform::Emby => !c.emby_username.is_empty(),
                    _ => !c.jellyfin_username.is_empty() || !c.emby_username.is_empty(),
                },
            })
            .collect();
        let check = check_migration(
            &src,
            &tgt,
            &MigrationContext {
                plans: &plans,
                users: &users,
                group_names: &group_names,
            },
        );
        Ok(MigrationPreview {
            customer_ids: customers_on.iter().map(|c| c.id).collect(),
            source,
            target,
            check,
        })
    }

    async fn migration_server(
        &self,
        ex: Ex<'_>,
        s: &ServerRow,
        groups: &[(i64, i64)],
        counts: &[(i64, i64)],
    ) -> Result<MigrationServer, AppError> {
        let owner_has_plex_pass = match s.plex_account_id {
            Some(id) => match plex_accounts::find(ex, id).await {
                Ok(a) => a.has_plex_pass,
                Err(StoreError::NotFound) => false,
                Err(e) => return Err(e.into()),
            },
            None => false,
        };
        Ok(MigrationServer {
            id: s.id,
            name: s.name.clone(),
            platform: s.platform,
            enabled: s.enabled,
            allow_new_subscriptions: s.allow_new_subscriptions,
            library_group_ids: groups
                .iter()
                .filter(|(sid, _)| *sid == s.id)
                .map(|(_, g)| *g)
                .collect(),
            owner_has_plex_pass,
            has_emby_premiere: s.has_premiere,
            users: counts
                .iter()
                .find(|(id, _)| *id == s.id)
                .map_or(0, |(_, n)| u32::try_from(*n).unwrap_or(u32::MAX)),
            max_users: u32::try_from(s.max_users).ok().filter(|m| *m > 0),
        })
    }

    /// Checks the preconditions and, when none blocks, records the migration and queues its job.
    /// A refusal lists every blocking reason (`Invalid` on `target_server_id`).
    pub async fn start_migration(
        &self,
        actor: &Actor,
        input: &MigrationInput,
    ) -> Result<MigrationRow, AppError> {
        let preview = self.preview_migration(input).await?;
        if !preview.check.may_start() {
            let reasons: Vec<String> = preview
                .check
                .blockers
                .iter()
                .map(ToString::to_string)
                .collect();
            return Err(AppError::invalid("target_server_id", reasons.join("; ")));
        }
        if preview.customer_ids.is_empty() {
            return Err(AppError::invalid(
                "source_server_id",
                format!("\"{}\" has no customers to move", preview.source.name),
            ));
        }
        let now = self.now();
        let mut tx = self.db.begin().await?;
        // Two migrations over the same server would fight over the same shares.
        if let Some(m) =
            server_migrations::running_on(tx.ex(), preview.source.id, preview.target.id)
                .await?
                .first()
        {
            return Err(AppError::Conflict(format!(
                "migration #{} on these servers has not finished",
                m.id
            )));
        }
        let row = server_migrations::insert(
            tx.ex(),
            preview.source.id,
            preview.target.id,
            &actor.label,
            now,
        )
        .await?;
        for c in &preview.customer_ids {
            server_migrations::add_item(tx.ex(), row.id, *c).await?;
        }
        self.enqueue(
            tx.ex(),
            JobSpec::new(MIGRATION_JOB, json!({ "migration_id": row.id }))
                .key(format!("migration:{}", row.id)),
        )
        .await?;
        self.audit(
            tx.ex(),
            actor,
            "server.migrate",
            &format!("server:{}", preview.source.id),
            &format!(
                "migration #{}: {} customer(s) to \"{}\"",
                row.id,
                preview.customer_ids.len(),
                preview.target.name
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(row)
    }

    /// Runs a migration again: the failed items of a finished one go back to pending, and a
    /// stopped one (its job was given up) resumes at its first customer not moved yet, its
    /// failures included.
    pub async fn retry_migration(&self, actor: &Actor, id: i64) -> Result<MigrationRow, AppError> {
        let mut tx = self.db.begin().await?;
        let row = server_migrations::find(tx.ex(), id)
            .await
            .map_err(AppError::not_found_as("migration"))?;
        let stopped = row.state == "stopped";
        if row.state != "done" && !stopped {
            return Err(AppError::Conflict(format!(
                "migration #{id} is still running"
            )));
        }
        let items = server_migrations::items(tx.ex(), id).await?;
        let failed: Vec<i64> = items
            .iter()
            .filter(|i| i.outcome == "failed")
            .map(|i| i.customer)
            .collect();
        for c in &failed {
            server_migrations::set_item(tx.ex(), id, *c, "pending", "").await?;
        }
        server_migrations::set_state(tx.ex(), id, "queued", &row.counts, None).await?;
        if stopped {
            self.resume_stopped_migration(tx.ex(), id).await?;
        } else {
            // Keyed per retry so this run is a new job and not the first one's idempotent replay.
            self.enqueue(
                tx.ex(),
                JobSpec::new(MIGRATION_JOB, json!({ "migration_id": id }))
                    .key(format!("migration:{id}:retry:{}", self.now())),
            )
            .await?;
        }
        let pending = items.iter().filter(|i| i.outcome == "pending").count() + failed.len();
        let what = if stopped {
            format!("stopped migration resumed: {pending} customer(s) to move")
        } else {
            format!("{} failed customer(s) again", failed.len())
        };
        self.audit(
            tx.ex(),
            actor,
            "server.migrate.retry",
            &format!("migration:{id}"),
            &what,
        )
        .await?;
        let row = server_migrations::find(tx.ex(), id).await?;
        tx.commit().await?;
        Ok(row)
    }

    pub async fn migration(&self, id: i64) -> Result<MigrationView, AppError> {
        let row = server_migrations::find(self.db.ex(), id)
            .await
            .map_err(AppError::not_found_as("migration"))?;
        self.migration_view(row).await
    }

    /// Newest first; of one server (source or target) or of all.
    pub async fn list_migrations(
        &self,
        server: Option<i64>,
    ) -> Result<Vec<MigrationView>, AppError> {
        let rows = server_migrations::list(self.db.ex(), server, 50).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            out.push(self.migration_view(r).await?);
        }
        Ok(out)
    }

    async fn migration_view(&self, row: MigrationRow) -> Result<MigrationView, AppError> {
        let name = |s: Result<ServerRow, StoreError>, id: i64| {
            s.map_or_else(|_| format!("#{id}"), |s| s.name)
        };
        let source_name = name(servers::find(self.db.ex(), row.source).await, row.source);
        let target_name = name(servers::find(self.db.ex(), row.target).await, row.target);
        let items = server_migrations::items(self.db.ex(), row.id).await?;
        Ok(MigrationView {
            row,
            source_name,
            target_name,
            items,
        })
    }

    /// The job: moves every pending item, records each outcome, and when done writes the summary
    /// admin event. Safe to run again after a crash: moved items are skipped, and a customer is
    /// only removed from the source once the target share has been applied.
    pub async fn run_migration(&self, id: i64) -> Result<MigrationReport, AppError> {
        self.run_migration_under(id, &crate::job_lease::Lease::detached())
            .await
    }

    /// [`App::run_migration`] under a job's lease: each customer settled is progress, and a
    /// shutdown stops it between customers ([`AppError::Interrupted`]); the next run skips the
    /// customers already moved.
    pub async fn run_migration_under(
        &self,
        id: i64,
        lease: &crate::job_lease::Lease,
    ) -> Result<MigrationReport, AppError> {
        let row = match server_migrations::find(self.db.ex(), id).await {
            Ok(r) => r,
            Err(StoreError::NotFound) => return Ok(MigrationReport::default()),
            Err(e) => return Err(e.into()),
        };
        server_migrations::set_state(self.db.ex(), id, "running", &row.counts, None).await?;
        for item in server_migrations::items(self.db.ex(), id).await? {
            if item.outcome == "moved" || item.outcome == "skipped" {
                continue;
            }
            if lease.stop_requested() {
                return Err(AppError::Interrupted);
            }
            if self.expired_customer(item.customer).await? {
                server_migrations::set_item(
                    self.db.ex(),
                    id,
                    item.customer,
                    "skipped",
                    "expired: not moved",
                )
                .await?;
                continue;
            }
            let (outcome, message) = match self.migrate_customer(&row, item.customer).await {
                Ok(()) => ("moved", String::new()),
                // One customer failing (target down, missing identity) must not stop the others.
                Err(e) => ("failed", e.to_string()),
            };
            server_migrations::set_item(self.db.ex(), id, item.customer, outcome, &message).await?;
            // A customer failing again as before is no progress: a run that only repeats
            // failures and then dies is a failed attempt.
            if outcome == "moved" || item.outcome != "failed" {
                lease.progressed(self).await?;
            }
        }
        let items = server_migrations::items(self.db.ex(), id).await?;
        let report = MigrationReport {
            moved: items.iter().filter(|i| i.outcome == "moved").count(),
            failed: items.iter().filter(|i| i.outcome == "failed").count(),
            skipped: items.iter().filter(|i| i.outcome == "skipped").count(),
        };
        let now = self.now();
        let view = self.migration_view(row).await?;
        let mut summary = format!(
            "Migration #{id} from \"{}\" to \"{}\": {} moved, {} failed, {} skipped (expired)",
            view.source_name, view.target_name, report.moved, report.failed, report.skipped
        );
        for i in items.iter().filter(|i| i.outcome == "failed") {
            let label = match customers::find(self.db.ex(), i.customer).await {
                Ok(c) => c.email,
                Err(_) => format!("customer #{}", i.customer),
            };
            summary.push_str(&format!("\n{label}: {}", i.message));
        }
        let mut tx = self.db.begin().await?;
        server_migrations::set_state(
            tx.ex(),
            id,
            "done",
            &json!({ "moved": report.moved, "failed": report.failed, "skipped": report.skipped })
                .to_string(),
            Some(now),
        )
        .await?;
        admin_events::record(
            tx.ex(),
            now,
            MIGRATION_DONE_EVENT,
            None,
            Some(view.row.target),
            &summary,
        )
        .await?;
        self.notify(
            tx.ex(),
            crate::notify::Notice::system_message(&format!("Migration #{id} finished"), &summary)
                .once(format!("migration_done:{id}")),
        )
        .await?;
        tx.commit().await?;
        Ok(report)
    }

    /// Expired (not permanent, no payment covering now): such a customer is skipped.
    async fn expired_customer(&self, customer_id: i64) -> Result<bool, AppError> {
        match customers::find(self.db.ex(), customer_id).await {
            Ok(c) => Ok(!super::reinvite::is_current(self.db.ex(), &c, self.now()).await?),
            // Deleted since: the move reports it as failed with the reason.
            Err(StoreError::NotFound) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// One customer: target share written and applied, then the source share removed. Both
    /// applies are the share job's own code (`apply_share`), each also queued as its usual job so
    /// a crash between the write and the apply still converges.
    async fn migrate_customer(&self, m: &MigrationRow, customer_id: i64) -> Result<(), AppError> {
        let customer: CustomerRow = customers::find(self.db.ex(), customer_id)
            .await
            .map_err(AppError::not_found_as("customer"))?;
        let existing = shares::list_for_customer(self.db.ex(), customer_id).await?;
        let target_share = existing.iter().find(|s| s.server_id == m.target);
        let source_share = existing.iter().find(|s| s.server_id == m.source);
        let source_live = source_share.is_some_and(|s| s.state != "removed");
        let target_live = target_share.is_some_and(|s| s.state != "removed");
        if !source_live && !target_live {
            return Err(AppError::Conflict(
                "the customer has no share on the source any more".into(),
            ));
        }
        let plan_id = customer.plan_id.ok_or_else(|| {
            AppError::Conflict(
                "the customer has no plan, so the target's libraries are unknown".into(),
            )
        })?;
        let plan: LoadedPlan = plan::load(self.db.ex(), plan_id).await?;
        let libraries =
            provisioning::libraries_in_groups(self.db.ex(), m.target, &plan.plan.library_group_ids)
                .await?;
        let ids: Vec<i64> = libraries.iter().map(|l| l.id).collect();
        // A re-run finds the target share already written with these libraries: no new revision,
        // so the apply below updates the user it finds instead of inviting again.
        let same = target_share.filter(|s| {
            s.state != "removed"
                && s.library_ids() == ids
                && s.downloads == plan.terms.downloads
                && s.video_transcoding == plan.terms.video_transcoding
                && s.stream_limit == plan.terms.stream_limit
        });
        let target_id = match same {
            Some(s) => s.id,
            None => {
                let mut tx = self.db.begin().await?;
                let state = match target_share {
                    Some(s) if s.state == "invited" || s.state == "active" => s.state.as_str(),
                    _ => "pending",
                };
                let row = shares::upsert_desired(
                    tx.ex(),
                    customer_id,
                    m.target,
                    &Desired {
                        state,
                        library_ids: &ids,
                        downloads: plan.terms.downloads,
                        video_transcoding: plan.terms.video_transcoding,
                        stream_limit: plan.terms.stream_limit,
                        delete_after: None,
                    },
                    self.now(),
                )
                .await?;
                self.enqueue_share_apply(tx.ex(), &row).await?;
                tx.commit().await?;
                row.id
            }
        };
        match self.apply_share(target_id).await? {
            ShareApplied::Applied { .. } => {}
            other => {
                return Err(AppError::Internal(format!(
                    "the target share was not applied ({other:?})"
                )));
            }
        }
        // Only now, with the target in place, does the source go.
        if let Some(src) = source_share {
            if src.state != "removed" {
                let mut tx = self.db.begin().await?;
                let row = shares::upsert_desired(
                    tx.ex(),
                    customer_id,
                    m.source,
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
                self.enqueue_share_apply(tx.ex(), &row).await?;
                tx.commit().await?;
            }
            if !shares::find(self.db.ex(), src.id).await?.is_applied() {
                self.apply_share(src.id).await.map_err(|e| {
                    AppError::Internal(format!(
                        "on the target, but removal from the source failed (its share job retries): {e}"
                    ))
                })?;
            }
        }
        Ok(())
    }
}
