use super::*;
use crate::coverage::Period;
use crate::money::Currency;
use proptest::prelude::*;
use std::collections::HashMap;
use time::macros::datetime;

const STANDARD: i64 = 1;
const PREMIUM_4K: i64 = 2;
const PRIVATE: i64 = 3;
const ALPHA: i64 = 1;
const BETA: i64 = 2;
const JELLY: i64 = 3;
const EMBY: i64 = 4;
const BASIC: i64 = 1;
const PREMIUM: i64 = 2;

fn now() -> i64 {
    datetime!(2026-11-28 12:00 UTC).unix_timestamp()
}

fn usd(minor: i64) -> Money {
    Money::new(minor, Currency::parse("USD").unwrap())
}

fn server(id: i64, name: &str, platform: Platform, groups: &[i64]) -> CatalogueServer {
    CatalogueServer {
        id,
        name: name.into(),
        platform,
        library_group_ids: groups.to_vec(),
        free_slots: None,
    }
}

fn plan(id: i64, name: &str, minor: i64, days: u32, groups: &[i64]) -> CataloguePlan {
    CataloguePlan {
        id,
        name: name.into(),
        cost: usd(minor),
        duration: PlanDuration::Days(days),
        library_group_ids: groups.to_vec(),
    }
}

/// The catalogue of `fixtures/bulk-invite/README.md` at the repository root.
fn catalogue() -> Catalogue {
    Catalogue {
        servers: vec![
            server(
                ALPHA,
                "Plex Alpha",
                Platform::Plex,
                &[STANDARD, PREMIUM_4K, PRIVATE],
            ),
            server(BETA, "Plex Beta", Platform::Plex, &[STANDARD, PREMIUM_4K]),
            server(JELLY, "Jelly One", Platform::Jellyfin, &[STANDARD]),
            server(EMBY, "Emby One", Platform::Emby, &[STANDARD]),
        ],
        plans: vec![
            plan(BASIC, "Basic", 500, 30, &[STANDARD]),
            plan(PREMIUM, "Premium 4K", 1000, 30, &[STANDARD, PREMIUM_4K]),
            plan(3, "Free Trial", 0, 7, &[STANDARD]),
        ],
        groups: vec![
            CatalogueGroup {
                id: STANDARD,
                name: "Standard".into(),
            },
            CatalogueGroup {
                id: PREMIUM_4K,
                name: "Premium 4K".into(),
            },
            CatalogueGroup {
                id: PRIVATE,
                name: "Private".into(),
            },
        ],
    }
}

fn run_with(
    bytes: &[u8],
    cat: &Catalogue,
    existing: &HashSet<String>,
) -> Result<ValidatedFile, Vec<RowError>> {
    validate(
        bytes,
        &Context {
            catalogue: cat,
            existing_transaction_ids: existing,
            now: now(),
        },
    )
}

fn run(text: &str) -> Result<ValidatedFile, Vec<RowError>> {
    run_with(text.as_bytes(), &catalogue(), &HashSet::new())
}

fn ok(text: &str) -> ValidatedFile {
    match run(text) {
        Ok(f) => f,
        Err(e) => panic!("expected valid, got {e:#?}"),
    }
}

fn errs(text: &str) -> Vec<RowError> {
    match run(text) {
        Ok(f) => panic!("expected errors, got {f:#?}"),
        Err(e) => e,
    }
}

/// The only error of a one-row file, with the header `Email,Server Name,Plan Name,<extra>`.
fn one_error(extra_header: &str, row: &str) -> RowError {
    let header = if extra_header.is_empty() {
        "Email,Server Name,Plan Name".to_string()
    } else {
        format!("Email,Server Name,Plan Name,{extra_header}")
    };
    let e = errs(&format!("{header}\n{row}\n"));
    assert_eq!(e.len(), 1, "{e:#?}");
    e.into_iter().next().unwrap()
}

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../../fixtures/bulk-invite/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn run_fixture(name: &str) -> Result<ValidatedFile, Vec<RowError>> {
    run_with(&fixture(name), &catalogue(), &HashSet::new())
}

// ---- the fixtures: each gives the outcome its name and the README say ----

