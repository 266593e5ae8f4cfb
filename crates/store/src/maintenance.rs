//! Keeping the query planner informed. PostgreSQL plans from table statistics, which autovacuum
//! gathers only some minutes after many rows arrive; until then a query planned for a nearly
//! empty table can take a plan that reads every row. SQLite plans without statistics unless
//! `ANALYZE` was run, and its queries are written for that (`docs/performance.md`), so nothing
//! is gathered there.

use crate::{Backend, Ex, Result, StoreError, affected};

/// After a bulk load (an import finishing): fresh statistics for the tables the Users page
/// reads, and their visibility maps brought up to date, which lets PostgreSQL count and page
/// from the indexes alone instead of visiting every new row (an index-only scan must otherwise
/// check each row in the table). Both are what autovacuum would do some minutes later; doing it
/// now keeps the Users page fast right after the import. Run outside a transaction.
pub async fn refresh_statistics(mut ex: Ex<'_>) -> Result<()> {
    if ex.backend() != Backend::Postgres {
        return Ok(());
    }
    for sql in [
        "VACUUM (ANALYZE) customers, shares",
        "ANALYZE payments, plans, servers",
    ] {
        affected!(ex.reborrow(), |e| sqlx::query(sql).execute(e).await)
            .map_err(StoreError::from)?;
    }
    Ok(())
}
