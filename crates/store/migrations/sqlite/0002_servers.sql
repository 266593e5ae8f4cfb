-- Plex accounts, servers, their locations and libraries, and the media self-test history.
-- The PostgreSQL twin of this file is migrations/postgres/0002_servers.sql: keep them in step.
-- Columns ending in _enc hold secrets sealed with the instance key (never plaintext).

CREATE TABLE plex_accounts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    token_enc TEXT NOT NULL,
    plex_user_id TEXT NOT NULL DEFAULT '',
    username TEXT NOT NULL DEFAULT '',
    email TEXT NOT NULL DEFAULT '',
    has_plex_pass BOOLEAN NOT NULL DEFAULT FALSE,
    proxy_url TEXT NOT NULL DEFAULT '',
    proxy_username TEXT NOT NULL DEFAULT '',
    proxy_password_enc TEXT NOT NULL DEFAULT '',
    extra_query TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    last_checked_at INTEGER,
    last_error TEXT
);

CREATE TABLE server_locations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    sort_order INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);

CREATE TABLE servers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    platform TEXT NOT NULL CHECK (platform IN ('plex', 'jellyfin', 'emby')),
    name TEXT NOT NULL,
    -- Plex machineIdentifier; Jellyfin/Emby server Id.
    remote_id TEXT NOT NULL,
    url TEXT NOT NULL,
    -- Jellyfin/Emby only; Plex servers use their account's token.
    api_key_enc TEXT NOT NULL DEFAULT '',
    plex_account_id INTEGER REFERENCES plex_accounts (id) ON DELETE RESTRICT,
    location_id INTEGER REFERENCES server_locations (id) ON DELETE SET NULL,
    enabled BOOLEAN NOT NULL DEFAULT FALSE,
    allow_new_subscriptions BOOLEAN NOT NULL DEFAULT TRUE,
    allow_trial_subscriptions BOOLEAN NOT NULL DEFAULT TRUE,
    max_users INTEGER NOT NULL DEFAULT 100,
    allow_4k_transcoding BOOLEAN NOT NULL DEFAULT TRUE,
    log_activity BOOLEAN NOT NULL DEFAULT FALSE,
    has_premiere BOOLEAN NOT NULL DEFAULT FALSE,
    version TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    last_synced_at INTEGER,
    last_error TEXT,
    UNIQUE (platform, remote_id)
);
CREATE INDEX servers_plex_account ON servers (plex_account_id);

CREATE TABLE libraries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    server_id INTEGER NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    -- Server-local id: Plex section key, Jellyfin/Emby item Id.
    remote_key TEXT NOT NULL,
    -- The id access is granted by: Plex plex.tv-global section id, Jellyfin folder Id, Emby Guid.
    global_id TEXT NOT NULL DEFAULT '',
    name TEXT NOT NULL,
    kind TEXT NOT NULL DEFAULT '',
    item_count INTEGER NOT NULL DEFAULT 0,
    child_count INTEGER,
    -- The library groups table arrives with issue 4; until then a plain nullable column.
    library_group_id INTEGER,
    created_at INTEGER NOT NULL,
    synced_at INTEGER NOT NULL,
    -- Set when a sync no longer finds the library; kept so its group assignment survives.
    removed_at INTEGER,
    UNIQUE (server_id, remote_key)
);

CREATE TABLE self_test_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    cause TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    finished_at INTEGER,
    passed INTEGER NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX self_test_runs_started ON self_test_runs (started_at);

CREATE TABLE self_test_results (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id INTEGER NOT NULL REFERENCES self_test_runs (id) ON DELETE CASCADE,
    -- Stable key of what was tested ("plex_account:1", "server:3"), to compare runs.
    target_key TEXT NOT NULL,
    target TEXT NOT NULL,
    call TEXT NOT NULL,
    ok BOOLEAN NOT NULL,
    skipped BOOLEAN NOT NULL DEFAULT FALSE,
    status INTEGER,
    message TEXT NOT NULL DEFAULT '',
    advice TEXT NOT NULL DEFAULT '',
    latency_ms INTEGER NOT NULL DEFAULT 0,
    at INTEGER NOT NULL
);
CREATE INDEX self_test_results_run ON self_test_results (run_id);
CREATE INDEX self_test_results_target ON self_test_results (target_key, call);
