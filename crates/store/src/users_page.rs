//! The Users page listing (product §3.2): search, filters, sorting, pages, the total, the export
//! and the bulk edit of a filtered selection. The WHERE clause is assembled from fixed fragments
//! only; every value the caller gives is bound.

use crate::{Backend, Ex, Result, StoreError, affected, run};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Permanent, or covered past now.
    Active,
    /// Not permanent and not covered now.
    Expired,
    Permanent,
}

/// Product §4: permanent users, or standard (non-permanent) ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    Permanent,
    Standard,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SortKey {
    #[default]
    Email,
    Created,
    Expiry,
    Plan,
}

/// Which customers: every field narrows the set; none given means everyone.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Case-insensitive prefix of the e-mail, a media-server identity or the notes.
    pub search: Option<String>,
    pub status: Option<Status>,
    pub plan_id: Option<i64>,
    /// Has a share on this server that is not `removed`.
    pub server_id: Option<i64>,
    pub class: Option<Class>,
    /// "Now" for the status filters, so a test clock is honoured.
    pub now: i64,
}

/// The sort key value of one row, as a keyset cursor carries it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyValue {
    Text(String),
    /// The expiry key may be NULL (never paid); NULL sorts as the smallest value.
    Int(Option<i64>),
}

/// A position in the sorted list: the sort key and id of one row. Pages after (or before) it are
/// an index range seek, so a deep page costs what page 1 does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seek {
    pub key: KeyValue,
    pub id: i64,
    /// True: the rows before this position (the "previous" link), read backwards and returned in
    /// the page's order.
    pub before: bool,
}

#[derive(Clone, Debug)]
pub struct PageQuery {
    pub filter: Filter,
    pub sort: SortKey,
    pub desc: bool,
    /// 1-based. Only used for the OFFSET fallback when `seek` is absent (and for display).
    pub page: i64,
    pub per_page: i64,
    /// Keyset position; when given the page is read by seeking, not by OFFSET.
    pub seek: Option<Seek>,
}

