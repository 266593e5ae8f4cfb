-- The Users page on PostgreSQL (docs/performance.md). SQLite reads NULL as the lowest value and
-- its indexes already serve the page's orders; PostgreSQL sorts NULL last by default, so the
-- expiry order (NULL = never paid, first) was a sort of the whole table. These indexes are in
-- the page's order, with the id tie-break, and carry `permanent` so the status filters are
-- checked from the index alone. The SQLite twin, 0023, changes nothing.
CREATE INDEX customers_expiry_order ON customers (covered_until ASC NULLS FIRST, id) INCLUDE (permanent);
-- Replaced by customers_expiry_order, which serves the same ranges and orders.
DROP INDEX customers_coverage_class;
-- A plan filter sorted by expiry walks the plan's part of the index in the page's order.
DROP INDEX customers_plan_coverage;
CREATE INDEX customers_plan_coverage ON customers (plan_id, covered_until ASC NULLS FIRST, id) INCLUDE (permanent);
-- Sorted by plan name, the page reads each plan's customers in id order and merges them (see
-- users_page::rows); (plan_id) alone is ordered by row position, not id. Serves the plan_id
-- foreign key as customers_plan did.
CREATE INDEX customers_plan_order ON customers (plan_id, id);
DROP INDEX customers_plan;
