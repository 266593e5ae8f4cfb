//! Bulk invite (operations §6.17) through the API and the CLI: every sample file in `fixtures/bulk-invite/` against the
//! catalogue of its README, a real import on the Jellyfin fake, a refused row retried, a job
//! "killed" mid-run that resumes and applies every row once, and `boxoffice users bulk-invite`.

use crate::cli::bin;
use crate::servers::{MediaTest, media_test};
use boxoffice_fakes::{FaultAction, FaultRule};
use boxoffice_store::{ConnectOptions, Db, affected, run};
use serde_json::Value;
use std::path::PathBuf;

pub const STANDARD: i64 = 2;
const PREMIUM: i64 = 3;

pub fn fixture(name: &str) -> Vec<u8> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/bulk-invite");
    std::fs::read(dir.join(name)).expect("fixture")
}

pub async fn exec(db: &Db, sql: &str) {
    let sql = sql.to_string();
    affected!(db.ex(), |e| sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
        .execute(e)
        .await)
    .expect("sql");
}

pub async fn count(db: &Db, sql: &str) -> i64 {
    let sql = sql.to_string();
    run!(db.ex(), |e| sqlx::query_scalar(sqlx::AssertSqlSafe(
        sql.clone()
    ))
    .fetch_one(e)
    .await)
    .expect("count")
}

/// The README's plans: Basic (5.00, Standard), Premium 4K (10.00, Standard + Premium 4K), Free
/// Trial (0.00, 7 days, Standard).
pub async fn seed_plans(db: &Db) {
    for (id, name, cost, days, groups) in [
        (1, "Basic", 500, 30, vec![STANDARD]),
        (2, "Premium 4K", 1000, 30, vec![STANDARD, PREMIUM]),
        (3, "Free Trial", 0, 7, vec![STANDARD]),
    ] {
        exec(db, &format!("INSERT INTO plans (id, name, cost_minor, currency, duration_unit, duration_count, downloads, created_at, updated_at) VALUES ({id}, '{name}', {cost}, 'USD', 'days', {days}, TRUE, 0, 0)")).await;
        for g in groups {
            exec(db, &format!("INSERT INTO plan_library_groups (plan_id, library_group_id, grace) VALUES ({id}, {g}, FALSE)")).await;
        }
    }
}

/// id, platform, name, (library, group).
type SeedServer = (
    i64,
    &'static str,
    &'static str,
    &'static [(&'static str, i64)],
);

/// The README's servers, written as rows (validation never calls them).
async fn seed_catalogue(db: &Db) {
    let servers: [SeedServer; 4] = [
        (
            101,
            "plex",
            "Plex Alpha",
            &[
                ("Movies", STANDARD),
                ("TV Shows", STANDARD),
                ("Movies 4K", PREMIUM),
                ("Home Videos", 1),
            ],
        ),
        (
            102,
            "plex",
            "Plex Beta",
            &[
                ("Movies", STANDARD),
                ("TV Shows", STANDARD),
                ("Movies 4K", PREMIUM),
                ("Music", STANDARD),
            ],
        ),
        (
            103,
            "jellyfin",
            "Jelly One",
            &[("Movies", STANDARD), ("Shows", STANDARD)],
        ),
        (
            104,
            "emby",
            "Emby One",
            &[("Movies", STANDARD), ("Shows", STANDARD)],
        ),
    ];
    for (id, platform, name, libs) in servers {
        exec(db, &format!("INSERT INTO servers (id, platform, name, remote_id, url, enabled, allow_new_subscriptions, created_at, updated_at) VALUES ({id}, '{platform}', '{name}', 'r{id}', 'http://127.0.0.1:1', TRUE, TRUE, 0, 0)")).await;
        for (n, (lib, g)) in libs.iter().enumerate() {
            exec(db, &format!("INSERT INTO libraries (server_id, remote_key, name, library_group_id, created_at, synced_at) VALUES ({id}, 'k{n}', '{lib}', {g}, 0, 0)")).await;
        }
    }
    seed_plans(db).await;
}