#[test]
fn fixture_valid_minimal() {
    let f = run_fixture("valid-minimal.csv").unwrap();
    assert_eq!(f.rows.len(), 3);
    assert!(f.unknown_columns.is_empty());
    let r = &f.rows[1];
    assert_eq!((r.row, r.email.as_str()), (3, "bob@example.com"));
    assert_eq!((r.server_id, r.plan_id, r.quantity), (BETA, PREMIUM, 1));
    assert_eq!(r.amount, usd(1000));
    assert_eq!(r.payment_date, now());
    for r in &f.rows {
        assert!(r.transaction_id_generated);
        assert_eq!(r.transaction_id, format!("bulk-{}-{}", f.file_hash, r.row));
        assert_eq!(r.quantity, 1);
    }
    // The same bytes give the same ids, so a re-upload is recognised.
    let again = run_fixture("valid-minimal.csv").unwrap();
    assert_eq!(again.rows, f.rows);
}

#[test]
fn fixture_valid_all_columns() {
    let f = run_fixture("valid-all-columns.csv").unwrap();
    assert_eq!(f.rows.len(), 4);
    assert!(f.unknown_columns.is_empty());
    let dave = &f.rows[0];
    assert_eq!(
        (dave.server_id, dave.plan_id, dave.quantity),
        (ALPHA, PREMIUM, 3)
    );
    assert_eq!(dave.amount, usd(3000));
    assert_eq!(dave.transaction_id, "TX-1001");
    assert!(!dave.transaction_id_generated);
    assert_eq!(
        dave.payment_date,
        datetime!(2026-11-01 00:00 UTC).unix_timestamp()
    );
    assert_eq!(dave.payment_method, "PayPal");
    assert_eq!(dave.notes, "Three months, paid ahead");
    assert_eq!(dave.username, None);
    let erin = &f.rows[1];
    assert_eq!(
        (erin.server_id, erin.username.as_deref()),
        (JELLY, Some("erin"))
    );
    assert_eq!(
        erin.payment_date,
        datetime!(2026-11-15 10:30 UTC).unix_timestamp()
    );
    let frank = &f.rows[2];
    assert_eq!(
        (frank.server_id, frank.username.as_deref()),
        (EMBY, Some("frank_e"))
    );
    assert_eq!(frank.amount, usd(1000), "default: 2 × 5.00");
    assert_eq!(frank.notes, "Neighbour; asked for \"the usual\"");
    let grace = &f.rows[3];
    assert!(grace.permanent && grace.transaction_id_generated);
    assert_eq!(grace.notes, "Lifetime access");
}

#[test]
fn fixture_valid_semicolon_bom_crlf() {
    let bytes = fixture("valid-semicolon-bom-crlf.csv");
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"));
    let f = run_with(&bytes, &catalogue(), &HashSet::new()).unwrap();
    assert_eq!(f.rows.len(), 2);
    assert_eq!(f.rows[0].email.as_str(), "heidi@example.com");
    assert_eq!((f.rows[0].server_id, f.rows[0].quantity), (BETA, 2));
    assert_eq!(f.rows[0].amount, usd(1000));
    assert_eq!((f.rows[1].server_id, f.rows[1].plan_id), (ALPHA, PREMIUM));
}

#[test]
fn fixture_invalid_missing_required_column() {
    let e = run_fixture("invalid-missing-required-column.csv").unwrap_err();
    assert_eq!(e.len(), 1, "{e:#?}");
    assert_eq!((e[0].row, e[0].column.as_str()), (1, "Plan Name"));
    assert!(
        e[0].message
            .contains("required column Plan Name is missing")
    );
}

