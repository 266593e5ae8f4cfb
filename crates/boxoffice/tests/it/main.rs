//! One integration-test binary (each extra test binary costs a link): modules by area.

mod helpers;

mod api;
mod auth;
mod browser;
mod browser_servers;
mod cli;
mod health;
mod jobs;
mod multi_instance;
mod sandbox;
mod selftest;
mod servers;
mod settings;