/// The keyset value of `r` for `sort`.
pub fn key_of(r: &UserRow, sort: SortKey) -> KeyValue {
    match sort {
        SortKey::Email => KeyValue::Text(r.email_key.clone()),
        SortKey::Created => KeyValue::Int(Some(r.created_at)),
        SortKey::Expiry => KeyValue::Int(r.covered_until),
        SortKey::Plan => KeyValue::Text(r.plan_name.clone().unwrap_or_default()),
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRow {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub plex_email: String,
    pub plex_username: String,
    pub jellyfin_username: String,
    pub emby_username: String,
    pub permanent: bool,
    pub plan_id: Option<i64>,
    pub plan_name: Option<String>,
    pub covered_until: Option<i64>,
    pub notes: String,
    pub created_at: i64,
    /// The e-mail's sort key, for keyset cursors.
    pub email_key: String,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ShareName {
    pub customer_id: i64,
    pub server_id: i64,
    pub server_name: String,
    pub state: String,
}

const COLS: &str = "c.id, c.email, c.display_name, c.plex_email, c.plex_username, c.jellyfin_username, \
    c.emby_username, c.permanent, c.plan_id, p.name AS plan_name, c.covered_until, c.notes, c.created_at, c.email_key";

/// A bound value; the SQL only ever names it by `$n`.
#[derive(Clone, Debug)]
enum Arg {
    Int(i64),
    Text(String),
    Bool(bool),
}

/// SQL text built from fixed fragments, with its values kept apart for binding.
struct Sql {
    text: String,
    args: Vec<Arg>,
}

impl Sql {
    fn new(text: &str) -> Self {
        Self {
            text: text.to_string(),
            args: Vec::new(),
        }
    }

    /// Adds a value and returns its placeholder.
    fn arg(&mut self, a: Arg) -> String {
        self.args.push(a);
        format!("${}", self.args.len())
    }
}

/// Binds every collected value in order: expanded inside each backend arm so both type-check.
macro_rules! bind_all {
    ($q:expr, $args:expr) => {{
        let mut q = $q;
        for a in $args {
            q = match a {
                Arg::Int(v) => q.bind(*v),
                Arg::Text(v) => q.bind(v.clone()),
                Arg::Bool(v) => q.bind(*v),
            };
        }
        q
    }};
}

/// The search term as compared: trimmed and lower-cased. Empty means no search.
fn search_key(s: &str) -> Option<String> {
    let t = s.trim().to_lowercase();
    (!t.is_empty()).then_some(t)
}

/// Appends the WHERE clause (always starting with `WHERE`) for `f` on the alias `c`.
/// `rows` says the statement reads a sorted page: on SQLite the `permanent` tests are then written
/// `+c.permanent` so the planner walks the ORDER BY index rather than the (permanent, covered_until)
/// index, which only counts need (they read it without touching the table).
fn push_where(sql: &mut Sql, f: &Filter, backend: Backend, rows: bool) {
    let perm = if rows && backend == Backend::Sqlite {
        "+c.permanent"
    } else {
        "c.permanent"
    };
    let mut conds: Vec<String> = Vec::new();
    if let Some(term) = f.search.as_deref().and_then(search_key) {
        const FIELDS: [&str; 6] = [
            "c.email_key",
            "lower(c.plex_email)",
            "lower(c.plex_username)",
            "lower(c.jellyfin_username)",
            "lower(c.emby_username)",
            "lower(c.notes)",
        ];
        let parts: Vec<String> = match backend {
            // A range on each expression index; SQLite unions the six index probes (OR optimisation).
            Backend::Sqlite => {
                let lo = sql.arg(Arg::Text(term.clone()));
                let hi = sql.arg(Arg::Text(format!("{term}\u{10FFFF}")));
                FIELDS
                    .iter()
                    .map(|x| format!("({x} >= {lo} AND {x} < {hi})"))
                    .collect()
            }
            // LIKE with a literal prefix uses the text_pattern_ops indexes (BitmapOr).
            Backend::Postgres => {
                let escaped = term
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_");
                let pat = sql.arg(Arg::Text(format!("{escaped}%")));
                FIELDS.iter().map(|x| format!("{x} LIKE {pat}")).collect()
            }
        };
        conds.push(format!("({})", parts.join(" OR ")));
    }
    match f.status {
        Some(Status::Active) => {
            let now = sql.arg(Arg::Int(f.now));
            conds.push(format!("({perm} = TRUE OR c.covered_until > {now})"));
        }
        Some(Status::Expired) => {
            // COALESCE keeps it one range over the covering (permanent, covered_until) index.
            let now = sql.arg(Arg::Int(f.now));
            conds.push(format!(
                "({perm} = FALSE AND COALESCE(c.covered_until, 0) <= {now})"
            ));
        }
        Some(Status::Permanent) => conds.push(format!("{perm} = TRUE")),
        None => {}
    }
    match f.class {
        Some(Class::Permanent) => conds.push(format!("{perm} = TRUE")),
        Some(Class::Standard) => conds.push(format!("{perm} = FALSE")),
        None => {}
    }
    if let Some(plan) = f.plan_id {
        let p = sql.arg(Arg::Int(plan));
        conds.push(format!("c.plan_id = {p}"));
    }
    if let Some(server) = f.server_id {
        let s = sql.arg(Arg::Int(server));
        let id = if rows && backend == Backend::Sqlite {
            "+c.id"
        } else {
            "c.id"
        };
        conds.push(format!(
            // The id set comes from the covering shares index. For a sorted page SQLite is told
            // (`+c.id`) to walk the ORDER BY index and probe that set, instead of sorting it all.
            "{id} IN (SELECT s.customer_id FROM shares s WHERE s.server_id = {s} AND s.state <> 'removed')"
        ));
    }
    if conds.is_empty() {
        sql.text.push_str(" WHERE TRUE");
    } else {
        sql.text.push_str(" WHERE ");
        sql.text.push_str(&conds.join(" AND "));
    }
}

fn order_by(sort: SortKey, desc: bool, backend: Backend) -> &'static str {
    // The id breaks ties so pages never overlap; NULL coverage (never paid) sorts as the oldest.
    // SQLite already puts NULLs first ascending; spelling it out only on PostgreSQL keeps SQLite
    // walking the covered_until index instead of sorting.
    match (sort, desc, backend) {
        (SortKey::Expiry, false, Backend::Sqlite) => " ORDER BY c.covered_until ASC, c.id ASC",
        (SortKey::Expiry, true, Backend::Sqlite) => " ORDER BY c.covered_until DESC, c.id DESC",
        (SortKey::Expiry, false, Backend::Postgres) => {
            " ORDER BY c.covered_until ASC NULLS FIRST, c.id ASC"
        }
        (SortKey::Expiry, true, Backend::Postgres) => {
            " ORDER BY c.covered_until DESC NULLS LAST, c.id DESC"
        }
        (sort, desc, _) => order_by_common(sort, desc),
    }
}

fn order_by_common(sort: SortKey, desc: bool) -> &'static str {
    match (sort, desc) {
        (SortKey::Email, false) => " ORDER BY c.email_key ASC, c.id ASC",
        (SortKey::Email, true) => " ORDER BY c.email_key DESC, c.id DESC",
        (SortKey::Created, false) => " ORDER BY c.created_at ASC, c.id ASC",
        (SortKey::Created, true) => " ORDER BY c.created_at DESC, c.id DESC",
        // Handled per backend above.
        (SortKey::Expiry, false) => " ORDER BY c.covered_until ASC, c.id ASC",
        (SortKey::Expiry, true) => " ORDER BY c.covered_until DESC, c.id DESC",
        (SortKey::Plan, false) => " ORDER BY COALESCE(p.name, '') ASC, c.id ASC",
        (SortKey::Plan, true) => " ORDER BY COALESCE(p.name, '') DESC, c.id DESC",
    }
}

/// How many customers match `f`.
pub async fn count(ex: Ex<'_>, f: &Filter) -> Result<i64> {
    let only_server = f.search.as_deref().and_then(search_key).is_none()
        && f.status.is_none()
        && f.class.is_none()
        && f.plan_id.is_none();
    let sql = match f.server_id {
        // One share per (customer, server) and shares die with their customer, so counting the
        // shares is counting the customers, from the covering shares index alone.
        Some(server) if only_server => {
            let mut sql = Sql::new("SELECT COUNT(*) FROM shares s WHERE s.server_id = ");
            let p = sql.arg(Arg::Int(server));
            sql.text.push_str(&p);
            sql.text.push_str(" AND s.state <> 'removed'");
            sql
        }
        _ => {
            let mut sql = Sql::new("SELECT COUNT(*) FROM customers c");
            push_where(&mut sql, f, ex.backend(), false);
            sql
        }
    };
    let Sql { text, args } = sql;
    run!(ex, |e| bind_all!(
        sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(text)),
        &args
    )
    .fetch_one(e)
    .await)
    .map_err(StoreError::from)
}