#[test]
fn fixture_invalid_rows_one_error_per_row_as_its_notes_say() {
    let bytes = fixture("invalid-rows.csv");
    let e = run_with(&bytes, &catalogue(), &HashSet::new()).unwrap_err();
    // (column, a phrase the message must contain) per data row, in the order of the Notes.
    let expected: [(&str, &[&str]); 10] = [
        ("Email", &["malformed"]),
        ("Server Name", &["Plex Gamma", "Plex Alpha or Plex Beta"]),
        ("Plan Name", &["no plan is named \"Platinum\""]),
        ("Quantity", &["at least 1"]),
        ("Quantity", &["not a whole number"]),
        ("Amount", &["not a number"]),
        ("Payment Date", &["not a date"]),
        ("Username", &["Jellyfin", "needs a Username"]),
        ("Email", &["Email is empty"]),
        ("Server Name", &["Jelly One has no Premium 4K library"]),
    ];
    assert_eq!(e.len(), expected.len(), "{e:#?}");
    // Each row's Notes cell is the fixture's own statement of the error; check it names the
    // same thing (and so that the table above follows the file).
    let text = String::from_utf8(bytes).unwrap();
    let notes: Vec<&str> = text
        .lines()
        .skip(1)
        .map(|l| l.rsplit(',').next().unwrap())
        .collect();
    for (i, (err, (column, phrases))) in e.iter().zip(expected).enumerate() {
        assert_eq!(err.row, i + 2, "{err:?}");
        assert_eq!(
            err.column,
            column,
            "row {}: {err:?} (notes: {})",
            i + 2,
            notes[i]
        );
        for p in phrases {
            assert!(
                err.message.contains(p),
                "row {}: {:?} lacks {p:?} (notes: {})",
                i + 2,
                err.message,
                notes[i]
            );
        }
    }
    assert_eq!(e[0].value, "not-an-email");
    assert_eq!(e[4].value, "two");
    assert_eq!(e[6].value, "2026-13-40");
}

#[test]
fn fixture_invalid_duplicates() {
    let e = run_fixture("invalid-duplicates.csv").unwrap_err();
    assert_eq!(e.len(), 2, "{e:#?}");
    assert_eq!(
        (e[0].row, e[0].column.as_str(), e[0].value.as_str()),
        (3, "Email", "Sam@Example.com")
    );
    assert!(e[0].message.contains("same e-mail as row 2"));
    assert_eq!(
        (e[1].row, e[1].column.as_str(), e[1].value.as_str()),
        (5, "Transaction ID", "TX-3003")
    );
    assert!(e[1].message.contains("same Transaction ID as row 4"));
}

#[test]
fn fixture_invalid_header_only() {
    let e = run_fixture("invalid-header-only.csv").unwrap_err();
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].row, 0);
    assert!(e[0].message.contains("no data rows"));
}

#[test]
fn fixture_invalid_not_csv() {
    let e = run_fixture("invalid-not-csv.csv").unwrap_err();
    assert_eq!(e.len(), 1);
    assert!(e[0].message.contains("not a CSV file") && e[0].message.contains("JSON"));
}

// ---- the file level ----

#[test]
fn headers_match_ignoring_case_spaces_underscores_and_hyphens() {
    let f = ok("E-MAIL , server_name,PLANNAME, Quantity\nann@example.com,plex alpha, basic ,2\n");
    assert_eq!(
        (f.rows[0].server_id, f.rows[0].plan_id, f.rows[0].quantity),
        (ALPHA, BASIC, 2)
    );
    assert_eq!(
        Column::from_header("Transaction_ID"),
        Some(Column::TransactionId)
    );
    assert_eq!(Column::from_header("Start Date"), Some(Column::PaymentDate));
    assert_eq!(Column::from_header("Is Permanent"), Some(Column::Permanent));
    assert_eq!(Column::from_header("Qty"), None);
}

#[test]
fn unknown_columns_are_reported_not_dropped_silently() {
    let f = ok("Email,Qty,Server Name,Plan Name,\nann@example.com,3,Plex Alpha,Basic,\n");
    assert_eq!(f.unknown_columns, vec!["Qty".to_string()]);
    assert_eq!(f.rows[0].quantity, 1);
}

#[test]
fn every_missing_required_column_is_named() {
    let e = errs("Email,Notes\nann@example.com,x\n");
    let cols: Vec<&str> = e.iter().map(|e| e.column.as_str()).collect();
    assert_eq!(cols, ["Server Name", "Plan Name"]);
    assert!(e.iter().all(|e| e.row == 1));
}

#[test]
fn a_column_named_twice_is_rejected() {
    let e =
        errs("Email,Server Name,Plan Name,email\na@example.com,Plex Alpha,Basic,b@example.com\n");
    assert_eq!((e[0].row, e[0].column.as_str()), (1, "Email"));
    assert!(e[0].message.contains("twice"));
}

#[test]
fn semicolons_are_detected_from_the_header_line_only() {
    // The header has more semicolons; the commas inside the notes do not count.
    let f = ok("Email;Server Name;Plan Name;Notes\nann@example.com;Plex Alpha;Basic;a, b, c, d\n");
    assert_eq!(f.rows[0].notes, "a, b, c, d");
    assert_eq!(file_detect(","), b',');
    assert_eq!(file_detect("a;b,c;d"), b';');
    assert_eq!(file_detect("\"a;b;c\",d"), b',');
}

