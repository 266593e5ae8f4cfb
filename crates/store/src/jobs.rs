//! The durable job queue. A job is claimed with a lease: a worker that dies simply lets the lease
//! run out and another worker takes the job again. Every state change after the claim is
//! conditional on the claim's `lease_token`, so a worker that lost its lease cannot finish a job
//! someone else now holds.

use crate::{Backend, Db, Ex, Result, StoreError, affected, run};

/// The PostgreSQL channel on which a queued job is announced. The `NOTIFY` is part of the
/// enqueue's transaction, so PostgreSQL delivers it when (and only if) the job is committed;
/// every instance listening wakes an idle worker at once instead of at its next poll.
pub const QUEUE_CHANNEL: &str = "boxoffice_jobs";

/// Announces a job ready to run to the other instances (PostgreSQL only; SQLite is one instance).
async fn announce(ex: Ex<'_>) -> Result<()> {
    if ex.backend() == Backend::Postgres {
        affected!(ex, |e| sqlx::query("SELECT pg_notify($1, '')")
            .bind(QUEUE_CHANNEL)
            .execute(e)
            .await)?;
    }
    Ok(())
}

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct Job {
    pub id: i64,
    pub kind: String,
    pub payload: String,
    pub idempotency_key: Option<String>,
    pub state: String,
    pub run_after: i64,
    pub attempts: i64,
    pub max_attempts: i64,
    pub last_error: Option<String>,
    pub lease_until: Option<i64>,
    #[serde(skip)]
    pub lease_token: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub finished_at: Option<i64>,
}

pub struct NewJob<'a> {
    pub kind: &'a str,
    pub payload: &'a str,
    /// Unique across the queue: enqueueing the same key twice yields the first job.
    pub idempotency_key: Option<&'a str>,
    pub run_after: i64,
    pub max_attempts: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enqueued {
    Created(i64),
    Existing(i64),
}

impl Enqueued {
    pub fn id(self) -> i64 {
        match self {
            Enqueued::Created(id) | Enqueued::Existing(id) => id,
        }
    }
}

pub async fn enqueue(mut ex: Ex<'_>, j: NewJob<'_>, now: i64) -> Result<Enqueued> {
    let id: Option<(i64,)> = run!(ex.reborrow(), |e| {
        sqlx::query_as(
        "INSERT INTO jobs (kind, payload, idempotency_key, state, run_after, max_attempts, created_at, updated_at)
         VALUES ($1, $2, $3, 'queued', $4, $5, $6, $6)
         ON CONFLICT (idempotency_key) DO NOTHING RETURNING id"
    )
    .bind(j.kind)
    .bind(j.payload)
    .bind(j.idempotency_key)
    .bind(j.run_after)
    .bind(j.max_attempts)
    .bind(now)
    .fetch_optional(e)
    .await
    })?;
    if let Some((id,)) = id {
        announce(ex).await?;
        return Ok(Enqueued::Created(id));
    }
    let key = j.idempotency_key.ok_or(StoreError::NotFound)?;
    let (id,): (i64,) = run!(ex, |e| sqlx::query_as(
        "SELECT id FROM jobs WHERE idempotency_key = $1"
    )
    .bind(key)
    .fetch_one(e)
    .await)?;
    Ok(Enqueued::Existing(id))
}

/// Takes the next due job (queued and due, or running with an expired lease) and leases it.
///
/// Taking over an expired lease charges the job an attempt only if its last run made no
/// progress ([`mark_progress`]): a long job cut short by crashes or deploys while it works
/// through its rows is not buried after `max_attempts` restarts, while one that dies before
/// finishing anything still is.
pub async fn claim(ex: Ex<'_>, now: i64, lease_until: i64, token: &str) -> Result<Option<Job>> {
    // The only place the dialects differ: PostgreSQL lets several instances claim concurrently
    // without waiting on each other's row locks; SQLite has one writer, so the single statement is
    // already atomic.
    let sql = match ex.backend() {
        Backend::Sqlite => CLAIM_SQLITE,
        Backend::Postgres => CLAIM_POSTGRES,
    };
    Ok(run!(ex, |e| sqlx::query_as(sql)
        .bind(now)
        .bind(lease_until)
        .bind(token)
        .fetch_optional(e)
        .await)?)
}