/// The keyset condition: rows strictly after (`gt`) or before the position, in the sort's order
/// with the id breaking ties. NULL expiry sorts lowest on both backends (see `order_by`).
fn push_seek(sql: &mut Sql, sort: SortKey, seek: &Seek, gt: bool) -> Result<()> {
    let col = match sort {
        SortKey::Email => "c.email_key",
        SortKey::Created => "c.created_at",
        SortKey::Expiry => "c.covered_until",
        SortKey::Plan => "COALESCE(p.name, '')",
    };
    let op = if gt { ">" } else { "<" };
    let id = sql.arg(Arg::Int(seek.id));
    let cond = match (&seek.key, sort) {
        (KeyValue::Text(v), SortKey::Email | SortKey::Plan) => {
            let v = sql.arg(Arg::Text(v.clone()));
            // Row values: one range seek on the (key, id) order of the index.
            format!("({col}, c.id) {op} ({v}, {id})")
        }
        (KeyValue::Int(Some(v)), SortKey::Created) => {
            let v = sql.arg(Arg::Int(*v));
            format!("({col}, c.id) {op} ({v}, {id})")
        }
        (KeyValue::Int(Some(v)), SortKey::Expiry) => {
            let v = sql.arg(Arg::Int(*v));
            if gt {
                format!("({col}, c.id) {op} ({v}, {id})")
            } else {
                // NULLs are below every value, so they come before a non-NULL position.
                format!("(({col}, c.id) {op} ({v}, {id}) OR {col} IS NULL)")
            }
        }
        (KeyValue::Int(None), SortKey::Expiry) => {
            if gt {
                format!("(({col} IS NULL AND c.id > {id}) OR {col} IS NOT NULL)")
            } else {
                format!("({col} IS NULL AND c.id < {id})")
            }
        }
        // A cursor made for another sort is refused by the caller; never guess.
        _ => return Err(StoreError::Corrupt("cursor does not match the sort".into())),
    };
    sql.text.push_str(" AND ");
    sql.text.push_str(&cond);
    Ok(())
}

