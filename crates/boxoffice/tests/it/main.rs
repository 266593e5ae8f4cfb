//! One integration-test binary (each extra test binary costs a link): modules by area.

mod helpers;

mod api;
mod auth;
mod browser;
mod browser_bulk_invite;
mod browser_notifications;
mod browser_plans;
mod browser_servers;
mod browser_users;
mod bulk_invite;
mod bulk_invite_kill;
mod bulk_invite_page;
mod cli;
mod customers;
mod demo;
mod discord;
mod health;
mod jobs;
mod lifecycle;
mod media_password;
mod migration;
mod multi_instance;
mod notification_pages;
mod notifications;
mod plans;
mod plex_account_change;
mod reconcile;
mod request_apps;
mod sandbox;
mod selftest;
mod servers;
mod servers_upkeep;
mod settings;
mod smtp;
mod users_page;
