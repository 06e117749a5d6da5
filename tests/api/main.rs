//! Integration tests: the app on port 0 with its own database, over real HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod abuse;
mod admin;
mod browser;
mod chromium;
mod cli;
mod cluster;
mod codes;
mod envelope;
mod faults;
mod gateway;
mod hot_cache;
mod links;
mod open_platform;
mod operations;
mod pregen;
mod private_redis;
mod reliability;
mod s3_server;
mod s3_store;
mod tokens;
mod users;
