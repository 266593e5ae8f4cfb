//! "Bulk Invite or Share" on the Users page (operations §6.17): the upload form (a dialog on the
//! Users page, a page of its own without JavaScript), the template CSV, the errors of a rejected
//! file, the dry run, and the progress page of a running import with its per-row outcomes, retry
//! of the failed rows and the report.
//!
//! The upload is `multipart/form-data`; its first field is the CSRF token, which
//! `csrf::verify` reads from the multipart body.

use super::{app_error_page, render};
use crate::WebState;
use crate::csrf::CsrfToken;
use crate::layout::Layout;
use crate::session::{ClientIp, Staff};
use askama::Template;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use boxoffice_app::bulk_invite::{BulkInviteStart, DryRunRow};
use boxoffice_domain::Permission;
use boxoffice_domain::bulk_invite::{MAX_FILE_BYTES, RowAction, RowError};

/// Room for the largest file plus the multipart envelope.
const BODY_LIMIT: usize = MAX_FILE_BYTES + 64 * 1024;

/// The columns as the form documents them: name, required, meaning.
pub const COLUMNS: &[(&str, bool, &str)] = &[
    (
        "Email",
        true,
        "Plex e-mail, or the Jellyfin/Emby user's e-mail",
    ),
    ("Server Name", true, "A configured server"),
    ("Plan Name", true, "A configured plan"),
    ("Quantity", false, "Plan periods bought, 1–120 (default 1)"),
    ("Transaction ID", false, "Unique; generated when blank"),
    (
        "Amount",
        false,
        "Such as 12.50 (default: Quantity × plan cost)",
    ),
    (
        "Payment Date",
        false,
        "YYYY-MM-DD or ISO 8601 (default: now)",
    ),
    ("Payment Method", false, "Free text: PayPal, Cash, …"),
    ("Username", false, "Required for Jellyfin and Emby servers"),
    ("Permanent", false, "yes/no, true/false (default no)"),
    ("Notes", false, "Kept on the payment"),
];

const TEMPLATE_CSV: &str = "Email,Server Name,Plan Name,Quantity,Transaction ID,Amount,Payment Date,Payment Method,Username,Permanent,Notes\r\n\
someone@example.com,My Plex Server,Basic,1,,,,,,no,\r\n";

pub fn routes() -> Router<WebState> {
    Router::new()
        .route(
            "/admin/users/bulk-invite",
            get(form_page)
                .post(upload)
                .layer(DefaultBodyLimit::max(BODY_LIMIT)),
        )
        .route("/admin/users/bulk-invite/template.csv", get(template_csv))
        .route("/admin/users/bulk-invites", get(runs_page))
        .route("/admin/users/bulk-invite/{id}", get(status_page))
        .route(
            "/admin/users/bulk-invite/{id}/status.json",
            get(status_json),
        )
        .route("/admin/users/bulk-invite/{id}/report.csv", get(report_csv))
        .route("/admin/users/bulk-invite/{id}/retry", post(retry))
}

pub struct PreviewView {
    pub row: usize,
    pub email: String,
    pub server: String,
    pub plan: String,
    pub action: String,
    pub kind: &'static str,
    pub period: String,
}

#[derive(Template)]
#[template(path = "admin/bulk_invite.html")]
struct UploadPage {
    layout: Layout,
    columns: &'static [(&'static str, bool, &'static str)],
    file_name: String,
    message: Option<String>,
    errors: Vec<RowError>,
    preview: Vec<PreviewView>,
    /// Header columns of a valid file that boxoffice does not read.
    unknown_columns: Vec<String>,
}

fn date(t: i64) -> String {
    super::admin::fmt_time(t).chars().take(10).collect()
}

/// What the upload page shows besides the form.
#[derive(Default)]
struct Outcome {
    file_name: String,
    message: Option<String>,
    errors: Vec<RowError>,
    preview: Vec<PreviewView>,
    unknown_columns: Vec<String>,
}

async fn page(st: &WebState, staff: &Staff, csrf: &str, o: Outcome) -> Response {
    let mut layout = Layout::build(st, "Bulk invite or share", Some(&staff.0), csrf, "users").await;
    layout.page = "bulk-invite".into();
    render(&UploadPage {
        layout,
        columns: COLUMNS,
        file_name: o.file_name,
        message: o.message,
        errors: o.errors,
        preview: o.preview,
        unknown_columns: o.unknown_columns,
    })
}

