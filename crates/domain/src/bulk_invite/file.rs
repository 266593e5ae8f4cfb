//! The file level: size, encoding, delimiter, header. Problems found here reject the file as a
//! whole, because no row can be read reliably without a sound header.

use super::{MAX_FILE_BYTES, MAX_ROWS, RowError, file_error};
use serde::Serialize;
use std::fmt;

/// The columns boxoffice reads. Email, Server Name and Plan Name are required.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Column {
    Email,
    ServerName,
    PlanName,
    Quantity,
    TransactionId,
    Amount,
    PaymentDate,
    PaymentMethod,
    Username,
    Permanent,
    Notes,
}

impl Column {
    pub const ALL: [Column; 11] = [
        Column::Email,
        Column::ServerName,
        Column::PlanName,
        Column::Quantity,
        Column::TransactionId,
        Column::Amount,
        Column::PaymentDate,
        Column::PaymentMethod,
        Column::Username,
        Column::Permanent,
        Column::Notes,
    ];

    /// The name used in messages and in the documentation.
    pub fn name(self) -> &'static str {
        match self {
            Column::Email => "Email",
            Column::ServerName => "Server Name",
            Column::PlanName => "Plan Name",
            Column::Quantity => "Quantity",
            Column::TransactionId => "Transaction ID",
            Column::Amount => "Amount",
            Column::PaymentDate => "Payment Date",
            Column::PaymentMethod => "Payment Method",
            Column::Username => "Username",
            Column::Permanent => "Permanent",
            Column::Notes => "Notes",
        }
    }

    pub fn required(self) -> bool {
        matches!(self, Column::Email | Column::ServerName | Column::PlanName)
    }

    /// Recognises a header cell: case, spaces, underscores and hyphens are ignored ("E-mail",
    /// "SERVER_NAME", "plan name"). "Start Date" and "Is Permanent" are accepted too: they are
    /// the names the spec's proposed header uses (operations §6.17).
    pub fn from_header(cell: &str) -> Option<Column> {
        let key: String = cell
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '_' && *c != '-')
            .flat_map(char::to_lowercase)
            .collect();
        Some(match key.as_str() {
            "email" | "emailaddress" => Column::Email,
            "servername" | "server" => Column::ServerName,
            "planname" | "plan" => Column::PlanName,
            "quantity" => Column::Quantity,
            "transactionid" => Column::TransactionId,
            "amount" => Column::Amount,
            "paymentdate" | "startdate" => Column::PaymentDate,
            "paymentmethod" => Column::PaymentMethod,
            "username" => Column::Username,
            "permanent" | "ispermanent" => Column::Permanent,
            "notes" => Column::Notes,
            _ => return None,
        })
    }

    pub(super) fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Column {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A data row as read: its row number (header = 1) and its cells.
pub(super) struct RawRow {
    pub row: usize,
    pub cells: csv::StringRecord,
}

pub(super) struct ParsedFile {
    /// For each [`Column`] (by [`Column::index`]), the position of its cell, if the header has it.
    pub positions: [Option<usize>; 11],
    pub header_len: usize,
    pub rows: Vec<RawRow>,
    pub unknown_columns: Vec<String>,
}

impl ParsedFile {
    /// The trimmed cell of `column` in `row`; "" when the column is absent or the row short.
    pub fn cell<'r>(&self, row: &'r RawRow, column: Column) -> &'r str {
        self.positions[column.index()]
            .and_then(|p| row.cells.get(p))
            .map_or("", str::trim)
    }
}

const NOT_CSV: &str = "this is not a CSV file: save the spreadsheet as \"CSV UTF-8\" with a header row naming Email, Server Name and Plan Name";

