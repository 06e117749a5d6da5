//! HTTP handlers: parse and validate input, call a service, wrap the answer in the envelope.
pub mod auth;
pub mod internal;
pub mod ops;
