//! Reconciliation (product §14.1, operations §2.1 "sharing updates"): compare every enabled
//! server's users with the shares we hold, store the differences with when they were found,
//! import users no customer matches, and repair drift by re-running the share job. There is no
//! second apply path: a repair bumps the share's revision and enqueues `shares.apply`, which
//! writes, reads back and compares as for any other change.

use super::RECONCILE_JOB;
use super::apply::{identity, match_user};
use super::grants::GrantBook;
use crate::audit::Actor;
use crate::queue::JobSpec;
use crate::settings::Settings;
use crate::{App, AppError};
use boxoffice_domain::platform::Platform;
use boxoffice_media::MediaUser;
use boxoffice_store::customers::{self, NewCustomer};
use boxoffice_store::drift::{self, DriftRow, Finding, ServerLibrary};
use boxoffice_store::payments::{self, NewPayment};
use boxoffice_store::servers::{self, ServerRow};
use boxoffice_store::shares::{self, Desired, ShareRow};
use boxoffice_store::{StoreError, Tx};
use serde_json::json;
use std::collections::{BTreeSet, HashSet};

/// What one reconciliation pass did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReconcileReport {
    pub servers: usize,
    /// Servers that could not be read; their earlier findings are kept.
    pub failed: usize,
    pub findings: usize,
    pub imported: usize,
    /// Shares whose job was enqueued again (scheduled scan with `media.sync_shared_libraries`).
    pub repairs: usize,
}

/// A drift row with the names the page and the API show.
#[derive(Clone, Debug)]
pub struct DriftView {
    pub row: DriftRow,
    pub server_name: String,
    pub customer_email: Option<String>,
}

/// Kinds of difference, as stored in `drift.kind`.
pub mod kind {
    pub const EXTRA_LIBRARIES: &str = "extra_libraries";
    pub const MISSING_LIBRARIES: &str = "missing_libraries";
    pub const DOWNLOADS: &str = "downloads";
    pub const TRANSCODING: &str = "transcoding";
    pub const DISABLED: &str = "disabled";
    pub const USER_MISSING: &str = "user_missing";
    pub const EXPIRED_SHARE: &str = "expired_share";
    pub const UNKNOWN_USER: &str = "unknown_user";
}

/// Throw-away users the self-test creates (and deletes) are never customers.
const SELF_TEST_PREFIX: &str = "boxoffice-selftest-";

impl App {
    /// Queues a scan now (report only: an on-demand scan never repairs by itself).
    pub async fn request_reconcile(&self, actor: &Actor) -> Result<i64, AppError> {
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let id = self
            .enqueue(
                tx.ex(),
                JobSpec::new(RECONCILE_JOB, json!({ "manual": true }))
                    .key(format!("reconcile.scan:manual:{now}")),
            )
            .await?;
        self.audit(tx.ex(), actor, "drift.scan", "drift", "")
            .await?;
        tx.commit().await?;
        Ok(id.id())
    }

    /// Scans every enabled server; one failing server does not stop the others. `scheduled`
    /// scans also repair what they found when `media.sync_shared_libraries` is on.
    pub async fn run_reconcile(&self, scheduled: bool) -> Result<ReconcileReport, AppError> {
        let settings = self.settings().await?;
        let mut report = ReconcileReport::default();
        for server in servers::list(self.db.ex()).await? {
            if !server.enabled {
                continue;
            }
            report.servers += 1;
            match self.reconcile_server(&server, &settings).await {
                Ok((findings, imported)) => {
                    report.findings += findings;
                    report.imported += imported;
                }
                Err(e) => {
                    report.failed += 1;
                    tracing::warn!(server = server.id, error = %e, "reconciliation failed for a server");
                }
            }
        }
        if scheduled && settings.bool("media.sync_shared_libraries") {
            report.repairs = self.repair_all_drift(&Actor::system()).await?;
        }
        Ok(report)
    }