const CLAIM_SQLITE: &str = "UPDATE jobs SET state = 'running', attempts = attempts + CASE WHEN state = 'running' AND progressed THEN 0 ELSE 1 END, progressed = FALSE, lease_until = $2, lease_token = $3, updated_at = $1
     WHERE id = (SELECT id FROM jobs
                 WHERE (state = 'queued' AND run_after <= $1) OR (state = 'running' AND lease_until <= $1)
                 ORDER BY run_after, id LIMIT 1)
     RETURNING id, kind, payload, idempotency_key, state, run_after, attempts, max_attempts, last_error, lease_until, lease_token, created_at, updated_at, finished_at";

const CLAIM_POSTGRES: &str = "UPDATE jobs SET state = 'running', attempts = attempts + CASE WHEN state = 'running' AND progressed THEN 0 ELSE 1 END, progressed = FALSE, lease_until = $2, lease_token = $3, updated_at = $1
     WHERE id = (SELECT id FROM jobs
                 WHERE (state = 'queued' AND run_after <= $1) OR (state = 'running' AND lease_until <= $1)
                 ORDER BY run_after, id LIMIT 1
                 FOR UPDATE SKIP LOCKED)
     RETURNING id, kind, payload, idempotency_key, state, run_after, attempts, max_attempts, last_error, lease_until, lease_token, created_at, updated_at, finished_at";

/// Marks a job done. False when the lease was lost (another worker holds the job now).
pub async fn complete(ex: Ex<'_>, id: i64, token: &str, now: i64) -> Result<bool> {
    let n = affected!(ex, |e| {
        sqlx::query(
        "UPDATE jobs SET state = 'done', finished_at = $3, updated_at = $3, lease_until = NULL, last_error = NULL
         WHERE id = $1 AND lease_token = $2 AND state = 'running'"
    )
    .bind(id)
    .bind(token)
    .bind(now)
    .execute(e)
    .await
    })?;
    Ok(n == 1)
}

/// Puts a failed job back in the queue to run again at `run_after`. A run that made progress
/// before failing is not charged its attempt.
pub async fn retry_later(
    ex: Ex<'_>,
    id: i64,
    token: &str,
    now: i64,
    run_after: i64,
    error: &str,
) -> Result<bool> {
    let n = affected!(ex, |e| {
        sqlx::query(
        "UPDATE jobs SET state = 'queued', run_after = $4, last_error = $5, updated_at = $3, lease_until = NULL,
           attempts = CASE WHEN progressed AND attempts > 0 THEN attempts - 1 ELSE attempts END, progressed = FALSE
         WHERE id = $1 AND lease_token = $2 AND state = 'running'"
    )
    .bind(id)
    .bind(token)
    .bind(now)
    .bind(run_after)
    .bind(error)
    .execute(e)
    .await
    })?;
    Ok(n == 1)
}

/// Parks a job as dead: it stays visible with its error until an administrator retries it.
pub async fn bury(ex: Ex<'_>, id: i64, token: &str, now: i64, error: &str) -> Result<bool> {
    let n = affected!(ex, |e| {
        sqlx::query(
        "UPDATE jobs SET state = 'dead', last_error = $4, updated_at = $3, finished_at = $3, lease_until = NULL
         WHERE id = $1 AND lease_token = $2 AND state = 'running'"
    )
    .bind(id)
    .bind(token)
    .bind(now)
    .bind(error)
    .execute(e)
    .await
    })?;
    Ok(n == 1)
}

/// Records that the current run of a job finished a unit of work, so losing its lease is not a
/// failed attempt. False when the lease was lost.
pub async fn mark_progress(ex: Ex<'_>, id: i64, token: &str) -> Result<bool> {
    let n = affected!(ex, |e| {
        sqlx::query(
            "UPDATE jobs SET progressed = TRUE WHERE id = $1 AND lease_token = $2 AND state = 'running'",
        )
        .bind(id)
        .bind(token)
        .execute(e)
        .await
    })?;
    Ok(n == 1)
}

