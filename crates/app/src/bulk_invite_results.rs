//! The end of a bulk invite: the import marked finished, and the results e-mailed to the
//! administrator (operations §6.17 "e-mails the results") with every failed row and its reason,
//! and links to the import's page and its report, so the owner can act from the message alone.

use crate::notify::Notice;
use crate::{App, AppError};
use boxoffice_store::bulk_invites::{self, BulkInviteRow, ImportRow};

/// The notification event of a finished import.
pub const BULK_INVITE_FINISHED: &str = "bulk_invite_finished";

/// Failed rows listed in the message itself; the report has them all.
pub const FAILED_ROWS_LISTED: usize = 50;

impl App {
    /// Marks import `id` finished and queues its results message, in one transaction. Told once
    /// per run: a retry of the failed rows finishes (and tells) again.
    pub(crate) async fn finish_bulk_invite(&self, id: i64) -> Result<(), AppError> {
        let mut tx = self.db.begin().await?;
        bulk_invites::finish(tx.ex(), id, self.now()).await?;
        let b = bulk_invites::find(tx.ex(), id).await?;
        let failed = bulk_invites::failed_rows(tx.ex(), id, FAILED_ROWS_LISTED).await?;
        let settings = App::settings_in(tx.ex()).await?;
        let links = Links::new(settings.get("general.site_uri"), id);
        self.notify(
            tx.ex(),
            results_notice(&b, &failed, &links)
                .once(format!("bulk_invite_done:{id}:{}", b.retries)),
        )
        .await?;
        tx.commit().await?;
        // A bulk load changes the tables the Users page plans its queries from: PostgreSQL gets
        // fresh statistics now rather than whenever autovacuum comes round.
        boxoffice_store::maintenance::refresh_statistics(self.db.ex()).await?;
        Ok(())
    }
}

/// Where the owner follows up: the import's page and its report, absolute when the site's
/// address is set (a link in an e-mail has no page to be relative to).
pub struct Links {
    pub run: String,
    pub report: String,
}

impl Links {
    pub fn new(site_uri: &str, id: i64) -> Self {
        let base = site_uri.trim().trim_end_matches('/');
        let run = format!("{base}/admin/users/bulk-invite/{id}");
        Self {
            report: format!("{run}/report.csv"),
            run,
        }
    }
}

/// The results message: counts, each failed row with its reason (the first
/// [`FAILED_ROWS_LISTED`]), and the links.
pub fn results_notice(b: &BulkInviteRow, failed: &[ImportRow], links: &Links) -> Notice {
    let title = if b.failed_rows > 0 {
        format!("Bulk invite #{} finished: {} failed", b.id, b.failed_rows)
    } else {
        format!("Bulk invite #{} finished", b.id)
    };
    Notice::to_admin(BULK_INVITE_FINISHED, None)
        .with("title", title)
        .with("bulk_invite_id", b.id.to_string())
        .with("file_name", b.file_name.clone())
        .with("total_rows", b.total_rows.to_string())
        .with("done_rows", b.done_rows.to_string())
        .with("failed_rows", b.failed_rows.to_string())
        .with("failed_list", failed_list(failed, b.failed_rows))
        .with("run_url", links.run.clone())
        .with("report_url", links.report.clone())
}

/// One line per failed row: `row 3, ann@example.com (Jelly One): reason`.
pub fn failed_list(failed: &[ImportRow], failed_total: i64) -> String {
    if failed.is_empty() {
        return "None: every row was applied.".into();
    }
    let mut lines: Vec<String> = failed
        .iter()
        .take(FAILED_ROWS_LISTED)
        .map(|r| {
            format!(
                "row {}, {} ({}): {}",
                r.row_number,
                r.email,
                r.server_name,
                one_line(&r.message)
            )
        })
        .collect();
    let listed = i64::try_from(lines.len()).unwrap_or(i64::MAX);
    if failed_total > listed {
        lines.push(format!(
            "… and {} more: the report lists every row.",
            failed_total - listed
        ));
    }
    lines.join("\n")
}

/// A server's message may span lines; one row stays one line.
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(n: i64, message: &str) -> ImportRow {
        ImportRow {
            bulk_invite_id: 1,
            row_number: n,
            email: format!("u{n}@example.com"),
            server_id: 1,
            server_name: "Jelly One".into(),
            plan_id: 1,
            plan_name: "Basic".into(),
            quantity: 1,
            amount_minor: 500,
            currency: "USD".into(),
            transaction_id: format!("tx{n}"),
            payment_date: 0,
            payment_method: String::new(),
            username: None,
            permanent: false,
            notes: String::new(),
            outcome: "failed".into(),
            message: message.into(),
            customer_id: None,
            processed_at: None,
        }
    }

    #[test]
    fn each_failed_row_is_one_line_with_its_reason_and_a_long_list_is_cut() {
        let text = failed_list(&[row(3, "the server\nrefused the name")], 1);
        assert_eq!(
            text,
            "row 3, u3@example.com (Jelly One): the server refused the name"
        );
        let many: Vec<ImportRow> = (2..2 + 60).map(|n| row(n, "no")).collect();
        let text = failed_list(&many, 60);
        assert_eq!(text.lines().count(), FAILED_ROWS_LISTED + 1);
        assert!(text.ends_with("… and 10 more: the report lists every row."));
    }

    #[test]
    fn links_are_absolute_when_the_site_address_is_set() {
        let l = Links::new("https://tv.example.com/", 7);
        assert_eq!(l.run, "https://tv.example.com/admin/users/bulk-invite/7");
        assert_eq!(
            l.report,
            "https://tv.example.com/admin/users/bulk-invite/7/report.csv"
        );
        assert_eq!(Links::new("", 7).run, "/admin/users/bulk-invite/7");
    }
}
