-- Library groups, plans, customers ("users" in the admin panel), payments and shares.
-- The PostgreSQL twin of this file is migrations/postgres/0003_subscriptions.sql: keep them in step.
-- Active or expired is never stored: it is derived from payments' coverage (operations §3.1).

CREATE TABLE library_groups (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    -- Which built-in group this is (they cannot be deleted); NULL for an owner's own group.
    builtin TEXT UNIQUE CHECK (builtin IN ('private', 'standard', 'premium_4k')),
    -- Libraries in a private group are never shared with anyone.
    is_private BOOLEAN NOT NULL DEFAULT FALSE,
    description TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
);
INSERT INTO library_groups (name, builtin, is_private, description, created_at) VALUES ('Private', 'private', TRUE, 'Never shared with anyone.', 0);
INSERT INTO library_groups (name, builtin, is_private, description, created_at) VALUES ('Standard', 'standard', FALSE, 'The libraries every plan shares.', 0);
INSERT INTO library_groups (name, builtin, is_private, description, created_at) VALUES ('Premium 4K', 'premium_4k', FALSE, '4K libraries for premium plans.', 0);
CREATE INDEX libraries_group ON libraries (library_group_id);

CREATE TABLE plans (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    cost_minor INTEGER NOT NULL CHECK (cost_minor >= 0),
    currency TEXT NOT NULL,
    duration_unit TEXT NOT NULL CHECK (duration_unit IN ('days', 'months')),
    duration_count INTEGER NOT NULL CHECK (duration_count > 0),
    -- NULL means unlimited.
    stream_limit INTEGER,
    downloads BOOLEAN NOT NULL DEFAULT FALSE,
    video_transcoding BOOLEAN NOT NULL DEFAULT TRUE,
    emby_device_limit INTEGER,
    is_trial BOOLEAN NOT NULL DEFAULT FALSE,
    is_default BOOLEAN NOT NULL DEFAULT FALSE,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    stripe_price_id TEXT NOT NULL DEFAULT '',
    paypal_plan_id TEXT NOT NULL DEFAULT '',
    max_linked_accounts INTEGER NOT NULL DEFAULT 0,
    sort_order INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
-- At most one default plan, enforced by the database as well as by validation.
CREATE UNIQUE INDEX plans_single_default ON plans (is_default) WHERE is_default;

-- The groups a plan grants (grace = FALSE) and the groups kept after expiry (grace = TRUE).
CREATE TABLE plan_library_groups (
    plan_id INTEGER NOT NULL REFERENCES plans (id) ON DELETE CASCADE,
    library_group_id INTEGER NOT NULL REFERENCES library_groups (id) ON DELETE RESTRICT,
    grace BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (plan_id, library_group_id, grace)
);

CREATE TABLE plan_target_servers (
    plan_id INTEGER NOT NULL REFERENCES plans (id) ON DELETE CASCADE,
    server_id INTEGER NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    PRIMARY KEY (plan_id, server_id)
);

CREATE TABLE customers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    email TEXT NOT NULL,
    email_key TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL DEFAULT '',
    login_id INTEGER UNIQUE REFERENCES logins (id) ON DELETE SET NULL,
    plex_email TEXT NOT NULL DEFAULT '',
    plex_username TEXT NOT NULL DEFAULT '',
    jellyfin_username TEXT NOT NULL DEFAULT '',
    emby_username TEXT NOT NULL DEFAULT '',
    permanent BOOLEAN NOT NULL DEFAULT FALSE,
    paypal_email TEXT NOT NULL DEFAULT '',
    discord_id TEXT NOT NULL DEFAULT '',
    notes TEXT NOT NULL DEFAULT '',
    requires_plex_account_change BOOLEAN NOT NULL DEFAULT FALSE,
    weekly_download_allotment INTEGER,
    -- The plan the customer is on now (their latest payment's plan, or the plan they were imported on).
    plan_id INTEGER REFERENCES plans (id) ON DELETE SET NULL,
    preferred_location_id INTEGER REFERENCES server_locations (id) ON DELETE SET NULL,
    -- Denormalised end of paid coverage, kept in step with payments in the same transaction, so the
    -- Users page can filter and sort 100,000 customers by status without scanning payments.
    covered_until INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX customers_plan ON customers (plan_id);
CREATE INDEX customers_covered_until ON customers (covered_until);
CREATE INDEX customers_created ON customers (created_at);
CREATE INDEX customers_plex_email ON customers (plex_email);

CREATE TABLE payments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    plan_id INTEGER NOT NULL REFERENCES plans (id) ON DELETE RESTRICT,
    amount_minor INTEGER NOT NULL,
    currency TEXT NOT NULL,
    -- Coverage is the half-open period [period_from, period_to).
    period_from INTEGER NOT NULL,
    period_to INTEGER NOT NULL CHECK (period_to > period_from),
    method TEXT NOT NULL,
    transaction_id TEXT NOT NULL,
    -- Splits one gateway transaction over several customers (linked users).
    sequence INTEGER NOT NULL DEFAULT 0,
    subscription_id TEXT NOT NULL DEFAULT '',
    notes TEXT NOT NULL DEFAULT '',
    source TEXT NOT NULL DEFAULT 'manual',
    created_at INTEGER NOT NULL,
    UNIQUE (transaction_id, sequence)
);
CREATE INDEX payments_customer_period ON payments (customer_id, period_to);

-- A customer's access on one server: what we want it to be, and what we last applied.
CREATE TABLE shares (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    server_id INTEGER NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    -- pending: to be created; invited: Plex invite not yet accepted; active; grace: only grace
    -- libraries left; removed: no access (kept so the server counts as "previous").
    state TEXT NOT NULL CHECK (state IN ('pending', 'invited', 'active', 'grace', 'removed')),
    remote_user_id TEXT NOT NULL DEFAULT '',
    remote_invite_id TEXT NOT NULL DEFAULT '',
    -- JSON array of library ids (our ids) the customer should have on this server.
    desired_libraries TEXT NOT NULL DEFAULT '[]',
    downloads BOOLEAN NOT NULL DEFAULT FALSE,
    video_transcoding BOOLEAN NOT NULL DEFAULT FALSE,
    stream_limit INTEGER,
    applied_at INTEGER,
    last_error TEXT,
    -- After expiry: when the user is to be deleted from the server (NULL = not scheduled).
    delete_after INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (customer_id, server_id)
);
CREATE INDEX shares_server_state ON shares (server_id, state);

-- Things an administrator must hear about (no capacity, a paying customer left without access).
-- The notifications feature sends them; until then they are listed in the admin panel.
CREATE TABLE admin_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    kind TEXT NOT NULL,
    customer_id INTEGER REFERENCES customers (id) ON DELETE SET NULL,
    server_id INTEGER REFERENCES servers (id) ON DELETE SET NULL,
    message TEXT NOT NULL,
    notified_at INTEGER
);
CREATE INDEX admin_events_at ON admin_events (at);
