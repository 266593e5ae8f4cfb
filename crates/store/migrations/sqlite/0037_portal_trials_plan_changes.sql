-- One free trial per person (product §28.2 step 1): every identity a trial was started under
-- ("email:…", "plex:…", "jellyfin:…", "emby:…", normalised), kept when the customer is deleted,
-- so neither a new login nor a re-created customer gets a second trial.
CREATE TABLE trial_claims (
    identity TEXT PRIMARY KEY,
    customer_id INTEGER NOT NULL,
    plan_id INTEGER NOT NULL,
    claimed_at INTEGER NOT NULL
);
CREATE INDEX trial_claims_customer ON trial_claims (customer_id);

-- A checkout that changes the customer's plan now (product §10.3): when it is paid, the running
-- payment ends and its unused value becomes a credit on the new one.
CREATE TABLE plan_change_checkouts (
    checkout_id INTEGER PRIMARY KEY REFERENCES checkouts (id) ON DELETE CASCADE,
    from_plan_id INTEGER NOT NULL
);

-- A customer asked to stop a recurring payment: the job asks the gateway; state says how far
-- it got (requested, done, failed) and error why it failed.
CREATE TABLE recurring_cancellations (
    subscription_row_id INTEGER PRIMARY KEY REFERENCES gateway_subscriptions (id) ON DELETE CASCADE,
    state TEXT NOT NULL CHECK (state IN ('requested', 'done', 'failed')),
    error TEXT NOT NULL DEFAULT '',
    requested_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
