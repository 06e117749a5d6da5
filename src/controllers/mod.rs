//! HTTP handlers: parse and validate input, call a service, wrap the answer in the envelope.
pub mod admin;
pub mod app_param;
pub mod auth;
pub mod caller;
pub mod gateway;
pub mod images;
pub mod internal;
pub mod links;
pub mod open_platform;
pub mod ops;
pub mod qr_code;
pub mod users;
