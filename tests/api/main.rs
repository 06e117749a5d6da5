//! Integration tests: the app on port 0 with its own database, over real HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod browser;
mod cli;
mod codes;
mod envelope;
mod links;
mod operations;
mod pregen;
mod tokens;
mod users;
