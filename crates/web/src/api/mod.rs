//! The JSON API under `/api/v1`, authenticated with `Authorization: Bearer <token>`. Its OpenAPI
//! document is served at `/api/v1/openapi.json`.

mod auth;
mod bulk_invites;
mod customers;
mod discounts;
mod drift;
pub(crate) mod idempotency;
mod jobs;
mod logins;
mod me;
mod migrations;
mod notifications;
mod payments;
mod plans;
mod plex_change;
mod servers;
mod settings;
mod users;

use crate::WebState;
use axum::Router;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(title = "boxoffice API", version = "1", description = "Manage a boxoffice site. Every call needs `Authorization: Bearer <token>`; create tokens with `boxoffice admin token create`. Errors always have the shape {\"error\":{\"code\",\"message\",\"field\"}}."),
    paths(me::me, customers::invite, customers::get_one, customers::payments, customers::renew, customers::change_plan, customers::cancel, customers::delete, customers::update, jobs::list, jobs::retry, settings::list, settings::update,
        servers::list, servers::get_one, servers::create, servers::update, servers::sync, servers::test,
        servers::libraries, servers::plex_accounts, servers::add_plex_account, servers::test_plex_account,
        servers::discover, servers::locations, servers::add_location, servers::self_test, servers::run_self_test,
        servers::delete, servers::delete_plex_account,
        plans::list, plans::get_one, plans::create, plans::update, plans::delete, plans::groups, plans::add_group,
        plans::rename_group, plans::delete_group, plans::assign_group,
        plans::plan_grants, plans::apply_plan_grants,
        users::list, drift::list, drift::repair,
        bulk_invites::create, bulk_invites::list, bulk_invites::get_one, bulk_invites::report, bulk_invites::retry_failed,
        migrations::create, migrations::get_one, migrations::retry,
        notifications::templates, notifications::put_template, notifications::log,
        logins::list, logins::end_sessions),
    components(schemas(crate::error::ErrorBody, crate::error::ErrorDetail,
        customers::InviteIn, customers::InviteOut, customers::CustomerOut, customers::PaymentOut, customers::ShareOut, customers::EventOut, customers::WaitingOut, customers::RenewIn, customers::PlanChangeIn, customers::PlanChangeOut, customers::CustomerPatch, me::Me, jobs::JobOut, settings::SettingOut,
        servers::ServerOut, servers::NewServerIn, servers::ServerSettingsIn, servers::Queued, servers::IdentityOut,
        servers::LibraryOut, servers::PlexAccountOut, servers::NewPlexAccountIn, servers::DiscoveredOut,
        servers::LocationOut, servers::SelfTestOut, servers::SelfTestRowOut,
        plans::PlanOut, plans::PlanIn, plans::LibraryGroupOut, plans::LibraryGroupIn, plans::LibraryGroupAssignIn,
        plans::PlanGrantsOut, plans::PlanGrantsApplied,
        users::UsersOut, users::UserOut, users::UserServerOut,
        drift::DriftOut, drift::RepairIn, drift::RepairOut,
        bulk_invites::BulkInviteCreated, bulk_invites::BulkInviteErrors, bulk_invites::BulkInviteErrorOut,
        bulk_invites::BulkInviteDryRun, bulk_invites::BulkInviteStatusOut, bulk_invites::RetryOut,
        bulk_invites::BulkInviteListOut, bulk_invites::BulkInviteSummaryOut,
        migrations::MigrationIn, migrations::MigrationOut, migrations::MigrationItemOut,
        notifications::TemplateOut, notifications::TemplateIn, notifications::NotificationOut, notifications::NotificationLogOut,
        logins::LoginOut, logins::EndedOut)),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{
            HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
        };
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        openapi.security = Some(vec![SecurityRequirement::new(
            "bearer",
            Vec::<String>::new(),
        )]);
    }
}

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/openapi.json", get(openapi))
        .route("/me", get(me::me))
        .route("/invites", post(customers::invite))
        .route(
            "/customers/{id}",
            get(customers::get_one)
                .patch(customers::update)
                .delete(customers::delete),
        )
        .route(
            "/customers/{id}/payments",
            get(customers::payments).post(customers::renew),
        )
        .route("/customers/{id}/plan", post(customers::change_plan))
        .route("/customers/{id}/cancel", post(customers::cancel))
        .route("/users", get(users::list))
        .route("/logins", get(logins::list))
        .route(
            "/logins/{id}/sessions",
            axum::routing::delete(logins::end_sessions),
        )
        .route(
            "/bulk-invites",
            get(bulk_invites::list).post(bulk_invites::create).layer(
                axum::extract::DefaultBodyLimit::max(bulk_invites::BODY_LIMIT),
            ),
        )
        .route("/bulk-invites/{id}", get(bulk_invites::get_one))
        .route("/bulk-invites/{id}/report.csv", get(bulk_invites::report))
        .route(
            "/bulk-invites/{id}/retry-failed",
            post(bulk_invites::retry_failed),
        )
        .route("/drift", get(drift::list))
        .route("/drift/repair", post(drift::repair))
        .route("/migrations", post(migrations::create))
        .route("/migrations/{id}", get(migrations::get_one))
        .route("/migrations/{id}/retry", post(migrations::retry))
        .route("/jobs", get(jobs::list))
        .route("/jobs/{id}/retry", post(jobs::retry))
        .route("/settings", get(settings::list).patch(settings::update))
        .route("/servers", get(servers::list).post(servers::create))
        .route(
            "/servers/{id}",
            get(servers::get_one)
                .patch(servers::update)
                .delete(servers::delete),
        )
        .route("/servers/{id}/sync", post(servers::sync))
        .route("/servers/{id}/test", post(servers::test))
        .route("/libraries", get(servers::libraries))
        .route(
            "/plex-accounts",
            get(servers::plex_accounts).post(servers::add_plex_account),
        )
        .route(
            "/plex-accounts/{id}",
            axum::routing::delete(servers::delete_plex_account),
        )
        .route("/plex-accounts/{id}/test", post(servers::test_plex_account))
        .route("/plex-accounts/{id}/servers", get(servers::discover))
        .route(
            "/server-locations",
            get(servers::locations).post(servers::add_location),
        )
        .route("/plans", get(plans::list).post(plans::create))
        .route(
            "/plans/{id}",
            get(plans::get_one).put(plans::update).delete(plans::delete),
        )
        .route("/library-groups", get(plans::groups).post(plans::add_group))
        .route(
            "/library-groups/{id}",
            axum::routing::put(plans::rename_group).delete(plans::delete_group),
        )
        .route(
            "/libraries/{id}/group",
            axum::routing::put(plans::assign_group),
        )
        .route(
            "/shares/plan-grants",
            get(plans::plan_grants).post(plans::apply_plan_grants),
        )
        .route(
            "/self-test",
            get(servers::self_test).post(servers::run_self_test),
        )
        .merge(plex_change::routes())
        .merge(payments::routes())
        .merge(discounts::routes())
        .route("/notifications/templates", get(notifications::templates))
        .route(
            "/notifications/templates/{event}/{channel}",
            axum::routing::put(notifications::put_template),
        )
        .route("/notifications/log", get(notifications::log))
        .fallback(|| async {
            crate::ApiError::new(
                axum::http::StatusCode::NOT_FOUND,
                "not_found",
                "There is no API endpoint at this address.",
            )
        })
}

async fn openapi() -> Response {
    let mut doc = ApiDoc::openapi();
    doc.merge(<plex_change::PlexChangeDoc as OpenApi>::openapi());
    doc.merge(<payments::PaymentsDoc as OpenApi>::openapi());
    doc.merge(<discounts::DiscountsDoc as OpenApi>::openapi());
    axum::Json(doc).into_response()
}
