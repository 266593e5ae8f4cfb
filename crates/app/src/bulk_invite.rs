//! Bulk invite (operations §6.17): an uploaded CSV validated as a whole against the catalogue,
//! then stored as an import whose rows one durable job (`bulk_invite.run`) pushes through the
//! manual-invite use case, one row at a time, in file order.
//!
//! Each row carries its transaction id (given or generated), so the invite of a row replays
//! instead of doubling when a crashed job runs again; the row's outcome is written after it, so
//! the re-run resumes at the first pending row. The share is applied inline (the same idempotent
//! `apply_share` the share job uses) and no share job is queued for it, so that a server
//! refusing the invite marks that row failed with the server's message, while the other rows go
//! on, and nothing else applies the same share at the same time.

use crate::audit::Actor;
use crate::job_lease::Lease;
use crate::job_reads::JobReads;
use crate::queue::JobSpec;
use crate::subscriptions::{InviteInput, InviteWay, ShareDelivery};
use crate::{App, AppError};
use boxoffice_domain::Money;
use boxoffice_domain::bulk_invite::{
    self, Catalogue, CatalogueGroup, CataloguePlan, CatalogueServer, Context, ExistingCustomer,
    RowAction, RowError, ValidatedRow,
};
use boxoffice_domain::coverage::Period;
use boxoffice_domain::money::Currency;
use boxoffice_domain::plans::PlanDuration;
use boxoffice_domain::selection::DEFAULT_MAX_USERS;
use boxoffice_store::bulk_invites::{self, BulkInviteRow, ImportRow};
use boxoffice_store::{StoreError, libraries, library_groups, plans, servers, shares};
use std::collections::{BTreeSet, HashMap, HashSet};

/// The job that processes an import's pending rows (payload `{"bulk_invite_id"}`).
pub const BULK_INVITE_JOB: &str = "bulk_invite.run";

/// How many pending rows the job reads at once.
const PENDING_PAGE: i64 = 64;

/// What an upload led to.
#[derive(Clone, Debug, serde::Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum BulkInviteStart {
    /// The file has problems: nothing was stored.
    Invalid { errors: Vec<RowError> },
    /// A valid file, dry run: what each row would do; nothing was stored. `unknown_columns`
    /// are header columns boxoffice does not read (their values are ignored).
    DryRun {
        rows: Vec<DryRunRow>,
        unknown_columns: Vec<String>,
    },
    /// Stored with its job.
    Started {
        id: i64,
        rows: usize,
        unknown_columns: Vec<String>,
    },
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct DryRunRow {
    pub row: usize,
    pub email: String,
    pub server: String,
    pub plan: String,
    pub action: RowAction,
    pub period: Option<Period>,
}

/// An import with its rows and counts.
#[derive(Clone, Debug, serde::Serialize)]
pub struct BulkInviteStatus {
    #[serde(flatten)]
    pub import: BulkInviteRow,
    pub remaining: i64,
    /// Header columns of the upload that were not read.
    pub unknown_columns: Vec<String>,
    /// Why the import stopped (state `stopped`): its job was given up. Retry resumes it.
    pub stop_reason: String,
    pub rows: Vec<ImportRow>,
}

/// One page of past imports, newest first.
#[derive(Clone, Debug, serde::Serialize)]
pub struct BulkInviteList {
    pub items: Vec<BulkInviteSummary>,
    pub page: i64,
    pub per_page: i64,
    /// Every import there is, on all pages.
    pub total: i64,
    pub has_more: bool,
}

/// A past import as the list shows it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct BulkInviteSummary {
    #[serde(flatten)]
    pub import: BulkInviteRow,
    pub remaining: i64,
    pub unknown_columns: Vec<String>,
}

/// Most imports on one page of the list.
pub const BULK_INVITE_LIST_MAX: i64 = 100;

