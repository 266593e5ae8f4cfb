-- Subscription lifecycle. The PostgreSQL twin is migrations/postgres/0004_lifecycle.sql.
-- A share's desired state gets a revision, bumped on every change, so the job that applies it can
-- be keyed by (share, revision): a retried use case never doubles the job, a later change gets its own.
ALTER TABLE shares ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;
-- The revision the last successful apply wrote; equal to revision when the server is up to date.
ALTER TABLE shares ADD COLUMN applied_revision INTEGER NOT NULL DEFAULT 0;
-- When the customer is being deleted: shares are removed from the servers first, then the row goes.
ALTER TABLE customers ADD COLUMN deleting_at INTEGER;
