//! One enforcement pass over many servers (goal: 100 servers × 100 sessions ≤ 100 ms wall):
//! N Jellyfin fakes on a thread and runtime of their own (as servers in their own processes),
//! each with 50 users playing on two devices each, a customer with a live share for every user
//! (a two-stream plan, so the pass reads, matches and decides but stops nothing), a SQLite
//! database file. The first pass builds each server's client; the figure is the median of the
//! next seven. Prints the numbers and writes them to target/bench/enforcement_pass.json.
//!
//! Run: `cargo bench -p boxoffice --bench enforcement_pass`.

use boxoffice::startup::Application;
use boxoffice_app::audit::Actor;
use boxoffice_app::servers::server_admin::MediaBrowserForm;
use boxoffice_config::{Config, Secret};
use boxoffice_domain::SystemClock;
use boxoffice_fakes::{JellyfinFake, MbUserSeed, SessionSeed};
use std::sync::Arc;
use std::time::Instant;

type Error = Box<dyn std::error::Error>;

const USERS_PER_SERVER: usize = 50;
const DEVICES_PER_USER: usize = 2;

/// (url, api key, user ids) of each fake.
type Fleet = Vec<(String, String, Vec<String>)>;

fn fakes_on_their_own_thread(servers: usize) -> Result<Fleet, Error> {
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
                let mut fakes = Vec::new();
                let mut fleet = Vec::new();
                for n in 0..servers {
                    let fake = match JellyfinFake::start().await {
                        Ok(f) => f,
                        Err(e) => {
                            let _ = tx.send(Err(e.to_string()));
                            return;
                        }
                    };
                    let mut users = Vec::new();
                    for u in 0..USERS_PER_SERVER {
                        let name = format!("viewer{n:03}-{u:02}");
                        let user = fake.seed_user(MbUserSeed::new(&name));
                        for d in 0..DEVICES_PER_USER {
                            let mut seed = SessionSeed::new(&name, "Bench Movie");
                            seed.device_id = Some(format!("{name}-device{d}"));
                            if fake.start_session(seed).is_err() {
                                let _ = tx.send(Err(format!("cannot start a session for {name}")));
                                return;
                            }
                        }
                        users.push(user.id);
                    }
                    fleet.push((fake.url(), fake.api_key(), users));
                    fakes.push(fake);
                }
                let _ = tx.send(Ok(fleet));
                std::future::pending::<()>().await;
            });
        })?;
    Ok(rx.recv()??)
}

async fn exec(app: &boxoffice_app::App, sql: String) -> Result<(), Error> {
    boxoffice_store::affected!(app.db.ex(), |e| sqlx::query(sqlx::AssertSqlSafe(
        sql.clone()
    ))
    .execute(e)
    .await)?;
    Ok(())
}

async fn measure(servers: usize) -> Result<serde_json::Value, Error> {
    let fleet = fakes_on_their_own_thread(servers)?;
    let dir = std::env::temp_dir().join(format!(
        "boxoffice-bench-enforcement-{}-{servers}",
        std::process::id()
    ));
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
    exec(&app, "INSERT INTO plans (id, name, cost_minor, currency, duration_unit, duration_count, stream_limit, created_at, updated_at) VALUES (1, 'Two streams', 500, 'USD', 'days', 30, 2, 0, 0)".into()).await?;
    for (n, (url, key, users)) in fleet.iter().enumerate() {
        let row = app
            .add_mediabrowser_server(
                &Actor::cli(),
                &MediaBrowserForm {
                    platform: "jellyfin".into(),
                    url: url.clone(),
                    api_key: key.clone(),
                },
            )
            .await?;
        exec(
            &app,
            format!("UPDATE servers SET enabled = TRUE WHERE id = {}", row.id),
        )
        .await?;
        for (u, user_id) in users.iter().enumerate() {
            let email = format!("viewer{n:03}-{u:02}@example.com");
            exec(&app, format!("INSERT INTO customers (email, email_key, plan_id, created_at, updated_at) VALUES ('{email}', '{email}', 1, 0, 0)")).await?;
            exec(&app, format!(
                "INSERT INTO shares (customer_id, server_id, state, remote_user_id, desired_libraries, downloads, video_transcoding, stream_limit, created_at, updated_at)
                 SELECT id, {}, 'active', '{user_id}', '[]', FALSE, TRUE, 2, 0, 0 FROM customers WHERE email = '{email}'",
                row.id
            )).await?;
        }
    }
    // The first pass builds each server's client (as the first pass after a start does).
    let first = app.run_enforcement_pass().await?;
    let mut times = Vec::new();
    let mut last = first.clone();
    for _ in 0..7 {
        let t = Instant::now();
        last = app.run_enforcement_pass().await?;
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let phases: Vec<String> = last
        .phases
        .iter()
        .map(|(name, d)| format!("{name} {:.1} ms", d.as_secs_f64() * 1000.0))
        .collect();
    println!("  last pass by part: {}", phases.join(", "));
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    let sessions = servers * USERS_PER_SERVER * DEVICES_PER_USER;
    println!(
        "{servers:>3} servers × {} sessions ({sessions} sessions): median {median:.1} ms, min {:.1} ms, max {:.1} ms; read {} servers, {} sessions, stopped {}",
        USERS_PER_SERVER * DEVICES_PER_USER,
        times[0],
        times[times.len() - 1],
        last.servers_read,
        last.sessions,
        last.stopped
    );
    drop(application);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(serde_json::json!({
        "servers": servers,
        "sessions": sessions,
        "median_ms": median,
        "min_ms": times[0],
        "max_ms": times[times.len() - 1],
        "servers_read": last.servers_read,
        "sessions_read": last.sessions,
        "phases_ms": last
            .phases
            .iter()
            .map(|(name, d)| (name.to_string(), d.as_secs_f64() * 1000.0))
            .collect::<Vec<_>>(),
    }))
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> Result<(), Error> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut results = Vec::new();
    for servers in [10usize, 100] {
        results.push(measure(servers).await?);
    }
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench");
    std::fs::create_dir_all(&out)?;
    std::fs::write(
        out.join("enforcement_pass.json"),
        serde_json::to_string_pretty(&results)?,
    )?;
    Ok(())
}
