//! The one module that talks to WeChat: one typed function per endpoint the product calls
//! (`tokens`, `codes`, `links`, `users`, `component`), each with its request and answer;
//! the client and its tower stack; the gateway's raw calls (`forward`); error
//! classification; and the message crypto (shared with the simulator: it is checked
//! against published vectors). Services call these functions and never build a WeChat
//! URL, query or body themselves.
pub mod api;
pub mod call_stats;
pub mod client;
pub mod codes;
pub mod component;
pub mod error;
pub mod forward;
pub mod links;
pub mod msg_crypto;
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
