//! What can go wrong when calling WeChat, and how each case reaches the client.

use crate::error::{AppError, WechatFault};

/// errcodes that mean "this access_token is no good": refresh once and retry.
pub const TOKEN_REJECTED: [i64; 3] = [40001, 42001, 40014];
/// errcodes that are rate or quota limits: 429 for our caller.
pub const LIMITS: [i64; 5] = [45009, 45011, 45029, 44990, 44993];
/// "System busy": the one errcode worth retrying.
pub const BUSY: i64 = -1;

#[derive(Debug, Clone, thiserror::Error)]
pub enum WechatError {
    #[error("wechat errcode {}: {}", .0.errcode, .0.errmsg)]
    Api(WechatFault),
    #[error("wechat unreachable: {0}")]
    Transport(String),
    #[error("wechat timed out")]
    Timeout,
    #[error("wechat answered HTTP {0}")]
    Status(u16),
    #[error("unreadable answer from wechat: {0}")]
    Decode(String),
}

impl WechatError {
    pub fn errcode(&self) -> Option<i64> {
        match self {
            WechatError::Api(f) => Some(f.errcode),
            _ => None,
        }
    }

    pub fn is_token_rejected(&self) -> bool {
        self.errcode().is_some_and(|c| TOKEN_REJECTED.contains(&c))
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

impl From<WechatError> for AppError {
    fn from(e: WechatError) -> Self {
        match e {
            WechatError::Api(fault) if LIMITS.contains(&fault.errcode) => AppError::RateLimited {
                msg: "微信接口调用频率或额度已达上限".into(),
                wechat: Some(fault),
                retry_after: None,
            },
            WechatError::Api(fault) => AppError::Wechat(fault),
            WechatError::Transport(_) | WechatError::Timeout | WechatError::Status(_) => {
                AppError::Upstream(e.to_string())
            }
            WechatError::Decode(_) => AppError::Upstream(e.to_string()),
        }
    }
}
