//! The row rules. Every row is checked against every rule and every problem is collected, so
//! the owner sees the whole list at once; a rule that depends on an earlier value (the username
//! rule needs the server) is skipped when that value is already wrong, so one mistake gives one
//! error.

use super::file::{Column, ParsedFile, RawRow};
use super::{
    CataloguePlan, CatalogueServer, Context, MAX_FUTURE_SECS, MAX_NOTES, MAX_QUANTITY,
    MAX_SHORT_TEXT, MIN_PAYMENT_DATE, RowError, ValidatedRow,
};
use crate::Email;
use crate::email::EmailError;
use crate::money::Money;
use crate::platform::Platform;
use std::collections::HashMap;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime};

struct Errors<'a> {
    row: usize,
    out: &'a mut Vec<RowError>,
}

impl Errors<'_> {
    fn push(&mut self, column: Column, value: &str, message: impl Into<String>) {
        self.out.push(RowError {
            row: self.row,
            column: column.name().into(),
            value: clip(value),
            message: message.into(),
        });
    }
}

/// Values are echoed back in errors; a 5 MiB cell must not be copied into every message.
fn clip(value: &str) -> String {
    const MAX: usize = 120;
    match value.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}…", &value[..i]),
        None => value.to_string(),
    }
}

/// A row's transaction id, and whether it was generated: the cell, or `bulk-<file hash>-<row>`
/// when blank, so the same file uploaded again yields the same ids.
pub(super) fn transaction_id(cell: &str, file_hash: &str, row: usize) -> (String, bool) {
    if cell.is_empty() {
        (format!("bulk-{file_hash}-{row}"), true)
    } else {
        (cell.to_string(), false)
    }
}