impl App {
    /// Validates an upload and, unless `dry_run`, stores it with its job (one transaction).
    pub async fn start_bulk_invite(
        &self,
        actor: &Actor,
        file_name: &str,
        bytes: &[u8],
        dry_run: bool,
    ) -> Result<BulkInviteStart, AppError> {
        let catalogue = self.bulk_catalogue().await?;
        let upload = match bulk_invite::Upload::parse(bytes) {
            Ok(u) => u,
            Err(errors) => return Ok(BulkInviteStart::Invalid { errors }),
        };
        let existing: HashSet<String> =
            bulk_invites::recorded_among(self.db.ex(), &upload.transaction_ids())
                .await?
                .into_iter()
                .collect();
        let ctx = Context {
            catalogue: &catalogue,
            existing_transaction_ids: &existing,
            now: self.now(),
        };
        let file = match upload.validate(&ctx) {
            Ok(f) => f,
            Err(errors) => return Ok(BulkInviteStart::Invalid { errors }),
        };
        let server_name = |id: i64| {
            catalogue
                .servers
                .iter()
                .find(|s| s.id == id)
                .map_or_else(String::new, |s| s.name.clone())
        };
        let plan_name = |id: i64| {
            catalogue
                .plans
                .iter()
                .find(|p| p.id == id)
                .map_or_else(String::new, |p| p.name.clone())
        };
        if dry_run {
            let known = self.existing_customers(&file.rows).await?;
            let previews = bulk_invite::classify(&file.rows, &known, &catalogue);
            let rows = file
                .rows
                .iter()
                .zip(previews)
                .map(|(r, p)| DryRunRow {
                    row: r.row,
                    email: r.email.as_str().to_string(),
                    server: server_name(r.server_id),
                    plan: plan_name(r.plan_id),
                    action: p.action,
                    period: p.period,
                })
                .collect();
            return Ok(BulkInviteStart::DryRun {
                rows,
                unknown_columns: file.unknown_columns,
            });
        }
        let now = self.now();
        let total = i64::try_from(file.rows.len())
            .map_err(|_| AppError::Internal("too many rows".into()))?;
        let mut tx = self.db.begin().await?;
        let id = bulk_invites::insert(
            tx.ex(),
            &actor.label,
            file_name,
            &file.file_hash,
            total,
            &file.unknown_columns,
            now,
        )
        .await?;
        for r in &file.rows {
            let row = ImportRow {
                bulk_invite_id: id,
                row_number: i64::try_from(r.row)
                    .map_err(|_| AppError::Internal("row number out of range".into()))?,
                email: r.email.as_str().to_string(),
                server_id: r.server_id,
                server_name: server_name(r.server_id),
                plan_id: r.plan_id,
                plan_name: plan_name(r.plan_id),
                quantity: i64::from(r.quantity),
                amount_minor: r.amount.minor,
                currency: r.amount.currency.as_str().to_string(),
                transaction_id: r.transaction_id.clone(),
                payment_date: r.payment_date,
                payment_method: r.payment_method.clone(),
                username: r.username.clone(),
                permanent: r.permanent,
                notes: r.notes.clone(),
                outcome: String::new(),
                message: String::new(),
                customer_id: None,
                processed_at: None,
            };
            bulk_invites::insert_row(tx.ex(), &row).await?;
        }
        self.enqueue(
            tx.ex(),
            JobSpec::new(BULK_INVITE_JOB, serde_json::json!({ "bulk_invite_id": id }))
                .key(format!("bulk_invite:{id}")),
        )
        .await?;
        self.audit(
            tx.ex(),
            actor,
            "bulk_invite.start",
            &format!("bulk_invite:{id}"),
            &format!("{file_name}: {total} rows"),
        )
        .await?;
        tx.commit().await?;
        Ok(BulkInviteStart::Started {
            id,
            rows: file.rows.len(),
            unknown_columns: file.unknown_columns,
        })
    }

