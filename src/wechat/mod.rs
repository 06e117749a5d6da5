//! The one module that talks to WeChat.
pub mod msg_crypto;
