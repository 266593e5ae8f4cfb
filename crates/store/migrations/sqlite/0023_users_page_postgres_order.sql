-- The PostgreSQL twin adds indexes in the Users page's expiry and plan orders, which PostgreSQL
-- needs because it sorts NULL last by default and plans the plan sort per plan. SQLite's indexes
-- from 0006 already serve those orders (NULL is its lowest value), so nothing changes here; the
-- statement only keeps the two migration histories in step.
SELECT 1;
