//! The bulk-invite job's cost per row (goal: ≤ 1 ms) against the unthrottled Jellyfin fake:
//! the demo's catalogue on the sandbox's fakes, a SQLite database file, then files of 100 and
//! 1,000 rows imported by the job itself (validation, customer, payment, share written and
//! applied to the fake, outcome recorded). The fakes run on a thread of their own, as a server
//! would in its own process. Prints the numbers and writes them to
//! target/bench/bulk_invite_job.json.
//!
//! Run: `cargo bench -p boxoffice --bench bulk_invite_job`.

use boxoffice::startup::Application;
use boxoffice_app::audit::Actor;
use boxoffice_config::{Config, Secret};
use boxoffice_domain::SystemClock;
use boxoffice_fakes::{Seed, World, WorldOptions};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Instant;

type Error = Box<dyn std::error::Error>;

fn csv(server: &str, from: usize, rows: usize) -> Vec<u8> {
    let mut s = String::from("Email,Server Name,Plan Name,Username\n");
    for i in from..from + rows {
        s.push_str(&format!(
            "bench{i:05}@example.com,{server},Basic,bench{i:05}\n"
        ));
    }
    s.into_bytes()
}

/// The fakes answer from a thread and runtime of their own, as a media server would from its
/// own process: the job's thread then carries only boxoffice's work, and the fake's handling
/// shows up as the latency of each call, not as time taken from the job.
fn fakes_on_their_own_thread() -> Result<World, Error> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("fakes".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(r) => r,
                Err(e) => {
                    let _ = tx.send(Err(e.to_string()));
                    return;
                }
            };
            runtime.block_on(async move {
                let world = World::start(WorldOptions {
                    seed: Seed::Default,
                    bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
                })
                .await
                .map_err(|e| e.to_string());
                let _ = tx.send(world);
                std::future::pending::<()>().await;
            });
        })?;
    Ok(rx.recv()??)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    // BOXOFFICE_BENCH_LOG=sqlx=debug prints every statement, to count what a row costs.
    if let Ok(filter) = std::env::var("BOXOFFICE_BENCH_LOG") {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_writer(std::io::stderr)
            .try_init();
    }
    let world = fakes_on_their_own_thread()?;
    let dir = std::env::temp_dir().join(format!("boxoffice-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let mut cfg = Config {
        listen: "127.0.0.1:0".parse()?,
        data_dir: dir.clone(),
        database_url: Some(Secret::new(format!(
            "sqlite://{}?mode=rwc",
            dir.join("bench.db").display()
        ))),
        ..Config::default()
    };
    cfg.jobs.run = false;
    let application = Application::build(&cfg, Arc::new(SystemClock), false).await?;
    let app = application.app.clone();
    app.media.set_plex_tv_url(&world.plex_tv.url());
    boxoffice::demo::seed(&app, &world).await?;
    let server = app
        .list_servers()
        .await?
        .into_iter()
        .find(|s| s.platform == boxoffice_domain::platform::Platform::Jellyfin)
        .ok_or("no Jellyfin server in the demo catalogue")?;
    boxoffice_store::affected!(app.db.ex(), |e| sqlx::query(
        "UPDATE servers SET max_users = 100000"
    )
    .execute(e)
    .await)?;

    let mut results = Vec::new();
    let mut from = 0;
    for rows in [100usize, 1000] {
        let bytes = csv(&server.name, from, rows);
        from += rows;
        let started = app
            .start_bulk_invite(&Actor::cli(), "bench.csv", &bytes, false)
            .await?;
        let boxoffice_app::bulk_invite::BulkInviteStart::Started { id, .. } = started else {
            return Err(format!("the file was not accepted: {started:?}").into());
        };
        let t = Instant::now();
        let done = app.run_bulk_invite(id, None).await?;
        let elapsed = t.elapsed();
        let status = app.bulk_invite_status(id).await?;
        let per_row_ms = elapsed.as_secs_f64() * 1000.0 / rows as f64;
        println!(
            "{rows:>5} rows: {:.2} s, {per_row_ms:.2} ms per row (done {}, failed {}, processed {done})",
            elapsed.as_secs_f64(),
            status.import.done_rows,
            status.import.failed_rows
        );
        results.push(serde_json::json!({
            "rows": rows,
            "seconds": elapsed.as_secs_f64(),
            "ms_per_row": per_row_ms,
            "done": status.import.done_rows,
            "failed": status.import.failed_rows,
        }));
    }
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench");
    std::fs::create_dir_all(&out)?;
    std::fs::write(
        out.join("bulk_invite_job.json"),
        serde_json::to_string_pretty(&results)?,
    )?;
    drop(world);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
