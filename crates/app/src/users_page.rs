//! The Users page use cases (product §3.2): the filtered, sorted, paged listing with its total,
//! the bulk edit of a filtered selection (one transaction, one audit row) and the CSV export.

use crate::audit::Actor;
use crate::{App, AppError};
use boxoffice_store::users_page::{
    self as store, BulkChange, Class, Filter, KeyValue, PageQuery, Seek, ShareName, SortKey,
    Status, UserRow,
};

pub const PAGE_SIZES: [i64; 3] = [25, 50, 100];
const NOTE_MAX: usize = 2000;
const SEARCH_MAX: usize = 200;

/// The listing parameters as they arrive (query string or API), before validation.
#[derive(Clone, Debug, Default, serde::Deserialize, serde::Serialize)]
pub struct UsersParams {
    #[serde(default)]
    pub q: Option<String>,
    /// active, expired or permanent.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub plan: Option<String>,
    #[serde(default)]
    pub server: Option<String>,
    /// permanent or standard.
    #[serde(default)]
    pub class: Option<String>,
    /// email, created, expiry or plan.
    #[serde(default)]
    pub sort: Option<String>,
    /// asc or desc.
    #[serde(default)]
    pub dir: Option<String>,
    #[serde(default)]
    pub page: Option<String>,
    #[serde(default)]
    pub per_page: Option<String>,
    /// Opaque keyset cursor: the page after this position (a "next" link).
    #[serde(default)]
    pub after: Option<String>,
    /// Opaque keyset cursor: the page before this position (a "previous" link).
    #[serde(default)]
    pub before: Option<String>,
}

fn sort_name(s: SortKey) -> &'static str {
    match s {
        SortKey::Email => "email",
        SortKey::Created => "created",
        SortKey::Expiry => "expiry",
        SortKey::Plan => "plan",
    }
}

/// Encodes a keyset position as an opaque token: hex of `v1|sort|dir|kind|value|id`. The sort and
/// direction are inside so a cursor pasted onto another sort is refused instead of misread.
pub fn encode_cursor(sort: SortKey, desc: bool, key: &KeyValue, id: i64) -> String {
    let (kind, value) = match key {
        KeyValue::Text(t) => ("t", t.clone()),
        KeyValue::Int(Some(n)) => ("i", n.to_string()),
        KeyValue::Int(None) => ("n", String::new()),
    };
    let dir = if desc { "desc" } else { "asc" };
    let raw = format!("v1|{}|{dir}|{kind}|{id}|{value}", sort_name(sort));
    raw.bytes().map(|b| format!("{b:02x}")).collect()
}

fn bad_cursor(field: &'static str) -> AppError {
    AppError::invalid(
        field,
        "The page link is not valid for this sort: start from page 1.",
    )
}

