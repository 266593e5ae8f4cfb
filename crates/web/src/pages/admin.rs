//! The admin panel. Every route names the permission it needs; the navigation shows only what
//! the login's role allows.

use super::{app_error_page, render};
use crate::WebState;
use crate::csrf::CsrfToken;
use crate::layout::Layout;
use crate::session::{ClientIp, Staff};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use boxoffice_app::AppError;
use boxoffice_app::auth::Principal;
use boxoffice_app::settings::SettingView;
use boxoffice_domain::Permission;
use serde::Deserialize;

pub struct Section {
    pub slug: &'static str,
    pub title: &'static str,
    pub group: &'static str,
    pub permission: Permission,
    pub summary: &'static str,
    pub coming: &'static [&'static str],
}

/// The sections of the admin panel, in menu order.
pub const SECTIONS: &[Section] = &[
    Section {
        slug: "users",
        title: "Users",
        group: "Users",
        permission: Permission::UsersRead,
        summary: "Everyone who shares, or shared, one of your servers.",
        coming: &[],
    },
    Section {
        slug: "site-logins",
        title: "Site logins",
        group: "Users",
        permission: Permission::SiteLoginsRead,
        summary: "The accounts that log in to this site: customers and staff.",
        coming: &[
            "Add a login, set a password, make administrator",
            "Two-factor status of each login",
            "Roles assigned to staff logins",
        ],
    },
    Section {
        slug: "linked-users",
        title: "Linked users",
        group: "Users",
        permission: Permission::LinkedUsersRead,
        summary: "Sub-accounts whose access follows a master user's payments.",
        coming: &[
            "Link and unlink users",
            "The master's plan limits the number of sub-accounts",
        ],
    },
    Section {
        slug: "roles",
        title: "Roles",
        group: "Users",
        permission: Permission::RolesRead,
        summary: "Custom roles for staff: a name and a set of permissions.",
        coming: &[
            "Create and edit custom roles",
            "Administrator and User are built in and cannot change",
        ],
    },
    Section {
        slug: "payments",
        title: "Payments",
        group: "Payments & Plans",
        permission: Permission::PaymentsRead,
        summary: "Every payment: from checkout, gateway sync or entered by hand.",
        coming: &[],
    },
    Section {
        slug: "unmatched-payments",
        title: "Unmatched payments",
        group: "Payments & Plans",
        permission: Permission::UnmatchedPaymentsRead,
        summary: "Gateway payments that matched no user, waiting for you to assign them.",
        coming: &[],
    },
    Section {
        slug: "payment-gateways",
        title: "Payment gateways",
        group: "Payments & Plans",
        permission: Permission::SettingsRead,
        summary: "Webhook addresses to paste into Stripe, PayPal and Plisio, a connection test and each account's sync.",
        coming: &[],
    },
    Section {
        slug: "plans",
        title: "Plans",
        group: "Payments & Plans",
        permission: Permission::PlansRead,
        summary: "What you sell: price, duration, libraries and limits.",
        coming: &[],
    },
    Section {
        slug: "discount-codes",
        title: "Discount codes",
        group: "Payments & Plans",
        permission: Permission::DiscountCodesRead,
        summary: "Codes that lower a pay-as-you-go price.",
        coming: &[],
    },
    Section {
        slug: "servers",
        title: "Servers",
        group: "Servers & Libraries",
        permission: Permission::ServersRead,
        summary: "Your Plex, Jellyfin and Emby servers.",
        coming: &[],
    },
    Section {
        slug: "server-locations",
        title: "Server locations",
        group: "Servers & Libraries",
        permission: Permission::ServerLocationsRead,
        summary: "Where your servers are, so customers can pick the closest.",
        coming: &[],
    },
    Section {
        slug: "libraries",
        title: "Libraries",
        group: "Servers & Libraries",
        permission: Permission::LibrariesRead,
        summary: "The libraries found on your servers, with item counts.",
        coming: &[],
    },
    Section {
        slug: "library-groups",
        title: "Library groups",
        group: "Servers & Libraries",
        permission: Permission::LibraryGroupsRead,
        summary: "Groups of libraries that plans grant: Private, Standard, Premium 4K and yours.",
        coming: &[],
    },
    Section {
        slug: "shared-servers",
        title: "Shared servers",
        group: "Servers & Libraries",
        permission: Permission::SharedServersRead,
        summary: "Where what the servers share differs from what the plans grant, with one-click repair.",
        coming: &[],
    },
    Section {
        slug: "plex-accounts",
        title: "Plex accounts",
        group: "Servers & Libraries",
        permission: Permission::PlexAccountsRead,
        summary: "The plex.tv accounts that own your Plex servers.",
        coming: &[],
    },
    Section {
        slug: "self-test",
        title: "Self-test",
        group: "Servers & Libraries",
        permission: Permission::ServersRead,
        summary: "Every call boxoffice makes to your servers and plex.tv, checked daily.",
        coming: &[],
    },
    Section {
        slug: "devices",
        title: "Devices",
        group: "Servers & Libraries",
        permission: Permission::DevicesRead,
        summary: "Emby devices and the per-plan device limit.",
        coming: &[],
    },
    Section {
        slug: "activity",
        title: "Streaming activity",
        group: "Activity",
        permission: Permission::ActivityRead,
        summary: "Live and past streams, and what enforcement did about them.",
        coming: &[],
    },
    Section {
        slug: "settings",
        title: "Settings",
        group: "System",
        permission: Permission::SettingsRead,
        summary: "Site, e-mail, Discord, payments, registration, reminders and more.",
        coming: &[],
    },
    Section {
        slug: "notifications",
        title: "Notifications",
        group: "System",
        permission: Permission::SettingsRead,
        summary: "Every message boxoffice sends: templates, SMTP test and the delivery log.",
        coming: &[],
    },
    Section {
        slug: "jobs",
        title: "Background jobs",
        group: "System",
        permission: Permission::JobsRead,
        summary: "What runs in the background, what failed and why.",
        coming: &[],
    },
    Section {
        slug: "audit",
        title: "Audit log",
        group: "System",
        permission: Permission::AuditRead,
        summary: "Who changed what, and when.",
        coming: &[],
    },
];

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/admin", get(dashboard))
        .route("/admin/settings", get(settings_page).post(settings_save))
        .route("/admin/jobs", get(jobs_page))
        .route("/admin/jobs/{id}/retry", post(job_retry))
        .route("/admin/audit", get(audit_page))
        .route("/admin/{section}", get(section_page))
}

