//! The one module that talks to WeChat: endpoints, the client and its tower stack, error
//! classification. The message crypto (WXBizMsgCrypt, shared with the simulator and
//! checked against published vectors) is its own crate, `wxa_msgcrypt`
//! (crates/wxa-msgcrypt).
pub mod api;
pub mod call_stats;
pub mod client;
pub mod component;
pub mod error;
pub mod forward;
mod retry;
mod transport;

pub use client::{Image, WechatClient};
pub use error::WechatError;
