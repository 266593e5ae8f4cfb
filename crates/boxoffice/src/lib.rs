//! The `boxoffice` binary's library half: command-line parsing, start-up wiring and the
//! supervisor that runs the web server, job workers and scheduler together. `main.rs` stays thin so
//! tests can start the whole application in-process.

pub mod cli;
mod cli_bulk_invite;
pub mod data_dir;
pub mod demo;
pub mod instance;
pub mod sandbox;
pub mod secret_key;
pub mod startup;
pub mod telemetry;