    /// Compares one server with our shares and stores the findings; answers (findings, imported).
    async fn reconcile_server(
        &self,
        server: &ServerRow,
        settings: &Settings,
    ) -> Result<(usize, usize), AppError> {
        let now = self.now();
        let client = self.media.server(self, server).await?;
        let users = client.users().await?;
        let libs = drift::server_libraries(self.db.ex(), server.id).await?;
        let mut findings = Vec::new();
        // Indexes of the server's users some share accounts for.
        let mut claimed: HashSet<usize> = HashSet::new();
        let mut has_share: HashSet<i64> = HashSet::new();
        let mut book = GrantBook::default();
        for share in shares::list_for_server(self.db.ex(), server.id).await? {
            has_share.insert(share.customer_id);
            let customer = match customers::find(self.db.ex(), share.customer_id).await {
                Ok(c) => c,
                Err(StoreError::NotFound) => continue,
                Err(e) => return Err(e.into()),
            };
            let who = identity(&customer, server.platform);
            let user = match_user(&users, &share, &who);
            if let Some(u) = user
                && let Some(i) = users.iter().position(|x| std::ptr::eq(x, u))
            {
                claimed.insert(i);
            }
            // A job is on its way (or retrying): what the server holds is not final yet.
            if !share.is_applied() || share.state == "pending" || customer.deleting_at.is_some() {
                continue;
            }
            let expired = !customer.permanent && customer.covered_until.is_none_or(|c| c <= now);
            // Measured against what the plan grants now, not what the share last asked for: a
            // library moved to another group, a plan edited, or an import that recorded more
            // than the plan gives is drift too.
            let want = match book.grant(self.db.ex(), customer.plan_id, &share).await? {
                Some(g) => g.applied_to(&share),
                None => share.clone(),
            };
            compare(
                &want,
                user,
                &libs,
                expired,
                server.platform,
                &mut findings,
                &who,
            );
        }
        let mut imported = 0;
        for (i, u) in users.iter().enumerate() {
            if claimed.contains(&i) || u.is_admin || u.name.starts_with(SELF_TEST_PREFIX) {
                continue;
            }
            let who = u.email.clone().unwrap_or_else(|| u.name.clone());
            let mut known =
                drift::customer_by_identity(self.db.ex(), server.platform, &u.name).await?;
            if known.is_none()
                && let Some(e) = &u.email
            {
                known = drift::customer_by_identity(self.db.ex(), server.platform, e).await?;
            }
            // Already compared through its share (e.g. found there by another identity).
            if known.is_some_and(|c| has_share.contains(&c)) {
                continue;
            }
            if settings.bool("media.sync_from_remote") {
                let share = self.import_user(server, u, known, &libs, settings).await?;
                imported += 1;
                // Compared at once: an import records what the user has, which may be more
                // than their plan grants (a 4K library on a plan without it).
                let customer = customers::find(self.db.ex(), share.customer_id).await?;
                let expired =
                    !customer.permanent && customer.covered_until.is_none_or(|c| c <= now);
                let want = match book.grant(self.db.ex(), customer.plan_id, &share).await? {
                    Some(g) => g.applied_to(&share),
                    None => share.clone(),
                };
                let who = identity(&customer, server.platform);
                compare(
                    &want,
                    Some(u),
                    &libs,
                    expired,
                    server.platform,
                    &mut findings,
                    &who,
                );
            } else {
                findings.push(Finding {
                    customer_id: known,
                    share_id: None,
                    remote_user: who,
                    kind: kind::UNKNOWN_USER.into(),
                    detail: "On the server but not matched to any customer's share (import is off)"
                        .into(),
                });
            }
        }
        let n = findings.len();
        self.store_findings(server.id, &findings).await?;
        Ok((n, imported))
    }

