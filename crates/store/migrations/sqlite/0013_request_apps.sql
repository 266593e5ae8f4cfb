-- Request apps (Overseerr/Jellyseerr, Ombi, Petio; product §8.8). The PostgreSQL twin is
-- migrations/postgres/0013_request_apps.sql: keep them in step.

-- What each plan grants in each request app. No row = the app gives this plan's customers no
-- account.
CREATE TABLE request_app_plans (
    plan_id INTEGER NOT NULL REFERENCES plans (id) ON DELETE CASCADE,
    -- overseerr, ombi, petio.
    app TEXT NOT NULL,
    -- Comma-separated permission names (Overseerr) or role names (Ombi); unused by Petio.
    roles TEXT NOT NULL DEFAULT '',
    -- NULL = no per-user limit (the app's global default applies).
    movie_quota_limit INTEGER,
    movie_quota_days INTEGER,
    tv_quota_limit INTEGER,
    tv_quota_days INTEGER,
    -- Petio profile name; '' = the profile in the Petio settings.
    profile TEXT NOT NULL DEFAULT '',
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (plan_id, app)
);

-- Each customer's account in each request app, as last synchronised, so the customer page
-- shows it and the daily sync knows whom to check.
CREATE TABLE request_app_accounts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    app TEXT NOT NULL,
    -- The app's own id ('' until created).
    external_id TEXT NOT NULL DEFAULT '',
    username TEXT NOT NULL DEFAULT '',
    -- pending, active, disabled, deleted, failed.
    state TEXT NOT NULL,
    last_error TEXT NOT NULL DEFAULT '',
    -- The password of a local account boxoffice created, sealed, for the credentials
    -- notification; '' when the account was imported or found.
    sealed_password TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (customer_id, app)
);
