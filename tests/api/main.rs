//! Integration tests: the app on port 0 with its own database, over real HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod admin;
mod browser;
mod chromium;
mod cli;
mod codes;
mod envelope;
mod gateway;
mod links;
mod open_platform;
mod operations;
mod pregen;
mod reliability;
mod tokens;
mod users;
