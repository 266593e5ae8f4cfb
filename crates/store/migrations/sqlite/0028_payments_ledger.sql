-- The money path from checkout to access (docs/payments.md). The PostgreSQL twin is
-- migrations/postgres/0028_payments_ledger.sql: keep them in step.

-- A customer's attempt to buy a plan through a gateway. Written before the gateway is called;
-- its id derives the idempotency key, so a retried call never opens a second hosted page.
CREATE TABLE checkouts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    plan_id INTEGER NOT NULL REFERENCES plans (id) ON DELETE RESTRICT,
    provider TEXT NOT NULL CHECK (provider IN ('stripe', 'paypal', 'plisio')),
    -- one_off: pay as you go; recurring: the gateway bills each period.
    mode TEXT NOT NULL CHECK (mode IN ('one_off', 'recurring')),
    -- created: row written, gateway not answered yet; open: the customer is on the hosted page;
    -- paid; expired; failed; cancelled (the customer came back through the cancel link);
    -- mismatch (paid another amount: the owner reviews it).
    state TEXT NOT NULL CHECK (state IN ('created', 'open', 'paid', 'expired', 'failed', 'cancelled', 'mismatch')),
    amount_minor INTEGER NOT NULL CHECK (amount_minor >= 0),
    currency TEXT NOT NULL,
    -- The discount code applied before the gateway was called, and what it took off (0: none).
    discount_code TEXT NOT NULL DEFAULT '',
    discount_minor INTEGER NOT NULL DEFAULT 0,
    -- Stripe session cs_…, PayPal order id or subscription I-…, Plisio txn_id.
    gateway_ref TEXT NOT NULL DEFAULT '',
    redirect_url TEXT NOT NULL DEFAULT '',
    payment_id INTEGER REFERENCES payments (id) ON DELETE SET NULL,
    error TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX checkouts_customer ON checkouts (customer_id, created_at);
CREATE INDEX checkouts_gateway_ref ON checkouts (provider, gateway_ref);

-- Every verified webhook event, once: storing it and applying it happen in one transaction.
CREATE TABLE payment_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    provider TEXT NOT NULL CHECK (provider IN ('stripe', 'paypal', 'plisio')),
    -- The provider's event id (Plisio: <txn_id>:<status>).
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    -- applied; ignored (a type boxoffice does not act on, or nothing left to do); waiting (it
    -- names a payment or subscription not recorded yet, and is applied when that arrives);
    -- unmatched (no checkout or customer could be found).
    outcome TEXT NOT NULL CHECK (outcome IN ('applied', 'ignored', 'waiting', 'unmatched')),
    -- What the event waits for while outcome = waiting: payment:<id> or subscription:<id>.
    waiting_for TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT '',
    -- The verified event, gateway-neutral (JSON).
    event TEXT NOT NULL,
    customer_id INTEGER REFERENCES customers (id) ON DELETE SET NULL,
    payment_id INTEGER REFERENCES payments (id) ON DELETE SET NULL,
    -- When the provider says it happened (Unix seconds), if it does.
    occurred_at INTEGER,
    received_at INTEGER NOT NULL,
    UNIQUE (provider, event_id)
);
CREATE INDEX payment_events_waiting ON payment_events (provider, waiting_for) WHERE outcome = 'waiting';
CREATE INDEX payment_events_customer ON payment_events (customer_id);

-- A recurring subscription at a gateway and its state as the latest event said.
CREATE TABLE gateway_subscriptions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    provider TEXT NOT NULL CHECK (provider IN ('stripe', 'paypal', 'plisio')),
    subscription_id TEXT NOT NULL,
    customer_id INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    plan_id INTEGER REFERENCES plans (id) ON DELETE SET NULL,
    state TEXT NOT NULL CHECK (state IN ('active', 'past_due', 'cancelled')),
    cancel_at_period_end BOOLEAN NOT NULL DEFAULT FALSE,
    current_period_end INTEGER,
    -- When the event that set the state happened: an older event never overrides a newer one.
    state_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (provider, subscription_id)
);
CREATE INDEX gateway_subscriptions_customer ON gateway_subscriptions (customer_id);

-- How much of a payment was given back (refunds and chargebacks), in the payment's currency.
ALTER TABLE payments ADD COLUMN refunded_minor INTEGER NOT NULL DEFAULT 0;
