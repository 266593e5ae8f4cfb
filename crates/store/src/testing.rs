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
    let name = format!("boxoffice_test_{}", unique_suffix());
    let Db::Postgres(pool) = &admin else {
        return Err(StoreError::Corrupt(
            "TEST_DATABASE_URL must be a postgres:// URL".into(),
        ));
    };
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

/// Every backend a store test must pass on here.
pub async fn all() -> Result<Vec<TestDb>> {
    let mut v = vec![sqlite().await?];
    if let Some(pg) = postgres().await? {
        v.push(pg);
    }
    Ok(v)
}
