-- Indexes for the Users page (product §3.2): case-insensitive prefix search on every identity and
-- the notes. The PostgreSQL twin is migrations/postgres/0006_users_page.sql: keep them in step.
-- The e-mail is searched through `email_key` (already lower-cased and uniquely indexed). SQLite
-- cannot use an index for LIKE on an expression, so the query compares ranges
-- (lower(x) >= 'ab' AND lower(x) < 'ab' || U+10FFFF), which these expression indexes serve.
CREATE INDEX customers_search_plex_email ON customers (lower(plex_email));
CREATE INDEX customers_search_plex_username ON customers (lower(plex_username));
CREATE INDEX customers_search_jellyfin_username ON customers (lower(jellyfin_username));
CREATE INDEX customers_search_emby_username ON customers (lower(emby_username));
CREATE INDEX customers_search_notes ON customers (lower(notes));
-- "Permanent" and "expired" filters read these two columns together; covering them lets a count
-- over 100,000 customers walk the index instead of the table.
CREATE INDEX customers_class_coverage ON customers (permanent, covered_until);
-- Sorting by expiry with a status filter reads both columns from this index alone; it serves
-- every query the single-column customers_covered_until index did, which would otherwise be
-- chosen for the ORDER BY and cost a table read per skipped row.
CREATE INDEX customers_coverage_class ON customers (covered_until, permanent);
DROP INDEX customers_covered_until;
-- The server filter's id set (users with a live share on a server) from the index alone.
CREATE INDEX shares_server_state_customer ON shares (server_id, state, customer_id);
-- A plan filter sorted by expiry (with or without a status filter) walks this index alone.
CREATE INDEX customers_plan_coverage ON customers (plan_id, covered_until, permanent);