/// One page of customers matching the query, in its order: by keyset seek when `q.seek` is
/// given, else by OFFSET (page 1 and hand-typed page numbers). Reads up to `per_page + 1` rows
/// so the caller knows whether another page follows in the reading direction.
pub async fn rows(ex: Ex<'_>, q: &PageQuery) -> Result<Vec<UserRow>> {
    let backend = ex.backend();
    // Reading backwards (the "previous" link) walks the reverse order from the position.
    let backwards = q.seek.as_ref().is_some_and(|s| s.before);
    let walk_desc = q.desc != backwards;
    let order = order_by(q.sort, walk_desc, backend);
    let per_page = q.per_page.clamp(1, 1000);
    let offset = if q.seek.is_some() {
        0
    } else {
        (q.page.max(1) - 1).saturating_mul(per_page)
    };
    let mut sql = Sql::new(&format!("SELECT {COLS} FROM ("));
    if q.sort == SortKey::Plan && backend == Backend::Postgres {
        push_plan_order_ids(&mut sql, q, walk_desc, per_page, offset)?;
    } else {
        // Deferred join: the inner query finds the page's ids walking an index only, so a deep
        // OFFSET skips index entries rather than whole rows joined to their plan.
        sql.text.push_str(if q.sort == SortKey::Plan {
            "SELECT c.id FROM customers c LEFT JOIN plans p ON p.id = c.plan_id"
        } else {
            "SELECT c.id FROM customers c"
        });
        push_where(&mut sql, &q.filter, backend, true);
        if let Some(seek) = &q.seek {
            push_seek(&mut sql, q.sort, seek, !walk_desc)?;
        }
        sql.text.push_str(order);
        let l = sql.arg(Arg::Int(per_page + 1));
        let o = sql.arg(Arg::Int(offset));
        sql.text.push_str(&format!(" LIMIT {l} OFFSET {o}"));
    }
    sql.text
        .push_str(") pg JOIN customers c ON c.id = pg.id LEFT JOIN plans p ON p.id = c.plan_id");
    sql.text.push_str(order);
    let Sql { text, args } = sql;
    let mut out = run!(ex, |e| bind_all!(
        sqlx::query_as::<_, UserRow>(sqlx::AssertSqlSafe(text)),
        &args
    )
    .fetch_all(e)
    .await)
    .map_err(StoreError::from)?;
    if backwards {
        out.reverse();
    }
    Ok(out)
}