/// Sends a file as `multipart/form-data` (written by hand: the test client has no multipart).
async fn upload(m: &MediaTest, name: &str, bytes: &[u8], dry_run: bool) -> (u16, Value) {
    let b = "bulk-invite-test-boundary";
    let mut body = Vec::new();
    body.extend_from_slice(format!("--{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: text/csv\r\n\r\n").as_bytes());
    body.extend_from_slice(bytes);
    if dry_run {
        body.extend_from_slice(
            format!("\r\n--{b}\r\nContent-Disposition: form-data; name=\"dry_run\"\r\n\r\ntrue")
                .as_bytes(),
        );
    }
    body.extend_from_slice(format!("\r\n--{b}--\r\n").as_bytes());
    let r =
        m.t.client
            .post(m.t.url("/api/v1/bulk-invites"))
            .bearer_auth(&m.token)
            .header("content-type", format!("multipart/form-data; boundary={b}"))
            .body(body)
            .send()
            .await
            .expect("upload");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

pub async fn status(m: &MediaTest, id: i64) -> Value {
    let (s, v) = m
        .api(reqwest::Method::GET, &format!("/bulk-invites/{id}"), None)
        .await;
    assert_eq!(s, 200, "{v}");
    v
}

fn errors(v: &Value) -> Vec<Value> {
    v["errors"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn every_fixture_gives_the_outcome_its_name_says() {
    let m = media_test().await;
    seed_catalogue(&m.t.app.db).await;
    for (name, rows) in [
        ("valid-minimal.csv", 3),
        ("valid-all-columns.csv", 4),
        ("valid-semicolon-bom-crlf.csv", 0),
    ] {
        let (s, v) = upload(&m, name, &fixture(name), true).await;
        assert_eq!(s, 200, "{name}: {v}");
        let got = v["rows"].as_array().map_or(0, Vec::len);
        assert!(got > 0, "{name}: {v}");
        if rows > 0 {
            assert_eq!(got, rows, "{name}: {v}");
        }
        assert!(
            v["rows"]
                .as_array()
                .into_iter()
                .flatten()
                .all(|r| r["action"]["kind"] == "new_customer"),
            "{name}: {v}"
        );
    }
    for name in [
        "invalid-missing-required-column.csv",
        "invalid-rows.csv",
        "invalid-duplicates.csv",
        "invalid-header-only.csv",
        "invalid-not-csv.csv",
    ] {
        let (s, v) = upload(&m, name, &fixture(name), false).await;
        assert_eq!(s, 422, "{name}: {v}");
        let errs = errors(&v);
        assert!(!errs.is_empty(), "{name}: {v}");
        for e in &errs {
            for k in ["row", "column", "value", "message"] {
                assert!(e.get(k).is_some(), "{name}: {k} missing in {e}");
            }
        }
        let text = v.to_string();
        match name {
            "invalid-missing-required-column.csv" => assert!(
                errs.iter()
                    .any(|e| e["row"] == 1 && e["column"] == "Plan Name"),
                "{v}"
            ),
            "invalid-duplicates.csv" => {
                assert!(text.contains("same e-mail"), "{v}");
                assert!(text.contains("same Transaction ID"), "{v}");
            }
            "invalid-not-csv.csv" => assert!(text.contains("not a CSV"), "{v}"),
            "invalid-header-only.csv" => assert!(text.contains("no data rows"), "{v}"),
            _ => {
                // One error per data row, each on its own row.
                let data_rows = String::from_utf8_lossy(&fixture(name))
                    .lines()
                    .skip(1)
                    .filter(|l| !l.trim().is_empty())
                    .count();
                let mut rows: Vec<i64> = errs.iter().filter_map(|e| e["row"].as_i64()).collect();
                rows.dedup();
                assert_eq!(rows.len(), data_rows, "{v}");
            }
        }
    }
    // Nothing was stored by any of them.
    assert_eq!(
        count(&m.t.app.db, "SELECT COUNT(*) FROM bulk_invites").await,
        0
    );
    assert_eq!(
        count(&m.t.app.db, "SELECT COUNT(*) FROM customers").await,
        0
    );
}

/// The Jellyfin fake opened with its Movies library as Standard, and the README's plans.
pub async fn jellyfin(m: &MediaTest) -> String {
    let jf = m.add_jellyfin().await;
    m.t.run_pending_jobs().await;
    let db = &m.t.app.db;
    exec(
        db,
        &format!(
            "UPDATE servers SET enabled = TRUE, allow_new_subscriptions = TRUE WHERE id = {jf}"
        ),
    )
    .await;
    exec(db, &format!("UPDATE libraries SET library_group_id = {STANDARD} WHERE server_id = {jf} AND name = 'Movies'")).await;
    seed_plans(db).await;
    let (s, v) = m
        .api(reqwest::Method::GET, &format!("/servers/{jf}"), None)
        .await;
    assert_eq!(s, 200, "{v}");
    v["name"].as_str().expect("name").to_string()
}

pub fn csv_for(server: &str, emails: &[&str]) -> Vec<u8> {
    let mut s = String::from("Email,Server Name,Plan Name,Username\n");
    for e in emails {
        s.push_str(&format!("{e},{server},Basic,{}\n", username_of(e)));
    }
    s.into_bytes()
}

pub async fn start(m: &MediaTest, bytes: &[u8]) -> i64 {
    let (s, v) = upload(m, "people.csv", bytes, false).await;
    assert_eq!(s, 202, "{v}");
    let id = v["id"].as_i64().expect("id");
    assert_eq!(v["status_url"], format!("/api/v1/bulk-invites/{id}"));
    id
}

/// The Username column the test files give each e-mail: the Jellyfin user is named by it.
fn username_of(email: &str) -> &str {
    email.split('@').next().unwrap_or(email)
}

pub fn jf_users(m: &MediaTest, email: &str) -> usize {
    m.world
        .jellyfin
        .users()
        .iter()
        .filter(|u| u.name == username_of(email))
        .count()
}

#[tokio::test]
async fn a_valid_file_imports_and_the_shares_appear_on_the_server() {
    let m = media_test().await;
    let server = jellyfin(&m).await;
    let emails = ["ann@example.com", "ben@example.com", "cat@example.com"];
    let id = start(&m, &csv_for(&server, &emails)).await;
    let before = status(&m, id).await;
    assert_eq!(before["remaining"], 3, "{before}");
    m.t.run_pending_jobs().await;
    let v = status(&m, id).await;
    assert_eq!(
        (
            &v["state"],
            &v["done_rows"],
            &v["failed_rows"],
            &v["remaining"]
        ),
        (
            &Value::from("finished"),
            &Value::from(3),
            &Value::from(0),
            &Value::from(0)
        ),
        "{v}"
    );
    for e in emails {
        assert_eq!(jf_users(&m, e), 1, "{e}");
    }
    let r =
        m.t.client
            .get(m.t.url(&format!("/api/v1/bulk-invites/{id}/report.csv")))
            .bearer_auth(&m.token)
            .send()
            .await
            .expect("report");
    assert_eq!(r.status(), 200);
    let report = r.text().await.expect("text");
    assert!(report.starts_with("Row,Email,"), "{report}");
    assert_eq!(report.matches(",done,").count(), 3, "{report}");
    // The same file again: its generated transaction ids are recorded, so it is refused.
    let (s, v) = upload(&m, "people.csv", &csv_for(&server, &emails), false).await;
    assert_eq!(s, 422, "{v}");
}

#[tokio::test]
async fn a_row_the_server_refuses_fails_alone_and_can_be_retried() {
    let m = media_test().await;
    let server = jellyfin(&m).await;
    let id = start(
        &m,
        &csv_for(
            &server,
            &["ann@example.com", "ben@example.com", "cat@example.com"],
        ),
    )
    .await;
    // The first user creation (row 2) is refused, also when tried again; the rows after it go on.
    m.world.jellyfin.add_fault(
        FaultRule::path(
            "/Users/New",
            FaultAction::Status {
                status: 400,
                body: None,
            },
        )
        .method("POST")
        .times(1),
    );
    let (s, v) = m
        .api(reqwest::Method::GET, &format!("/bulk-invites/{id}"), None)
        .await;
    assert_eq!(s, 200, "{v}");
    // Run only the bulk job's rows here so the fault meets the first row processed.
    m.t.app.run_bulk_invite(id, None).await.expect("run");
    let v = status(&m, id).await;
    assert_eq!(v["failed_rows"], 1, "{v}");
    assert_eq!(v["done_rows"], 2, "{v}");
    let failed: Vec<&Value> = v["rows"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["outcome"] == "failed")
        .collect();
    assert_eq!(failed.len(), 1, "{v}");
    assert!(
        !failed[0]["message"].as_str().unwrap_or("").is_empty(),
        "{v}"
    );

    let (s, r) = m
        .api(
            reqwest::Method::POST,
            &format!("/bulk-invites/{id}/retry-failed"),
            None,
        )
        .await;
    assert_eq!((s, &r["retried"]), (202, &Value::from(1)), "{r}");
    m.t.run_pending_jobs().await;
    let v = status(&m, id).await;
    assert_eq!(
        (&v["done_rows"], &v["failed_rows"]),
        (&Value::from(3), &Value::from(0)),
        "{v}"
    );
    for e in ["ann@example.com", "ben@example.com", "cat@example.com"] {
        assert_eq!(jf_users(&m, e), 1, "{e}");
    }
    assert_eq!(count(&m.t.app.db, "SELECT COUNT(*) FROM payments").await, 3);
}

#[tokio::test]
async fn a_job_killed_mid_run_resumes_and_applies_every_row_exactly_once() {
    let m = media_test().await;
    let server = jellyfin(&m).await;
    let emails = [
        "a1@example.com",
        "a2@example.com",
        "a3@example.com",
        "a4@example.com",
        "a5@example.com",
    ];
    let id = start(&m, &csv_for(&server, &emails)).await;
    // A worker claims the job, gets through two rows, and dies holding the lease.
    let now = m.t.app.now();
    let job = boxoffice_store::jobs::claim(m.t.app.db.ex(), now, now + 60, "dead-worker")
        .await
        .expect("claim")
        .expect("the bulk job is due");
    assert_eq!(job.kind, "bulk_invite.run");
    assert_eq!(m.t.app.run_bulk_invite(id, Some(2)).await.expect("run"), 2);
    let v = status(&m, id).await;
    assert_eq!(
        (&v["done_rows"], &v["remaining"]),
        (&Value::from(2), &Value::from(3)),
        "{v}"
    );
    // The lease runs out; another worker takes the job again and finishes it.
    m.t.advance_clock(time::Duration::seconds(3600));
    m.t.run_pending_jobs().await;
    let v = status(&m, id).await;
    assert_eq!(
        (&v["done_rows"], &v["remaining"]),
        (&Value::from(5), &Value::from(0)),
        "{v}"
    );
    let db = &m.t.app.db;
    assert_eq!(count(db, "SELECT COUNT(*) FROM customers").await, 5);
    assert_eq!(count(db, "SELECT COUNT(*) FROM payments").await, 5);
    assert_eq!(count(db, "SELECT COUNT(*) FROM shares").await, 5);
    for e in emails {
        assert_eq!(jf_users(&m, e), 1, "{e}");
    }
    let creates = m
        .world
        .jellyfin
        .requests()
        .iter()
        .filter(|r| r.path == "/Users/New" && r.fault.is_none())
        .count();
    assert_eq!(creates, 5, "one user created per row");
}

#[tokio::test]
async fn the_cli_dry_runs_and_imports_a_file_against_a_data_dir() {
    let dir = crate::helpers::temp_dir();
    let out = bin()
        .arg("migrate")
        .env("BOXOFFICE_DATA_DIR", &dir)
        .output()
        .expect("migrate");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let url = format!("sqlite://{}?mode=rwc", dir.join("boxoffice.db").display());
    let db = boxoffice_store::connect(&url, &ConnectOptions::default())
        .await
        .expect("db");
    seed_catalogue(&db).await;
    db.close().await;
    let file = dir.join("people.csv");
    std::fs::write(&file, fixture("valid-minimal.csv")).expect("write");

    let out = bin()
        .args(["users", "bulk-invite"])
        .arg(&file)
        .arg("--dry-run")
        .env("BOXOFFICE_DATA_DIR", &dir)
        .output()
        .expect("dry run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("alice@example.com") && stdout.contains("new_customer"),
        "{stdout}"
    );
    assert!(stdout.contains("3 rows would be imported"), "{stdout}");

    let bad = dir.join("bad.csv");
    std::fs::write(&bad, fixture("invalid-rows.csv")).expect("write");
    let out = bin()
        .args(["users", "bulk-invite"])
        .arg(&bad)
        .env("BOXOFFICE_DATA_DIR", &dir)
        .output()
        .expect("invalid");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("row 2, column Email"), "{stderr}");

    // The seeded servers are not reachable: every row is recorded (customer, payment, share)
    // and fails on the invite itself, so the import ends with exit 1 and a summary.
    let out = bin()
        .args(["users", "bulk-invite"])
        .arg(&file)
        .env("BOXOFFICE_DATA_DIR", &dir)
        .output()
        .expect("import");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("progress: 0 done, 3 failed, 0 remaining"),
        "{stdout}"
    );
    assert!(
        stdout.contains("finished: 0 done, 3 failed of 3 rows"),
        "{stdout}"
    );
    let db = boxoffice_store::connect(&url, &ConnectOptions::default())
        .await
        .expect("db");
    assert_eq!(count(&db, "SELECT COUNT(*) FROM payments").await, 3);
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM bulk_invite_rows WHERE outcome = 'failed'"
        )
        .await,
        3
    );
    db.close().await;
}

