//! Bulk invite (operations §6.17, README essential 23): the CSV an owner uploads to "Bulk Invite or
//! Share", parsed and validated as a whole before a background job invites anyone.
//!
//! Pure: the caller reads the upload, loads the catalogue (servers, plans, library groups, free
//! slots) and the transaction ids already recorded, and passes them in. [`validate`] returns
//! either a plan of rows ready for the manual-invite use case (§6.6) or *every* problem found, each
//! with its row (the header is row 1), column, value and reason, so the owner fixes the file in one
//! pass. An invalid file yields only errors: nothing is half-imported.
//!
//! [`classify`] is the dry run: given what the store knows about the e-mails in the file, it says
//! per row whether a customer is created, extended, already shared or moved.
//!
//! The rules, limits and example messages are documented for owners in `docs/bulk-invite.md`.

mod classify;
mod file;
mod rules;
#[cfg(test)]
mod tests;

pub use classify::{ExistingCustomer, RowAction, RowPreview, classify};
pub use file::Column;

use crate::Email;
use crate::ids::{LibraryGroupId, PlanId, ServerId};
use crate::money::Money;
use crate::plans::PlanDuration;
use crate::platform::Platform;
use serde::Serialize;
use std::collections::HashSet;
use std::fmt;

/// Largest upload accepted: 5 MiB is far above 10,000 rows of realistic data (about 1 MiB) and
/// keeps a mistaken upload (a video, a database dump) from being parsed at all.
pub const MAX_FILE_BYTES: usize = 5 * 1024 * 1024;
/// Most data rows in one file. The job throttles Plex invites a few seconds apart (Plex bans
/// accounts that invite too fast), so 10,000 rows is already most of a day of work.
pub const MAX_ROWS: usize = 10_000;
/// Most plan periods one row may buy: 120 monthly periods are ten years, beyond any real
/// prepayment; a larger number is almost certainly a typo (an amount in the Quantity column).
pub const MAX_QUANTITY: u32 = 120;
/// Longest Transaction ID, Payment Method or Username kept (the store's text columns are
/// unbounded, but such values come from gateways and forms and are short).
pub const MAX_SHORT_TEXT: usize = 200;
/// Longest Notes value.
pub const MAX_NOTES: usize = 2_000;
/// A Payment Date may be at most this far after "now": a prepaid period may start later, but a
/// date years ahead is a typo.
pub const MAX_FUTURE_SECS: i64 = 366 * 86_400;
/// Earliest Payment Date accepted (2000-01-01T00:00:00Z): older dates are typos (a two-digit year).
pub const MIN_PAYMENT_DATE: i64 = 946_684_800;

/// A server as the validator needs it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CatalogueServer {
    pub id: ServerId,
    pub name: String,
    pub platform: Platform,
    /// Groups of the libraries the server has.
    pub library_group_ids: Vec<LibraryGroupId>,
    /// How many more users the server takes; `None` = no limit.
    pub free_slots: Option<u32>,
}

/// A plan as the validator needs it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CataloguePlan {
    pub id: PlanId,
    pub name: String,
    /// Price of one period; its currency is the payment's.
    pub cost: Money,
    pub duration: PlanDuration,
    /// Groups shared with a subscriber: the server must have libraries in each.
    pub library_group_ids: Vec<LibraryGroupId>,
}

/// A library group's name, for messages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CatalogueGroup {
    pub id: LibraryGroupId,
    pub name: String,
}

/// What the installation has, as loaded by the caller.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Catalogue {
    pub servers: Vec<CatalogueServer>,
    pub plans: Vec<CataloguePlan>,
    pub groups: Vec<CatalogueGroup>,
}

/// Everything besides the file that validation needs.
#[derive(Clone, Copy, Debug)]
pub struct Context<'a> {
    pub catalogue: &'a Catalogue,
    /// Transaction ids already recorded in the payments table.
    pub existing_transaction_ids: &'a HashSet<String>,
    /// Unix seconds: the default Payment Date and the reference for "too far ahead".
    pub now: i64,
}