    pub async fn bulk_invite_status(&self, id: i64) -> Result<BulkInviteStatus, AppError> {
        let import = bulk_invites::find(self.db.ex(), id)
            .await
            .map_err(AppError::not_found_as("bulk invite"))?;
        let rows = bulk_invites::rows(self.db.ex(), id).await?;
        let remaining = import.total_rows - import.done_rows - import.failed_rows;
        let stop_reason = bulk_invites::stop_reason(self.db.ex(), id).await?;
        Ok(BulkInviteStatus {
            unknown_columns: import.unknown_columns(),
            import,
            remaining,
            stop_reason,
            rows,
        })
    }

    /// Past imports, newest first: `page` is 1-based, `per_page` at most
    /// [`BULK_INVITE_LIST_MAX`].
    pub async fn list_bulk_invites(
        &self,
        page: i64,
        per_page: i64,
    ) -> Result<BulkInviteList, AppError> {
        let page = page.max(1);
        let per_page = per_page.clamp(1, BULK_INVITE_LIST_MAX);
        let (rows, has_more) = bulk_invites::list(self.db.ex(), page, per_page).await?;
        let total = bulk_invites::count(self.db.ex()).await?;
        let items = rows
            .into_iter()
            .map(|import| BulkInviteSummary {
                remaining: import.total_rows - import.done_rows - import.failed_rows,
                unknown_columns: import.unknown_columns(),
                import,
            })
            .collect();
        Ok(BulkInviteList {
            items,
            page,
            per_page,
            total,
            has_more,
        })
    }

    /// Puts the failed rows back to pending and queues a job for them, and resumes a stopped
    /// import; returns how many rows are queued again.
    pub async fn retry_failed_bulk_invite(&self, actor: &Actor, id: i64) -> Result<u64, AppError> {
        let mut tx = self.db.begin().await?;
        let before = bulk_invites::find(tx.ex(), id)
            .await
            .map_err(AppError::not_found_as("bulk invite"))?;
        let (n, retry) = bulk_invites::reset_failed(tx.ex(), id).await?;
        if n > 0 {
            self.enqueue(
                tx.ex(),
                JobSpec::new(BULK_INVITE_JOB, serde_json::json!({ "bulk_invite_id": id }))
                    .key(format!("bulk_invite:{id}:retry:{retry}")),
            )
            .await?;
            self.audit(
                tx.ex(),
                actor,
                "bulk_invite.retry",
                &format!("bulk_invite:{id}"),
                &format!("{n} failed rows"),
            )
            .await?;
        }
        let n = self
            .resume_stopped_bulk_invite(tx.ex(), actor, &before, n > 0)
            .await?
            .unwrap_or(n);
        tx.commit().await?;
        Ok(n)
    }

    /// Processes pending rows in file order, at most `limit` of them (all when `None`); returns
    /// how many were processed. Tests stop part-way to stand for a crash. A store failure is
    /// returned (the job retries and resumes); a row's own failure is recorded on the row and the
    /// next row goes on.
    pub async fn run_bulk_invite(&self, id: i64, limit: Option<usize>) -> Result<usize, AppError> {
        self.run_bulk_invite_under(id, limit, &Lease::detached())
            .await
    }

    /// [`App::run_bulk_invite`] under a job's lease: each row done is progress, and a shutdown
    /// stops it between rows ([`AppError::Interrupted`]; the import shows as paused).
    pub async fn run_bulk_invite_under(
        &self,
        id: i64,
        limit: Option<usize>,
        lease: &Lease,
    ) -> Result<usize, AppError> {
        bulk_invites::set_running(self.db.ex(), id).await?;
        let actor = Actor {
            login_id: None,
            label: format!("bulk invite {id}"),
            ip: String::new(),
        };
        // Settings, plans and servers are read once per run, not once per row.
        let reads = self.job_reads().await?;
        let mut processed = 0;
        // Pending rows are read a page at a time: the rows of a page stay pending in the
        // database until each one's outcome is written, so a crash loses none of them.
        let mut page = std::collections::VecDeque::new();
        while limit.is_none_or(|l| processed < l) {
            if lease.stop_requested() {
                bulk_invites::set_paused(self.db.ex(), id).await?;
                return Err(AppError::Interrupted);
            }
            if page.is_empty() {
                page.extend(bulk_invites::next_pending(self.db.ex(), id, PENDING_PAGE).await?);
            }
            let Some(row) = page.pop_front() else {
                self.finish_bulk_invite(id).await?;
                break;
            };
            let (outcome, message, customer) = match self.invite_row(&actor, &row, &reads).await {
                Ok(done) => ("done", done.message, Some(done.customer_id)),
                // The database itself failing is not the row's fault: stop, and let the job retry.
                Err(AppError::Store(e)) if !matches!(e, StoreError::NotFound) => {
                    return Err(AppError::Store(e));
                }
                Err(e) => ("failed", e.to_string(), None),
            };
            bulk_invites::record_outcome(
                self.db.ex(),
                id,
                row.row_number,
                outcome,
                &message,
                customer,
                self.now(),
            )
            .await?;
            lease.progressed(self).await?;
            processed += 1;
        }
        Ok(processed)
    }