/// The ids of a page sorted by plan name, for PostgreSQL: each plan's customers are read in id
/// order from `customers_plan_order` (at most the rows the page can need from one plan), and
/// the few candidates are merged by (plan name, id). Sorting all customers joined to their plan
/// would read the whole table for every page; plans are few, so this reads a few index ranges.
/// Customers without a plan sort under the empty name, as `COALESCE(p.name, '')` does.
fn push_plan_order_ids(
    sql: &mut Sql,
    q: &PageQuery,
    walk_desc: bool,
    per_page: i64,
    offset: i64,
) -> Result<()> {
    let (dir, cmp) = if walk_desc {
        ("DESC", "<")
    } else {
        ("ASC", ">")
    };
    // Rows one plan may contribute: the page, the row telling whether another follows, and
    // what the OFFSET fallback skips.
    let take = offset.saturating_add(per_page + 1);
    // A keyset position: plans ordered before it are skipped whole, and within its own plan the
    // ids continue from it (an index condition, so the skipped ids are never read).
    let seek = match &q.seek {
        Some(Seek {
            key: KeyValue::Text(v),
            id,
            ..
        }) => Some((sql.arg(Arg::Text(v.clone())), sql.arg(Arg::Int(*id)))),
        Some(_) => return Err(StoreError::Corrupt("cursor does not match the sort".into())),
        None => None,
    };
    sql.text.push_str(
        "SELECT u.id FROM (SELECT COALESCE(p.name, '') AS k, x.id FROM plans p CROSS JOIN LATERAL (SELECT c.id FROM customers c",
    );
    push_where(sql, &q.filter, Backend::Postgres, true);
    sql.text.push_str(" AND c.plan_id = p.id");
    if let Some((v, id)) = &seek {
        // Ids start at 1, so 0 lets every id of the other plans through.
        let open = if walk_desc { i64::MAX } else { 0 };
        sql.text.push_str(&format!(
            " AND c.id {cmp} CASE WHEN COALESCE(p.name, '') = {v} THEN {id} ELSE {open} END"
        ));
    }
    let t = sql.arg(Arg::Int(take));
    sql.text
        .push_str(&format!(" ORDER BY c.id {dir} LIMIT {t}) x"));
    if let Some((v, _)) = &seek {
        sql.text
            .push_str(&format!(" WHERE COALESCE(p.name, '') {cmp}= {v}"));
    }
    sql.text
        .push_str(" UNION ALL SELECT '' AS k, y.id FROM (SELECT c.id FROM customers c");
    push_where(sql, &q.filter, Backend::Postgres, true);
    sql.text.push_str(" AND c.plan_id IS NULL");
    if let Some((v, id)) = &seek {
        sql.text
            .push_str(&format!(" AND ('', c.id) {cmp} ({v}, {id})"));
    }
    let t = sql.arg(Arg::Int(take));
    sql.text
        .push_str(&format!(" ORDER BY c.id {dir} LIMIT {t}) y) u"));
    let l = sql.arg(Arg::Int(per_page + 1));
    let o = sql.arg(Arg::Int(offset));
    sql.text.push_str(&format!(
        " ORDER BY u.k {dir}, u.id {dir} LIMIT {l} OFFSET {o}"
    ));
    Ok(())
}

/// The next `limit` customers matching `f` with an id above `after_id`, by id: the export walks
/// the whole set this way, each batch an index seek rather than a growing offset.
pub async fn batch_after(
    ex: Ex<'_>,
    f: &Filter,
    after_id: i64,
    limit: i64,
) -> Result<Vec<UserRow>> {
    let mut sql = Sql::new(&format!(
        "SELECT {COLS} FROM customers c LEFT JOIN plans p ON p.id = c.plan_id"
    ));
    push_where(&mut sql, f, ex.backend(), true);
    let a = sql.arg(Arg::Int(after_id));
    let l = sql.arg(Arg::Int(limit));
    sql.text
        .push_str(&format!(" AND c.id > {a} ORDER BY c.id LIMIT {l}"));
    let Sql { text, args } = sql;
    run!(ex, |e| bind_all!(
        sqlx::query_as::<_, UserRow>(sqlx::AssertSqlSafe(text)),
        &args
    )
    .fetch_all(e)
    .await)
    .map_err(StoreError::from)
}

/// The servers each of `customer_ids` has a share on that is not removed.
pub async fn shares_of(ex: Ex<'_>, customer_ids: &[i64]) -> Result<Vec<ShareName>> {
    if customer_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::new(
        "SELECT s.customer_id, s.server_id, sv.name AS server_name, s.state FROM shares s \
         JOIN servers sv ON sv.id = s.server_id WHERE s.state <> 'removed' AND s.customer_id IN (",
    );
    let marks: Vec<String> = customer_ids
        .iter()
        .map(|id| sql.arg(Arg::Int(*id)))
        .collect();
    sql.text.push_str(&marks.join(", "));
    sql.text.push_str(") ORDER BY sv.name, s.server_id");
    let Sql { text, args } = sql;
    run!(ex, |e| bind_all!(
        sqlx::query_as::<_, ShareName>(sqlx::AssertSqlSafe(text)),
        &args
    )
    .fetch_all(e)
    .await)
    .map_err(StoreError::from)
}