async fn form_page(
    State(st): State<WebState>,
    staff: Staff,
    CsrfToken(csrf): CsrfToken,
) -> Response {
    if let Err(r) = staff.require(Permission::UsersWrite) {
        return r;
    }
    page(&st, &staff, &csrf, Outcome::default()).await
}

async fn template_csv(staff: Staff) -> Response {
    if let Err(r) = staff.require(Permission::UsersWrite) {
        return r;
    }
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"bulk-invite-template.csv\"",
            ),
        ],
        TEMPLATE_CSV,
    )
        .into_response()
}

fn preview_view(r: DryRunRow, server_names: &[(i64, String)]) -> PreviewView {
    let name_of = |id: &i64| {
        server_names
            .iter()
            .find(|(s, _)| s == id)
            .map_or_else(|| format!("server #{id}"), |(_, n)| n.clone())
    };
    let (kind, action) = match &r.action {
        RowAction::NewCustomer => ("new", "New customer".to_string()),
        RowAction::ExtendExisting => ("extend", "Extend existing customer".to_string()),
        RowAction::AlreadyShared => ("shared", "Already shared: coverage extended".to_string()),
        RowAction::MovesServer { from } => (
            "moves",
            format!(
                "Moves server (shared on {} today)",
                from.iter().map(name_of).collect::<Vec<_>>().join(", ")
            ),
        ),
    };
    PreviewView {
        row: r.row,
        email: r.email,
        server: r.server,
        plan: r.plan,
        action,
        kind,
        period: r
            .period
            .map(|p| format!("{} → {}", date(p.from), date(p.to)))
            .unwrap_or_default(),
    }
}

/// The file and the button pressed, read from the multipart body.
enum Upload {
    /// The file's name, its bytes, and whether the dry-run button was pressed.
    File(String, Vec<u8>, bool),
    /// Larger than a file may be; its name.
    TooLarge(String),
}

async fn read_upload(form: &mut Multipart) -> Result<Upload, String> {
    let mut file: Option<(String, Vec<u8>)> = None;
    let mut dry_run = false;
    loop {
        let mut field = match form.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            // Over the route's body limit before the file's field was reached.
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return Ok(Upload::TooLarge(String::new()));
            }
            Err(e) => return Err(format!("The upload could not be read: {e}")),
        };
        match field.name().unwrap_or("") {
            "file" => {
                let name = field.file_name().unwrap_or("").to_string();
                match crate::upload::read_capped(&mut field, MAX_FILE_BYTES)
                    .await
                    .map_err(|e| format!("The file could not be read: {e}"))?
                {
                    crate::upload::Capped::Within(bytes) => file = Some((name, bytes)),
                    crate::upload::Capped::TooLarge => return Ok(Upload::TooLarge(name)),
                }
            }
            "action" => {
                dry_run = field.text().await.unwrap_or_default().trim() == "dry_run";
            }
            _ => {}
        }
    }
    match file {
        Some((name, bytes)) if !name.is_empty() || !bytes.is_empty() => {
            let name = if name.is_empty() {
                "upload.csv".into()
            } else {
                name
            };
            Ok(Upload::File(name, bytes, dry_run))
        }
        _ => Err("Choose a CSV file to upload.".into()),
    }
}