fn file_detect(header: &str) -> u8 {
    super::file::detect_delimiter(header)
}

#[test]
fn crlf_lf_bom_and_quoted_newlines_are_read() {
    let text = "\u{feff}Email,Server Name,Plan Name,Notes\r\nann@example.com,Plex Alpha,Basic,\"two\r\nlines\"\r\nbea@example.com,Plex Beta,Basic,\n";
    let f = ok(text);
    assert_eq!(f.rows.len(), 2);
    assert_eq!(f.rows[0].notes, "two\r\nlines");
    // Rows are counted as records, as a spreadsheet shows them, not as lines.
    assert_eq!(f.rows[1].row, 3);
}

#[test]
fn blank_rows_are_skipped_but_keep_the_numbering() {
    let f = ok("Email,Server Name,Plan Name\n,,\nann@example.com,Plex Alpha,Basic\n,,\n");
    assert_eq!(f.rows.len(), 1);
    assert_eq!(f.rows[0].row, 3);
}

#[test]
fn cells_beyond_the_header_are_an_error() {
    let e = one_error("", "ann@example.com,Plex Alpha,Basic,oops");
    assert_eq!(
        (e.row, e.column.as_str(), e.value.as_str()),
        (2, "", "oops")
    );
    assert!(e.message.contains("more cells than the header"));
}

#[test]
fn short_rows_read_missing_cells_as_blank() {
    let e = errs("Email,Server Name,Plan Name\nann@example.com,Plex Alpha\n");
    assert_eq!(
        (e[0].column.as_str(), e[0].message.as_str()),
        ("Plan Name", "Plan Name is empty")
    );
}

#[test]
fn files_that_are_not_csv_are_rejected_as_a_whole() {
    let cases: [(&[u8], &str); 7] = [
        (b"", "empty"),
        (b"   \n\n", "empty"),
        (b"[1,2,3]", "JSON"),
        (b"<html><body>hi</body></html>", "HTML"),
        (b"PK\x03\x04\x00\x00binary", "binary"),
        (b"Email,Server Name,Plan Name\n\xff\xfe\n", "not UTF-8"),
        (
            b"just some words\nmore words\n",
            "names none of the columns",
        ),
    ];
    for (bytes, phrase) in cases {
        let e = run_with(bytes, &catalogue(), &HashSet::new()).unwrap_err();
        assert_eq!(e.len(), 1, "{bytes:?}: {e:?}");
        assert_eq!(e[0].row, 0);
        assert!(e[0].message.contains(phrase), "{bytes:?}: {}", e[0].message);
    }
}

#[test]
fn the_size_and_row_limits_hold() {
    let big = vec![b'a'; MAX_FILE_BYTES + 1];
    let e = run_with(&big, &catalogue(), &HashSet::new()).unwrap_err();
    assert!(e[0].message.contains("5 MiB"));

    let mut text = String::from("Email,Server Name,Plan Name\n");
    for i in 0..MAX_ROWS {
        text.push_str(&format!("u{i}@example.com,Plex Alpha,Basic\n"));
    }
    assert_eq!(ok(&text).rows.len(), MAX_ROWS);
    text.push_str("last@example.com,Plex Alpha,Basic\n");
    let e = errs(&text);
    assert_eq!(e.len(), 1);
    assert!(e[0].message.contains("more than 10000 data rows"));
}

// ---- the row rules ----

#[test]
fn email_must_be_present_and_well_formed() {
    let e = one_error("", " ,Plex Alpha,Basic");
    assert_eq!(
        (e.column.as_str(), e.message.as_str()),
        ("Email", "Email is empty")
    );
    let e = one_error("", "ann@@example,Plex Alpha,Basic");
    assert!(e.message.starts_with("Email is malformed"));
    assert_eq!(e.value, "ann@@example");
}