#[tokio::test]
async fn a_rows_payment_date_method_notes_and_username_reach_the_payment_and_the_server() {
    let m = media_test().await;
    let server = jellyfin(&m).await;
    let file = format!(
        "Email,Server Name,Plan Name,Username,Payment Date,Payment Method,Notes\n\
         zoe@example.com,{server},Basic,zoe_tv,2026-11-20,Cash,\"first month, paid at the door\"\n"
    );
    start(&m, file.as_bytes()).await;
    m.t.run_pending_jobs().await;
    let db = &m.t.app.db;
    let from = time::macros::datetime!(2026-11-20 0:00 UTC).unix_timestamp();
    let n = count(
        db,
        &format!(
            "SELECT COUNT(*) FROM payments p JOIN customers c ON c.id = p.customer_id
             WHERE c.email_key = 'zoe@example.com' AND p.period_from = {from}
               AND p.method = 'Cash' AND p.notes = 'first month, paid at the door'"
        ),
    )
    .await;
    assert_eq!(
        n, 1,
        "the payment starts on the file's date with its method and notes"
    );
    assert_eq!(
        m.world
            .jellyfin
            .users()
            .iter()
            .filter(|u| u.name == "zoe_tv")
            .count(),
        1,
        "the Jellyfin user is named by the Username column"
    );
}

