//! The one module that talks to WeChat: one typed function per endpoint the product calls
//! (`tokens`, `codes`, `links`, `users`, `component`), each with its request and answer;
//! the client and its tower stack; the gateway's raw calls (`forward`); error
//! classification. Services call these functions and never build a WeChat URL, query or
//! body themselves. The message crypto (WXBizMsgCrypt, shared with the simulator and
//! checked against published vectors) is its own crate, `wxa_msgcrypt` (crates/wxa-msgcrypt).
pub mod api;
pub mod call_stats;
pub mod client;
pub mod codes;
pub mod component;
pub mod error;
pub mod forward;
pub mod links;
mod retry;
pub mod tokens;
mod transport;
pub mod users;

pub use client::{Image, WechatClient};
pub use error::{WechatError, WechatFault};

/// The query of a call made with an app's (or an authorizer's) access_token.
fn token_query(token: &str) -> [(&'static str, &str); 1] {
    [("access_token", token)]
}