    /// Replaces the server's findings, keeping when each still-present difference was first found.
    async fn store_findings(&self, server_id: i64, findings: &[Finding]) -> Result<(), AppError> {
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let before = drift::list_for_server(tx.ex(), server_id).await?;
        drift::clear_server(tx.ex(), server_id).await?;
        for f in findings {
            let found_at = before
                .iter()
                .find(|b| {
                    b.share_id == f.share_id && b.remote_user == f.remote_user && b.kind == f.kind
                })
                .map_or(now, |b| b.found_at);
            drift::insert(tx.ex(), server_id, f, found_at, now).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// A user found on the server that no customer's share accounts for: a customer (unless one
    /// matches already) and a share recording what they have, as applied (no job: it is there).
    async fn import_user(
        &self,
        server: &ServerRow,
        u: &MediaUser,
        known: Option<i64>,
        libs: &[ServerLibrary],
        settings: &Settings,
    ) -> Result<ShareRow, AppError> {
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let customer_id = match known {
            Some(id) => id,
            None => {
                let email = u.email.clone().unwrap_or_else(|| u.name.clone());
                let platform = server.platform;
                let plex = if platform == Platform::Plex {
                    email.as_str()
                } else {
                    ""
                };
                let plan_id = drift::default_plan_id(tx.ex()).await?;
                let permanent = settings.bool("media.import_as_permanent");
                let c = customers::insert(
                    tx.ex(),
                    NewCustomer {
                        email: &email,
                        email_key: &email.to_lowercase(),
                        plex_email: plex,
                        jellyfin_username: if platform == Platform::Jellyfin {
                            &u.name
                        } else {
                            ""
                        },
                        emby_username: if platform == Platform::Emby {
                            &u.name
                        } else {
                            ""
                        },
                        paypal_email: "",
                        permanent,
                        plan_id,
                        now,
                    },
                )
                .await?;
                // Product §14.1: an imported user gets a default payment on the default plan,
                // from now for one plan duration, so existing friends keep their access until
                // then instead of being expired by the next hourly run.
                if let (Some(plan_id), false) = (plan_id, permanent) {
                    let plan = super::plan::load(tx.ex(), plan_id).await?;
                    let to = plan.plan.duration.add_to(now, 1).map_err(|_| {
                        AppError::Internal("default plan duration out of range".into())
                    })?;
                    payments::insert(
                        tx.ex(),
                        NewPayment {
                            customer_id: c.id,
                            plan_id,
                            amount_minor: 0,
                            currency: &plan.terms.currency,
                            period_from: now,
                            period_to: to,
                            method: "import",
                            transaction_id: &format!("import-{}-{}", server.id, c.id),
                            sequence: 0,
                            subscription_id: "",
                            notes: &format!(
                                "Default payment for a user imported from {}",
                                server.name
                            ),
                            source: "default-import",
                            now,
                        },
                    )
                    .await?;
                    customers::set_coverage(tx.ex(), c.id, Some(plan_id), Some(to), now).await?;
                }
                c.id
            }
        };
        let ids: Vec<i64> = libs
            .iter()
            .filter(|l| {
                if u.all_libraries {
                    !l.removed
                } else {
                    u.libraries.iter().any(|r| grant_id(l) == r.as_str())
                }
            })
            .map(|l| l.id)
            .collect();
        let row = shares::upsert_desired(
            tx.ex(),
            customer_id,
            server.id,
            &Desired {
                state: "active",
                library_ids: &ids,
                downloads: u.downloads,
                video_transcoding: u.video_transcoding.unwrap_or(false),
                stream_limit: None,
                delete_after: None,
            },
            now,
        )
        .await?;
        let state = if u.pending { "invited" } else { "active" };
        let row = ShareRow {
            state: state.to_string(),
            applied_revision: row.revision,
            ..row
        };
        shares::record_applied(
            tx.ex(),
            row.id,
            row.revision,
            state,
            &u.user_ref.user_id,
            u.user_ref.share_id.as_deref().unwrap_or(""),
            now,
        )
        .await?;
        self.audit(
            tx.ex(),
            &Actor::system(),
            "customer.import",
            &format!("customer:{customer_id}"),
            &format!("from server {} user {}", server.id, u.name),
        )
        .await?;
        tx.commit().await?;
        Ok(row)
    }

    /// Every finding, oldest first, with the server's name and the customer's e-mail.
    pub async fn list_drift(&self) -> Result<Vec<DriftView>, AppError> {
        let rows = drift::list(self.db.ex()).await?;
        let servers = servers::list(self.db.ex()).await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let server_name = servers
                .iter()
                .find(|s| s.id == row.server_id)
                .map(|s| s.name.clone())
                .unwrap_or_default();
            let customer_email = match row.customer_id {
                Some(id) => match customers::find(self.db.ex(), id).await {
                    Ok(c) => Some(c.email),
                    Err(StoreError::NotFound) => None,
                    Err(e) => return Err(e.into()),
                },
                None => None,
            };
            out.push(DriftView {
                row,
                server_name,
                customer_email,
            });
        }
        Ok(out)
    }

    /// Repairs one finding: its share's job runs again. Answers whether a job was queued (a user
    /// no customer matches has no share to repair).
    pub async fn repair_drift(&self, actor: &Actor, drift_id: i64) -> Result<bool, AppError> {
        let row = drift::find(self.db.ex(), drift_id)
            .await
            .map_err(AppError::not_found_as("drift"))?;
        match row.share_id {
            Some(share_id) => self.repair_share(actor, share_id).await,
            None => Ok(false),
        }
    }

    /// Repairs every finding with a share, one job per share. Answers how many were queued.
    pub async fn repair_all_drift(&self, actor: &Actor) -> Result<usize, AppError> {
        let share_ids: BTreeSet<i64> = drift::list(self.db.ex())
            .await?
            .iter()
            .filter_map(|r| r.share_id)
            .collect();
        let mut n = 0;
        for id in share_ids {
            match self.repair_share(actor, id).await {
                Ok(true) => n += 1,
                Ok(false) => {}
                // One share failing to queue does not stop the others.
                Err(e) => tracing::warn!(share = id, error = %e, "drift repair failed"),
            }
        }
        Ok(n)
    }

    async fn repair_share(&self, actor: &Actor, share_id: i64) -> Result<bool, AppError> {
        let share = match shares::find(self.db.ex(), share_id).await {
            Ok(s) => s,
            Err(StoreError::NotFound) => return Ok(false),
            Err(e) => return Err(e.into()),
        };
        let customer = customers::find(self.db.ex(), share.customer_id)
            .await
            .map_err(AppError::not_found_as("customer"))?;
        let expired = !customer.permanent && customer.covered_until.is_none_or(|c| c <= self.now());
        if expired && ["pending", "invited", "active"].contains(&share.state.as_str()) {
            // The expiry rule decides what an expired customer keeps (grace groups or nothing);
            // it writes the share and enqueues the same share job.
            self.expire_share(&share).await?;
        } else {
            let mut tx = self.db.begin().await?;
            // The plan's grant now becomes the share's desired state (it may differ after a
            // regroup or an import); either way the revision moves, so the job runs again.
            let grant = GrantBook::default()
                .grant(tx.ex(), customer.plan_id, &share)
                .await?;
            let row = match grant.filter(|g| !g.matches(&share)) {
                Some(g) => {
                    let ids: Vec<i64> = g.library_ids.iter().copied().collect();
                    shares::upsert_desired(
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
                        self.now(),
                    )
                    .await?
                }
                None => shares::bump_revision(tx.ex(), share.id, self.now()).await?,
            };
            self.enqueue_share_apply(tx.ex(), &row).await?;
            self.audit_repair(&mut tx, actor, &row).await?;
            tx.commit().await?;
        }
        Ok(true)
    }

    async fn audit_repair(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        row: &ShareRow,
    ) -> Result<(), AppError> {
        self.audit(
            tx.ex(),
            actor,
            "drift.repair",
            &format!("share:{}", row.id),
            &format!("revision {}", row.revision),
        )
        .await
    }
}

/// The id a server reports a library by (what the share job grants).
fn grant_id(l: &ServerLibrary) -> &str {
    if l.global_id.is_empty() {
        &l.remote_key
    } else {
        &l.global_id
    }
}

fn names(ids: &BTreeSet<&str>, libs: &[ServerLibrary]) -> String {
    ids.iter()
        .map(|id| {
            libs.iter()
                .find(|l| grant_id(l) == *id)
                .map_or_else(|| id.to_string(), |l| l.name.clone())
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn on_off(b: bool) -> &'static str {
    if b { "on" } else { "off" }
}

/// The differences between one share and the server's user.
fn compare(
    share: &ShareRow,
    user: Option<&MediaUser>,
    libs: &[ServerLibrary],
    expired: bool,
    platform: Platform,
    out: &mut Vec<Finding>,
    who: &str,
) {
    let mut push = |kind: &str, remote: &str, detail: String| {
        out.push(Finding {
            customer_id: Some(share.customer_id),
            share_id: Some(share.id),
            remote_user: remote.to_string(),
            kind: kind.to_string(),
            detail,
        });
    };
    let remote = user.map_or(who, |u| u.name.as_str());
    if share.state == "removed" {
        // Jellyfin/Emby remove the user; Plex removes the share: either way nothing may be left.
        if user.is_some() {
            push(
                kind::EXPIRED_SHARE,
                remote,
                "Still on the server although the share was removed".into(),
            );
        }
        return;
    }
    if expired && share.state != "grace" {
        push(
            kind::EXPIRED_SHARE,
            remote,
            "The customer's subscription ended but the share is still live".into(),
        );
        return;
    }
    let Some(u) = user else {
        push(kind::USER_MISSING, who, "No such user on the server".into());
        return;
    };
    let want_ids = share.library_ids();
    let want: BTreeSet<&str> = libs
        .iter()
        .filter(|l| want_ids.contains(&l.id))
        .map(grant_id)
        .collect();
    // plex.tv cannot hold an empty share: the share job removes it, so "no libraries" is "gone".
    if platform == Platform::Plex && want.is_empty() {
        push(
            kind::EXTRA_LIBRARIES,
            remote,
            "Still shared although no library should be".into(),
        );
        return;
    }
    if u.all_libraries {
        push(
            kind::EXTRA_LIBRARIES,
            remote,
            "Has every library, including ones added later".into(),
        );
    } else {
        let have: BTreeSet<&str> = u.libraries.iter().map(String::as_str).collect();
        let extra: BTreeSet<&str> = have.difference(&want).copied().collect();
        let missing: BTreeSet<&str> = want.difference(&have).copied().collect();
        if !extra.is_empty() {
            push(
                kind::EXTRA_LIBRARIES,
                remote,
                format!("Also has {}", names(&extra, libs)),
            );
        }
        if !missing.is_empty() {
            push(
                kind::MISSING_LIBRARIES,
                remote,
                format!("Lacks {}", names(&missing, libs)),
            );
        }
    }
    if u.downloads != share.downloads {
        push(
            kind::DOWNLOADS,
            remote,
            format!(
                "Downloads {}, the plan says {}",
                on_off(u.downloads),
                on_off(share.downloads)
            ),
        );
    }
    if let Some(t) = u.video_transcoding
        && t != share.video_transcoding
    {
        push(
            kind::TRANSCODING,
            remote,
            format!(
                "Video transcoding {}, the plan says {}",
                on_off(t),
                on_off(share.video_transcoding)
            ),
        );
    }
    if u.disabled {
        push(kind::DISABLED, remote, "Disabled on the server".into());
    }
}
