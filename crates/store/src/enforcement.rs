//! Enforcement's own records: the memory one pass hands the next, and the live sessions each
//! pass read (the Streaming activity page's "now" and history).

use crate::{Ex, Result, StoreError, affected, run};

/// A customer's active share on one server, with the limits its plan put on it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Enrollee {
    pub customer_id: i64,
    pub server_id: i64,
    pub remote_user_id: String,
    pub permanent: bool,
    pub stream_limit: Option<i64>,
    pub video_transcoding: bool,
    /// The customer's plan's Emby device limit; `None` is unlimited.
    pub emby_device_limit: Option<i64>,
}

/// Every live share whose user is known on its server.
pub async fn enrollees(ex: Ex<'_>) -> Result<Vec<Enrollee>> {
    run!(ex, |e| sqlx::query_as(
        "SELECT s.customer_id, s.server_id, s.remote_user_id, c.permanent, s.stream_limit, s.video_transcoding,
                p.emby_device_limit
         FROM shares s JOIN customers c ON c.id = s.customer_id LEFT JOIN plans p ON p.id = c.plan_id
         WHERE s.state IN ('active', 'grace') AND s.remote_user_id <> ''
         ORDER BY s.customer_id, s.server_id"
    )
    .fetch_all(e)
    .await)
    .map_err(StoreError::from)
}

pub async fn memory(ex: Ex<'_>) -> Result<Option<String>> {
    let row: Option<(String,)> = run!(ex, |e| sqlx::query_as(
        "SELECT memory FROM enforcement_memory WHERE id = 1"
    )
    .fetch_optional(e)
    .await)?;
    Ok(row.map(|r| r.0))
}

pub async fn save_memory(ex: Ex<'_>, memory: &str, now: i64) -> Result<()> {
    affected!(ex, |e| sqlx::query(
        "INSERT INTO enforcement_memory (id, memory, updated_at) VALUES (1, $1, $2)
         ON CONFLICT (id) DO UPDATE SET memory = excluded.memory, updated_at = excluded.updated_at"
    )
    .bind(memory)
    .bind(now)
    .execute(e)
    .await)?;
    Ok(())
}

/// One live session as a pass read it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Reading {
    pub read_at: i64,
    pub server_id: i64,
    pub customer_id: Option<i64>,
    pub session_id: String,
    pub user_name: String,
    pub device: String,
    pub product: String,
    pub title: String,
    pub resolution: String,
    pub video_decision: String,
    pub audio_decision: String,
    pub action: String,
    /// When the pass first saw the session; `None` on readings recorded before this was kept.
    pub started_at: Option<i64>,
}

const READING_COLUMNS: usize = 13;
/// Well under SQLite's 32,766 bound parameters per statement.
const READINGS_PER_INSERT: usize = 500;

fn insert_sql(rows: usize) -> String {
    let mut sql = String::from(
        "INSERT INTO stream_readings (read_at, server_id, customer_id, session_id, user_name, device, product, title, resolution, video_decision, audio_decision, action, started_at) VALUES ",
    );
    for row in 0..rows {
        if row > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for col in 0..READING_COLUMNS {
            if col > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("${}", row * READING_COLUMNS + col + 1));
        }
        sql.push(')');
    }
    sql
}

/// Stores a pass's readings and drops what is no longer wanted: every earlier reading of a
/// server without activity logging, and any reading older than `keep_since`.
pub async fn record_pass(
    ex: Ex<'_>,
    readings: &[Reading],
    read_at: i64,
    keep_since: i64,
) -> Result<()> {
    let mut ex = ex;
    affected!(ex.reborrow(), |e| sqlx::query(
        "DELETE FROM stream_readings WHERE read_at < $1
            OR (read_at < $2 AND server_id IN (SELECT id FROM servers WHERE log_activity = FALSE))"
    )
    .bind(keep_since)
    .bind(read_at)
    .execute(e)
    .await)?;
    // Many rows per statement: a pass over 100 busy servers records thousands of sessions, and
    // one statement each would be most of the pass's time.
    for chunk in readings.chunks(READINGS_PER_INSERT) {
        let sql = insert_sql(chunk.len());
        affected!(ex.reborrow(), |e| {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.clone()));
            for r in chunk {
                q = q
                    .bind(r.read_at)
                    .bind(r.server_id)
                    .bind(r.customer_id)
                    .bind(&r.session_id)
                    .bind(&r.user_name)
                    .bind(&r.device)
                    .bind(&r.product)
                    .bind(&r.title)
                    .bind(&r.resolution)
                    .bind(&r.video_decision)
                    .bind(&r.audio_decision)
                    .bind(&r.action)
                    .bind(r.started_at);
            }
            q.execute(e).await
        })?;
    }
    Ok(())
}

/// A recorded row with its customer's e-mail, read in the same statement.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct WithEmail<T> {
    #[sqlx(flatten)]
    pub row: T,
    pub customer_email: Option<String>,
}

