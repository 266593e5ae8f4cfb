-- Foundation schema. Times are Unix seconds (UTC) in INTEGER columns; booleans are 0/1.
-- Every id is AUTOINCREMENT: SQLite would otherwise reuse the id of the last deleted row, and
-- job idempotency keys name ids (share:<id>, customer.delete:<id>), so a reused id would match an
-- old finished job and the new work would never run.
-- The PostgreSQL twin of this file is migrations/postgres/0001_foundation.sql: keep them in step.

CREATE TABLE roles (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('administrator', 'user', 'custom')),
    permissions TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
);

CREATE TABLE logins (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    email TEXT NOT NULL,
    email_key TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role_id INTEGER NOT NULL REFERENCES roles (id),
    email_confirmed BOOLEAN NOT NULL DEFAULT FALSE,
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    created_at INTEGER NOT NULL,
    last_login_at INTEGER,
    password_changed_at INTEGER NOT NULL
);

CREATE TABLE login_sessions (
    id_hash TEXT PRIMARY KEY,
    login_id INTEGER NOT NULL REFERENCES logins (id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    mfa_pending BOOLEAN NOT NULL,
    permissions TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    ip TEXT NOT NULL DEFAULT '',
    user_agent TEXT NOT NULL DEFAULT ''
);
CREATE INDEX login_sessions_login ON login_sessions (login_id);
CREATE INDEX login_sessions_expiry ON login_sessions (expires_at);

CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    login_id INTEGER NOT NULL REFERENCES logins (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at INTEGER
);
CREATE INDEX api_tokens_login ON api_tokens (login_id);

CREATE TABLE totp_secrets (
    login_id INTEGER PRIMARY KEY REFERENCES logins (id) ON DELETE CASCADE,
    secret_enc TEXT NOT NULL,
    confirmed_at INTEGER,
    last_used_step INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE recovery_codes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    login_id INTEGER NOT NULL REFERENCES logins (id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    used_at INTEGER
);
CREATE INDEX recovery_codes_login ON recovery_codes (login_id);

CREATE TABLE email_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    login_id INTEGER REFERENCES logins (id) ON DELETE CASCADE,
    purpose TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER
);

CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    updated_by INTEGER REFERENCES logins (id) ON DELETE SET NULL
);

CREATE TABLE jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    idempotency_key TEXT UNIQUE,
    state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'dead')),
    run_after INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    last_error TEXT,
    lease_until INTEGER,
    lease_token TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    finished_at INTEGER
);
CREATE INDEX jobs_ready ON jobs (state, run_after);

CREATE TABLE schedules (
    name TEXT PRIMARY KEY,
    next_run_at INTEGER NOT NULL,
    last_run_at INTEGER
);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    actor_login_id INTEGER REFERENCES logins (id) ON DELETE SET NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT '',
    ip TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at ON audit_log (at);

CREATE TABLE idempotency_keys (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    response_status INTEGER,
    response_body TEXT,
    PRIMARY KEY (scope, key)
);

CREATE TABLE login_throttle (
    key TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    last_failure_at INTEGER NOT NULL,
    locked_until INTEGER NOT NULL
);

-- Effects a job has applied, keyed so that a job run again after its lease ran out skips what is
-- already done (written in the same transaction as the effect itself).
CREATE TABLE job_effects (
    effect_key TEXT PRIMARY KEY,
    job_id INTEGER NOT NULL,
    applied_at INTEGER NOT NULL
);

-- The two built-in roles. Their permissions are fixed in code, never read from this column.
INSERT INTO roles (name, kind, permissions, created_at) VALUES ('Administrator', 'administrator', '', 0);
INSERT INTO roles (name, kind, permissions, created_at) VALUES ('User', 'user', '', 0);
