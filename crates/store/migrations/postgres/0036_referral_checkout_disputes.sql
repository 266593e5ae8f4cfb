-- Referral credits a checkout took off its price (the credits are marked used by
-- "checkout:<id>" and go back to pending when the checkout fails or expires).
ALTER TABLE checkouts ADD COLUMN referral_credit_minor BIGINT NOT NULL DEFAULT 0;

-- What a chargeback took from a payment, so a dispute won puts it back: the refunded total and
-- the end of coverage from before the chargeback (NULL while no chargeback stands).
ALTER TABLE payments ADD COLUMN disputed_refunded_minor BIGINT;
ALTER TABLE payments ADD COLUMN disputed_period_to BIGINT;
