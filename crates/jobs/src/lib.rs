//! Background work. A [`Runner`] claims jobs from the durable queue with a lease, runs their
//! handler, and records the outcome: done, retried later with backoff, or parked as dead. The
//! scheduler turns each recurring job's ticks into queued jobs, once per tick across every
//! instance sharing the database.

mod builtin;
mod bulk_invite_jobs;
mod discord_jobs;
mod enforcement_jobs;
mod media_jobs;
mod media_password_jobs;
mod memory;
mod notify_jobs;
mod payment_sync_jobs;
mod registry;
mod request_app_jobs;
mod runner;
mod scheduler;
mod subscription_jobs;

pub use builtin::registry_with_builtins;
pub use memory::release_freed_memory;
pub use registry::{Handler, JobCtx, JobError, Recurring, Registry};
pub use runner::{Outcome, Runner, RunnerOptions};
