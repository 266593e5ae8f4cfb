//! The admin panel. Every route names the permission it needs; the navigation shows only what
//! the login's role allows.

use super::{app_error_page, render};
use crate::WebState;
use crate::csrf::CsrfToken;
use crate::layout::Layout;
use crate::session::{ClientIp, Staff};
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use boxoffice_app::AppError;
use boxoffice_app::auth::Principal;
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
        coming: &[],
    },
    Section {
        slug: "linked-users",
        title: "Linked users",
        group: "Users",
        permission: Permission::LinkedUsersRead,
        summary: "Sub-accounts whose access follows a master user's payments.",
        coming: &[],
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
        .route("/admin/jobs", get(jobs_page))
        .route("/admin/jobs/{id}/retry", post(job_retry))
        .route("/admin/audit", get(audit_page))
        .route("/admin/{section}", get(section_page))
}

pub struct StatView {
    pub label: &'static str,
    pub value: String,
    pub sub: String,
    pub href: String,
    /// "", "warn" or "danger": how the number is coloured.
    pub tone: &'static str,
}

pub struct ServerView {
    pub id: i64,
    pub name: String,
    pub platform: String,
    pub users: i64,
    /// 0 means no limit.
    pub max_users: i64,
    /// The fill in percent for the meter (0 when there is no limit).
    pub percent: i64,
    /// ok, off or error.
    pub status: &'static str,
    pub detail: String,
}

pub struct EventView {
    pub at: String,
    pub message: String,
    pub customer_id: Option<i64>,
}

pub struct NoticeView {
    pub at: String,
    pub event: String,
    pub channel: String,
    pub recipient: String,
    pub status: String,
    pub customer_id: Option<i64>,
}

/// A bar of the revenue chart, laid out in the SVG's 600×200 box.
pub struct Bar {
    pub x: i64,
    pub y: i64,
    pub width: i64,
    pub height: i64,
    /// The centre of the bar, for its label.
    pub mid: i64,
    pub label: String,
    pub value: String,
}

pub struct Chart {
    pub currency: String,
    pub bars: Vec<Bar>,
    /// The top gridline's value.
    pub max: String,
}

const CHART_TOP: i64 = 16;
const CHART_BASE: i64 = 170;

fn revenue_chart(currency: &str, months: &[boxoffice_app::dashboard::MonthTotal]) -> Chart {
    let max = months.iter().map(|m| m.minor).max().unwrap_or(0).max(1);
    let n = i64::try_from(months.len()).unwrap_or(1).max(1);
    let slot = 560 / n;
    let width = slot * 3 / 5;
    let bars = months
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let i = i64::try_from(i).unwrap_or(0);
            let height = (m.minor.max(0) * (CHART_BASE - CHART_TOP)) / max;
            let x = 40 + i * slot + (slot - width) / 2;
            Bar {
                x,
                y: CHART_BASE - height,
                width,
                height,
                mid: x + width / 2,
                label: m.label.clone(),
                value: money(m.minor, currency),
            }
        })
        .collect();
    Chart {
        currency: currency.to_string(),
        bars,
        max: money(max, currency),
    }
}

#[derive(Template)]
#[template(path = "admin/dashboard.html")]
struct Dashboard {
    layout: Layout,
    totp_enabled: bool,
    dead_jobs: i64,
    stats: Vec<StatView>,
    servers: Option<Vec<ServerView>>,
    events: Option<Vec<EventView>>,
    notices: Option<Vec<NoticeView>>,
    jobs: Option<Vec<(String, i64)>>,
    chart: Option<Chart>,
    can_add_customer: bool,
    can_add_server: bool,
}

fn money(minor: i64, currency: &str) -> String {
    use boxoffice_domain::money::{Currency, Money};
    match Currency::parse(currency) {
        Ok(c) => Money::new(minor, c).to_string(),
        Err(_) => format!("{minor} {currency}"),
    }
}

/// The dashboard: numbers first (customers, revenue), then the servers' fill, then what needs
/// attention. Each block shows only when the login's role may see what it summarises.
async fn dashboard(
    State(st): State<WebState>,
    staff: Staff,
    CsrfToken(csrf): CsrfToken,
) -> Response {
    let s = &staff.0;
    match dashboard_view(&st, s, &csrf).await {
        Ok(r) => r,
        Err(e) => app_error_page(&st, e),
    }
}