fn decode_cursor(
    token: &str,
    sort: SortKey,
    desc: bool,
    field: &'static str,
) -> Result<(KeyValue, i64), AppError> {
    if !token.len().is_multiple_of(2) || token.len() > 2000 {
        return Err(bad_cursor(field));
    }
    let bytes = (0..token.len())
        .step_by(2)
        .map(|i| {
            token
                .get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect::<Option<Vec<u8>>>()
        .ok_or_else(|| bad_cursor(field))?;
    let raw = String::from_utf8(bytes).map_err(|_| bad_cursor(field))?;
    // The value is last so it may itself contain '|'.
    let mut parts = raw.splitn(6, '|');
    let (Some("v1"), Some(s), Some(d), Some(kind), Some(id), Some(value)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(bad_cursor(field));
    };
    let want_dir = if desc { "desc" } else { "asc" };
    if s != sort_name(sort) || d != want_dir {
        return Err(bad_cursor(field));
    }
    let id = id.parse::<i64>().map_err(|_| bad_cursor(field))?;
    let key = match (kind, sort) {
        ("t", SortKey::Email | SortKey::Plan) => KeyValue::Text(value.to_string()),
        ("i", SortKey::Created | SortKey::Expiry) => {
            KeyValue::Int(Some(value.parse().map_err(|_| bad_cursor(field))?))
        }
        ("n", SortKey::Expiry) => KeyValue::Int(None),
        _ => return Err(bad_cursor(field)),
    };
    Ok((key, id))
}

/// Empty form fields mean "not given".
fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn id_param(v: &Option<String>, field: &'static str) -> Result<Option<i64>, AppError> {
    given(v)
        .map(|s| {
            s.parse::<i64>()
                .map_err(|_| AppError::invalid(field, format!("{field} must be an id")))
        })
        .transpose()
}

impl UsersParams {
    /// The filter these parameters select, checked.
    pub fn filter(&self, now: i64) -> Result<Filter, AppError> {
        let search = given(&self.q).map(str::to_string);
        if search
            .as_ref()
            .is_some_and(|s| s.chars().count() > SEARCH_MAX)
        {
            return Err(AppError::invalid("q", "The search is too long."));
        }
        let status = match given(&self.status) {
            None => None,
            Some("active") => Some(Status::Active),
            Some("expired") => Some(Status::Expired),
            Some("permanent") => Some(Status::Permanent),
            Some(_) => {
                return Err(AppError::invalid(
                    "status",
                    "status must be active, expired or permanent",
                ));
            }
        };
        let class = match given(&self.class) {
            None => None,
            Some("permanent") => Some(Class::Permanent),
            Some("standard") => Some(Class::Standard),
            Some(_) => {
                return Err(AppError::invalid(
                    "class",
                    "class must be permanent or standard",
                ));
            }
        };
        Ok(Filter {
            search,
            status,
            plan_id: id_param(&self.plan, "plan")?,
            server_id: id_param(&self.server, "server")?,
            class,
            now,
        })
    }

    /// The whole page query, checked: sort key, direction, page (≥ 1) and size (25, 50 or 100).
    pub fn page_query(&self, now: i64) -> Result<PageQuery, AppError> {
        let sort = match given(&self.sort) {
            None | Some("email") => SortKey::Email,
            Some("created") => SortKey::Created,
            Some("expiry") => SortKey::Expiry,
            Some("plan") => SortKey::Plan,
            Some(_) => {
                return Err(AppError::invalid(
                    "sort",
                    "sort must be email, created, expiry or plan",
                ));
            }
        };
        let desc = match given(&self.dir) {
            None | Some("asc") => false,
            Some("desc") => true,
            Some(_) => return Err(AppError::invalid("dir", "dir must be asc or desc")),
        };
        let page = match given(&self.page) {
            None => 1,
            Some(p) => p
                .parse::<i64>()
                .ok()
                .filter(|p| (1..=1_000_000).contains(p))
                .ok_or_else(|| AppError::invalid("page", "page must be a number from 1"))?,
        };
        let per_page = match given(&self.per_page) {
            None => PAGE_SIZES[0],
            Some(p) => p
                .parse::<i64>()
                .ok()
                .filter(|p| PAGE_SIZES.contains(p))
                .ok_or_else(|| AppError::invalid("per_page", "per_page must be 25, 50 or 100"))?,
        };
        let seek = match (given(&self.after), given(&self.before)) {
            (Some(_), Some(_)) => {
                return Err(AppError::invalid(
                    "after",
                    "Give after or before, not both.",
                ));
            }
            (Some(t), None) => {
                let (key, id) = decode_cursor(t, sort, desc, "after")?;
                Some(Seek {
                    key,
                    id,
                    before: false,
                })
            }
            (None, Some(t)) => {
                let (key, id) = decode_cursor(t, sort, desc, "before")?;
                Some(Seek {
                    key,
                    id,
                    before: true,
                })
            }
            (None, None) => None,
        };
        Ok(PageQuery {
            filter: self.filter(now)?,
            sort,
            desc,
            page,
            per_page,
            seek,
        })
    }
}

/// One listed customer with the servers they have a share on.
#[derive(Clone, Debug)]
pub struct UserListed {
    pub row: UserRow,
    pub servers: Vec<ShareName>,
}

impl UserListed {
    /// Derived, never stored (operations §3.1): permanent, active (covered past now) or expired.
    pub fn status(&self, now: i64) -> &'static str {
        status_of(&self.row, now)
    }
}

pub fn status_of(r: &UserRow, now: i64) -> &'static str {
    if r.permanent {
        "permanent"
    } else if r.covered_until.is_some_and(|t| t > now) {
        "active"
    } else {
        "expired"
    }
}

#[derive(Clone, Debug)]
pub struct UsersPage {
    pub rows: Vec<UserListed>,
    pub total: i64,
    /// The page number as the links carried it (display only when paging by cursor).
    pub page: i64,
    pub per_page: i64,
    /// Cursor of the page after this one, when there is one.
    pub next_cursor: Option<String>,
    /// Cursor of the page before this one, when there is one.
    pub prev_cursor: Option<String>,
}

impl UsersPage {
    pub fn pages(&self) -> i64 {
        ((self.total + self.per_page - 1) / self.per_page).max(1)
    }
}