#[derive(Template)]
#[template(path = "admin/dashboard.html")]
struct Dashboard {
    layout: Layout,
    sections: Vec<&'static Section>,
    totp_enabled: bool,
    dead_jobs: i64,
}

async fn dashboard(
    State(st): State<WebState>,
    staff: Staff,
    CsrfToken(csrf): CsrfToken,
) -> Response {
    let s = &staff.0;
    let sections = SECTIONS
        .iter()
        .filter(|sec| s.can(sec.permission))
        .collect();
    let totp_enabled = match st.app.totp_enabled(s.login_id).await {
        Ok(b) => b,
        Err(e) => return app_error_page(&st, e),
    };
    let dead_jobs = if s.can(Permission::JobsRead) {
        st.app
            .job_counts()
            .await
            .ok()
            .and_then(|c| c.into_iter().find(|(k, _)| k == "dead").map(|(_, n)| n))
            .unwrap_or(0)
    } else {
        0
    };
    let layout = Layout::build(&st, "Dashboard", Some(s), &csrf, "dashboard").await;
    render(&Dashboard {
        layout,
        sections,
        totp_enabled,
        dead_jobs,
    })
}

#[derive(Template)]
#[template(path = "admin/section.html")]
struct SectionPage {
    layout: Layout,
    section: &'static Section,
}

async fn section_page(
    State(st): State<WebState>,
    staff: Staff,
    CsrfToken(csrf): CsrfToken,
    Path(slug): Path<String>,
) -> Response {
    let Some(section) = SECTIONS.iter().find(|s| s.slug == slug) else {
        return super::not_found().await;
    };
    let s = match staff.require(section.permission) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let layout = Layout::build(&st, section.title, Some(s), &csrf, section.slug).await;
    render(&SectionPage { layout, section })
}