#[tokio::test]
async fn the_dry_run_and_upload_answers_list_unknown_columns_such_as_phone() {
    let m = media_test().await;
    let server = jellyfin(&m).await;
    let file = format!(
        "Email,Server Name,Plan Name,Username,Phone\n\
         pat@example.com,{server},Basic,pat,+1 555 0100\n"
    );
    let (s, v) = upload(&m, "phones.csv", file.as_bytes(), true).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["unknown_columns"], serde_json::json!(["Phone"]), "{v}");
    assert_eq!(v["rows"].as_array().map(Vec::len), Some(1), "{v}");

    let (s, v) = upload(&m, "phones.csv", file.as_bytes(), false).await;
    assert_eq!(s, 202, "{v}");
    assert_eq!(v["unknown_columns"], serde_json::json!(["Phone"]), "{v}");
    assert_eq!(v["rows"], 1, "{v}");
    let id = v["id"].as_i64().expect("id");
    // The import keeps saying so afterwards.
    let v = status(&m, id).await;
    assert_eq!(v["unknown_columns"], serde_json::json!(["Phone"]), "{v}");

    // A file whose every column is known says so with an empty list.
    let (s, v) = upload(&m, "ok.csv", &csv_for(&server, &["kim@example.com"]), true).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["unknown_columns"], serde_json::json!([]), "{v}");
}