/// Hands a job's lease back without charging the attempt (the worker is shutting down): the job
/// is due again at once, for the next worker of this or another instance. False when the lease
/// was lost.
pub async fn release(mut ex: Ex<'_>, id: i64, token: &str, now: i64) -> Result<bool> {
    let n = affected!(ex.reborrow(), |e| {
        sqlx::query(
        "UPDATE jobs SET state = 'queued', run_after = $3, updated_at = $3, lease_until = NULL, lease_token = NULL,
           attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END, progressed = FALSE
         WHERE id = $1 AND lease_token = $2 AND state = 'running'"
    )
    .bind(id)
    .bind(token)
    .bind(now)
    .execute(e)
    .await
    })?;
    if n == 1 {
        announce(ex).await?;
    }
    Ok(n == 1)
}

/// The lease token of a claim by a worker of `instance`: `<instance>/<worker>`. Tokens name their
/// instance so that the instance, started again, can find the leases it held before
/// ([`release_instance`]).
pub fn instance_token(instance: &str, worker: &str) -> String {
    format!("{instance}/{worker}")
}

/// Hands back every lease held by a worker of `instance`, as [`release`] does for one job: the
/// jobs are queued, due at `now`, their attempts not counted. Only for an instance that knows its
/// previous process is gone (it holds its data directory's lock): the other instances' leases
/// are left alone. `instance` is letters, digits and `-` only. Returns how many were handed back.
pub async fn release_instance(mut ex: Ex<'_>, instance: &str, now: i64) -> Result<u64> {
    let pattern = instance_token(instance, "%");
    let n = affected!(ex.reborrow(), |e| {
        sqlx::query(
        "UPDATE jobs SET state = 'queued', run_after = $2, updated_at = $2, lease_until = NULL, lease_token = NULL,
           attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END, progressed = FALSE
         WHERE state = 'running' AND lease_token LIKE $1"
    )
    .bind(&pattern)
    .bind(now)
    .execute(e)
    .await
    })?;
    if n > 0 {
        announce(ex).await?;
    }
    Ok(n)
}

pub async fn extend_lease(ex: Ex<'_>, id: i64, token: &str, until: i64) -> Result<bool> {
    let n = affected!(ex, |e| {
        sqlx::query(
        "UPDATE jobs SET lease_until = $3 WHERE id = $1 AND lease_token = $2 AND state = 'running'"
    )
    .bind(id)
    .bind(token)
    .bind(until)
    .execute(e)
    .await
    })?;
    Ok(n == 1)
}

/// Gives a dead job a fresh set of attempts.
pub async fn requeue_dead(mut ex: Ex<'_>, id: i64, now: i64) -> Result<()> {
    let n = affected!(ex.reborrow(), |e| {
        sqlx::query(
        "UPDATE jobs SET state = 'queued', attempts = 0, run_after = $2, updated_at = $2, finished_at = NULL WHERE id = $1 AND state = 'dead'"
    )
    .bind(id)
    .bind(now)
    .execute(e)
    .await
    })?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    announce(ex).await
}

/// The jobs of one piece of work: the key itself and the keys it names with a `:` suffix
/// (`bulk_invite:7`, `bulk_invite:7:retry:2`).
const FAMILY: &str = "(idempotency_key = $1 OR idempotency_key LIKE $1 || ':%')";

/// Gives the dead jobs of `key`'s family a fresh set of attempts; returns how many.
pub async fn requeue_dead_family(mut ex: Ex<'_>, key: &str, now: i64) -> Result<u64> {
    let sql = format!(
        "UPDATE jobs SET state = 'queued', attempts = 0, run_after = $2, updated_at = $2, finished_at = NULL WHERE state = 'dead' AND {FAMILY}"
    );
    let n = affected!(ex.reborrow(), |e| sqlx::query(sqlx::AssertSqlSafe(
        sql.clone()
    ))
    .bind(key)
    .bind(now)
    .execute(e)
    .await)?;
    if n > 0 {
        announce(ex).await?;
    }
    Ok(n)
}

/// How many jobs of `key`'s family are queued or running.
pub async fn live_in_family(ex: Ex<'_>, key: &str) -> Result<i64> {
    let sql =
        format!("SELECT COUNT(*) FROM jobs WHERE state IN ('queued', 'running') AND {FAMILY}");
    let (n,): (i64,) = run!(ex, |e| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(key)
        .fetch_one(e)
        .await)?;
    Ok(n)
}

