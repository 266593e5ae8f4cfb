//! Two figures of the job queue against the sandbox's Jellyfin fake, run as its own process (as
//! a media server would be, so its memory is not counted as ours):
//!
//! 1. **50 Jellyfin invites from upload to done**: the application with its real workers
//!    (`jobs.workers` 2, the default 1 s poll), a 50-row file handed to the bulk-invite use
//!    case, the clock stopped when the import reads finished. Three files; each number is one
//!    upload.
//! 2. **Resident memory after the hourly jobs on 3,000 remote users**: 3,000 customers imported
//!    onto the Jellyfin fake, then a fresh process (this bench again, as a child) opens the same
//!    database and runs the hourly jobs (server sync with its library syncs, reconciliation,
//!    expiry) and reports its resident set before, at peak, after, and after giving freed memory
//!    back (`release_freed_memory`, which a worker calls once it has drained the queue).
//!
//! Prints the numbers and writes them to target/bench/invite_latency_and_sync_memory.json.
//!
//! Run: `cargo bench -p boxoffice --bench invite_latency_and_sync_memory`.

use boxoffice::startup::Application;
use boxoffice_app::App;
use boxoffice_app::audit::Actor;
use boxoffice_app::bulk_invite::BulkInviteStart;
use boxoffice_app::plans::PlanInput;
use boxoffice_app::queue::JobSpec;
use boxoffice_app::servers::server_admin::MediaBrowserForm;
use boxoffice_config::{Config, Secret};
use boxoffice_domain::SystemClock;
use boxoffice_store::servers::ServerSettings;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

type Error = Box<dyn std::error::Error>;

const CHILD: &str = "BOXOFFICE_BENCH_HOURLY_DIR";
const REMOTE_USERS: usize = 3000;

fn config(dir: &Path, run_jobs: bool) -> Result<Config, Error> {
    let mut cfg = Config {
        listen: "127.0.0.1:0".parse()?,
        data_dir: dir.to_path_buf(),
        database_url: Some(Secret::new(format!(
            "sqlite://{}?mode=rwc",
            dir.join("bench.db").display()
        ))),
        ..Config::default()
    };
    cfg.jobs.run = run_jobs;
    Ok(cfg)
}

/// `VmRSS` and `VmHWM` of this process, in MiB.
fn memory() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

struct Sandbox {
    child: Child,
    jellyfin: Value,
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn sandbox() -> Result<Sandbox, Error> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_boxoffice"))
        .arg("sandbox")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().ok_or("no stdout")?).read_line(&mut line)?;
    let v: Value = serde_json::from_str(&line)?;
    Ok(Sandbox {
        child,
        jellyfin: v["jellyfin"].clone(),
    })
}

/// The Jellyfin server with every library in Standard, room for everyone, and the Basic plan.
async fn catalogue(app: &App, jellyfin: &Value) -> Result<String, Error> {
    let actor = Actor::cli();
    let row = app
        .add_mediabrowser_server(
            &actor,
            &MediaBrowserForm {
                platform: "jellyfin".into(),
                url: jellyfin["url"].as_str().ok_or("url")?.to_string(),
                api_key: jellyfin["api_key"].as_str().ok_or("key")?.to_string(),
            },
        )
        .await?;
    app.sync_server_libraries(row.id).await?;
    let standard = app
        .list_library_groups()
        .await?
        .into_iter()
        .find(|g| g.name == "Standard")
        .ok_or("no Standard group")?
        .id;
    for lib in app.list_libraries(Some(row.id)).await? {
        app.assign_library_group(&actor, lib.id, standard).await?;
    }
    let s = app.server(row.id).await?;
    app.update_server_settings(
        &actor,
        row.id,
        &ServerSettings {
            url: s.url,
            location_id: s.location_id,
            enabled: true,
            allow_new_subscriptions: true,
            allow_trial_subscriptions: true,
            max_users: 100_000,
            allow_4k_transcoding: s.allow_4k_transcoding,
            log_activity: s.log_activity,
            has_premiere: s.has_premiere,
        },
    )
    .await?;
    app.save_plan(
        &actor,
        None,
        &PlanInput {
            name: "Basic".into(),
            cost_minor: 500,
            duration_count: 30,
            duration_unit: "days".into(),
            library_group_ids: vec![standard],
            downloads: true,
            is_default: true,
            active: true,
            ..PlanInput::default()
        },
    )
    .await?;
    Ok(s.name)
}