#[test]
fn unknown_server_or_plan_suggests_the_closest_name() {
    let e = one_error("", "ann@example.com,Plex Alpah,Basic");
    assert_eq!(e.column, "Server Name");
    assert!(
        e.message.contains("did you mean Plex Alpha?"),
        "{}",
        e.message
    );
    let e = one_error("", "ann@example.com,Plex Alpha,Premium");
    assert!(
        e.message.contains("did you mean Premium 4K?"),
        "{}",
        e.message
    );
    let e = one_error("", "ann@example.com,Plex Alpha,Gold");
    assert!(
        e.message
            .contains("the plans are: Basic, Premium 4K, Free Trial"),
        "{}",
        e.message
    );
    let e = one_error("", "ann@example.com,,Basic");
    assert_eq!(e.message, "Server Name is empty");
}

#[test]
fn the_server_must_carry_every_group_of_the_plan() {
    let e = one_error("Username", "ann@example.com,Emby One,Premium 4K,ann");
    assert_eq!(
        (e.column.as_str(), e.value.as_str()),
        ("Server Name", "Emby One")
    );
    assert!(
        e.message
            .starts_with("Emby One has no Premium 4K library, which the plan Premium 4K shares")
    );
}

#[test]
fn a_server_takes_no_more_rows_than_it_has_room_for() {
    let mut cat = catalogue();
    cat.servers[0].free_slots = Some(1);
    cat.servers[1].free_slots = Some(0);
    let text = "Email,Server Name,Plan Name\na@example.com,Plex Alpha,Basic\nb@example.com,Plex Alpha,Basic\nc@example.com,Plex Beta,Basic\nd@example.com,Jelly One,Premium 4K\n";
    let e = run_with(text.as_bytes(), &cat, &HashSet::new()).unwrap_err();
    let rows: Vec<(usize, &str)> = e.iter().map(|e| (e.row, e.column.as_str())).collect();
    // Row 5 is wrong for another reason and does not also count against capacity.
    assert_eq!(
        rows,
        [
            (3, "Server Name"),
            (4, "Server Name"),
            (5, "Server Name"),
            (5, "Username")
        ]
    );
    assert!(
        e[0].message
            .contains("Plex Alpha has room for 1 more users and this is user 2")
    );
    assert!(e[1].message.contains("Plex Beta has room for 0 more users"));
}

#[test]
fn transaction_ids_are_unique_in_the_file_and_the_database() {
    let existing: HashSet<String> = ["TX-OLD".to_string()].into();
    let text = "Email,Server Name,Plan Name,Transaction ID\na@example.com,Plex Alpha,Basic,TX-OLD\nb@example.com,Plex Alpha,Basic,TX-1\nc@example.com,Plex Alpha,Basic,TX-1\n";
    let e = run_with(text.as_bytes(), &catalogue(), &existing).unwrap_err();
    assert_eq!(e.len(), 2);
    assert_eq!((e[0].row, e[0].value.as_str()), (2, "TX-OLD"));
    assert!(e[0].message.contains("already recorded"));
    assert_eq!(e[1].row, 4);
    // Transaction ids compare exactly, as the store's unique key does.
    ok(
        "Email,Server Name,Plan Name,Transaction ID\na@example.com,Plex Alpha,Basic,tx-1\nb@example.com,Plex Alpha,Basic,TX-1\n",
    );
}

#[test]
fn generated_transaction_ids_make_a_reupload_detectable() {
    let text = "Email,Server Name,Plan Name\na@example.com,Plex Alpha,Basic\n";
    let first = ok(text);
    let id = first.rows[0].transaction_id.clone();
    assert!(id.starts_with("bulk-") && id.ends_with("-2"));
    let recorded: HashSet<String> = [id].into();
    let e = run_with(text.as_bytes(), &catalogue(), &recorded).unwrap_err();
    assert!(e[0].message.contains("this file was already imported"));
    // A different file gets different ids.
    let other = ok("Email,Server Name,Plan Name\nb@example.com,Plex Alpha,Basic\n");
    assert_ne!(other.rows[0].transaction_id, first.rows[0].transaction_id);
}

#[test]
fn quantity_is_a_whole_number_from_1_to_the_maximum() {
    assert_eq!(
        ok("Email,Server Name,Plan Name,Quantity\na@example.com,Plex Alpha,Basic,\n").rows[0]
            .quantity,
        1
    );
    assert_eq!(
        ok("Email,Server Name,Plan Name,Quantity\na@example.com,Plex Alpha,Basic,120\n").rows[0]
            .quantity,
        120
    );
    for (raw, phrase) in [
        ("0", "at least 1"),
        ("121", "at most 120"),
        ("99999999999", "at most 120"),
        ("1.5", "not a whole number"),
        ("-1", "not a whole number"),
        ("two", "not a whole number"),
    ] {
        let e = one_error("Quantity", &format!("a@example.com,Plex Alpha,Basic,{raw}"));
        assert_eq!((e.column.as_str(), e.value.as_str()), ("Quantity", raw));
        assert!(e.message.contains(phrase), "{raw}: {}", e.message);
    }
}

