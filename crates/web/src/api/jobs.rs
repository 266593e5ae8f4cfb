use super::auth::ApiCaller;
use crate::{ApiError, WebState};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use boxoffice_domain::Permission;
use serde::{Deserialize, Serialize};

#[derive(Serialize, utoipa::ToSchema)]
pub struct JobOut {
    pub id: i64,
    pub kind: String,
    /// queued, running, done or dead.
    pub state: String,
    pub attempts: i64,
    pub max_attempts: i64,
    /// Unix seconds (UTC).
    pub run_after: i64,
    pub last_error: Option<String>,
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct JobsQuery {
    /// Only jobs in this state.
    state: Option<String>,
    /// At most this many (1–500, default 100).
    limit: Option<i64>,
}

/// Background jobs, newest first.
#[utoipa::path(get, path = "/api/v1/jobs", params(JobsQuery), responses((status = 200, body = [JobOut]), (status = 403, body = crate::error::ErrorBody)))]
pub async fn list(
    State(st): State<WebState>,
    caller: ApiCaller,
    Query(q): Query<JobsQuery>,
) -> Result<Json<Vec<JobOut>>, ApiError> {
    caller.require(Permission::JobsRead)?;
    if let Some(s) = &q.state
        && !["queued", "running", "done", "dead"].contains(&s.as_str())
    {
        return Err(ApiError {
            field: Some("state"),
            ..ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                format!("\"{s}\" is not a job state: use queued, running, done or dead"),
            )
        });
    }
    let jobs = st
        .app
        .list_jobs(q.state.as_deref(), q.limit.unwrap_or(100).clamp(1, 500))
        .await?;
    Ok(Json(
        jobs.into_iter()
            .map(|j| JobOut {
                id: j.id,
                kind: j.kind,
                state: j.state,
                attempts: j.attempts,
                max_attempts: j.max_attempts,
                run_after: j.run_after,
                last_error: j.last_error,
            })
            .collect(),
    ))
}

/// Gives a dead job a fresh set of attempts.
#[utoipa::path(post, path = "/api/v1/jobs/{id}/retry", params(("id" = i64, Path, description = "Job id")), responses((status = 204), (status = 404, body = crate::error::ErrorBody)))]
pub async fn retry(
    State(st): State<WebState>,
    caller: ApiCaller,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    caller.require(Permission::JobsWrite)?;
    st.app.retry_dead_job(&caller.actor(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}
