//! What can go wrong when calling WeChat. Each failure keeps its cause as its `source()`
//! (shared through `Arc`: errors are cloned to every waiter of a shared call). How an
//! error reaches our own clients (the envelope) is decided in `src/error.rs`.

use std::borrow::Cow;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// errcodes that mean "this access_token is no good": refresh once and retry.
pub const TOKEN_REJECTED: [i64; 3] = [40001, 42001, 40014];
/// errcodes that are rate or quota limits: 429 for our caller.
pub const LIMITS: [i64; 5] = [45009, 45011, 45029, 44990, 44993];
/// "System busy": the one errcode worth retrying.
pub const BUSY: i64 = -1;

/// A cause below WeChat's answer (reqwest, tower), shareable between clones.
pub type Cause = Arc<dyn std::error::Error + Send + Sync>;

/// What WeChat said when it refused a call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WechatFault {
    pub errcode: i64,
    pub errmsg: String,
}

// The messages keep their cause's text (as they always have: the logs and the `pregen`
// summary print only the top error), and `source()` gives the cause itself.
#[derive(Debug, Clone, thiserror::Error)]
pub enum WechatError {
    #[error("wechat errcode {}: {}", .0.errcode, .0.errmsg)]
    Api(WechatFault),
    #[error("wechat unreachable: {0}")]
    Transport(#[source] Cause),
    #[error("wechat timed out")]
    Timeout,
    #[error("wechat answered HTTP {0}")]
    Status(u16),
    #[error("unreadable answer from wechat: {0}")]
    Decode(#[source] DecodeError),
}

/// Why an answer (or, never in practice, a request body) could not be read.
#[derive(Debug, Clone, thiserror::Error)]
pub enum DecodeError {
    /// Not JSON at all.
    #[error("not JSON (HTTP {status}): {source}")]
    NotJson {
        status: u16,
        #[source]
        source: Arc<serde_json::Error>,
    },
    /// JSON, but not the answer's shape (or a request body that would not serialize).
    #[error("{0}")]
    Shape(#[source] Arc<serde_json::Error>),
    /// The answer's shape, but not what it must hold (an empty link, no openid ...).
    #[error("{0}")]
    Content(Cow<'static, str>),
}

impl WechatError {
    /// An answer that parsed but does not hold what it must.
    pub fn unexpected(why: impl Into<Cow<'static, str>>) -> Self {
        WechatError::Decode(DecodeError::Content(why.into()))
    }

    pub(crate) fn shape(e: serde_json::Error) -> Self {
        WechatError::Decode(DecodeError::Shape(Arc::new(e)))
    }

    pub fn errcode(&self) -> Option<i64> {
        match self {
            WechatError::Api(f) => Some(f.errcode),
            _ => None,
        }
    }

    pub fn is_token_rejected(&self) -> bool {
        self.errcode().is_some_and(|c| TOKEN_REJECTED.contains(&c))
    }

    /// A rate or quota limit (`LIMITS`).
    pub fn is_limit(&self) -> bool {
        self.errcode().is_some_and(|c| LIMITS.contains(&c))
    }

    /// The metrics label: the errcode, or the kind of failure.
    pub fn label(&self) -> String {
        match self {
            WechatError::Api(f) => f.errcode.to_string(),
            WechatError::Transport(_) => "transport".into(),
            WechatError::Timeout => "timeout".into(),
            WechatError::Status(s) => format!("http_{s}"),
            WechatError::Decode(_) => "decode".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::*;

    #[test]
    fn causes_are_kept_and_messages_unchanged() {
        let json = serde_json::from_slice::<serde_json::Value>(b"<html>").unwrap_err();
        let e = WechatError::Decode(DecodeError::NotJson {
            status: 502,
            source: Arc::new(json),
        });
        assert!(
            e.to_string()
                .starts_with("unreadable answer from wechat: not JSON (HTTP 502): ")
        );
        let cause = e.source().and_then(|d| d.source()).unwrap();
        assert!(cause.is::<Arc<serde_json::Error>>());

        let io = std::io::Error::other("connection reset");
        let e = WechatError::Transport(Arc::new(io));
        assert_eq!(e.to_string(), "wechat unreachable: connection reset");
        assert!(e.source().unwrap().to_string().contains("reset"));
        assert_eq!(e.label(), "transport");
    }
}