fn csv(server: &str, prefix: &str, rows: usize) -> Vec<u8> {
    let mut s = String::from("Email,Server Name,Plan Name,Username\n");
    for i in 0..rows {
        s.push_str(&format!(
            "{prefix}{i:05}@example.com,{server},Basic,{prefix}{i:05}\n"
        ));
    }
    s.into_bytes()
}

async fn upload(app: &App, bytes: &[u8]) -> Result<i64, Error> {
    match app
        .start_bulk_invite(&Actor::cli(), "bench.csv", bytes, false)
        .await?
    {
        BulkInviteStart::Started { id, .. } => Ok(id),
        other => Err(format!("the file was not accepted: {other:?}").into()),
    }
}

/// Waits (polling the store every millisecond) until the import is finished.
async fn finished(app: &App, id: i64) -> Result<(i64, i64), Error> {
    loop {
        let s = app.bulk_invite_status(id).await?;
        if s.import.state == "finished" {
            return Ok((s.import.done_rows, s.import.failed_rows));
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

async fn parent() -> Result<(), Error> {
    let sb = sandbox()?;
    let dir = std::env::temp_dir().join(format!("boxoffice-bench-hourly-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let application =
        Application::build(&config(&dir, true)?, Arc::new(SystemClock), false).await?;
    let app = application.app.clone();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(application.run_until(async {
        let _ = stop_rx.await;
    }));
    let server = catalogue(&app, &sb.jellyfin).await?;

    let mut latency = Vec::new();
    for run in 0..3 {
        let bytes = csv(&server, &format!("lat{run}x"), 50);
        let t = Instant::now();
        let id = upload(&app, &bytes).await?;
        let (done, failed) = finished(&app, id).await?;
        let secs = t.elapsed().as_secs_f64();
        println!("50 invites, upload to done: {secs:.3} s (done {done}, failed {failed})");
        latency.push(json!({ "seconds": secs, "done": done, "failed": failed }));
    }

    // The 3,000 remote users of the memory figure, each a customer with a share.
    let t = Instant::now();
    let id = upload(&app, &csv(&server, "mem", REMOTE_USERS - 150)).await?;
    let (done, failed) = finished(&app, id).await?;
    println!(
        "imported {done} more users ({failed} failed) in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let _ = stop_tx.send(());
    serving.await??;

    let out = Command::new(std::env::current_exe()?)
        .env(CHILD, &dir)
        .stderr(Stdio::inherit())
        .output()?;
    let child: Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("the measuring process answered {out:?}: {e}"))?;
    println!("hourly jobs on {REMOTE_USERS} remote users: {child}");

    let results = json!({ "invite_50_latency": latency, "hourly_memory": child });
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench");
    std::fs::create_dir_all(&target)?;
    std::fs::write(
        target.join("invite_latency_and_sync_memory.json"),
        serde_json::to_string_pretty(&results)?,
    )?;
    drop(sb);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// A fresh process on the imported database: the hourly jobs, and the resident set around them.
async fn child(dir: PathBuf) -> Result<(), Error> {
    let application =
        Application::build(&config(&dir, false)?, Arc::new(SystemClock), false).await?;
    let app = application.app.clone();
    let runner = application.runner();
    let servers = app.list_servers().await?;
    let (before, _) = memory();
    let t = Instant::now();
    use boxoffice_app::servers::SYNC_ALL_JOB;
    use boxoffice_app::subscriptions::{EXPIRY_JOB, RECONCILE_JOB};
    for kind in [SYNC_ALL_JOB, RECONCILE_JOB, EXPIRY_JOB] {
        app.enqueue(
            app.db.ex(),
            JobSpec::new(kind, json!({ "tick": app.now() })).key(format!("bench:{kind}")),
        )
        .await?;
    }
    let jobs = runner.run_pending().await?;
    let secs = t.elapsed().as_secs_f64();
    let (after, peak) = memory();
    // What a worker does once it has drained the queue.
    boxoffice_jobs::release_freed_memory();
    let (trimmed, _) = memory();
    let failed = app
        .list_jobs(Some("dead"), 10)
        .await?
        .into_iter()
        .map(|j| format!("{}: {}", j.kind, j.last_error.unwrap_or_default()))
        .collect::<Vec<_>>();
    println!(
        "{}",
        json!({
            "servers": servers.len(),
            "jobs_run": jobs,
            "dead_jobs": failed,
            "seconds": secs,
            "rss_before_mib": before,
            "rss_after_mib": after,
            "rss_after_trim_mib": trimmed,
            "rss_peak_mib": peak,
        })
    );
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    match std::env::var_os(CHILD) {
        Some(dir) => child(PathBuf::from(dir)).await,
        None => parent().await,
    }
}
