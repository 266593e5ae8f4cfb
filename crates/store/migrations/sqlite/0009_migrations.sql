-- Server migrations (operations §4.1): moving customers from one server to another. The
-- PostgreSQL twin is migrations/postgres/0009_migrations.sql: keep them in step. One row per
-- request; one item per customer, so a re-run after a crash knows who is already done.
CREATE TABLE migrations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    source INTEGER NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    target INTEGER NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    -- The login id or "system"/"api" actor label that asked for it.
    requested_by TEXT NOT NULL DEFAULT '',
    -- queued, running, done.
    state TEXT NOT NULL DEFAULT 'queued',
    -- JSON {"moved","failed","pending"} written as the job goes.
    counts TEXT NOT NULL DEFAULT '{}',
    created_at INTEGER NOT NULL,
    finished_at INTEGER
);
CREATE INDEX migrations_source ON migrations (source);
CREATE TABLE migration_items (
    migration_id INTEGER NOT NULL REFERENCES migrations (id) ON DELETE CASCADE,
    customer INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    -- pending, moved, failed.
    outcome TEXT NOT NULL DEFAULT 'pending',
    message TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (migration_id, customer)
);
