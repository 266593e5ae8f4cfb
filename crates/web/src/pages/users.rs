//! The Users page (product §3.2): search, filters, sorting and pages served by the database, row
//! action menus, the bulk edit of the filtered selection (with a confirm step showing how many rows
//! change) and the streamed CSV export of the filtered set.

use super::form::{self, Fields, with_status};
use super::{app_error_page, render};
use crate::WebState;
use crate::csrf::CsrfToken;
use crate::layout::Layout;
use crate::session::{ClientIp, Staff};
use askama::Template;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use boxoffice_app::AppError;
use boxoffice_app::auth::Principal;
use boxoffice_app::users_page::{
    BulkEdit, CSV_HEADER, PAGE_SIZES, UsersParams, csv_line, status_of,
};
use boxoffice_domain::Permission;
use boxoffice_store::users_page::Filter;

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/admin/users", get(users_page))
        .route("/admin/users/export.csv", get(export_csv))
        .route("/admin/users/bulk", post(bulk_review))
        .route("/admin/users/bulk/apply", post(bulk_apply))
}

/// Percent-encodes a query-string value (everything but RFC 3986 unreserved characters).
fn enc(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The filter part of a link (search and filters), so sort, page and export links keep it.
fn filter_qs(p: &UsersParams) -> String {
    let mut parts = Vec::new();
    for (k, v) in [
        ("q", &p.q),
        ("status", &p.status),
        ("plan", &p.plan),
        ("server", &p.server),
        ("class", &p.class),
    ] {
        if let Some(v) = v.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
            parts.push(format!("{k}={}", enc(v)));
        }
    }
    parts.join("&")
}

fn link(p: &UsersParams, sort: &str, dir: &str, page: i64, per_page: i64) -> String {
    let f = filter_qs(p);
    let sep = if f.is_empty() { "" } else { "&" };
    format!("/admin/users?{f}{sep}sort={sort}&dir={dir}&page={page}&per_page={per_page}")
}

pub struct RowView {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub identities: Vec<(&'static str, String)>,
    pub plan: String,
    pub status: &'static str,
    pub expiry: String,
    pub created: String,
    pub servers: Vec<String>,
    /// Servers the user has a live share on: the Migrate action opens the migration from each.
    pub migrate_from: Vec<(i64, String)>,
}

pub struct SortHead {
    pub label: &'static str,
    pub href: String,
    /// "▲", "▼" or "" for the column the list is sorted by.
    pub mark: &'static str,
    pub aria: &'static str,
}

#[derive(Template)]
#[template(path = "admin/users.html")]
struct UsersPage {
    layout: Layout,
    p: UsersParams,
    rows: Vec<RowView>,
    total: i64,
    page: i64,
    pages: i64,
    per_page: i64,
    sizes: Vec<(i64, String)>,
    heads: Vec<SortHead>,
    prev: Option<String>,
    next: Option<String>,
    plans: Vec<(i64, String)>,
    servers: Vec<(i64, String)>,
    export_href: String,
    can_write: bool,
    message: Option<&'static str>,
    error: Option<String>,
    /// The bulk-invite dialog's column list.
    columns: &'static [(&'static str, bool, &'static str)],
}

impl UsersPage {
    fn sel(&self, v: &Option<String>, want: &str) -> bool {
        v.as_deref() == Some(want)
    }
    fn sel_id(&self, v: &Option<String>, id: &i64) -> bool {
        v.as_deref() == Some(id.to_string().as_str())
    }
}

fn date(t: i64) -> String {
    super::admin::fmt_time(t).chars().take(10).collect()
}

fn row_view(l: &boxoffice_app::users_page::UserListed, now: i64) -> RowView {
    let r = &l.row;
    let mut identities = Vec::new();
    for (label, v) in [
        ("Plex", &r.plex_email),
        ("Plex user", &r.plex_username),
        ("Jellyfin", &r.jellyfin_username),
        ("Emby", &r.emby_username),
    ] {
        if !v.is_empty() {
            identities.push((label, v.clone()));
        }
    }
    RowView {
        id: r.id,
        email: r.email.clone(),
        name: r.display_name.clone(),
        identities,
        plan: r.plan_name.clone().unwrap_or_default(),
        status: status_of(r, now),
        expiry: r.covered_until.map(date).unwrap_or_default(),
        created: date(r.created_at),
        servers: l
            .servers
            .iter()
            .map(|s| {
                if s.state == "active" {
                    s.server_name.clone()
                } else {
                    format!("{} ({})", s.server_name, s.state)
                }
            })
            .collect(),
        migrate_from: l
            .servers
            .iter()
            .map(|s| (s.server_id, s.server_name.clone()))
            .collect(),
    }
}

fn done_message(d: Option<&str>) -> Option<&'static str> {
    match d? {
        "bulk" => Some("Bulk edit applied."),
        "deleted" => Some("Deleting: the user's shares are being removed, then the user."),
        _ => None,
    }
}

#[derive(serde::Deserialize, Default)]
struct PageArgs {
    #[serde(flatten)]
    p: UsersParams,
    done: Option<String>,
}