pub(super) fn validate_rows(
    file: &ParsedFile,
    file_hash: &str,
    ctx: &Context<'_>,
) -> Result<Vec<ValidatedRow>, Vec<RowError>> {
    let cat = ctx.catalogue;
    let servers: HashMap<String, &CatalogueServer> =
        cat.servers.iter().map(|s| (name_key(&s.name), s)).collect();
    let plans: HashMap<String, &CataloguePlan> =
        cat.plans.iter().map(|p| (name_key(&p.name), p)).collect();

    let mut errors = Vec::new();
    let mut out = Vec::with_capacity(file.rows.len());
    // First row seen for each e-mail (normalised) and transaction id, for the duplicate rules.
    let mut emails: HashMap<String, usize> = HashMap::with_capacity(file.rows.len());
    let mut transactions: HashMap<String, usize> = HashMap::with_capacity(file.rows.len());
    // Rows aimed at each server so far, for the capacity rule.
    let mut aimed: HashMap<i64, u32> = HashMap::new();

    for raw in &file.rows {
        let mut e = Errors {
            row: raw.row,
            out: &mut errors,
        };
        let cell = |c: Column| file.cell(raw, c);
        extra_cells(file, raw, &mut e);

        let email_raw = cell(Column::Email);
        let email = match Email::parse(email_raw) {
            Ok(email) => {
                let key = email.normalized();
                if let Some(first) = emails.get(&key) {
                    e.push(
                        Column::Email,
                        email_raw,
                        format!("the same e-mail as row {first} (e-mails are compared ignoring case); a user is invited once per file"),
                    );
                } else {
                    emails.insert(key, raw.row);
                }
                Some(email)
            }
            Err(EmailError::Empty) => {
                e.push(Column::Email, email_raw, "Email is empty");
                None
            }
            Err(err) => {
                e.push(
                    Column::Email,
                    email_raw,
                    format!("Email is malformed: {err}"),
                );
                None
            }
        };

        let server_raw = cell(Column::ServerName);
        let server = if server_raw.is_empty() {
            e.push(Column::ServerName, server_raw, "Server Name is empty");
            None
        } else if let Some(s) = servers.get(&name_key(server_raw)) {
            Some(*s)
        } else {
            let names: Vec<&str> = cat.servers.iter().map(|s| s.name.as_str()).collect();
            e.push(
                Column::ServerName,
                server_raw,
                format!(
                    "no server is named \"{server_raw}\"; {}",
                    suggest(server_raw, &names, "servers")
                ),
            );
            None
        };

        let plan_raw = cell(Column::PlanName);
        let plan = if plan_raw.is_empty() {
            e.push(Column::PlanName, plan_raw, "Plan Name is empty");
            None
        } else if let Some(p) = plans.get(&name_key(plan_raw)) {
            Some(*p)
        } else {
            let names: Vec<&str> = cat.plans.iter().map(|p| p.name.as_str()).collect();
            e.push(
                Column::PlanName,
                plan_raw,
                format!(
                    "no plan is named \"{plan_raw}\"; {}",
                    suggest(plan_raw, &names, "plans")
                ),
            );
            None
        };

        let mut server_ok = server.is_some();
        if let (Some(s), Some(p)) = (server, plan) {
            let missing: Vec<&str> = p
                .library_group_ids
                .iter()
                .filter(|g| !s.library_group_ids.contains(g))
                .map(|g| group_name(ctx, *g))
                .collect();
            if !missing.is_empty() {
                server_ok = false;
                e.push(
                    Column::ServerName,
                    server_raw,
                    format!(
                        "{} has no {} library, which the plan {} shares: choose a server that has one or another plan",
                        s.name,
                        missing.join(" or "),
                        p.name
                    ),
                );
            }
        }
        if let (Some(s), true) = (server, server_ok) {
            let n = aimed.entry(s.id).or_insert(0);
            *n += 1;
            if let Some(free) = s.free_slots.filter(|free| *n > *free) {
                e.push(
                    Column::ServerName,
                    server_raw,
                    format!(
                        "{} has room for {free} more users and this is user {n} aimed at it: move some rows to another server",
                        s.name
                    ),
                );
            }
        }

        let quantity = quantity(cell(Column::Quantity), &mut e);

        let amount = match plan {
            Some(p) => amount(cell(Column::Amount), p, quantity, &mut e),
            // Without a plan there is no currency; still report a malformed value.
            None => {
                let raw = cell(Column::Amount);
                if !raw.is_empty() && !looks_like_amount(raw) {
                    e.push(Column::Amount, raw, amount_message(raw));
                }
                None
            }
        };

        let payment_date = payment_date(cell(Column::PaymentDate), ctx.now, &mut e);

        let tx_raw = cell(Column::TransactionId);
        let (transaction_id, generated) = transaction_id(tx_raw, file_hash, raw.row);
        let mut tx_ok = true;
        if transaction_id.chars().count() > MAX_SHORT_TEXT
            || transaction_id.chars().any(char::is_control)
        {
            e.push(
                Column::TransactionId,
                tx_raw,
                format!("Transaction ID must be at most {MAX_SHORT_TEXT} characters without control characters"),
            );
            tx_ok = false;
        }
        if tx_ok {
            if ctx.existing_transaction_ids.contains(&transaction_id) {
                let message = if generated {
                    format!(
                        "this file was already imported: the generated Transaction ID {transaction_id} is already recorded"
                    )
                } else {
                    format!(
                        "the Transaction ID {transaction_id} is already recorded for another payment; use a unique value or leave it blank to generate one"
                    )
                };
                e.push(Column::TransactionId, tx_raw, message);
            } else if let Some(first) = transactions.get(&transaction_id) {
                e.push(
                    Column::TransactionId,
                    tx_raw,
                    format!("the same Transaction ID as row {first}; each payment needs its own"),
                );
            } else {
                transactions.insert(transaction_id.clone(), raw.row);
            }
        }

        let method = short_text(
            cell(Column::PaymentMethod),
            Column::PaymentMethod,
            MAX_SHORT_TEXT,
            &mut e,
        );
        let notes = short_text(cell(Column::Notes), Column::Notes, MAX_NOTES, &mut e);
        let username_raw = cell(Column::Username);
        let username = short_text(username_raw, Column::Username, MAX_SHORT_TEXT, &mut e);
        if let Some(s) = server.filter(|s| s.platform != Platform::Plex && username_raw.is_empty())
        {
            e.push(
                Column::Username,
                username_raw,
                format!(
                    "{} is a {} server: {} needs a Username for the account it creates",
                    s.name, s.platform, s.platform
                ),
            );
        }
        let permanent = permanent(cell(Column::Permanent), &mut e);

        // Only a row with no error becomes part of the plan; the plan is dropped anyway when
        // any row failed, but building it costs nothing and keeps one pass.
        if let (Some(email), Some(s), Some(p), Some(q), Some(a), Some(d), Some(perm)) = (
            email,
            server,
            plan,
            quantity,
            amount,
            payment_date,
            permanent,
        ) {
            out.push(ValidatedRow {
                row: raw.row,
                email,
                server_id: s.id,
                plan_id: p.id,
                quantity: q,
                amount: a,
                transaction_id,
                transaction_id_generated: generated,
                payment_date: d,
                payment_method: method.to_string(),
                username: (!username.is_empty()).then(|| username.to_string()),
                permanent: perm,
                notes: notes.to_string(),
            });
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// Cells beyond the header's columns hold data no column names: probably a missing header cell
/// or an unquoted delimiter inside a value.
fn extra_cells(file: &ParsedFile, raw: &RawRow, e: &mut Errors<'_>) {
    let extra: Vec<&str> = raw
        .cells
        .iter()
        .skip(file.header_len)
        .filter(|c| !c.trim().is_empty())
        .collect();
    if !extra.is_empty() {
        e.out.push(RowError {
            row: e.row,
            column: String::new(),
            value: clip(&extra.join(", ")),
            message: format!(
                "the row has more cells than the header has columns ({}); put quotes around values that contain the delimiter",
                file.header_len
            ),
        });
    }
}

/// Server and plan names match ignoring case and surrounding spaces.
fn name_key(s: &str) -> String {
    s.trim().to_lowercase()
}

/// "did you mean …?" with the names closest to `given` (normalised Levenshtein ≥ 0.5, ties all
/// named), or the list of names when nothing is close.
fn suggest(given: &str, names: &[&str], what: &str) -> String {
    let given = given.to_lowercase();
    let scored: Vec<(f64, &str)> = names
        .iter()
        .map(|n| {
            (
                strsim::normalized_levenshtein(&given, &n.to_lowercase()),
                *n,
            )
        })
        .collect();
    let best = scored.iter().map(|(s, _)| *s).fold(0.0_f64, f64::max);
    if best >= 0.5 {
        let close: Vec<&str> = scored
            .iter()
            .filter(|(s, _)| best - *s < 1e-9)
            .map(|(_, n)| *n)
            .collect();
        format!("did you mean {}?", close.join(" or "))
    } else if names.is_empty() {
        format!("no {what} are configured")
    } else {
        let mut list: Vec<&str> = names.iter().take(10).copied().collect();
        if names.len() > 10 {
            list.push("…");
        }
        format!("the {what} are: {}", list.join(", "))
    }
}

fn group_name<'a>(ctx: &Context<'a>, id: i64) -> &'a str {
    ctx.catalogue
        .groups
        .iter()
        .find(|g| g.id == id)
        .map_or("(unnamed group)", |g| g.name.as_str())
}

fn quantity(raw: &str, e: &mut Errors<'_>) -> Option<u32> {
    if raw.is_empty() {
        return Some(1);
    }
    // Digits only: "1.5", "+2" and "1e2" are not whole numbers a person means.
    if !raw.bytes().all(|b| b.is_ascii_digit()) {
        e.push(
            Column::Quantity,
            raw,
            format!("Quantity is not a whole number: use 1 to {MAX_QUANTITY} plan periods"),
        );
        return None;
    }
    match raw.parse::<u32>() {
        Ok(0) => {
            e.push(Column::Quantity, raw, "Quantity must be at least 1");
            None
        }
        Ok(q) if q <= MAX_QUANTITY => Some(q),
        // Too many digits for u32 is as much over the limit as 121.
        _ => {
            e.push(
                Column::Quantity,
                raw,
                format!("Quantity must be at most {MAX_QUANTITY} plan periods"),
            );
            None
        }
    }
}

fn looks_like_amount(raw: &str) -> bool {
    // Any currency will do: only the shape of the number is checked here.
    crate::money::Currency::parse("XXX")
        .ok()
        .and_then(|c| Money::parse_decimal(raw, c).ok())
        .is_some_and(|m| m.minor >= 0)
}

fn amount_message(raw: &str) -> String {
    format!(
        "Amount \"{raw}\" is not a number: use digits with at most two decimals and a dot, such as 15 or 12.50, with no currency sign"
    )
}

fn amount(
    raw: &str,
    plan: &CataloguePlan,
    quantity: Option<u32>,
    e: &mut Errors<'_>,
) -> Option<Money> {
    if raw.is_empty() {
        // The default: quantity × one period's cost. Unknown quantity = already reported.
        let q = quantity?;
        return match plan.cost.minor.checked_mul(i64::from(q)) {
            Some(minor) => Some(Money::new(minor, plan.cost.currency)),
            None => {
                e.push(
                    Column::Amount,
                    raw,
                    "the default amount (Quantity × plan cost) is too large",
                );
                None
            }
        };
    }
    match Money::parse_decimal(raw, plan.cost.currency) {
        Ok(m) if m.minor >= 0 => Some(m),
        Ok(_) => {
            e.push(Column::Amount, raw, "Amount must not be negative");
            None
        }
        Err(_) => {
            e.push(Column::Amount, raw, amount_message(raw));
            None
        }
    }
}

/// ISO 8601: a date (midnight UTC), a date-time with an offset (RFC 3339), or a date-time without
/// one (read as UTC).
fn parse_date(raw: &str) -> Option<i64> {
    if let Ok(t) = OffsetDateTime::parse(raw, &Rfc3339) {
        return Some(t.unix_timestamp());
    }
    let date_time =
        format_description!("[year]-[month]-[day]T[hour]:[minute][optional [:[second]]]");
    if let Ok(t) = PrimitiveDateTime::parse(raw, date_time) {
        return Some(t.assume_utc().unix_timestamp());
    }
    let date = format_description!("[year]-[month]-[day]");
    Date::parse(raw, date)
        .ok()
        .map(|d| d.midnight().assume_utc().unix_timestamp())
}

fn payment_date(raw: &str, now: i64, e: &mut Errors<'_>) -> Option<i64> {
    if raw.is_empty() {
        return Some(now);
    }
    match parse_date(raw) {
        None => {
            e.push(
                Column::PaymentDate,
                raw,
                "Payment Date is not a date: use YYYY-MM-DD (such as 2026-11-01) or an ISO 8601 date and time (2026-11-01T10:30:00Z)",
            );
            None
        }
        Some(t) if t < MIN_PAYMENT_DATE => {
            e.push(
                Column::PaymentDate,
                raw,
                "Payment Date is before the year 2000",
            );
            None
        }
        Some(t) if t > now.saturating_add(MAX_FUTURE_SECS) => {
            e.push(
                Column::PaymentDate,
                raw,
                "Payment Date is more than a year in the future",
            );
            None
        }
        Some(t) => Some(t),
    }
}

fn permanent(raw: &str, e: &mut Errors<'_>) -> Option<bool> {
    match raw.to_ascii_lowercase().as_str() {
        "" | "false" | "no" | "n" | "0" => Some(false),
        "true" | "yes" | "y" | "1" => Some(true),
        _ => {
            e.push(
                Column::Permanent,
                raw,
                "Permanent must be true or false (or yes/no, 1/0); blank means false",
            );
            None
        }
    }
}

/// Free text is kept as given, within a length and without control characters (which would break
/// the results e-mail and CSV exports). A problem is reported and the value still returned: the
/// row is rejected through the error list.
fn short_text<'r>(raw: &'r str, column: Column, max: usize, e: &mut Errors<'_>) -> &'r str {
    if raw.chars().count() > max {
        e.push(
            column,
            raw,
            format!("{column} must be at most {max} characters"),
        );
    } else if raw
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        e.push(column, raw, format!("{column} contains control characters"));
    }
    raw
}