pub(super) fn parse(bytes: &[u8]) -> Result<ParsedFile, Vec<RowError>> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(vec![super::file_too_large()]);
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    // A NUL never occurs in text a spreadsheet exports; it marks a binary file (xlsx, image).
    if bytes.contains(&0) {
        return Err(vec![file_error(format!(
            "{NOT_CSV} (it contains binary data; an .xlsx workbook must be exported as CSV first)"
        ))]);
    }
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Err(vec![file_error(
            "the file is not UTF-8 text: save it as \"CSV UTF-8\"",
        )]);
    };
    let trimmed = text.trim_start();
    if trimmed.is_empty() {
        return Err(vec![file_error("the file is empty")]);
    }
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        return Err(vec![file_error(format!("{NOT_CSV} (it looks like JSON)"))]);
    }
    if trimmed.starts_with('<') {
        return Err(vec![file_error(format!(
            "{NOT_CSV} (it looks like HTML or XML)"
        ))]);
    }

    let delimiter = detect_delimiter(text);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        // Rows may be shorter or longer than the header; the rules report it per row instead of
        // the reader failing the whole file.
        .flexible(true)
        .from_reader(text.as_bytes());

    let mut records = reader.records();
    let header = match records.next() {
        Some(Ok(h)) => h,
        Some(Err(e)) => return Err(vec![file_error(format!("{NOT_CSV} ({e})"))]),
        None => return Err(vec![file_error("the file is empty")]),
    };

    let mut positions = [None; 11];
    let mut unknown_columns = Vec::new();
    let mut errors = Vec::new();
    for (i, cell) in header.iter().enumerate() {
        let cell = cell.trim();
        match Column::from_header(cell) {
            Some(c) if positions[c.index()].is_some() => errors.push(RowError {
                row: 1,
                column: c.name().into(),
                value: cell.into(),
                message: format!("the column {c} appears twice in the header"),
            }),
            Some(c) => positions[c.index()] = Some(i),
            // A trailing delimiter gives an empty header cell; nothing is lost by ignoring it.
            None if cell.is_empty() => {}
            None => unknown_columns.push(cell.to_string()),
        }
    }
    if positions.iter().all(Option::is_none) {
        return Err(vec![file_error(format!(
            "{NOT_CSV} (the first line names none of the columns)"
        ))]);
    }
    for c in Column::ALL.into_iter().filter(|c| c.required()) {
        if positions[c.index()].is_none() {
            errors.push(RowError {
                row: 1,
                column: c.name().into(),
                value: String::new(),
                message: format!("the required column {c} is missing from the header"),
            });
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }

    let mut rows = Vec::new();
    for (i, record) in records.enumerate() {
        let row = i + 2;
        let cells = match record {
            Ok(r) => r,
            Err(e) => {
                errors.push(RowError {
                    row,
                    column: String::new(),
                    value: String::new(),
                    message: format!("the row cannot be read: {e}"),
                });
                continue;
            }
        };
        // A row of empty cells is what spreadsheets export below the data; it is not a user.
        if cells.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        if rows.len() == MAX_ROWS {
            return Err(vec![file_error(format!(
                "the file has more than {MAX_ROWS} data rows: split it into several files"
            ))]);
        }
        rows.push(RawRow { row, cells });
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    if rows.is_empty() {
        return Err(vec![file_error(
            "the file has a header but no data rows: add one row per user below it",
        )]);
    }
    Ok(ParsedFile {
        positions,
        header_len: header.len(),
        rows,
        unknown_columns,
    })
}

/// Comma or semicolon, whichever the header line holds more of outside quotes (spreadsheets in
/// locales with a decimal comma export semicolons). A tie, including neither, means comma.
pub(super) fn detect_delimiter(text: &str) -> u8 {
    let (mut commas, mut semicolons, mut quoted) = (0usize, 0usize, false);
    for c in text.chars() {
        match c {
            '"' => quoted = !quoted,
            '\n' | '\r' if !quoted => break,
            ',' if !quoted => commas += 1,
            ';' if !quoted => semicolons += 1,
            _ => {}
        }
    }
    if semicolons > commas { b';' } else { b',' }
}
