//! Integration tests: the app on port 0 with its own database, over real HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod cli;
mod envelope;
mod operations;
mod tokens;
