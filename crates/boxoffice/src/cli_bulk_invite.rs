//! `boxoffice users bulk-invite FILE [--dry-run]`: the same use case as the API upload, then the
//! import's rows processed in this process, a chunk at a time so progress can be printed.

use crate::startup::{self, StartError};
use boxoffice_app::AppError;
use boxoffice_app::audit::Actor;
use boxoffice_app::bulk_invite::BulkInviteStart;
use boxoffice_config::Config;
use boxoffice_domain::SystemClock;
use boxoffice_jobs::{Runner, RunnerOptions, registry_with_builtins};
use std::path::Path;
use std::sync::Arc;

/// Rows processed between two progress lines.
const PROGRESS_EVERY: usize = 10;

pub enum Failure {
    /// The file was refused (exit 2); every error was printed.
    Invalid(String),
    /// Some rows failed (exit 1); the summary was printed.
    Rows(String),
    Start(StartError),
    App(AppError),
}

impl From<AppError> for Failure {
    fn from(e: AppError) -> Self {
        Failure::App(e)
    }
}

pub async fn run(cfg: &Config, file: &Path, dry_run: bool) -> Result<(), Failure> {
    let bytes = std::fs::read(file)
        .map_err(|e| Failure::Invalid(format!("cannot read {}: {e}", file.display())))?;
    let app = startup::build_app(cfg, Arc::new(SystemClock))
        .await
        .map_err(Failure::Start)?;
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let result = import(&app, &name, &bytes, dry_run).await;
    app.db.close().await;
    result
}

/// Header columns boxoffice does not read: said on stderr so a misspelt optional column is
/// noticed, while stdout stays the rows.
fn warn_unknown(columns: &[String]) {
    if !columns.is_empty() {
        eprintln!("warning: unknown column(s) ignored: {}", columns.join(", "));
    }
}

async fn import(
    app: &boxoffice_app::App,
    name: &str,
    bytes: &[u8],
    dry_run: bool,
) -> Result<(), Failure> {
    let id = match app
        .start_bulk_invite(&Actor::cli(), name, bytes, dry_run)
        .await?
    {
        BulkInviteStart::Invalid { errors } => {
            for e in &errors {
                eprintln!(
                    "row {}, column {}, value {:?}: {}",
                    e.row,
                    if e.column.is_empty() { "-" } else { &e.column },
                    e.value,
                    e.message
                );
            }
            return Err(Failure::Invalid(format!(
                "the file has {} problem(s); nothing was imported",
                errors.len()
            )));
        }
        BulkInviteStart::DryRun {
            rows,
            unknown_columns,
        } => {
            warn_unknown(&unknown_columns);
            for r in &rows {
                let action = serde_json::to_value(&r.action)
                    .ok()
                    .and_then(|v| v["kind"].as_str().map(str::to_string))
                    .unwrap_or_default();
                let period = r
                    .period
                    .map(|p| format!("{} to {}", day(p.from), day(p.to)))
                    .unwrap_or_default();
                println!(
                    "row {}\t{}\t{}\t{}\t{}\t{}",
                    r.row, r.email, r.server, r.plan, action, period
                );
            }
            println!("dry run: {} rows would be imported", rows.len());
            return Ok(());
        }
        BulkInviteStart::Started {
            id,
            rows,
            unknown_columns,
        } => {
            warn_unknown(&unknown_columns);
            println!("import #{id} started: {rows} rows");
            id
        }
    };
    loop {
        let n = app.run_bulk_invite(id, Some(PROGRESS_EVERY)).await?;
        let s = app.bulk_invite_status(id).await?;
        println!(
            "progress: {} done, {} failed, {} remaining",
            s.import.done_rows, s.import.failed_rows, s.remaining
        );
        if n == 0 || s.remaining == 0 {
            break;
        }
    }
    // The queued job (and the share jobs the invites queued) now find their work done or
    // converge on it; running them here leaves nothing behind for a server to repeat.
    let runner = Runner::new(
        app.clone(),
        Arc::new(registry_with_builtins()),
        RunnerOptions::default(),
    );
    if let Err(e) = runner.run_pending().await {
        eprintln!("warning: queued jobs could not all run now: {e}; the server will retry them");
    }
    let s = app.bulk_invite_status(id).await?;
    for r in s.rows.iter().filter(|r| r.outcome == "failed") {
        eprintln!("row {} ({}): failed: {}", r.row_number, r.email, r.message);
    }
    println!(
        "import #{id} finished: {} done, {} failed of {} rows",
        s.import.done_rows, s.import.failed_rows, s.import.total_rows
    );
    if s.import.failed_rows > 0 {
        return Err(Failure::Rows(format!(
            "{} row(s) failed; retry them with POST /api/v1/bulk-invites/{id}/retry-failed",
            s.import.failed_rows
        )));
    }
    Ok(())
}

/// `YYYY-MM-DD` of a Unix time, UTC (H. Hinnant's civil-from-days; the binary has no date crate).
fn day(t: i64) -> String {
    let z = t.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}