/// A bulk edit as submitted: which fields to set on the whole filtered selection.
#[derive(Clone, Debug, Default)]
pub struct BulkEdit {
    pub plan_id: Option<i64>,
    pub permanent: Option<bool>,
    pub note: Option<String>,
    /// Sets or clears "requires a Plex account change" on every selected user.
    pub requires_plex_change: Option<bool>,
}

impl App {
    pub async fn users_page(&self, q: &PageQuery) -> Result<UsersPage, AppError> {
        let total = store::count(self.db.ex(), &q.filter).await?;
        let mut rows = store::rows(self.db.ex(), q).await?;
        let per = usize::try_from(q.per_page.clamp(1, 1000)).unwrap_or(25);
        // The store reads one row more than a page: its presence says the list goes on in the
        // reading direction (forwards, or backwards for a "previous" link, where it comes first).
        let backwards = q.seek.as_ref().is_some_and(|s| s.before);
        let more = rows.len() > per;
        if more {
            if backwards {
                rows.remove(0);
            } else {
                rows.truncate(per);
            }
        }
        let (has_next, has_prev) = match &q.seek {
            None => (more, q.page > 1),
            Some(s) if s.before => (true, more),
            Some(_) => (more, true),
        };
        let cursor = |r: &UserRow| encode_cursor(q.sort, q.desc, &store::key_of(r, q.sort), r.id);
        let next_cursor = if has_next {
            rows.last().map(cursor)
        } else {
            None
        };
        let prev_cursor = if has_prev {
            rows.first().map(cursor)
        } else {
            None
        };
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let mut shares = store::shares_of(self.db.ex(), &ids).await?;
        let rows = rows
            .into_iter()
            .map(|row| {
                let (mine, rest) = shares.drain(..).partition(|s| s.customer_id == row.id);
                shares = rest;
                UserListed { row, servers: mine }
            })
            .collect();
        Ok(UsersPage {
            rows,
            total,
            page: q.page,
            per_page: q.per_page,
            next_cursor,
            prev_cursor,
        })
    }

    pub async fn users_count(&self, f: &Filter) -> Result<i64, AppError> {
        Ok(store::count(self.db.ex(), f).await?)
    }

    pub async fn user_plan_options(&self) -> Result<Vec<(i64, String)>, AppError> {
        Ok(store::plan_options(self.db.ex()).await?)
    }

    /// The next export batch after `after_id` (by id), for streaming the CSV.
    pub async fn users_export_batch(
        &self,
        f: &Filter,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<UserRow>, AppError> {
        Ok(store::batch_after(self.db.ex(), f, after_id, limit).await?)
    }

    /// Checks a bulk edit before anything is counted or changed.
    pub async fn check_bulk_edit(&self, e: &BulkEdit) -> Result<BulkChange, AppError> {
        let note = e
            .note
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_string);
        if note.as_ref().is_some_and(|n| n.chars().count() > NOTE_MAX) {
            return Err(AppError::invalid(
                "note",
                format!("A note is at most {NOTE_MAX} characters."),
            ));
        }
        if e.plan_id.is_none()
            && e.permanent.is_none()
            && note.is_none()
            && e.requires_plex_change.is_none()
        {
            return Err(AppError::invalid(
                "action",
                "Choose something to change: a plan, permanent on or off, a note, or the Plex account change.",
            ));
        }
        if let Some(p) = e.plan_id
            && !store::plan_exists(self.db.ex(), p).await?
        {
            return Err(AppError::invalid("plan_id", "That plan does not exist."));
        }
        Ok(BulkChange {
            plan_id: e.plan_id,
            permanent: e.permanent,
            note,
            requires_plex_change: e.requires_plex_change,
        })
    }

