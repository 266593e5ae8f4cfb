//! Migrating users between servers (operations §4.1.2): the confirm step with the preconditions'
//! result, starting the job, and retrying a finished migration's failures. The form and the
//! progress list live on the server page.

use super::{app_error_page, render};
use crate::WebState;
use crate::csrf::CsrfToken;
use crate::layout::Layout;
use crate::session::{ClientIp, Staff};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use boxoffice_app::AppError;
use boxoffice_app::subscriptions::{MigrationInput, MigrationPreview};
use boxoffice_domain::Permission;
use serde::Deserialize;

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/admin/servers/{id}/migrate", get(confirm_page).post(start))
        .route("/admin/migrations/{id}/retry", post(retry))
}

#[derive(Deserialize, Default)]
pub struct MigrateForm {
    pub target_server_id: i64,
    /// "all" or "selected".
    #[serde(default)]
    pub scope: String,
    /// Comma- or space-separated customer ids when `scope` is "selected".
    #[serde(default)]
    pub customer_ids: String,
}

impl MigrateForm {
    fn input(&self, source: i64) -> Result<MigrationInput, AppError> {
        let ids = if self.scope == "selected" {
            let ids = self
                .customer_ids
                .split(|c: char| c == ',' || c.is_whitespace())
                .filter(|s| !s.is_empty())
                .map(|s| {
                    s.parse::<i64>().map_err(|_| {
                        AppError::invalid("customer_ids", format!("\"{s}\" is not a user id"))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            if ids.is_empty() {
                return Err(AppError::invalid(
                    "customer_ids",
                    "list the user ids to move, or choose all users",
                ));
            }
            Some(ids)
        } else {
            None
        };
        Ok(MigrationInput {
            source_server_id: source,
            target_server_id: self.target_server_id,
            customer_ids: ids,
        })
    }
}

#[derive(Template)]
#[template(path = "admin/migrate.html")]
struct ConfirmPage {
    layout: Layout,
    source_id: i64,
    source_name: String,
    source_platform: String,
    target_id: i64,
    target_name: String,
    target_platform: String,
    users: usize,
    blockers: Vec<String>,
    warnings: Vec<String>,
    /// Many users to a Plex server: inviting them at once can get the Plex account banned.
    plex_ban_warning: Option<String>,
    scope: String,
    customer_ids: String,
    error: Option<String>,
}

async fn confirm_view(
    st: &WebState,
    staff: &Staff,
    csrf: &str,
    source: i64,
    f: &MigrateForm,
    error: Option<String>,
) -> Result<Response, AppError> {
    let input = f.input(source)?;
    let p: MigrationPreview = st.app.preview_migration(&input).await?;
    let plex_ban_warning = p.plex_ban_warning();
    let layout = Layout::build(st, "Migrate users", Some(&staff.0), csrf, "servers").await;
    Ok(render(&ConfirmPage {
        layout,
        source_id: p.source.id,
        source_name: p.source.name,
        source_platform: p.source.platform.as_str().to_string(),
        target_id: p.target.id,
        target_name: p.target.name,
        target_platform: p.target.platform.as_str().to_string(),
        users: p.customer_ids.len(),
        blockers: p.check.blockers.iter().map(ToString::to_string).collect(),
        warnings: p.check.warnings.iter().map(ToString::to_string).collect(),
        plex_ban_warning,
        scope: f.scope.clone(),
        customer_ids: f.customer_ids.clone(),
        error,
    }))
}

fn may_migrate(staff: &Staff) -> Result<(), Response> {
    staff.require(Permission::UsersWrite)?;
    staff.require(Permission::ServersWrite)?;
    Ok(())
}

async fn confirm_page(
    State(st): State<WebState>,
    staff: Staff,
    CsrfToken(csrf): CsrfToken,
    Path(id): Path<i64>,
    Query(f): Query<MigrateForm>,
) -> Response {
    if let Err(r) = may_migrate(&staff) {
        return r;
    }
    confirm_view(&st, &staff, &csrf, id, &f, None)
        .await
        .unwrap_or_else(|e| app_error_page(&st, e))
}

async fn start(
    State(st): State<WebState>,
    staff: Staff,
    ClientIp(ip): ClientIp,
    CsrfToken(csrf): CsrfToken,
    Path(id): Path<i64>,
    Form(f): Form<MigrateForm>,
) -> Response {
    if let Err(r) = may_migrate(&staff) {
        return r;
    }
    let outcome = match f.input(id) {
        Ok(input) => st.app.start_migration(&staff.0.actor(&ip), &input).await,
        Err(e) => Err(e),
    };
    match outcome {
        Ok(_) => Redirect::to(&format!("/admin/servers/{id}?done=migration")).into_response(),
        // A refusal (or a migration already running) goes back to the confirm step with why.
        Err(e @ (AppError::Invalid { .. } | AppError::Conflict(_))) => {
            confirm_view(&st, &staff, &csrf, id, &f, Some(e.to_string()))
                .await
                .unwrap_or_else(|e| app_error_page(&st, e))
        }
        Err(e) => app_error_page(&st, e),
    }
}

async fn retry(
    State(st): State<WebState>,
    staff: Staff,
    ClientIp(ip): ClientIp,
    Path(id): Path<i64>,
) -> Response {
    if let Err(r) = may_migrate(&staff) {
        return r;
    }
    match st.app.retry_migration(&staff.0.actor(&ip), id).await {
        Ok(row) => {
            Redirect::to(&format!("/admin/servers/{}?done=migration", row.source)).into_response()
        }
        Err(e) => app_error_page(&st, e),
    }
}