async fn users_page(
    State(st): State<WebState>,
    staff: Staff,
    CsrfToken(csrf): CsrfToken,
    Query(a): Query<PageArgs>,
) -> Response {
    if let Err(r) = staff.require(Permission::UsersRead) {
        return r;
    }
    let now = st.app.now();
    // A bad parameter (hand-edited URL) shows the message over the unfiltered first page.
    let (p, q, error) = match a.p.page_query(now) {
        Ok(q) => (a.p, q, None),
        Err(e) => {
            let p = UsersParams::default();
            let q = match p.page_query(now) {
                Ok(q) => q,
                Err(e) => return app_error_page(&st, e),
            };
            (p, q, Some(e.to_string()))
        }
    };
    let result = async {
        let list = st.app.users_page(&q).await?;
        let plans = st.app.user_plan_options().await?;
        let servers = st.app.list_servers().await?;
        Ok::<_, AppError>((list, plans, servers))
    }
    .await;
    let (list, plans, servers) = match result {
        Ok(x) => x,
        Err(e) => return app_error_page(&st, e),
    };
    let sort = p.sort.clone().unwrap_or_else(|| "email".into());
    let desc = p.dir.as_deref() == Some("desc");
    let per = q.per_page;
    let heads = [
        ("E-mail", "email"),
        ("Plan", "plan"),
        ("Expiry", "expiry"),
        ("Created", "created"),
    ]
    .into_iter()
    .map(|(label, key)| {
        let current = sort == key;
        let dir = if current && !desc { "desc" } else { "asc" };
        SortHead {
            label,
            href: link(&p, key, dir, 1, per),
            mark: match (current, desc) {
                (true, false) => "▲",
                (true, true) => "▼",
                _ => "",
            },
            aria: match (current, desc) {
                (true, false) => "ascending",
                (true, true) => "descending",
                _ => "none",
            },
        }
    })
    .collect();
    let dir = if desc { "desc" } else { "asc" };
    let pages = list.pages();
    let layout = Layout::build(&st, "Users", Some(&staff.0), &csrf, "users").await;
    let fq = filter_qs(&p);
    render(&UsersPage {
        rows: list.rows.iter().map(|l| row_view(l, now)).collect(),
        total: list.total,
        page: list.page,
        pages,
        per_page: per,
        sizes: PAGE_SIZES
            .iter()
            .map(|s| (*s, link(&p, &sort, dir, 1, *s)))
            .collect(),
        heads,
        // Keyset links: each carries the position of the row at the page's edge, so any depth
        // reads like page 1; the page number rides along for the "page n of m" line only.
        prev: list.prev_cursor.as_ref().map(|c| {
            format!(
                "{}&before={c}",
                link(&p, &sort, dir, (list.page - 1).max(1), per)
            )
        }),
        next: list
            .next_cursor
            .as_ref()
            .map(|c| format!("{}&after={c}", link(&p, &sort, dir, list.page + 1, per))),
        plans,
        servers: servers.into_iter().map(|s| (s.id, s.name)).collect(),
        export_href: format!("/admin/users/export.csv?{fq}"),
        can_write: staff.0.can(Permission::UsersWrite),
        message: done_message(a.done.as_deref()),
        error,
        columns: super::bulk_invite::COLUMNS,
        layout,
        p,
    })
}

/// The CSV of the whole filtered set, streamed in batches so 100,000 rows never sit in memory.
async fn export_csv(
    State(st): State<WebState>,
    staff: Staff,
    Query(p): Query<UsersParams>,
) -> Response {
    if let Err(r) = staff.require(Permission::UsersRead) {
        return r;
    }
    let now = st.app.now();
    let filter = match p.filter(now) {
        Ok(f) => f,
        Err(e) => return app_error_page(&st, e),
    };
    const BATCH: i64 = 1000;
    // State: (after_id, header sent, finished).
    let stream = futures_util::stream::unfold(
        (st, filter, 0i64, false, false),
        move |(st, filter, after, header_sent, finished)| async move {
            if finished {
                return None;
            }
            if !header_sent {
                let chunk = Ok::<_, AppError>(CSV_HEADER.to_string());
                return Some((chunk, (st, filter, after, true, false)));
            }
            match st.app.users_export_batch(&filter, after, BATCH).await {
                Ok(rows) if rows.is_empty() => None,
                Ok(rows) => {
                    let last = rows.last().map(|r| r.id).unwrap_or(after);
                    let done = (rows.len() as i64) < BATCH;
                    let text: String = rows.iter().map(|r| csv_line(r, now)).collect();
                    Some((Ok(text), (st, filter, last, true, done)))
                }
                // The status line is already sent: cut the body so the download visibly fails.
                Err(e) => {
                    tracing::error!(error = ?e, "users export failed");
                    Some((Err(e), (st, filter, after, true, true)))
                }
            }
        },
    );
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"users.csv\"",
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response()
}

/// The filter carried in a bulk-edit form's hidden fields.
fn params_from(f: &Fields) -> UsersParams {
    let get = |k: &str| Some(form::text(f, k)).filter(|v| !v.is_empty());
    UsersParams {
        q: get("q"),
        status: get("status"),
        plan: get("plan"),
        server: get("server"),
        class: get("class"),
        ..UsersParams::default()
    }
}