/// The sessions of the latest pass, by server and user.
pub async fn latest(ex: Ex<'_>) -> Result<Vec<WithEmail<Reading>>> {
    run!(ex, |e| sqlx::query_as(
        "SELECT r.read_at, r.server_id, r.customer_id, r.session_id, r.user_name, r.device, r.product, r.title,
                r.resolution, r.video_decision, r.audio_decision, r.action, r.started_at,
                c.email AS customer_email
         FROM stream_readings r LEFT JOIN customers c ON c.id = r.customer_id
         WHERE r.read_at = (SELECT MAX(read_at) FROM stream_readings)
         ORDER BY r.server_id, r.user_name, r.session_id"
    )
    .fetch_all(e)
    .await)
    .map_err(StoreError::from)
}

/// One of a customer's streams in the latest pass, with its server's name.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CustomerStream {
    #[sqlx(flatten)]
    pub row: Reading,
    pub server_name: String,
}

/// The customer's sessions in the latest pass, oldest first.
pub async fn customer_streams(ex: Ex<'_>, customer_id: i64) -> Result<Vec<CustomerStream>> {
    run!(ex, |e| sqlx::query_as(
        "SELECT r.read_at, r.server_id, r.customer_id, r.session_id, r.user_name, r.device, r.product, r.title,
                r.resolution, r.video_decision, r.audio_decision, r.action, r.started_at,
                s.name AS server_name
         FROM stream_readings r JOIN servers s ON s.id = r.server_id
         WHERE r.customer_id = $1 AND r.read_at = (SELECT MAX(read_at) FROM stream_readings)
         ORDER BY r.started_at, r.server_id, r.session_id"
    )
    .bind(customer_id)
    .fetch_all(e)
    .await)
    .map_err(StoreError::from)
}

/// Marks a session of the latest pass as stopped, so it is not offered again before the next.
pub async fn mark_stopped(
    ex: Ex<'_>,
    read_at: i64,
    server_id: i64,
    session_id: &str,
) -> Result<()> {
    affected!(ex, |e| sqlx::query(
        "UPDATE stream_readings SET action = 'stopped'
         WHERE read_at = $1 AND server_id = $2 AND session_id = $3"
    )
    .bind(read_at)
    .bind(server_id)
    .bind(session_id)
    .execute(e)
    .await)?;
    Ok(())
}

/// Streams per server in each pass since `since`, oldest first: (read_at, server_id, streams).
pub async fn timeline(ex: Ex<'_>, since: i64) -> Result<Vec<(i64, i64, i64)>> {
    run!(ex, |e| sqlx::query_as(
        "SELECT read_at, server_id, COUNT(*) FROM stream_readings WHERE read_at >= $1
         GROUP BY read_at, server_id ORDER BY read_at, server_id"
    )
    .bind(since)
    .fetch_all(e)
    .await)
    .map_err(StoreError::from)
}

/// One Emby device as a pass found it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DeviceRow {
    pub server_id: i64,
    pub device_id: String,
    pub customer_id: Option<i64>,
    pub name: String,
    pub app: String,
    pub user_name: String,
    pub last_used: Option<i64>,
    pub read_at: i64,
}

/// Replaces what is recorded of one server's devices.
pub async fn record_devices(ex: Ex<'_>, server_id: i64, rows: &[DeviceRow]) -> Result<()> {
    let mut ex = ex;
    affected!(ex.reborrow(), |e| sqlx::query(
        "DELETE FROM emby_devices WHERE server_id = $1"
    )
    .bind(server_id)
    .execute(e)
    .await)?;
    // A server's devices go in as multi-row statements: one round trip per chunk, not per device.
    for chunk in rows.chunks(DEVICE_INSERT_CHUNK) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| {
                let b = i * 8;
                format!(
                    "(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${})",
                    b + 1,
                    b + 2,
                    b + 3,
                    b + 4,
                    b + 5,
                    b + 6,
                    b + 7,
                    b + 8
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO emby_devices (server_id, device_id, customer_id, name, app, user_name, last_used, read_at) VALUES {}",
            values.join(", ")
        );
        affected!(ex.reborrow(), |e| {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.clone()));
            for r in chunk {
                q = q
                    .bind(r.server_id)
                    .bind(&r.device_id)
                    .bind(r.customer_id)
                    .bind(&r.name)
                    .bind(&r.app)
                    .bind(&r.user_name)
                    .bind(r.last_used)
                    .bind(r.read_at);
            }
            q.execute(e).await
        })?;
    }
    Ok(())
}

/// 100 devices of 8 values each stay far below SQLite's and PostgreSQL's bind limits.
const DEVICE_INSERT_CHUNK: usize = 100;

/// Every recorded device, by server, then user, then most recently used.
pub async fn devices(ex: Ex<'_>) -> Result<Vec<WithEmail<DeviceRow>>> {
    run!(ex, |e| sqlx::query_as(
        "SELECT d.server_id, d.device_id, d.customer_id, d.name, d.app, d.user_name, d.last_used, d.read_at,
                c.email AS customer_email
         FROM emby_devices d LEFT JOIN customers c ON c.id = d.customer_id
         ORDER BY d.server_id, d.user_name, d.last_used DESC, d.device_id"
    )
    .fetch_all(e)
    .await)
    .map_err(StoreError::from)
}
