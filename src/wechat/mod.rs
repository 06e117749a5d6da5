//! The one module that talks to WeChat: endpoints, the client and its tower stack, error
//! classification, and the message crypto (shared with the simulator: it is checked
//! against published vectors).
pub mod api;
pub mod call_stats;
pub mod client;
pub mod component;
pub mod error;
pub mod forward;
pub mod msg_crypto;
mod retry;
mod transport;

pub use client::{Image, WechatClient};
pub use error::WechatError;