async fn dashboard_view(
    st: &WebState,
    s: &boxoffice_app::auth::SessionCtx,
    csrf: &str,
) -> Result<Response, AppError> {
    let totp_enabled = st.app.totp_enabled(s.login_id).await?;
    let job_counts = if s.can(Permission::JobsRead) {
        Some(st.app.job_counts().await?)
    } else {
        None
    };
    let dead_jobs = job_counts
        .as_ref()
        .and_then(|c| c.iter().find(|(k, _)| k == "dead").map(|(_, n)| *n))
        .unwrap_or(0);
    let mut stats = Vec::new();
    if s.can(Permission::UsersRead) {
        let c = st.app.dashboard_customers().await?;
        stats.push(StatView {
            label: "Active customers",
            value: c.active.to_string(),
            sub: format!("{} permanent", c.permanent),
            href: "/admin/users?status=active".into(),
            tone: "",
        });
        stats.push(StatView {
            label: "On a trial",
            value: c.trial.to_string(),
            sub: "covered by a trial plan".into(),
            href: "/admin/users?status=active".into(),
            tone: "",
        });
        stats.push(StatView {
            label: "Expiring this week",
            value: c.expiring.to_string(),
            sub: format!("within {} days", boxoffice_app::dashboard::EXPIRING_DAYS),
            href: "/admin/users?status=active&sort=expiry&dir=asc".into(),
            tone: if c.expiring > 0 { "warn" } else { "" },
        });
        stats.push(StatView {
            label: "Expired",
            value: c.expired.to_string(),
            sub: "no paid time left".into(),
            href: "/admin/users?status=expired".into(),
            tone: "",
        });
    }
    let mut chart = None;
    if s.can(Permission::PaymentsRead) {
        let currency = st
            .app
            .settings()
            .await?
            .get("payments.currency")
            .to_string();
        let months = st.app.dashboard_revenue_by_month(&currency, 6).await?;
        chart = Some(revenue_chart(&currency, &months));
        let revenue = st.app.dashboard_revenue_this_month().await?;
        let value = if revenue.is_empty() {
            money(0, &currency)
        } else {
            revenue
                .iter()
                .map(|(c, m)| money(*m, c))
                .collect::<Vec<_>>()
                .join(" · ")
        };
        stats.push(StatView {
            label: "Revenue this month",
            value,
            sub: "payments received since the 1st (UTC)".into(),
            href: "/admin/payments".into(),
            tone: "",
        });
    }
    let servers = if s.can(Permission::ServersRead) {
        let list = st.app.dashboard_servers().await?;
        Some(
            list.into_iter()
                .map(|x| {
                    let (status, detail) = match (&x.last_error, x.enabled) {
                        (_, false) => ("off", String::new()),
                        (Some(e), true) if !e.is_empty() => ("error", e.clone()),
                        (_, true) => (
                            "ok",
                            x.last_synced_at
                                .map(|t| format!("synced {} UTC", fmt_time(t)))
                                .unwrap_or_else(|| "not synced yet".into()),
                        ),
                    };
                    ServerView {
                        percent: if x.max_users > 0 {
                            (x.users * 100 / x.max_users).clamp(0, 100)
                        } else {
                            0
                        },
                        id: x.id,
                        name: x.name,
                        platform: x.platform.as_str().to_string(),
                        users: x.users,
                        max_users: x.max_users,
                        status,
                        detail,
                    }
                })
                .collect(),
        )
    } else {
        None
    };
    let events = if s.can(Permission::UsersRead) {
        Some(
            st.app
                .dashboard_events(6)
                .await?
                .into_iter()
                .map(|e| EventView {
                    at: fmt_time(e.at),
                    message: e.message,
                    customer_id: e.customer_id,
                })
                .collect(),
        )
    } else {
        None
    };
    let notices = if s.can(Permission::SettingsRead) {
        Some(
            st.app
                .dashboard_notifications(6)
                .await?
                .into_iter()
                .map(|n| NoticeView {
                    at: fmt_time(n.created_at),
                    event: n.event.replace('_', " "),
                    channel: n.channel,
                    recipient: n.recipient,
                    status: n.status,
                    customer_id: n.customer_id,
                })
                .collect(),
        )
    } else {
        None
    };
    let layout = Layout::build(st, "Dashboard", Some(s), csrf, "dashboard").await;
    Ok(render(&Dashboard {
        layout,
        totp_enabled,
        dead_jobs,
        stats,
        servers,
        events,
        notices,
        jobs: job_counts,
        chart,
        can_add_customer: s.can(Permission::UsersWrite),
        can_add_server: s.can(Permission::ServersWrite),
    }))
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
