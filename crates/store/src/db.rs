use crate::{Result, StoreError};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{PgConnection, SqliteConnection};
use std::str::FromStr;
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// A connection pool on one of the two backends.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// An open transaction. Dropping it without `commit` rolls it back.
pub enum Tx {
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

/// Something a query can run on: a pool or an open transaction, on either backend.
pub enum Ex<'a> {
    SqlitePool(&'a SqlitePool),
    PgPool(&'a PgPool),
    Sqlite(&'a mut SqliteConnection),
    Pg(&'a mut PgConnection),
}

impl Ex<'_> {
    pub fn reborrow(&mut self) -> Ex<'_> {
        match self {
            Ex::SqlitePool(p) => Ex::SqlitePool(p),
            Ex::PgPool(p) => Ex::PgPool(p),
            Ex::Sqlite(c) => Ex::Sqlite(c),
            Ex::Pg(c) => Ex::Pg(c),
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Ex::SqlitePool(_) | Ex::Sqlite(_) => Backend::Sqlite,
            Ex::PgPool(_) | Ex::Pg(_) => Backend::Postgres,
        }
    }
}

/// Expands one query body into an arm per backend and executor kind.
#[macro_export]
macro_rules! run {
    ($ex:expr, |$e:ident| $body:expr) => {
        match $ex {
            $crate::Ex::SqlitePool($e) => $body,
            $crate::Ex::Sqlite($e) => $body,
            $crate::Ex::PgPool($e) => $body,
            $crate::Ex::Pg($e) => $body,
        }
    };
}

/// Like [`run!`] for statements that return no rows: yields the number of rows affected.
#[macro_export]
macro_rules! affected {
    ($ex:expr, |$e:ident| $body:expr) => {
        match $ex {
            $crate::Ex::SqlitePool($e) => $body.map(|r| r.rows_affected()),
            $crate::Ex::Sqlite($e) => $body.map(|r| r.rows_affected()),
            $crate::Ex::PgPool($e) => $body.map(|r| r.rows_affected()),
            $crate::Ex::Pg($e) => $body.map(|r| r.rows_affected()),
        }
    };
}

#[derive(Clone, Debug)]
pub struct ConnectOptions {
    pub max_connections: Option<u32>,
    pub connect_timeout: Duration,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self {
            max_connections: None,
            connect_timeout: Duration::from_secs(5),
        }
    }
}

/// Opens the database named by `url` (`sqlite://…` or `postgres://…`). Nothing is migrated here.
pub async fn connect(url: &str, opts: &ConnectOptions) -> Result<Db> {
    if url.starts_with("sqlite:") {
        let o = SqliteConnectOptions::from_str(url).map_err(StoreError::Unavailable)?;
        let on_disk = ![":memory:", "mode=memory", "mode=ro"]
            .iter()
            .any(|m| url.contains(m));
        if on_disk {
            create_private_file(o.get_filename()).map_err(|e| StoreError::Unavailable(e.into()))?;
        }
        let o = o
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePoolOptions::new()
            .max_connections(opts.max_connections.unwrap_or(4))
            .min_connections(1)
            // A local file cannot drop a connection the way a network server can, so the ping
            // before each checkout only costs a round trip to the connection's thread.
            .test_before_acquire(false)
            .acquire_timeout(opts.connect_timeout)
            .connect_with(o)
            .await
            .map_err(StoreError::Unavailable)?;
        Ok(Db::Sqlite(pool))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        let o = PgConnectOptions::from_str(url).map_err(StoreError::Unavailable)?;
        let pool = PgPoolOptions::new()
            .max_connections(opts.max_connections.unwrap_or(10))
            .acquire_timeout(opts.connect_timeout)
            .connect_with(o)
            .await
            .map_err(StoreError::Unavailable)?;
        Ok(Db::Postgres(pool))
    } else {
        Err(StoreError::Unavailable(sqlx::Error::Configuration(
            format!(
                "unsupported database URL scheme in \"{}\": use sqlite:// or postgres://",
                redact_url(url)
            )
            .into(),
        )))
    }
}

/// Creates a missing database file readable by its owner only (0600 on Unix) before SQLite opens
/// it; SQLite gives its `-wal` and `-shm` files the same mode. An existing file is left as it is.
fn create_private_file(path: &std::path::Path) -> std::io::Result<()> {
    if path.as_os_str().is_empty() || path.exists() {
        return Ok(());
    }
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    match o.open(path) {
        Ok(_) => Ok(()),
        // Another process made it first: theirs is the one to use.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// The URL with any password replaced, for messages and logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:<redacted>{}", &url[..s + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

impl Db {
    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    pub fn ex(&self) -> Ex<'_> {
        match self {
            Db::Sqlite(p) => Ex::SqlitePool(p),
            Db::Postgres(p) => Ex::PgPool(p),
        }
    }

    /// Brings the schema up to date. On PostgreSQL the migrator holds an advisory lock, so several
    /// instances starting at once migrate once.
    pub async fn migrate(&self) -> Result<()> {
        match self {
            Db::Sqlite(p) => SQLITE_MIGRATIONS.run(p).await?,
            Db::Postgres(p) => POSTGRES_MIGRATIONS.run(p).await?,
        }
        Ok(())
    }

    /// Starts a write transaction. SQLite takes its write lock up front (`BEGIN IMMEDIATE`) so two
    /// writers queue on the busy timeout instead of failing to upgrade a read lock.
    pub async fn begin(&self) -> Result<Tx> {
        Ok(match self {
            Db::Sqlite(p) => Tx::Sqlite(p.begin_with("BEGIN IMMEDIATE").await?),
            Db::Postgres(p) => {
                // sqlx 0.9 leaves a pooled PostgreSQL connection inside a transaction when
                // `begin()` is cancelled during BEGIN's round trip (a task aborted, a request
                // dropped): the next borrower then runs inside it and holds its locks. Finishing
                // BEGIN on a task of its own means a caller that goes away drops a complete
                // transaction, which rolls back as any dropped transaction does.
                let pool = p.clone();
                let begun = tokio::spawn(async move { pool.begin().await })
                    .await
                    .map_err(|e| StoreError::Corrupt(format!("starting a transaction: {e}")))?;
                Tx::Postgres(begun?)
            }
        })
    }

    pub async fn ping(&self) -> Result<()> {
        affected!(self.ex(), |e| sqlx::query("SELECT 1").execute(e).await)
            .map(|_| ())
            .map_err(StoreError::from)
    }

    pub fn is_closed(&self) -> bool {
        match self {
            Db::Sqlite(p) => p.is_closed(),
            Db::Postgres(p) => p.is_closed(),
        }
    }

    pub async fn close(&self) {
        match self {
            Db::Sqlite(p) => p.close().await,
            Db::Postgres(p) => p.close().await,
        }
    }
}

impl Tx {
    pub fn ex(&mut self) -> Ex<'_> {
        match self {
            Tx::Sqlite(t) => Ex::Sqlite(t),
            Tx::Postgres(t) => Ex::Pg(t),
        }
    }

    pub async fn commit(self) -> Result<()> {
        match self {
            Tx::Sqlite(t) => t.commit().await?,
            Tx::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn urls_lose_their_password_in_messages() {
        assert_eq!(
            super::redact_url("postgres://bo:s3cret@db:5432/bo"),
            "postgres://bo:<redacted>@db:5432/bo"
        );
        assert_eq!(
            super::redact_url("sqlite://data/boxoffice.db"),
            "sqlite://data/boxoffice.db"
        );
    }
}