/// Waits for jobs announced on [`QUEUE_CHANNEL`] by any instance (PostgreSQL).
pub struct QueueListener(sqlx::postgres::PgListener);

impl QueueListener {
    /// None on SQLite, where every writer is in this process.
    pub async fn connect(db: &Db) -> Result<Option<Self>> {
        let Db::Postgres(pool) = db else {
            return Ok(None);
        };
        let mut l = sqlx::postgres::PgListener::connect_with(pool).await?;
        l.listen(QUEUE_CHANNEL).await?;
        Ok(Some(Self(l)))
    }

    /// Resolves at the next announcement. A dropped connection is re-established (announcements
    /// sent meanwhile are lost; the workers' poll interval covers them); an error means the pool
    /// was closed.
    pub async fn next(&mut self) -> Result<()> {
        self.0.recv().await?;
        Ok(())
    }
}

pub async fn find(ex: Ex<'_>, id: i64) -> Result<Job> {
    run!(ex, |e| sqlx::query_as(
        "SELECT id, kind, payload, idempotency_key, state, run_after, attempts, max_attempts, last_error, lease_until, lease_token, created_at, updated_at, finished_at
         FROM jobs WHERE id = $1"
    )
    .bind(id)
    .fetch_one(e)
    .await)
    .map_err(StoreError::from)
}

pub async fn list(
    ex: Ex<'_>,
    state: Option<&str>,
    kind: Option<&str>,
    limit: i64,
) -> Result<Vec<Job>> {
    run!(ex, |e| sqlx::query_as(
        "SELECT id, kind, payload, idempotency_key, state, run_after, attempts, max_attempts, last_error, lease_until, lease_token, created_at, updated_at, finished_at
         FROM jobs WHERE ($1 IS NULL OR state = $1) AND ($2 IS NULL OR kind = $2) ORDER BY id DESC LIMIT $3"
    )
    .bind(state)
    .bind(kind)
    .bind(limit)
    .fetch_all(e)
    .await)
    .map_err(StoreError::from)
}

pub async fn counts_by_state(ex: Ex<'_>) -> Result<Vec<(String, i64)>> {
    Ok(run!(ex, |e| sqlx::query_as(
        "SELECT state, COUNT(*) FROM jobs GROUP BY state ORDER BY state"
    )
    .fetch_all(e)
    .await)?)
}

/// When the next queued job becomes due, so an idle worker can sleep until then.
pub async fn next_due(ex: Ex<'_>) -> Result<Option<i64>> {
    let (t,): (Option<i64>,) = run!(ex, |e| {
        sqlx::query_as(
        "SELECT MIN(CASE WHEN state = 'queued' THEN run_after ELSE lease_until END) FROM jobs WHERE state IN ('queued', 'running')"
    )
    .fetch_one(e)
    .await
    })?;
    Ok(t)
}

pub async fn prune_done(ex: Ex<'_>, before: i64) -> Result<u64> {
    Ok(affected!(ex, |e| sqlx::query(
        "DELETE FROM jobs WHERE state = 'done' AND finished_at < $1"
    )
    .bind(before)
    .execute(e)
    .await)?)
}

/// Records that a job applied an effect. False when it was already recorded, i.e. an earlier run
/// of the job applied it before losing its lease: the caller skips the effect.
pub async fn record_effect(ex: Ex<'_>, effect_key: &str, job_id: i64, now: i64) -> Result<bool> {
    let n = affected!(ex, |e| {
        sqlx::query("INSERT INTO job_effects (effect_key, job_id, applied_at) VALUES ($1, $2, $3) ON CONFLICT (effect_key) DO NOTHING")
        .bind(effect_key)
        .bind(job_id)
        .bind(now)
        .execute(e)
        .await
    })?;
    Ok(n == 1)
}

pub async fn count_effects(ex: Ex<'_>, prefix: &str) -> Result<i64> {
    let (n,): (i64,) = run!(ex, |e| sqlx::query_as(
        "SELECT COUNT(*) FROM job_effects WHERE effect_key LIKE $1"
    )
    .bind(format!("{prefix}%"))
    .fetch_one(e)
    .await)?;
    Ok(n)
}
