//! Bulk invite over the JSON API: upload a CSV (validated as a whole; a valid file is stored and
//! processed by a background job), follow its progress, download the results, retry failed rows.

use super::auth::{ApiCaller, Authorized, need};
use crate::upload::Capped;
use crate::{ApiError, WebState};
use axum::Json;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use boxoffice_app::bulk_invite::BulkInviteStart;
use boxoffice_domain::Permission;
use boxoffice_domain::bulk_invite::{MAX_FILE_BYTES, file_too_large};
use serde::{Deserialize, Serialize};

/// Room for the largest file plus the multipart envelope.
pub const BODY_LIMIT: usize = MAX_FILE_BYTES + 64 * 1024;

#[derive(Serialize, utoipa::ToSchema)]
pub struct BulkInviteCreated {
    pub id: i64,
    pub status_url: String,
    /// Data rows queued.
    pub rows: usize,
    /// Header columns boxoffice does not read; their values were ignored (a misspelt optional
    /// column such as `Qty` shows up here).
    pub unknown_columns: Vec<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct BulkInviteErrorOut {
    /// The file's row (header = 1); 0 for the file as a whole.
    pub row: usize,
    pub column: String,
    pub value: String,
    pub message: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct BulkInviteErrors {
    pub errors: Vec<BulkInviteErrorOut>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct BulkInviteDryRun {
    pub dry_run: bool,
    /// Per row: row, email, server, plan, action {kind, from?}, period {from, to}.
    #[schema(value_type = Vec<Object>)]
    pub rows: serde_json::Value,
    /// Header columns boxoffice does not read; their values would be ignored.
    pub unknown_columns: Vec<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct BulkInviteStatusOut {
    /// id, state (running; paused: its worker shut down between rows and it resumes by itself;
    /// stopped: its job was given up, `stop_reason` says why; finished), counts (total_rows,
    /// done_rows, failed_rows, remaining), `unknown_columns` (header columns that were ignored)
    /// and `rows` with each row's outcome (pending, done, failed) and message.
    #[schema(value_type = Object)]
    #[serde(flatten)]
    pub status: serde_json::Value,
    /// Set while the import is stopped: POST here to resume it at its first row not done.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_url: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct RetryOut {
    pub retried: u64,
}

fn bad_request(message: &str) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message)
}

/// Uploads a bulk-invite CSV (multipart field `file`; `dry_run` = true for the plan only).
#[utoipa::path(post, path = "/api/v1/bulk-invites", responses((status = 202, body = BulkInviteCreated), (status = 200, body = BulkInviteDryRun), (status = 422, body = BulkInviteErrors)))]
pub async fn create(
    State(st): State<WebState>,
    caller: Authorized<need::UsersWrite>,
    mut form: Multipart,
) -> Result<Response, ApiError> {
    let mut file: Option<(String, Vec<u8>)> = None;
    let mut dry_run = false;
    let mut too_large = false;
    loop {
        let mut field = match form.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            // Over the route's body limit before the file's field was reached.
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                too_large = true;
                break;
            }
            Err(e) => return Err(bad_request(&format!("the upload could not be read: {e}"))),
        };
        match field.name().unwrap_or("") {
            "file" => {
                let name = field.file_name().unwrap_or("upload.csv").to_string();
                match crate::upload::read_capped(&mut field, MAX_FILE_BYTES)
                    .await
                    .map_err(|e| bad_request(&format!("the file could not be read: {e}")))?
                {
                    Capped::Within(bytes) => file = Some((name, bytes)),
                    Capped::TooLarge => {
                        too_large = true;
                        break;
                    }
                }
            }
            "dry_run" => {
                let v = field.text().await.unwrap_or_default();
                dry_run = matches!(v.trim(), "true" | "1" | "yes" | "on");
            }
            _ => {}
        }
    }
    let out = match file {
        _ if too_large => BulkInviteStart::Invalid {
            errors: vec![file_too_large()],
        },
        Some((name, bytes)) => {
            st.app
                .start_bulk_invite(&caller.actor(), &name, &bytes, dry_run)
                .await?
        }
        None => return Err(bad_request("send the CSV as the multipart field \"file\"")),
    };
    Ok(match out {
        BulkInviteStart::Invalid { errors } => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(BulkInviteErrors {
                errors: errors
                    .into_iter()
                    .map(|e| BulkInviteErrorOut {
                        row: e.row,
                        column: e.column,
                        value: e.value,
                        message: e.message,
                    })
                    .collect(),
            }),
        )
            .into_response(),
        BulkInviteStart::DryRun {
            rows,
            unknown_columns,
        } => (
            StatusCode::OK,
            Json(BulkInviteDryRun {
                dry_run: true,
                rows: serde_json::to_value(rows).unwrap_or_default(),
                unknown_columns,
            }),
        )
            .into_response(),
        BulkInviteStart::Started {
            id,
            rows,
            unknown_columns,
        } => (
            StatusCode::ACCEPTED,
            Json(BulkInviteCreated {
                id,
                status_url: format!("/api/v1/bulk-invites/{id}"),
                rows,
                unknown_columns,
            }),
        )
            .into_response(),
    })
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct ListQuery {
    /// 1-based page (default 1).
    page: Option<i64>,
    /// Imports per page (1–100, default 25).
    per_page: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct BulkInviteSummaryOut {
    pub id: i64,
    /// Unix seconds (UTC).
    pub created_at: i64,
    /// Who started it: the login, API token or `cli`.
    pub created_by: String,
    pub file_name: String,
    /// running or finished.
    pub state: String,
    pub total_rows: i64,
    pub done_rows: i64,
    pub failed_rows: i64,
    pub remaining: i64,
    pub finished_at: Option<i64>,
    pub unknown_columns: Vec<String>,
    pub status_url: String,
    pub report_url: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct BulkInviteListOut {
    pub items: Vec<BulkInviteSummaryOut>,
    pub page: i64,
    pub per_page: i64,
    /// Imports on all pages.
    pub total: i64,
    pub has_more: bool,
}

/// Past imports, newest first, with their state and counts.
#[utoipa::path(get, path = "/api/v1/bulk-invites", params(ListQuery), responses((status = 200, body = BulkInviteListOut), (status = 403, body = crate::error::ErrorBody)))]
pub async fn list(
    State(st): State<WebState>,
    caller: ApiCaller,
    Query(q): Query<ListQuery>,
) -> Result<Json<BulkInviteListOut>, ApiError> {
    caller.require(Permission::UsersWrite)?;
    let l = st
        .app
        .list_bulk_invites(q.page.unwrap_or(1), q.per_page.unwrap_or(25))
        .await?;
    Ok(Json(BulkInviteListOut {
        items: l
            .items
            .into_iter()
            .map(|s| {
                let id = s.import.id;
                BulkInviteSummaryOut {
                    id,
                    created_at: s.import.created_at,
                    created_by: s.import.created_by,
                    file_name: s.import.file_name,
                    state: s.import.state,
                    total_rows: s.import.total_rows,
                    done_rows: s.import.done_rows,
                    failed_rows: s.import.failed_rows,
                    remaining: s.remaining,
                    finished_at: s.import.finished_at,
                    unknown_columns: s.unknown_columns,
                    status_url: format!("/api/v1/bulk-invites/{id}"),
                    report_url: format!("/api/v1/bulk-invites/{id}/report.csv"),
                }
            })
            .collect(),
        page: l.page,
        per_page: l.per_page,
        total: l.total,
        has_more: l.has_more,
    }))
}

/// An import's state, counts and per-row outcomes.
#[utoipa::path(get, path = "/api/v1/bulk-invites/{id}", params(("id" = i64, Path)), responses((status = 200, body = BulkInviteStatusOut), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get_one(
    State(st): State<WebState>,
    caller: ApiCaller,
    Path(id): Path<i64>,
) -> Result<Json<BulkInviteStatusOut>, ApiError> {
    caller.require(Permission::UsersWrite)?;
    let s = st.app.bulk_invite_status(id).await?;
    let retry_url =
        (s.import.state == "stopped").then(|| format!("/api/v1/bulk-invites/{id}/retry-failed"));
    Ok(Json(BulkInviteStatusOut {
        status: serde_json::to_value(s).unwrap_or_default(),
        retry_url,
    }))
}

/// The results: the input columns, outcome and message per row.
#[utoipa::path(get, path = "/api/v1/bulk-invites/{id}/report.csv", params(("id" = i64, Path)), responses((status = 200, content_type = "text/csv", body = String), (status = 404, body = crate::error::ErrorBody)))]
pub async fn report(
    State(st): State<WebState>,
    caller: ApiCaller,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    caller.require(Permission::UsersWrite)?;
    let csv = st.app.bulk_invite_report_csv(id).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"bulk-invite-{id}.csv\""),
            ),
        ],
        csv,
    )
        .into_response())
}

/// Puts the failed rows back in the queue, and resumes a stopped import.
#[utoipa::path(post, path = "/api/v1/bulk-invites/{id}/retry-failed", params(("id" = i64, Path)), responses((status = 202, body = RetryOut), (status = 404, body = crate::error::ErrorBody)))]
pub async fn retry_failed(
    State(st): State<WebState>,
    caller: ApiCaller,
    Path(id): Path<i64>,
) -> Result<(StatusCode, Json<RetryOut>), ApiError> {
    caller.require(Permission::UsersWrite)?;
    let n = st.app.retry_failed_bulk_invite(&caller.actor(), id).await?;
    Ok((StatusCode::ACCEPTED, Json(RetryOut { retried: n })))
}