async fn upload(
    State(st): State<WebState>,
    staff: Staff,
    ClientIp(ip): ClientIp,
    CsrfToken(csrf): CsrfToken,
    mut form: Multipart,
) -> Response {
    let s = match staff.require(Permission::UsersWrite) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let (name, bytes, dry_run) = match read_upload(&mut form).await {
        Ok(Upload::File(name, bytes, dry_run)) => (name, bytes, dry_run),
        Ok(Upload::TooLarge(file_name)) => {
            let errors = vec![boxoffice_domain::bulk_invite::file_too_large()];
            let o = Outcome {
                file_name,
                errors,
                ..Outcome::default()
            };
            let r = page(&st, &staff, &csrf, o).await;
            return super::form::with_status(r, StatusCode::UNPROCESSABLE_ENTITY);
        }
        Err(m) => {
            let o = Outcome {
                message: Some(m),
                ..Outcome::default()
            };
            let r = page(&st, &staff, &csrf, o).await;
            return super::form::with_status(r, StatusCode::UNPROCESSABLE_ENTITY);
        }
    };
    let out = match st
        .app
        .start_bulk_invite(&s.actor(&ip), &name, &bytes, dry_run)
        .await
    {
        Ok(o) => o,
        Err(e) => return app_error_page(&st, e),
    };
    match out {
        BulkInviteStart::Invalid { errors } => {
            let o = Outcome {
                file_name: name,
                errors,
                ..Outcome::default()
            };
            let r = page(&st, &staff, &csrf, o).await;
            super::form::with_status(r, StatusCode::UNPROCESSABLE_ENTITY)
        }
        BulkInviteStart::DryRun {
            rows,
            unknown_columns,
        } => {
            let servers: Vec<(i64, String)> = match st.app.list_servers().await {
                Ok(s) => s.into_iter().map(|s| (s.id, s.name)).collect(),
                Err(e) => return app_error_page(&st, e),
            };
            let preview = rows
                .into_iter()
                .map(|r| preview_view(r, &servers))
                .collect();
            let o = Outcome {
                file_name: name,
                preview,
                unknown_columns,
                ..Outcome::default()
            };
            page(&st, &staff, &csrf, o).await
        }
        BulkInviteStart::Started { id, .. } => {
            Redirect::to(&format!("/admin/users/bulk-invite/{id}")).into_response()
        }
    }
}

pub struct RowOutcome {
    pub row: i64,
    pub email: String,
    pub server: String,
    pub plan: String,
    pub outcome: &'static str,
    pub message: String,
}

#[derive(Template)]
#[template(path = "admin/bulk_invite_status.html")]
struct StatusPage {
    layout: Layout,
    id: i64,
    file_name: String,
    created_by: String,
    created: String,
    running: bool,
    /// Why the import stopped (its job was given up); Retry resumes it.
    stopped: Option<String>,
    /// Its worker shut down between rows; it resumes when boxoffice runs again.
    paused: bool,
    total: i64,
    done: i64,
    failed: i64,
    remaining: i64,
    rows: Vec<RowOutcome>,
    message: Option<&'static str>,
    unknown_columns: Vec<String>,
}

fn outcome_of(o: &str) -> &'static str {
    match o {
        "done" => "done",
        "failed" => "failed",
        _ => "pending",
    }
}

#[derive(serde::Deserialize, Default)]
struct StatusArgs {
    retried: Option<u64>,
}

async fn status_page(
    State(st): State<WebState>,
    staff: Staff,
    CsrfToken(csrf): CsrfToken,
    Path(id): Path<i64>,
    axum::extract::Query(a): axum::extract::Query<StatusArgs>,
) -> Response {
    if let Err(r) = staff.require(Permission::UsersWrite) {
        return r;
    }
    let s = match st.app.bulk_invite_status(id).await {
        Ok(s) => s,
        Err(e) => return app_error_page(&st, e),
    };
    let mut layout = Layout::build(
        &st,
        &format!("Bulk invite #{id}"),
        Some(&staff.0),
        &csrf,
        "users",
    )
    .await;
    layout.page = "bulk-invite-status".into();
    render(&StatusPage {
        layout,
        id,
        unknown_columns: s.unknown_columns.clone(),
        file_name: s.import.file_name.clone(),
        created_by: s.import.created_by.clone(),
        created: super::admin::fmt_time(s.import.created_at),
        running: s.remaining > 0 && s.import.state != "stopped",
        stopped: (s.import.state == "stopped").then(|| s.stop_reason.clone()),
        paused: s.import.state == "paused",
        total: s.import.total_rows,
        done: s.import.done_rows,
        failed: s.import.failed_rows,
        remaining: s.remaining,
        rows: s
            .rows
            .iter()
            .map(|r| RowOutcome {
                row: r.row_number,
                email: r.email.clone(),
                server: r.server_name.clone(),
                plan: r.plan_name.clone(),
                outcome: outcome_of(&r.outcome),
                message: r.message.clone(),
            })
            .collect(),
        message: match a.retried {
            Some(0) => Some("No failed rows to retry."),
            Some(_) => Some("The rows not done are queued again."),
            None => None,
        },
    })
}

