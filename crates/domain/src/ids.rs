//! Identifiers of stored records, as the store hands them out (SQLite/Postgres integer keys).
//! Plain aliases rather than newtypes so the store and the rules speak the same type without
//! conversions; the field names say which table an id points into.

pub type PlanId = i64;
pub type ServerId = i64;
pub type LibraryGroupId = i64;
pub type LocationId = i64;