    async fn invite_row(
        &self,
        actor: &Actor,
        row: &ImportRow,
        reads: &JobReads,
    ) -> Result<RowDone, AppError> {
        // The row applies its share itself, so the invite queues no share job for it: one path
        // to the server per share, and the server's answer is this row's outcome.
        let out = self
            .invite_with(
                actor,
                InviteInput {
                    email: row.email.clone(),
                    plan_id: row.plan_id,
                    server_id: Some(row.server_id),
                    quantity: u32::try_from(row.quantity).ok(),
                    amount_minor: Some(row.amount_minor),
                    transaction_id: Some(row.transaction_id.clone()),
                    permanent: Some(row.permanent),
                    username: row.username.clone(),
                    payment_date: Some(row.payment_date),
                    method: Some(row.payment_method.clone()).filter(|m| !m.is_empty()),
                    notes: Some(row.notes.clone()).filter(|n| !n.is_empty()),
                    ..InviteInput::default()
                },
                InviteWay::new(ShareDelivery::Inline, Some(reads)),
            )
            .await?;
        if let Some(text) = out.no_capacity.or(out.awaiting_plex_change) {
            return Err(AppError::Conflict(text));
        }
        if let Some(share) = out.share_id {
            // `apply_share` finds a user already on the server rather than inviting again, so
            // a re-run after a crash adds nothing. A refusal fails the row with the server's
            // message; "Retry failed rows" applies the share again.
            self.apply_share_in_job(share, reads, out.written.map(|w| *w))
                .await?;
        }
        let message = if out.replayed {
            "already recorded; share checked".to_string()
        } else {
            format!("invited ({})", out.transaction_id)
        };
        Ok(RowDone {
            customer_id: out.customer_id,
            message,
        })
    }

    /// The results report: the input columns, then outcome and message.
    pub async fn bulk_invite_report_csv(&self, id: i64) -> Result<String, AppError> {
        let status = self.bulk_invite_status(id).await?;
        let mut out = String::from(
            "Row,Email,Server Name,Plan Name,Quantity,Transaction ID,Amount,Payment Date,Payment Method,Username,Permanent,Notes,Outcome,Message\r\n",
        );
        for r in &status.rows {
            let amount = format!(
                "{}.{:02}",
                r.amount_minor / 100,
                (r.amount_minor % 100).abs()
            );
            let date = time::OffsetDateTime::from_unix_timestamp(r.payment_date)
                .ok()
                .and_then(|d| {
                    d.format(&time::format_description::well_known::Rfc3339)
                        .ok()
                })
                .unwrap_or_default();
            let cells = [
                r.row_number.to_string(),
                r.email.clone(),
                r.server_name.clone(),
                r.plan_name.clone(),
                r.quantity.to_string(),
                r.transaction_id.clone(),
                amount,
                date,
                r.payment_method.clone(),
                r.username.clone().unwrap_or_default(),
                r.permanent.to_string(),
                r.notes.clone(),
                r.outcome.clone(),
                r.message.clone(),
            ];
            let line: Vec<String> = cells.iter().map(|c| csv_cell(c)).collect();
            out.push_str(&line.join(","));
            out.push_str("\r\n");
        }
        Ok(out)
    }