#[test]
fn amount_defaults_to_quantity_times_cost_and_must_be_a_plain_number() {
    let f = ok(
        "Email,Server Name,Plan Name,Quantity,Amount\na@example.com,Plex Alpha,Premium 4K,3,\nb@example.com,Plex Alpha,Basic,1,12.5\nc@example.com,Plex Alpha,Free Trial,1,\n",
    );
    assert_eq!(f.rows[0].amount, usd(3000));
    assert_eq!(f.rows[1].amount, usd(1250));
    assert_eq!(f.rows[2].amount, usd(0));
    for (raw, phrase) in [
        ("abc", "not a number"),
        ("$5", "not a number"),
        ("5,00", "not a number"),
        ("1.234", "not a number"),
        ("-5", "negative"),
    ] {
        let e = one_error(
            "Amount",
            &format!("a@example.com,Plex Alpha,Basic,\"{raw}\""),
        );
        assert_eq!(e.column, "Amount");
        assert!(e.message.contains(phrase), "{raw}: {}", e.message);
    }
    // With an unknown plan the amount is still checked for its shape.
    let e = errs("Email,Server Name,Plan Name,Amount\na@example.com,Plex Alpha,Gold,abc\n");
    assert_eq!(e.len(), 2);
}

#[test]
fn payment_date_is_an_iso_date_or_date_time_defaulting_to_now() {
    let f = ok(
        "Email,Server Name,Plan Name,Payment Date\na@example.com,Plex Alpha,Basic,2026-11-01\nb@example.com,Plex Alpha,Basic,2026-11-01T10:30:00+02:00\nc@example.com,Plex Alpha,Basic,2026-11-01T10:30\nd@example.com,Plex Alpha,Basic,\n",
    );
    assert_eq!(
        f.rows[0].payment_date,
        datetime!(2026-11-01 00:00 UTC).unix_timestamp()
    );
    assert_eq!(
        f.rows[1].payment_date,
        datetime!(2026-11-01 08:30 UTC).unix_timestamp()
    );
    assert_eq!(
        f.rows[2].payment_date,
        datetime!(2026-11-01 10:30 UTC).unix_timestamp()
    );
    assert_eq!(f.rows[3].payment_date, now());
    for (raw, phrase) in [
        ("2026-13-40", "not a date"),
        ("01/11/2026", "not a date"),
        ("yesterday", "not a date"),
        ("1999-12-31", "before the year 2000"),
        ("2028-01-01", "more than a year in the future"),
    ] {
        let e = one_error(
            "Payment Date",
            &format!("a@example.com,Plex Alpha,Basic,{raw}"),
        );
        assert_eq!(e.column, "Payment Date");
        assert!(e.message.contains(phrase), "{raw}: {}", e.message);
    }
}

#[test]
fn jellyfin_and_emby_rows_need_a_username_plex_rows_do_not() {
    for server in ["Jelly One", "Emby One"] {
        let e = one_error("Username", &format!("a@example.com,{server},Basic,"));
        assert_eq!(e.column, "Username");
        assert!(e.message.contains("needs a Username"));
    }
    let e = one_error("", "a@example.com,Emby One,Basic");
    assert!(e.message.contains("Emby server"));
    ok("Email,Server Name,Plan Name\na@example.com,Plex Alpha,Basic\n");
}

#[test]
fn permanent_accepts_the_usual_spellings() {
    let f = ok(
        "Email,Server Name,Plan Name,Permanent\na@example.com,Plex Alpha,Basic,TRUE\nb@example.com,Plex Alpha,Basic,no\nc@example.com,Plex Alpha,Basic,1\nd@example.com,Plex Alpha,Basic,\n",
    );
    let p: Vec<bool> = f.rows.iter().map(|r| r.permanent).collect();
    assert_eq!(p, [true, false, true, false]);
    let e = one_error("Permanent", "a@example.com,Plex Alpha,Basic,maybe");
    assert_eq!(e.column, "Permanent");
}

