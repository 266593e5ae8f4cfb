//! Domain types and rules of boxoffice. Nothing in here performs I/O: values are parsed once at the
//! edge and the rules are plain functions, so every other crate can rely on them.

pub mod backoff;
pub mod bulk_invite;
pub mod clock;
pub mod coverage;
pub mod credits;
pub mod discounts;
pub mod email;
pub mod enforcement;
pub mod ids;
pub mod media_password;
pub mod migration;
pub mod money;
pub mod notifications;
pub mod password;
pub mod payment_sync;
pub mod permission;
pub mod plans;
pub mod platform;
pub mod referrals;
pub mod schedule;
pub mod selection;
pub mod settings;

pub use clock::{Clock, SystemClock, TestClock};
pub use email::Email;
pub use money::Money;
pub use permission::{Permission, RoleKind};