/// What a bulk edit sets on every selected customer; `None` leaves that field alone.
#[derive(Clone, Debug, Default)]
pub struct BulkChange {
    pub plan_id: Option<i64>,
    pub permanent: Option<bool>,
    /// Appended to the notes on a new line.
    pub note: Option<String>,
    /// Sets or clears "requires a Plex account change" (operations §4.3 Bulk Edit).
    pub requires_plex_change: Option<bool>,
}

/// Applies `change` to every customer matching `f`; returns how many rows changed. Run it in the
/// caller's transaction with the audit row.
pub async fn bulk_update(ex: Ex<'_>, f: &Filter, change: &BulkChange, now: i64) -> Result<u64> {
    let mut sql = Sql::new("UPDATE customers SET ");
    let mut sets = Vec::new();
    let n = sql.arg(Arg::Int(now));
    sets.push(format!("updated_at = {n}"));
    if let Some(plan) = change.plan_id {
        let p = sql.arg(Arg::Int(plan));
        sets.push(format!("plan_id = {p}"));
    }
    if let Some(perm) = change.permanent {
        let p = sql.arg(Arg::Bool(perm));
        sets.push(format!("permanent = {p}"));
    }
    if let Some(note) = &change.note {
        let first = sql.arg(Arg::Text(note.clone()));
        let more = sql.arg(Arg::Text(format!("\n{note}")));
        sets.push(format!(
            "notes = CASE WHEN notes = '' THEN {first} ELSE notes || {more} END"
        ));
    }
    if let Some(flag) = change.requires_plex_change {
        let p = sql.arg(Arg::Bool(flag));
        sets.push(format!("requires_plex_account_change = {p}"));
    }
    sql.text.push_str(&sets.join(", "));
    sql.text
        .push_str(" WHERE id IN (SELECT c.id FROM customers c");
    push_where(&mut sql, f, ex.backend(), false);
    sql.text.push(')');
    let Sql { text, args } = sql;
    affected!(ex, |e| bind_all!(
        sqlx::query(sqlx::AssertSqlSafe(text)),
        &args
    )
    .execute(e)
    .await)
    .map_err(StoreError::from)
}

/// The plans for the filter and bulk-edit menus (id, name), in the admin's order.
pub async fn plan_options(ex: Ex<'_>) -> Result<Vec<(i64, String)>> {
    run!(ex, |e| sqlx::query_as::<_, (i64, String)>(
        "SELECT id, name FROM plans ORDER BY sort_order, name, id"
    )
    .fetch_all(e)
    .await)
    .map_err(StoreError::from)
}

pub async fn plan_exists(ex: Ex<'_>, id: i64) -> Result<bool> {
    run!(ex, |e| sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM plans WHERE id = $1"
    )
    .bind(id)
    .fetch_one(e)
    .await)
    .map(|n| n > 0)
    .map_err(StoreError::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_values_are_bound_never_spliced() {
        let f = Filter {
            search: Some("a'; DROP TABLE customers; --".into()),
            plan_id: Some(3),
            server_id: Some(4),
            status: Some(Status::Expired),
            class: Some(Class::Standard),
            now: 9,
        };
        for b in [Backend::Sqlite, Backend::Postgres] {
            let mut sql = Sql::new("SELECT 1 FROM customers c");
            push_where(&mut sql, &f, b, true);
            assert!(!sql.text.contains("DROP"), "{}", sql.text);
            assert!(sql.args.len() >= 4);
        }
    }

    #[test]
    fn an_empty_search_is_no_search() {
        assert_eq!(search_key("   "), None);
        assert_eq!(search_key(" AbC "), Some("abc".into()));
    }
}