/// Imports per page of the list.
const RUNS_PER_PAGE: i64 = 25;

pub struct RunView {
    pub id: i64,
    pub file_name: String,
    pub created_by: String,
    pub created: String,
    /// running, finished, or finished with failures: the badge.
    pub status: &'static str,
    pub total: i64,
    pub done: i64,
    pub failed: i64,
    pub remaining: i64,
    pub unknown_columns: String,
}

#[derive(Template)]
#[template(path = "admin/bulk_invite_runs.html")]
struct RunsPage {
    layout: Layout,
    runs: Vec<RunView>,
    page: i64,
    total: i64,
    newer: Option<i64>,
    older: Option<i64>,
}

#[derive(serde::Deserialize, Default)]
struct RunsArgs {
    page: Option<i64>,
}

/// Past imports, newest first, each with its state, counts, who started it and when, and links
/// to its progress page and report.
async fn runs_page(
    State(st): State<WebState>,
    staff: Staff,
    CsrfToken(csrf): CsrfToken,
    axum::extract::Query(a): axum::extract::Query<RunsArgs>,
) -> Response {
    if let Err(r) = staff.require(Permission::UsersWrite) {
        return r;
    }
    let page = a.page.unwrap_or(1).max(1);
    let list = match st.app.list_bulk_invites(page, RUNS_PER_PAGE).await {
        Ok(l) => l,
        Err(e) => return app_error_page(&st, e),
    };
    let runs = list
        .items
        .into_iter()
        .map(|s| RunView {
            id: s.import.id,
            status: match (s.remaining, s.import.failed_rows) {
                (r, _) if r > 0 => "running",
                (_, 0) => "finished",
                _ => "failed",
            },
            file_name: s.import.file_name,
            created_by: s.import.created_by,
            created: super::admin::fmt_time(s.import.created_at),
            total: s.import.total_rows,
            done: s.import.done_rows,
            failed: s.import.failed_rows,
            remaining: s.remaining,
            unknown_columns: s.unknown_columns.join(", "),
        })
        .collect();
    let mut layout = Layout::build(&st, "Bulk invites", Some(&staff.0), &csrf, "users").await;
    layout.page = "bulk-invite-runs".into();
    render(&RunsPage {
        layout,
        runs,
        page: list.page,
        total: list.total,
        newer: (list.page > 1).then(|| list.page - 1),
        older: list.has_more.then(|| list.page + 1),
    })
}

/// The same JSON as `GET /api/v1/bulk-invites/{id}`, for the page's script (session, not token).
async fn status_json(State(st): State<WebState>, staff: Staff, Path(id): Path<i64>) -> Response {
    if let Err(r) = staff.require(Permission::UsersWrite) {
        return r;
    }
    match st.app.bulk_invite_status(id).await {
        Ok(s) => (
            [(header::CACHE_CONTROL, "no-store")],
            axum::Json(serde_json::to_value(s).unwrap_or_default()),
        )
            .into_response(),
        Err(e) => crate::ApiError::from(e).into_response(),
    }
}

async fn report_csv(State(st): State<WebState>, staff: Staff, Path(id): Path<i64>) -> Response {
    if let Err(r) = staff.require(Permission::UsersWrite) {
        return r;
    }
    match st.app.bulk_invite_report_csv(id).await {
        Ok(csv) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"bulk-invite-{id}.csv\""),
                ),
            ],
            csv,
        )
            .into_response(),
        Err(e) => app_error_page(&st, e),
    }
}

async fn retry(
    State(st): State<WebState>,
    staff: Staff,
    ClientIp(ip): ClientIp,
    Path(id): Path<i64>,
) -> Response {
    let s = match staff.require(Permission::UsersWrite) {
        Ok(s) => s,
        Err(r) => return r,
    };
    match st.app.retry_failed_bulk_invite(&s.actor(&ip), id).await {
        Ok(n) => {
            Redirect::to(&format!("/admin/users/bulk-invite/{id}?retried={n}")).into_response()
        }
        Err(e) => app_error_page(&st, e),
    }
}
