-- Transaction sync, unmatched payments and refunds asked for on the Payments page. The postgres
-- twin is migrations/postgres/0030_payment_sync.sql: keep them in step.

-- Gateway payments sync could not tie to a customer (product §28.6): the admin assigns each to
-- a customer (which records a payment) or dismisses it. One row per gateway transaction, so an
-- hourly sync never lists the same payment twice.
CREATE TABLE unmatched_payments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    gateway TEXT NOT NULL CHECK (gateway IN ('stripe', 'paypal', 'plisio')),
    account TEXT NOT NULL CHECK (account IN ('primary', 'secondary')),
    transaction_id TEXT NOT NULL,
    payer_email TEXT NOT NULL DEFAULT '',
    payer_name TEXT NOT NULL DEFAULT '',
    amount_minor INTEGER NOT NULL,
    currency TEXT NOT NULL,
    paid_at INTEGER NOT NULL,
    subscription_id TEXT NOT NULL DEFAULT '',
    -- Why sync could not match it, in words for the page.
    reason TEXT NOT NULL DEFAULT '',
    -- The transaction as the gateway described it (JSON), for the admin's judgement.
    raw TEXT NOT NULL DEFAULT '{}',
    state TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'assigned', 'dismissed')),
    customer_id INTEGER REFERENCES customers (id) ON DELETE SET NULL,
    payment_id INTEGER REFERENCES payments (id) ON DELETE SET NULL,
    dismiss_reason TEXT NOT NULL DEFAULT '',
    resolved_by TEXT NOT NULL DEFAULT '',
    resolved_at INTEGER,
    created_at INTEGER NOT NULL,
    UNIQUE (gateway, transaction_id)
);
CREATE INDEX unmatched_payments_state ON unmatched_payments (state, paid_at);

-- Where each gateway account's sync stands: the window it has read up to, its last run and
-- error, and what the last run found. One row per (gateway, account).
CREATE TABLE payment_sync_status (
    gateway TEXT NOT NULL,
    account TEXT NOT NULL,
    -- Transactions created before this instant have been read (the next run starts a day before).
    synced_through INTEGER,
    last_started_at INTEGER,
    last_finished_at INTEGER,
    last_success_at INTEGER,
    last_error TEXT NOT NULL DEFAULT '',
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    last_seen INTEGER NOT NULL DEFAULT 0,
    last_matched INTEGER NOT NULL DEFAULT 0,
    last_unmatched INTEGER NOT NULL DEFAULT 0,
    last_skipped INTEGER NOT NULL DEFAULT 0,
    total_matched INTEGER NOT NULL DEFAULT 0,
    total_unmatched INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (gateway, account)
);

-- A refund the admin asked for: one per payment, carried out by a job that calls the gateway
-- with an idempotency key derived from this row.
CREATE TABLE payment_refunds (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    payment_id INTEGER NOT NULL UNIQUE REFERENCES payments (id) ON DELETE CASCADE,
    amount_minor INTEGER NOT NULL,
    currency TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'succeeded', 'pending', 'failed')),
    gateway_refund_id TEXT NOT NULL DEFAULT '',
    error TEXT NOT NULL DEFAULT '',
    requested_by TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- Matching looks payments up by subscription id and customers by PayPal e-mail.
CREATE INDEX payments_subscription ON payments (subscription_id);
CREATE INDEX payments_created ON payments (created_at);
CREATE INDEX customers_paypal_email_lower ON customers (lower(paypal_email));
