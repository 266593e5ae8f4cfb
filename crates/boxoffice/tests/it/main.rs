//! One integration-test binary (each extra test binary costs a link): modules by area.

mod helpers;

mod api;
mod auth;
mod browser;
mod cli;
mod health;
mod jobs;
mod settings;