fn bulk_from(f: &Fields) -> Result<BulkEdit, AppError> {
    let plan_id = match form::text(f, "set_plan").as_str() {
        "" => None,
        s => Some(
            s.parse::<i64>()
                .map_err(|_| AppError::invalid("plan_id", "Choose a plan from the list."))?,
        ),
    };
    let permanent = match form::text(f, "set_permanent").as_str() {
        "" => None,
        "on" => Some(true),
        "off" => Some(false),
        _ => return Err(AppError::invalid("permanent", "Permanent is on or off.")),
    };
    let note = Some(form::text(f, "add_note")).filter(|n| !n.is_empty());
    let requires_plex_change = match form::text(f, "set_plex_change").as_str() {
        "" => None,
        "on" => Some(true),
        "off" => Some(false),
        _ => {
            return Err(AppError::invalid(
                "requires_plex_change",
                "Plex account change is required or not required.",
            ));
        }
    };
    Ok(BulkEdit {
        plan_id,
        permanent,
        note,
        requires_plex_change,
    })
}

#[derive(Template)]
#[template(path = "admin/users_bulk.html")]
struct BulkConfirm {
    layout: Layout,
    count: i64,
    hidden: Vec<(&'static str, String)>,
    summary: Vec<String>,
    back: String,
    error: Option<String>,
}

async fn bulk_confirm_view(
    st: &WebState,
    staff: &Staff,
    csrf: &str,
    f: &Fields,
    error: Option<String>,
) -> Result<Response, AppError> {
    let p = params_from(f);
    let filter: Filter = p.filter(st.app.now())?;
    let edit = bulk_from(f)?;
    let change = st.app.check_bulk_edit(&edit).await?;
    let count = st.app.users_count(&filter).await?;
    let plans = st.app.user_plan_options().await?;
    let mut summary = Vec::new();
    if let Some(pid) = change.plan_id {
        let name = plans
            .iter()
            .find(|(id, _)| *id == pid)
            .map(|(_, n)| n.clone())
            .unwrap_or_default();
        summary.push(format!("Set the plan to {name}"));
    }
    if let Some(on) = change.permanent {
        summary.push(
            if on {
                "Make permanent"
            } else {
                "Make not permanent (standard)"
            }
            .into(),
        );
    }
    if let Some(n) = &change.note {
        summary.push(format!("Add the note “{n}”"));
    }
    if let Some(on) = change.requires_plex_change {
        summary.push(
            if on {
                "Require a Plex account change (they cannot be re-invited until they give a new Plex account)"
            } else {
                "No longer require a Plex account change"
            }
            .into(),
        );
    }
    let mut hidden: Vec<(&'static str, String)> = Vec::new();
    for k in [
        "q",
        "status",
        "plan",
        "server",
        "class",
        "set_plan",
        "set_permanent",
        "add_note",
        "set_plex_change",
    ] {
        hidden.push((k, form::text(f, k)));
    }
    hidden.push(("expected", count.to_string()));
    let layout = Layout::build(st, "Bulk edit", Some(&staff.0), csrf, "users").await;
    Ok(render(&BulkConfirm {
        layout,
        count,
        hidden,
        summary,
        back: format!("/admin/users?{}", filter_qs(&p)),
        error,
    }))
}

async fn bulk_review(
    State(st): State<WebState>,
    staff: Staff,
    CsrfToken(csrf): CsrfToken,
    Form(f): Form<Fields>,
) -> Response {
    if let Err(r) = staff.require(Permission::UsersWrite) {
        return r;
    }
    match bulk_confirm_view(&st, &staff, &csrf, &f, None).await {
        Ok(r) => r,
        Err(e) => app_error_page(&st, e),
    }
}

async fn bulk_apply(
    State(st): State<WebState>,
    staff: Staff,
    ClientIp(ip): ClientIp,
    CsrfToken(csrf): CsrfToken,
    Form(f): Form<Fields>,
) -> Response {
    let s = match staff.require(Permission::UsersWrite) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let p = params_from(&f);
    let result = async {
        let filter = p.filter(st.app.now())?;
        let edit = bulk_from(&f)?;
        let expected = form::int(&f, "expected");
        st.app
            .users_bulk_edit(&s.actor(&ip), &filter, &edit, expected)
            .await
    }
    .await;
    match result {
        Ok(_) => {
            let fq = filter_qs(&p);
            let sep = if fq.is_empty() { "" } else { "&" };
            Redirect::to(&format!("/admin/users?{fq}{sep}done=bulk")).into_response()
        }
        // The selection changed since the confirm step: show the new count to confirm again.
        Err(AppError::Conflict(m)) => {
            match bulk_confirm_view(&st, &staff, &csrf, &f, Some(m)).await {
                Ok(r) => with_status(r, axum::http::StatusCode::CONFLICT),
                Err(e) => app_error_page(&st, e),
            }
        }
        Err(e) => app_error_page(&st, e),
    }
}