#[test]
fn free_text_is_bounded() {
    let long = "x".repeat(MAX_NOTES + 1);
    let e = one_error("Notes", &format!("a@example.com,Plex Alpha,Basic,{long}"));
    assert_eq!(e.column, "Notes");
    assert!(
        e.value.chars().count() <= 121,
        "values are clipped in errors"
    );
    let e = one_error(
        "Transaction ID",
        &format!("a@example.com,Plex Alpha,Basic,{}", "t".repeat(201)),
    );
    assert_eq!(e.column, "Transaction ID");
}

#[test]
fn every_problem_of_every_row_is_reported_at_once() {
    let e = errs(
        "Email,Server Name,Plan Name,Quantity,Amount,Payment Date\nbad,Nowhere,Basic,0,x,never\nok@example.com,Plex Alpha,Basic,,,\nbad2,Plex Alpha,Nothing,,,\n",
    );
    let got: Vec<(usize, &str)> = e.iter().map(|e| (e.row, e.column.as_str())).collect();
    assert_eq!(
        got,
        [
            (2, "Email"),
            (2, "Server Name"),
            (2, "Quantity"),
            (2, "Amount"),
            (2, "Payment Date"),
            (4, "Email"),
            (4, "Plan Name")
        ]
    );
    assert_eq!(e[0].to_string(), format!("row 2, Email: {}", e[0].message));
}

// ---- the dry run ----

#[test]
fn the_dry_run_says_what_happens_to_each_customer() {
    let f = ok(
        "Email,Server Name,Plan Name,Quantity,Payment Date\nnew@example.com,Plex Alpha,Basic,1,2026-11-01\nOLD@example.com,Plex Alpha,Basic,2,2026-11-01\nshared@example.com,Plex Alpha,Basic,1,2026-11-01\nmover@example.com,Plex Alpha,Basic,1,2026-11-01\n",
    );
    let day = 86_400;
    let nov1 = datetime!(2026-11-01 00:00 UTC).unix_timestamp();
    let existing: HashMap<String, ExistingCustomer> = [
        ("old@example.com".to_string(), ExistingCustomer::default()),
        (
            "shared@example.com".to_string(),
            ExistingCustomer {
                server_ids: vec![ALPHA],
                coverage_end: Some(nov1 + 10 * day),
                permanent: false,
            },
        ),
        (
            "mover@example.com".to_string(),
            ExistingCustomer {
                server_ids: vec![BETA],
                coverage_end: Some(nov1 - day),
                permanent: false,
            },
        ),
    ]
    .into();
    let p = classify(&f.rows, &existing, &catalogue());
    let actions: Vec<&RowAction> = p.iter().map(|p| &p.action).collect();
    assert_eq!(
        actions,
        [
            &RowAction::NewCustomer,
            &RowAction::ExtendExisting,
            &RowAction::AlreadyShared,
            &RowAction::MovesServer { from: vec![BETA] }
        ]
    );
    assert_eq!(p[0].period, Some(Period::new(nov1, nov1 + 30 * day)));
    assert_eq!(p[1].period, Some(Period::new(nov1, nov1 + 60 * day)));
    // Coverage ending after the payment date: the new period follows it.
    assert_eq!(
        p[2].period,
        Some(Period::new(nov1 + 10 * day, nov1 + 40 * day))
    );
    assert_eq!(p[3].period, Some(Period::new(nov1, nov1 + 30 * day)));
    assert_eq!(p[3].row, 5);
}

// ---- robustness ----

proptest! {
    #[test]
    fn validation_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = run_with(&bytes, &catalogue(), &HashSet::new());
    }

    #[test]
    fn validation_never_panics_on_csv_like_text(
        body in "[a-zA-Z0-9@.,;\"\r\n \\-:T+_é]{0,400}",
        header in prop::sample::select(vec![
            "Email,Server Name,Plan Name,Quantity,Transaction ID,Amount,Payment Date,Username,Permanent,Notes\n",
            "email;server name;plan name;quantity\n",
            "Email,Server Name,Plan Name\n",
        ]),
    ) {
        let text = format!("{header}{body}");
        match run(&text) {
            Ok(f) => prop_assert!(!f.rows.is_empty()),
            Err(e) => prop_assert!(!e.is_empty()),
        }
    }
}
