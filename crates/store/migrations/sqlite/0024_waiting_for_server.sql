-- Paid, waiting for a server: a customer whose money was taken (a renewal, a plan change) when no
-- server had room for their plan. The PostgreSQL twin is
-- migrations/postgres/0024_waiting_for_server.sql: keep them in step. The row is visible on the
-- customer's page and the job `subscriptions.place_waiting` retries it; it goes once a share is
-- written.
CREATE TABLE waiting_for_server (
    customer_id INTEGER PRIMARY KEY REFERENCES customers (id) ON DELETE CASCADE,
    since INTEGER NOT NULL,
    -- Why no server took them, as selection said it last.
    message TEXT NOT NULL,
    tried_at INTEGER NOT NULL
);
