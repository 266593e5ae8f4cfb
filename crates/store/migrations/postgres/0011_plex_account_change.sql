-- Plex account change and self re-invite (operations §4.3, §4.4). The SQLite twin is
-- migrations/sqlite/0011_plex_account_change.sql: keep them in step. The flag itself,
-- customers.requires_plex_account_change, exists since 0003.
-- When the customer last pressed "Re-invite yourself": the button is rate-limited so a
-- customer cannot make boxoffice spam plex.tv with invites.
ALTER TABLE customers ADD COLUMN self_reinvite_at BIGINT;
CREATE INDEX customers_requires_plex_change ON customers (requires_plex_account_change);
