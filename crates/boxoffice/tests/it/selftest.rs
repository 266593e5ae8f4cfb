//! The media self-test: a row per call per Plex account and server, red for a faulted call with
//! what to do, green again once the fault is gone, and an audit event the day it turns red.

use crate::servers::media_test;
use boxoffice_fakes::{FaultAction, FaultRule};
use serde_json::{Value, json};

async fn run_from_the_page(m: &crate::servers::MediaTest) -> String {
    let r =
        m.t.post_form("/admin/self-test", "/admin/self-test/run", &[])
            .await;
    assert_eq!(r.status(), 303);
    // Also runs the library syncs that adding servers queued.
    assert!(m.t.run_pending_jobs().await >= 1);
    m.t.get_html("/admin/self-test").await
}

fn row<'a>(report: &'a Value, target: &str, call: &str) -> &'a Value {
    report["results"]
        .as_array()
        .and_then(|rows| {
            rows.iter().find(|r| {
                r["target"].as_str().is_some_and(|t| t.contains(target)) && r["call"] == call
            })
        })
        .unwrap_or_else(|| panic!("no row {target}/{call} in {report}"))
}

#[tokio::test]
async fn the_self_test_checks_every_call_and_leaves_no_throwaway_user_behind() {
    let m = media_test().await;
    let account = m.add_plex_account_via_page().await;
    let alpha = &m.world.plex_servers[0];
    let (s, v) = m
        .api(
            reqwest::Method::POST,
            "/servers",
            Some(json!({"platform": "plex", "plex_account_id": account, "machine_id": alpha.machine_identifier(), "url": alpha.url()})),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    m.enable(v["id"].as_i64().expect("id")).await;
    let jellyfin = m.add_jellyfin().await;
    m.enable(jellyfin).await;
    let users_before = m.world.jellyfin.users().len();

    let html = run_from_the_page(&m).await;
    assert!(html.contains("id=\"self-test\""), "{html}");
    let (s, report) = m.api(reqwest::Method::GET, "/self-test", None).await;
    assert_eq!(s, 200, "{report}");
    assert_eq!(report["failed"], json!(0), "{report}");
    for call in [
        "account (token)",
        "Plex Pass",
        "servers (resources)",
        "pending invites",
    ] {
        assert_eq!(
            row(&report, "Plex account", call)["ok"],
            json!(true),
            "{call}"
        );
    }
    for call in [
        "identity",
        "libraries",
        "users / shares",
        "sessions",
        "pending invites",
    ] {
        assert_eq!(
            row(&report, "Plex Alpha", call)["ok"],
            json!(true),
            "{call}"
        );
    }
    let plex_write = row(&report, "Plex Alpha", "write round trip");
    assert_eq!(plex_write["skipped"], json!(true));
    assert!(
        plex_write["message"]
            .as_str()
            .unwrap_or_default()
            .contains("no harmless write")
    );
    for call in [
        "identity",
        "libraries",
        "users / shares",
        "sessions",
        "devices",
        "write round trip",
    ] {
        let r = row(&report, "Jelly One", call);
        assert_eq!(
            (r["ok"].clone(), r["skipped"].clone()),
            (json!(true), json!(false)),
            "{call}: {r}"
        );
    }
    assert!(
        row(&report, "Jelly One", "write round trip")["message"]
            .as_str()
            .unwrap_or_default()
            .contains("boxoffice-selftest-")
    );
    assert_eq!(
        m.world.jellyfin.users().len(),
        users_before,
        "throw-away user deleted"
    );
}

#[tokio::test]
async fn a_faulted_call_turns_the_table_red_with_advice_and_green_again() {
    let m = media_test().await;
    let jellyfin = m.add_jellyfin().await;
    m.enable(jellyfin).await;
    run_from_the_page(&m).await;

    m.world.jellyfin.add_fault(FaultRule::path(
        "/Sessions",
        FaultAction::Status {
            status: 500,
            body: None,
        },
    ));
    let html = run_from_the_page(&m).await;
    assert!(html.contains("result-failed"), "{html}");
    let (_, report) = m.api(reqwest::Method::GET, "/self-test", None).await;
    let sessions = row(&report, "Jelly One", "sessions");
    assert_eq!(sessions["ok"], json!(false));
    assert_eq!(sessions["status"], json!(500));
    assert!(
        sessions["advice"]
            .as_str()
            .unwrap_or_default()
            .contains("media server's log")
    );
    assert_eq!(row(&report, "Jelly One", "libraries")["ok"], json!(true));
    let audit = m.t.get_html("/admin/audit").await;
    assert!(audit.contains("selftest.red"), "{audit}");

    m.world.jellyfin.clear_faults();
    let html = run_from_the_page(&m).await;
    assert!(!html.contains("result-failed"), "{html}");
    let (_, report) = m.api(reqwest::Method::GET, "/self-test", None).await;
    assert_eq!(row(&report, "Jelly One", "sessions")["ok"], json!(true));
    assert!(
        m.t.get_html("/admin/audit")
            .await
            .contains("selftest.green")
    );
    // History keeps all three runs.
    let history = m.t.get_html("/admin/self-test").await;
    assert_eq!(
        history.matches("/admin/self-test?run=").count(),
        3,
        "{history}"
    );
}

#[tokio::test]
async fn the_self_test_runs_daily_by_default() {
    let m = media_test().await;
    let settings = m.t.app.settings().await.expect("settings");
    assert!(settings.bool("jobs.self_test.enabled"));
    assert_eq!(settings.get("jobs.self_test.schedule"), "0 4 * * *");
}
