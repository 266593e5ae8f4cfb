//! Storage for boxoffice on SQLite (the default, one instance) or PostgreSQL (several instances).
//!
//! Every query is written once, with `$1` placeholders, and the [`run!`] macro expands it into one
//! arm per backend so each is type-checked against both drivers. Where the dialects really differ
//! (the job claim) the arms are written apart, in that one function.

mod db;
mod error;

pub mod admin_events;
pub mod audit;
pub mod bulk_invites;
pub mod checkouts;
pub mod customers;
pub mod dashboard;
pub mod discord_members;
pub mod discounts;
pub mod drift;
pub mod enforcement;
pub mod gateway_subscriptions;
pub mod idempotency;
pub mod jobs;
pub mod libraries;
pub mod library_groups;
pub mod linked_users;
pub mod logins;
pub mod maintenance;
pub mod media_passwords;
pub mod notifications;
pub mod payment_events;
pub mod payment_sync;
pub mod payments;
pub mod payments_page;
pub mod plan_change_checkouts;
pub mod plans;
pub mod plex_account_change;
pub mod plex_accounts;
pub mod provisioning;
pub mod recurring_cancellations;
pub mod referrals;
pub mod registration;
pub mod request_apps;
pub mod roles;
pub mod schedules;
pub mod self_test;
pub mod server_locations;
pub mod server_migrations;
pub mod servers;
pub mod sessions;
pub mod settings;
pub mod shares;
pub mod testing;
pub mod throttle;
pub mod tokens;
pub mod totp;
pub mod trial_claims;
pub mod users_page;
pub mod waiting;

pub use db::{Backend, ConnectOptions, Db, Ex, Tx, connect, redact_url as db_redact_url};
pub use error::StoreError;

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
