-- Notifications: e-mail and Discord templates and the delivery log.
-- The postgres twin is migrations/postgres/0010_notifications.sql: keep them in step.
-- Owner edits of the shipped templates; a missing row or NULL text means the default.
CREATE TABLE notification_templates (
    event TEXT NOT NULL,
    channel TEXT NOT NULL,
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    subject TEXT,
    body_text TEXT,
    body_html TEXT,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (event, channel)
);
-- The outbox and the notification log in one: a row is written in the transaction of the change
-- that causes it, a job delivers it, and the row keeps the outcome.
CREATE TABLE notifications (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at INTEGER NOT NULL,
    event TEXT NOT NULL,
    channel TEXT NOT NULL,
    -- An e-mail address, a Discord user id, or "channel:<id>" for the admin channel.
    recipient TEXT NOT NULL,
    customer_id INTEGER REFERENCES customers (id) ON DELETE SET NULL,
    -- The placeholder values as JSON, sealed: some carry credentials (request-app passwords).
    context_sealed TEXT NOT NULL,
    -- Set when the cause must not be told twice (a reminder per payment and day, an enforcement per
    -- week); the unique index makes a second insert a no-op.
    dedupe_key TEXT UNIQUE,
    -- queued, sent, retrying, failed, skipped.
    status TEXT NOT NULL DEFAULT 'queued',
    attempts INTEGER NOT NULL DEFAULT 0,
    subject TEXT NOT NULL DEFAULT '',
    error TEXT NOT NULL DEFAULT '',
    sent_at INTEGER
);
CREATE INDEX notifications_created ON notifications (created_at, id);
CREATE INDEX notifications_customer ON notifications (customer_id, created_at);
