//! wxa-backend: the library behind the `wxa` binary.
//!
//! Data flows one way: `controllers` parse input and call `services`, which call the
//! `wechat` module (one typed function per WeChat endpoint) and the `store`. `sim` is the offline WeChat simulator, a room of its own.

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
pub mod sandbox;
pub mod services;
pub mod sim;
pub mod store;
pub mod telemetry;
pub mod wechat;