    /// What the store knows about the file's e-mails, keyed by `Email::normalized()`: read in
    /// batches of e-mails, so a 10,000-row dry run costs a handful of queries, not 10,000.
    async fn existing_customers(
        &self,
        rows: &[ValidatedRow],
    ) -> Result<HashMap<String, ExistingCustomer>, AppError> {
        let keys: Vec<String> = rows
            .iter()
            .map(|r| r.email.normalized())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        Ok(bulk_invites::known_customers(self.db.ex(), &keys)
            .await?
            .into_iter()
            .map(|c| {
                let existing = ExistingCustomer {
                    server_ids: c.server_ids,
                    coverage_end: c.covered_until,
                    permanent: c.permanent,
                };
                (c.email_key, existing)
            })
            .collect())
    }

    /// Servers, plans and groups as the validator needs them.
    async fn bulk_catalogue(&self) -> Result<Catalogue, AppError> {
        let mut out = Catalogue::default();
        let counts: HashMap<i64, i64> = shares::counts_by_server(self.db.ex())
            .await?
            .into_iter()
            .collect();
        let libs = libraries::list(self.db.ex(), None).await?;
        for s in servers::list(self.db.ex()).await? {
            let platform = s.platform;
            let groups: BTreeSet<i64> = libs
                .iter()
                .filter(|l| l.server_id == s.id && l.removed_at.is_none())
                .filter_map(|l| l.library_group_id)
                .collect();
            // Same reading of max_users as server selection: 0 or less means the default.
            let max = u32::try_from(s.max_users)
                .ok()
                .filter(|m| *m > 0)
                .unwrap_or(DEFAULT_MAX_USERS);
            let used = u32::try_from(counts.get(&s.id).copied().unwrap_or(0)).unwrap_or(u32::MAX);
            out.servers.push(CatalogueServer {
                id: s.id,
                name: s.name,
                platform,
                library_group_ids: groups.into_iter().collect(),
                free_slots: Some(max.saturating_sub(used)),
            });
        }
        for p in plans::list(self.db.ex()).await? {
            let count = u32::try_from(p.plan.duration_count).unwrap_or(0);
            let duration = match p.plan.duration_unit.as_str() {
                "months" => PlanDuration::Months(count),
                _ => PlanDuration::Days(count),
            };
            let currency = Currency::parse(&p.plan.currency).map_err(|e| {
                AppError::Internal(format!("plan {} has a bad currency: {e}", p.plan.id))
            })?;
            out.plans.push(CataloguePlan {
                id: p.plan.id,
                name: p.plan.name,
                cost: Money::new(p.plan.cost_minor, currency),
                duration,
                library_group_ids: p.library_group_ids,
            });
        }
        for g in library_groups::list(self.db.ex()).await? {
            out.groups.push(CatalogueGroup {
                id: g.id,
                name: g.name,
            });
        }
        Ok(out)
    }
}

/// A row the job applied: its customer and the report's message.
struct RowDone {
    customer_id: i64,
    message: String,
}

/// Quotes a CSV cell, and neutralises a leading `= + - @` (and tab/CR) with an apostrophe so a
/// spreadsheet opening the report does not run the cell as a formula.
pub fn csv_cell(v: &str) -> String {
    let v = if v.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{v}")
    } else {
        v.to_string()
    };
    if v.contains([',', '"', '\n', '\r', ';']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v
    }
}

#[cfg(test)]
mod tests {
    use super::csv_cell;

    #[test]
    fn formula_cells_are_neutralised_and_separators_quoted() {
        assert_eq!(csv_cell("=SUM(A1)"), "'=SUM(A1)");
        assert_eq!(csv_cell("-1"), "'-1");
        assert_eq!(csv_cell("@x"), "'@x");
        assert_eq!(csv_cell("+1,2"), "\"'+1,2\"");
        assert_eq!(csv_cell("a\"b"), "\"a\"\"b\"");
        assert_eq!(csv_cell("plain"), "plain");
    }
}