#[derive(Template)]
#[template(path = "admin/settings.html")]
struct SettingsPage {
    layout: Layout,
    groups: Vec<(&'static str, Vec<SettingView>)>,
    can_write: bool,
    saved: bool,
    error: Option<String>,
}

#[derive(Deserialize)]
struct SavedQuery {
    saved: Option<String>,
}

async fn settings_view(
    st: &WebState,
    staff: &Staff,
    csrf: &str,
    saved: bool,
    error: Option<String>,
) -> Result<Response, AppError> {
    let s = &staff.0;
    let views = st.app.settings().await?.view();
    let mut groups: Vec<(&'static str, Vec<SettingView>)> = Vec::new();
    for v in views {
        match groups.iter_mut().find(|g| g.0 == v.section) {
            Some(g) => g.1.push(v),
            None => groups.push((v.section, vec![v])),
        }
    }
    let layout = Layout::build(st, "Settings", Some(s), csrf, "settings").await;
    Ok(render(&SettingsPage {
        layout,
        groups,
        can_write: s.can(Permission::SettingsWrite),
        saved,
        error,
    }))
}

async fn settings_page(
    State(st): State<WebState>,
    staff: Staff,
    CsrfToken(csrf): CsrfToken,
    Query(q): Query<SavedQuery>,
) -> Response {
    if let Err(r) = staff.require(Permission::SettingsRead) {
        return r;
    }
    settings_view(&st, &staff, &csrf, q.saved.is_some(), None)
        .await
        .unwrap_or_else(|e| app_error_page(&st, e))
}

async fn settings_save(
    State(st): State<WebState>,
    staff: Staff,
    ClientIp(ip): ClientIp,
    CsrfToken(csrf): CsrfToken,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let s = match staff.require(Permission::SettingsWrite) {
        Ok(s) => s,
        Err(r) => return r,
    };
    // A checked box sends its hidden "false" and then "true": the last value of a key wins.
    let mut changes: Vec<(String, String)> = Vec::new();
    for (k, v) in form.into_iter().filter(|(k, _)| k != "csrf") {
        match changes.iter_mut().find(|(ck, _)| *ck == k) {
            Some(c) => c.1 = v,
            None => changes.push((k, v)),
        }
    }
    let current = match st.app.settings().await {
        Ok(c) => c,
        Err(e) => return app_error_page(&st, e),
    };
    changes.retain(|(k, v)| {
        boxoffice_domain::settings::find(k).is_none_or(|d| {
            d.kind == boxoffice_domain::settings::Kind::Secret || current.get(k) != v.trim()
        })
    });
    match st.app.set_settings(&s.actor(&ip), &changes).await {
        Ok(()) => Redirect::to("/admin/settings?saved=1").into_response(),
        Err(AppError::Invalid { message, .. }) => {
            settings_view(&st, &staff, &csrf, false, Some(message))
                .await
                .map(|mut r| {
                    *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
                    r
                })
                .unwrap_or_else(|e| app_error_page(&st, e))
        }
        Err(e) => app_error_page(&st, e),
    }
}

pub struct JobRow {
    pub id: i64,
    pub kind: String,
    pub state: String,
    pub attempts: i64,
    pub max_attempts: i64,
    pub run_after: String,
    pub last_error: String,
}

#[derive(Template)]
#[template(path = "admin/jobs.html")]
struct JobsPage {
    layout: Layout,
    counts: Vec<(String, i64)>,
    jobs: Vec<JobRow>,
    can_write: bool,
}

#[derive(Deserialize)]
struct JobsQuery {
    state: Option<String>,
}

pub fn fmt_time(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| {
            d.format(time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute]:[second]"
            ))
            .ok()
        })
        .unwrap_or_else(|| t.to_string())
}

async fn jobs_page(
    State(st): State<WebState>,
    staff: Staff,
    CsrfToken(csrf): CsrfToken,
    Query(q): Query<JobsQuery>,
) -> Response {
    let s = match staff.require(Permission::JobsRead) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let state_filter = q
        .state
        .filter(|v| ["queued", "running", "done", "dead"].contains(&v.as_str()));
    let (counts, jobs) = match (
        st.app.job_counts().await,
        st.app.list_jobs(state_filter.as_deref(), 200).await,
    ) {
        (Ok(c), Ok(j)) => (c, j),
        (Err(e), _) | (_, Err(e)) => return app_error_page(&st, e),
    };
    let jobs = jobs
        .into_iter()
        .map(|j| JobRow {
            id: j.id,
            kind: j.kind,
            state: j.state,
            attempts: j.attempts,
            max_attempts: j.max_attempts,
            run_after: fmt_time(j.run_after),
            last_error: j.last_error.unwrap_or_default(),
        })
        .collect();
    let layout = Layout::build(&st, "Background jobs", Some(s), &csrf, "jobs").await;
    render(&JobsPage {
        layout,
        counts,
        jobs,
        can_write: s.can(Permission::JobsWrite),
    })
}

async fn job_retry(
    State(st): State<WebState>,
    staff: Staff,
    ClientIp(ip): ClientIp,
    Path(id): Path<i64>,
) -> Response {
    let s = match staff.require(Permission::JobsWrite) {
        Ok(s) => s,
        Err(r) => return r,
    };
    match st.app.retry_dead_job(&s.actor(&ip), id).await {
        Ok(()) => Redirect::to("/admin/jobs").into_response(),
        Err(e) => app_error_page(&st, e),
    }
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct AuditPage {
    layout: Layout,
    entries: Vec<(String, boxoffice_store::audit::AuditEntry)>,
}

async fn audit_page(
    State(st): State<WebState>,
    staff: Staff,
    CsrfToken(csrf): CsrfToken,
) -> Response {
    let s = match staff.require(Permission::AuditRead) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let entries = match st.app.recent_audit(200).await {
        Ok(e) => e.into_iter().map(|e| (fmt_time(e.at), e)).collect(),
        Err(e) => return app_error_page(&st, e),
    };
    let layout = Layout::build(&st, "Audit log", Some(s), &csrf, "audit").await;
    render(&AuditPage { layout, entries })
}
