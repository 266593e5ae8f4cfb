-- Discount codes and referrals (product §16, §8.11). The PostgreSQL twin is
-- migrations/postgres/0029_discounts.sql: keep them in step.

CREATE TABLE discount_codes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    -- Upper-case letters, digits, - and _; matched without regard to case.
    code TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    -- Exactly one of the two: a whole percent, or an amount in minor units of `currency`.
    percent_off INTEGER CHECK (percent_off BETWEEN 1 AND 99),
    amount_off_minor INTEGER CHECK (amount_off_minor > 0),
    currency TEXT NOT NULL DEFAULT '',
    -- A user-bound code: only this e-mail may use it, once. '' = anyone.
    customer_email TEXT NOT NULL DEFAULT '',
    customer_email_key TEXT NOT NULL DEFAULT '',
    -- NULL = never expires.
    expires_at INTEGER,
    -- NULL = unlimited.
    max_uses INTEGER CHECK (max_uses >= 1),
    once_per_customer BOOLEAN NOT NULL DEFAULT TRUE,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    used_count INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    CHECK ((percent_off IS NULL) <> (amount_off_minor IS NULL))
);

-- The plans a code applies to; none = every plan.
CREATE TABLE discount_code_plans (
    code_id INTEGER NOT NULL REFERENCES discount_codes (id) ON DELETE CASCADE,
    plan_id INTEGER NOT NULL REFERENCES plans (id) ON DELETE CASCADE,
    PRIMARY KEY (code_id, plan_id)
);

-- One use of a code, tied to the payment or checkout it lowered.
CREATE TABLE discount_redemptions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    code_id INTEGER NOT NULL REFERENCES discount_codes (id) ON DELETE RESTRICT,
    customer_id INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    -- "payment:<id>" or "checkout:<id>": recording the same one twice is one use.
    reference TEXT NOT NULL,
    -- Copied from the code: the unique index below then keeps one use per customer.
    once_per_customer BOOLEAN NOT NULL,
    plan_id INTEGER REFERENCES plans (id) ON DELETE SET NULL,
    price_minor INTEGER NOT NULL,
    discount_minor INTEGER NOT NULL,
    currency TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (code_id, reference)
);
CREATE UNIQUE INDEX discount_redemptions_once ON discount_redemptions (code_id, customer_id) WHERE once_per_customer;
CREATE INDEX discount_redemptions_customer ON discount_redemptions (customer_id);

-- Each customer's referral code, made the first time it is shown.
CREATE TABLE referral_codes (
    customer_id INTEGER PRIMARY KEY REFERENCES customers (id) ON DELETE CASCADE,
    code TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);

-- Who referred whom (recorded at registration).
CREATE TABLE referrals (
    referred_customer_id INTEGER PRIMARY KEY REFERENCES customers (id) ON DELETE CASCADE,
    referrer_customer_id INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    code TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    CHECK (referred_customer_id <> referrer_customer_id)
);
CREATE INDEX referrals_referrer ON referrals (referrer_customer_id);

-- The bonus a referrer got for one referred customer's first payment: once per referred customer.
CREATE TABLE referral_credits (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    referrer_customer_id INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    referred_customer_id INTEGER UNIQUE REFERENCES customers (id) ON DELETE SET NULL,
    -- The referred customer's first payment ("payment:<id>").
    trigger_reference TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('days', 'credit')),
    days INTEGER NOT NULL DEFAULT 0,
    amount_minor INTEGER NOT NULL DEFAULT 0,
    currency TEXT NOT NULL DEFAULT '',
    -- applied: days added to current access; pending: waits for the referrer's next payment;
    -- used: taken by that payment.
    state TEXT NOT NULL CHECK (state IN ('applied', 'pending', 'used')),
    bonus_payment_id INTEGER REFERENCES payments (id) ON DELETE SET NULL,
    used_reference TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    used_at INTEGER
);
CREATE INDEX referral_credits_referrer ON referral_credits (referrer_customer_id, state);
