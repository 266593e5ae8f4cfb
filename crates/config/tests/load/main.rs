//! Behaviour of `boxoffice_config::load` through its public API, one file per concern.

mod common;
mod env;
mod file;
mod precedence;
mod reference;
mod render;
mod secrets;
mod validation;