    /// Applies a checked bulk edit to every customer the filter selects, in one transaction with
    /// its audit row. `expected` is the count the confirm step showed: if the selection changed
    /// since, nothing is written and the admin confirms again.
    pub async fn users_bulk_edit(
        &self,
        actor: &Actor,
        f: &Filter,
        e: &BulkEdit,
        expected: Option<i64>,
    ) -> Result<u64, AppError> {
        let change = self.check_bulk_edit(e).await?;
        let mut tx = self.db.begin().await?;
        let now = self.now();
        if let Some(want) = expected {
            let n = store::count(tx.ex(), f).await?;
            if n != want {
                return Err(AppError::Conflict(format!(
                    "The selection now has {n} users, not {want}: review it and confirm again."
                )));
            }
        }
        // The customers a new flag reaches, read before the update changes what the filter
        // selects, and only when a channel can reach them at all.
        let mut flagged = Vec::new();
        let notices = match change.requires_plex_change {
            Some(true) => Some(
                self.notice_batch(tx.ex(), crate::subscriptions::PLEX_CHANGE_REQUIRED_EVENT)
                    .await?,
            ),
            _ => None,
        };
        if notices.as_ref().is_some_and(|b| b.reaches_anyone()) {
            let mut after = 0;
            loop {
                let page = store::batch_after(tx.ex(), f, after, 1000).await?;
                let Some(last) = page.last() else { break };
                after = last.id;
                flagged.extend(page.iter().map(|r| r.id));
            }
        }
        let n = store::bulk_update(tx.ex(), f, &change, now).await?;
        if let Some(batch) = &notices {
            let account = batch.settings().account_url();
            for id in &flagged {
                self.queue_notice(
                    tx.ex(),
                    batch,
                    crate::notify::Notice::to_customer(
                        crate::subscriptions::PLEX_CHANGE_REQUIRED_EVENT,
                        *id,
                    )
                    .with("account_url", account.clone())
                    .once(format!("plex_change_required:{id}:{now}")),
                )
                .await?;
            }
            boxoffice_store::admin_events::record(
                tx.ex(),
                now,
                crate::subscriptions::PLEX_CHANGE_REQUIRED_EVENT,
                None,
                None,
                &format!("Plex account change required of {n} user(s) by bulk edit"),
            )
            .await?;
        }
        let detail = serde_json::json!({
            "rows": n,
            "plan_id": change.plan_id,
            "permanent": change.permanent,
            "note": change.note,
            "requires_plex_change": change.requires_plex_change,
            "filter": {
                "q": f.search, "status": f.status.map(|s| format!("{s:?}")),
                "plan": f.plan_id, "server": f.server_id, "class": f.class.map(|c| format!("{c:?}")),
            },
        });
        self.audit(
            tx.ex(),
            actor,
            "users.bulk_edit",
            &format!("{n} users"),
            &detail.to_string(),
        )
        .await?;
        tx.commit().await?;
        Ok(n)
    }
}

/// A CSV cell, quoted when needed; a leading `=`, `+`, `-` or `@` gets an apostrophe so a
/// spreadsheet shows it as text instead of running it as a formula (CSV injection).
pub fn csv_cell(v: &str) -> String {
    let v = if v.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{v}")
    } else {
        v.to_string()
    };
    if v.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v
    }
}

pub const CSV_HEADER: &str = "id,email,display_name,plex_email,plex_username,jellyfin_username,emby_username,plan,status,covered_until,permanent,created_at,notes\r\n";

/// One export line for `r`, ending in CRLF.
pub fn csv_line(r: &UserRow, now: i64) -> String {
    let cells = [
        r.id.to_string(),
        r.email.clone(),
        r.display_name.clone(),
        r.plex_email.clone(),
        r.plex_username.clone(),
        r.jellyfin_username.clone(),
        r.emby_username.clone(),
        r.plan_name.clone().unwrap_or_default(),
        status_of(r, now).to_string(),
        r.covered_until.map(|t| t.to_string()).unwrap_or_default(),
        r.permanent.to_string(),
        r.created_at.to_string(),
        r.notes.clone(),
    ];
    let mut line = cells
        .iter()
        .map(|c| csv_cell(c))
        .collect::<Vec<_>>()
        .join(",");
    line.push_str("\r\n");
    line
}

#[cfg(test)]
mod tests {
    use super::{KeyValue, SortKey, csv_cell, decode_cursor, encode_cursor};

    #[test]
    fn cursors_round_trip_and_refuse_another_sort() {
        for (sort, key) in [
            (SortKey::Email, KeyValue::Text("a|b@x".into())),
            (SortKey::Expiry, KeyValue::Int(None)),
            (SortKey::Created, KeyValue::Int(Some(-5))),
        ] {
            let c = encode_cursor(sort, true, &key, 42);
            assert_eq!(decode_cursor(&c, sort, true, "after").ok(), Some((key, 42)));
            assert!(decode_cursor(&c, sort, false, "after").is_err());
        }
        assert!(decode_cursor("zz", SortKey::Email, false, "after").is_err());
    }

    #[test]
    fn formula_cells_are_neutralised() {
        assert_eq!(csv_cell("=1+1"), "'=1+1");
        assert_eq!(csv_cell("+x"), "'+x");
        assert_eq!(csv_cell("-x"), "'-x");
        assert_eq!(csv_cell("@x"), "'@x");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("plain"), "plain");
    }
}
