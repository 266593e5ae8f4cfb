-- Bulk invite imports (operations §6.17): one row per accepted upload, one row per CSV row.
-- The postgres twin is migrations/postgres/0008_bulk_invites.sql: keep them in step. The rows
-- hold the validated values, so the job needs nothing but the database, and each row's outcome
-- is written as it is processed: a restarted job resumes at the first pending row.
CREATE TABLE bulk_invites (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at INTEGER NOT NULL,
    -- The actor's label (login name, "cli", "api token …"), for the audit trail and the page.
    created_by TEXT NOT NULL DEFAULT '',
    file_name TEXT NOT NULL DEFAULT '',
    -- FNV-1a 64 of the upload, hex: the stem of generated transaction ids.
    file_hash TEXT NOT NULL,
    -- running, finished.
    state TEXT NOT NULL,
    total_rows INTEGER NOT NULL,
    done_rows INTEGER NOT NULL DEFAULT 0,
    failed_rows INTEGER NOT NULL DEFAULT 0,
    -- How many times failed rows were retried: names the retry job's idempotency key.
    retries INTEGER NOT NULL DEFAULT 0,
    finished_at INTEGER
);
CREATE TABLE bulk_invite_rows (
    bulk_invite_id INTEGER NOT NULL REFERENCES bulk_invites (id) ON DELETE CASCADE,
    -- The row in the file, header = 1.
    row_number INTEGER NOT NULL,
    email TEXT NOT NULL,
    server_id INTEGER NOT NULL,
    server_name TEXT NOT NULL DEFAULT '',
    plan_id INTEGER NOT NULL,
    plan_name TEXT NOT NULL DEFAULT '',
    quantity INTEGER NOT NULL,
    amount_minor INTEGER NOT NULL,
    currency TEXT NOT NULL,
    transaction_id TEXT NOT NULL,
    payment_date INTEGER NOT NULL,
    payment_method TEXT NOT NULL DEFAULT '',
    username TEXT,
    permanent BOOLEAN NOT NULL DEFAULT FALSE,
    notes TEXT NOT NULL DEFAULT '',
    -- pending, done, failed.
    outcome TEXT NOT NULL DEFAULT 'pending',
    message TEXT NOT NULL DEFAULT '',
    customer_id INTEGER,
    processed_at INTEGER,
    PRIMARY KEY (bulk_invite_id, row_number)
);
