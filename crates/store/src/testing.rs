//! Fresh databases for tests: a temporary SQLite file always, and a uniquely named PostgreSQL
//! database when `TEST_DATABASE_URL` points at a server.

use crate::{ConnectOptions, Db, Result, StoreError, connect};

pub struct TestDb {
    pub db: Db,
    pub url: String,
    cleanup: Option<String>,
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(path) = &self.cleanup {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{path}{suffix}"));
            }
        }
    }
}

fn unique_suffix() -> String {
    let mut b = [0u8; 8];
    // A clash only costs a failed test; the pid and time make it practically impossible anyway.
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    b.copy_from_slice(&((t as u64) ^ ((std::process::id() as u64) << 32)).to_le_bytes());
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    format!(
        "{:x}{:x}",
        u64::from_le_bytes(b),
        N.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    )
}

pub async fn sqlite() -> Result<TestDb> {
    let path = std::env::temp_dir().join(format!("boxoffice-test-{}.db", unique_suffix()));
    let path = path.to_string_lossy().to_string();
    let url = format!("sqlite://{path}?mode=rwc");
    let db = connect(&url, &ConnectOptions::default()).await?;
    db.migrate().await?;
    Ok(TestDb {
        db,
        url,
        cleanup: Some(path),
    })
}

/// A new empty database on the server named by `TEST_DATABASE_URL`, or None when it is unset.
pub async fn postgres() -> Result<Option<TestDb>> {
    let Ok(base) = std::env::var("TEST_DATABASE_URL") else {
        return Ok(None);
    };
    let admin = connect(&base, &ConnectOptions::default()).await?;
    let name = format!("boxoffice_test_p{}_{}", std::process::id(), unique_suffix());
    let Db::Postgres(pool) = &admin else {
        return Err(StoreError::Corrupt(
            "TEST_DATABASE_URL must be a postgres:// URL".into(),
        ));
    };
    sweep_dead_processes_databases(&base);
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(pool)
        .await?;
    admin.close().await;
    let (prefix, query) = match base.split_once('?') {
        Some((p, q)) => (p.to_string(), format!("?{q}")),
        None => (base.clone(), String::new()),
    };
    let root = match prefix.rfind('/') {
        Some(i) if i > "postgres://".len() => &prefix[..i],
        _ => prefix.as_str(),
    };
    let url = format!("{root}/{name}{query}");
    let db = connect(&url, &ConnectOptions::default()).await?;
    db.migrate().await?;
    Ok(Some(TestDb {
        db,
        url,
        cleanup: None,
    }))
}

/// The pid a test database name carries, when it carries one.
fn owner_pid(name: &str) -> Option<u32> {
    name.strip_prefix("boxoffice_test_p")?
        .split_once('_')?
        .0
        .parse()
        .ok()
}

/// Test databases outlive their test (a test's pool may still be open when it ends), so each test
/// process drops, once and in the background, the databases of test processes that have exited.
/// A database whose owner is still running is never touched, so parallel test runs are safe.
fn sweep_dead_processes_databases(base: &str) {
    static ONCE: std::sync::Once = std::sync::Once::new();
    // Liveness is read from /proc; where there is none, nothing is swept.
    if !std::path::Path::new("/proc/self").exists() {
        return;
    }
    let base = base.to_string();
    ONCE.call_once(move || {
        let _ = std::thread::Builder::new()
            .name("test-db-sweeper".into())
            .spawn(move || {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    return;
                };
                rt.block_on(async move {
                    let Ok(Db::Postgres(pool)) = connect(&base, &ConnectOptions::default()).await
                    else {
                        return;
                    };
                    let names: Vec<String> = sqlx::query_scalar(
                        "SELECT datname FROM pg_database WHERE datname LIKE 'boxoffice\\_test\\_p%'",
                    )
                    .fetch_all(&pool)
                    .await
                    .unwrap_or_default();
                    for name in names {
                        let Some(pid) = owner_pid(&name) else { continue };
                        if std::path::Path::new(&format!("/proc/{pid}")).exists() {
                            continue;
                        }
                        let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                        let _ = sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&pool).await;
                    }
                    pool.close().await;
                });
            });
    });
}

/// Every backend a store test must pass on here.
pub async fn all() -> Result<Vec<TestDb>> {
    let mut v = vec![sqlite().await?];
    if let Some(pg) = postgres().await? {
        v.push(pg);
    }
    Ok(v)
}
