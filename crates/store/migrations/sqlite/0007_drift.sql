-- Reconciliation findings (product §14.1, operations §2.1 "sharing updates"): where a server's
-- users differ from the shares we hold. The PostgreSQL twin is migrations/postgres/0007_drift.sql:
-- keep them in step. Each scan of a server replaces that server's rows; `found_at` survives a
-- rescan that finds the same difference again, so the page says since when it has been wrong.
CREATE TABLE drift (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    server_id INTEGER NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    -- NULL for a user on the server that no customer matches (reported when import is off).
    customer_id INTEGER REFERENCES customers (id) ON DELETE CASCADE,
    share_id INTEGER REFERENCES shares (id) ON DELETE CASCADE,
    -- The name or e-mail the server knows the user by.
    remote_user TEXT NOT NULL DEFAULT '',
    -- extra_libraries, missing_libraries, downloads, transcoding, disabled, user_missing,
    -- expired_share, unknown_user.
    kind TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '',
    found_at INTEGER NOT NULL,
    seen_at INTEGER NOT NULL
);
CREATE INDEX drift_server ON drift (server_id);
CREATE INDEX drift_share ON drift (share_id);