/// One problem. `row` counts the header as 1 (the first data row is 2, as a spreadsheet shows
/// it); 0 means the file as a whole (too large, not text, no data rows). `column` is the
/// canonical column name, empty when the problem is not about one column.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RowError {
    pub row: usize,
    pub column: String,
    pub value: String,
    pub message: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.row, self.column.is_empty()) {
            (0, _) => f.write_str(&self.message),
            (r, true) => write!(f, "row {r}: {}", self.message),
            (r, false) => write!(f, "row {r}, {}: {}", self.column, self.message),
        }
    }
}

impl std::error::Error for RowError {}

/// One row ready for the invite use case.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ValidatedRow {
    /// The row in the file (header = 1), for the job's results report.
    pub row: usize,
    pub email: Email,
    pub server_id: ServerId,
    pub plan_id: PlanId,
    pub quantity: u32,
    /// The Amount column, or quantity × the plan's cost; in the plan's currency.
    pub amount: Money,
    /// The file's value, or `bulk-<file hash>-<row>` when blank (see [`ValidatedRow::transaction_id_generated`]).
    pub transaction_id: String,
    /// Whether `transaction_id` was generated: the same file uploaded again yields the same ids,
    /// so a second import of it is caught as "already recorded".
    pub transaction_id_generated: bool,
    /// Unix seconds: the date given (midnight UTC for a bare date) or "now".
    pub payment_date: i64,
    pub payment_method: String,
    /// The Jellyfin/Emby user name; `None` when blank.
    pub username: Option<String>,
    pub permanent: bool,
    pub notes: String,
}

/// A file that passed every rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ValidatedFile {
    pub rows: Vec<ValidatedRow>,
    /// Columns the header named that boxoffice does not know; their values are ignored. Shown to
    /// the owner so a misspelt optional column ("Qty") is not lost silently.
    pub unknown_columns: Vec<String>,
    /// FNV-1a 64 of the uploaded bytes, hex; the stem of generated transaction ids.
    pub file_hash: String,
}

/// Parses and validates an upload. See the module documentation.
pub fn validate(bytes: &[u8], ctx: &Context<'_>) -> Result<ValidatedFile, Vec<RowError>> {
    Upload::parse(bytes)?.validate(ctx)
}

/// An upload whose file-level checks passed (size, encoding, header), its rows not yet
/// checked. Lets the caller look up only the transaction ids the file uses
/// ([`Upload::transaction_ids`]) before [`Upload::validate`], rather than every id recorded.
pub struct Upload {
    parsed: file::ParsedFile,
    file_hash: String,
}

impl Upload {
    pub fn parse(bytes: &[u8]) -> Result<Self, Vec<RowError>> {
        Ok(Self {
            parsed: file::parse(bytes)?,
            file_hash: format!("{:016x}", fnv1a64(bytes)),
        })
    }

    /// The transaction id each row would record: its Transaction ID cell, or the id generated
    /// for a blank one. The caller passes those already recorded as
    /// [`Context::existing_transaction_ids`].
    pub fn transaction_ids(&self) -> Vec<String> {
        self.parsed
            .rows
            .iter()
            .map(|r| {
                rules::transaction_id(
                    self.parsed.cell(r, Column::TransactionId),
                    &self.file_hash,
                    r.row,
                )
                .0
            })
            .collect()
    }

    pub fn validate(self, ctx: &Context<'_>) -> Result<ValidatedFile, Vec<RowError>> {
        let rows = rules::validate_rows(&self.parsed, &self.file_hash, ctx)?;
        Ok(ValidatedFile {
            rows,
            unknown_columns: self.parsed.unknown_columns,
            file_hash: self.file_hash,
        })
    }
}

/// FNV-1a, 64 bits. Chosen over `std::hash` because its output must never change between Rust
/// releases: generated transaction ids are stored and compared across uploads. Not a security
/// hash; it only has to tell different files apart.
fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The refusal of a file over [`MAX_FILE_BYTES`]. An upload is read no further than the limit,
/// so the message does not claim to know the file's size.
pub fn file_too_large() -> RowError {
    file_error(format!(
        "the file is larger than {MAX_FILE_BYTES} bytes (5 MiB), the most one upload may hold: split it into several files"
    ))
}

fn file_error(message: impl Into<String>) -> RowError {
    RowError {
        row: 0,
        column: String::new(),
        value: String::new(),
        message: message.into(),
    }
}