#[tokio::test]
async fn the_api_lists_past_imports_newest_first_with_counts_and_links() {
    let m = media_test().await;
    let server = jellyfin(&m).await;
    let first = start(&m, &csv_for(&server, &["a1@example.com", "a2@example.com"])).await;
    m.t.run_pending_jobs().await;
    let second = start(&m, &csv_for(&server, &["b1@example.com"])).await;

    let (s, v) = m
        .api(reqwest::Method::GET, "/bulk-invites?per_page=1", None)
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (v["total"].as_i64(), v["has_more"].as_bool()),
        (Some(2), Some(true)),
        "{v}"
    );
    let item = &v["items"][0];
    assert_eq!(item["id"], second, "newest first: {v}");
    assert_eq!(item["state"], "running", "{v}");
    assert_eq!(item["remaining"], 1, "{v}");
    assert_eq!(item["status_url"], format!("/api/v1/bulk-invites/{second}"));
    assert_eq!(
        item["report_url"],
        format!("/api/v1/bulk-invites/{second}/report.csv")
    );

    let (s, v) = m
        .api(
            reqwest::Method::GET,
            "/bulk-invites?per_page=1&page=2",
            None,
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["has_more"], false, "{v}");
    let item = &v["items"][0];
    assert_eq!(item["id"], first, "{v}");
    assert_eq!(
        (
            &item["state"],
            &item["done_rows"],
            &item["failed_rows"],
            &item["total_rows"]
        ),
        (
            &Value::from("finished"),
            &Value::from(2),
            &Value::from(0),
            &Value::from(2)
        ),
        "{v}"
    );
    assert!(!item["created_by"].as_str().unwrap_or("").is_empty(), "{v}");
}

#[tokio::test]
async fn the_dry_run_tells_existing_customers_from_new_ones() {
    let m = media_test().await;
    let server = jellyfin(&m).await;
    start(&m, &csv_for(&server, &["ann@example.com"])).await;
    m.t.run_pending_jobs().await;
    let file = format!(
        "Email,Server Name,Plan Name,Username,Transaction ID\n\
         bob@example.com,{server},Basic,bob,tx-bob\n\
         ANN@example.com,{server},Basic,ann,tx-ann-2\n"
    );
    let (s, v) = upload(&m, "again.csv", file.as_bytes(), true).await;
    assert_eq!(s, 200, "{v}");
    let kinds: Vec<&str> = v["rows"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| r["action"]["kind"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(kinds, ["new_customer", "already_shared"], "{v}");
}
