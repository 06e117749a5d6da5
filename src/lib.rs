//! wxa-backend: the library behind the `wxa` binary.
//!
//! Data flows one way: `controllers` parse input into each route's params and call
//! `services`, which call the `wechat` module (one typed function per WeChat endpoint) and
//! the `store`; `domain` holds the checked values all of them share. The offline WeChat
//! simulator is a crate of its own, `wxa_sim` (crates/wxa-sim), behind the `sim` feature;
//! `sandbox` wires it to the settings. .ci/house checks which module imports which.

pub mod app;
pub mod cli;
pub mod config;
pub mod controllers;
pub mod domain;
pub mod envelope;
pub mod error;
pub mod input;
pub mod metrics;
pub mod middleware;
pub mod openapi;
pub mod pregen;
pub mod redact;
#[cfg(feature = "sim")]
pub mod sandbox;
pub mod services;
pub mod store;
pub mod telemetry;
pub mod wechat;
