//! One error type for the whole app; it renders itself as the envelope.

use std::borrow::Cow;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

use crate::envelope;
use crate::wechat::error::{Cause, LIMITS, WechatError};

/// Where it has always been imported from; it belongs to the WeChat module.
pub use crate::wechat::error::WechatFault;

/// A store that is down is usually back (or failed over) within seconds.
const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 2;

#[derive(Debug, Clone, thiserror::Error)]
pub enum AppError {
    /// A bad input value; `field` names it, `rule` says what it must be.
    #[error("invalid parameter `{field}`: {rule}")]
    Invalid {
        field: Cow<'static, str>,
        rule: Cow<'static, str>,
    },
    /// A request that cannot be read at all (malformed body, wrong content type).
    #[error("bad request: {0}")]
    BadRequest(Cow<'static, str>),
    #[error("not authenticated")]
    Unauthorized,
    #[error("forbidden")]
    Forbidden,
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("conflict: {0}")]
    Conflict(Cow<'static, str>),
    #[error("payload too large")]
    PayloadTooLarge,
    /// The body did not arrive within `limits.body_timeout_secs`.
    #[error("request body timed out")]
    RequestTimeout,
    /// Our own quota or pacing, or WeChat's limit errcodes.
    #[error("rate or quota limit: {msg}")]
    RateLimited {
        msg: Cow<'static, str>,
        wechat: Option<WechatFault>,
        /// Seconds until a retry may succeed, sent as `Retry-After` when known.
        retry_after: Option<u64>,
    },
    /// WeChat answered with an errcode.
    #[error("wechat error {}: {}", .0.errcode, .0.errmsg)]
    Wechat(WechatFault),
    /// WeChat (or the central token server) could not be reached in time, or answered
    /// something unreadable. The cause is kept as the source.
    #[error("wechat unreachable: {0}")]
    Upstream(#[source] UpstreamError),
    /// Something we depend on is not ready (e.g. no component_verify_ticket yet).
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// The database or the object store cannot be reached: the client may retry.
    #[error("store unavailable: {0}")]
    StoreUnavailable(String),
    /// Our fault. The cause goes to the log, never to the client.
    #[error("internal error: {0}")]
    Internal(String),
}

/// A failed `validator` check: a 400 naming the first field (in name order, so the
/// answer is stable) with its rule's message.
impl From<validator::ValidationErrors> for AppError {
    fn from(errors: validator::ValidationErrors) -> Self {
        let fields = errors.field_errors();
        let mut names: Vec<_> = fields.keys().collect();
        names.sort();
        let Some(&name) = names.first() else {
            return AppError::invalid("input", "不合法");
        };
        let rule = fields[name]
            .first()
            .and_then(|e| e.message.clone())
            .unwrap_or(Cow::Borrowed("不合法"));
        AppError::invalid(name.clone(), rule)
    }
}

/// Why an upstream gave no usable answer.
#[derive(Debug, Clone, thiserror::Error)]
pub enum UpstreamError {
    /// WeChat itself: transport, timeout, HTTP 5xx, an unreadable answer.
    #[error(transparent)]
    Wechat(#[from] WechatError),
    /// Not WeChat: the central token server, another instance holding the token lock.
    #[error("{msg}")]
    Other {
        msg: Cow<'static, str>,
        #[source]
        source: Option<Cause>,
    },
}

/// WeChat's limit errcodes are a 429; its other errcodes a 5000 with the errcode as data;
/// everything else a 5001 that keeps the error as its source.
impl From<WechatError> for AppError {
    fn from(e: WechatError) -> Self {
        match e {
            WechatError::Api(fault) if LIMITS.contains(&fault.errcode) => AppError::RateLimited {
                msg: "微信接口调用频率或额度已达上限".into(),
                wechat: Some(fault),
                retry_after: None,
            },
            WechatError::Api(fault) => AppError::Wechat(fault),
            e => AppError::Upstream(e.into()),
        }
    }
}

impl AppError {
    /// A 5001 for an upstream that is not WeChat itself.
    pub fn upstream(msg: impl Into<Cow<'static, str>>) -> Self {
        AppError::Upstream(UpstreamError::Other {
            msg: msg.into(),
            source: None,
        })
    }

    /// A 5001 for an upstream that is not WeChat itself, with the error behind it.
    pub fn upstream_caused(
        msg: impl Into<Cow<'static, str>>,
        cause: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        AppError::Upstream(UpstreamError::Other {
            msg: msg.into(),
            source: Some(std::sync::Arc::new(cause)),
        })
    }

    pub fn invalid(
        field: impl Into<Cow<'static, str>>,
        rule: impl Into<Cow<'static, str>>,
    ) -> Self {
        AppError::Invalid {
            field: field.into(),
            rule: rule.into(),
        }
    }

    pub fn internal(cause: impl std::fmt::Display) -> Self {
        AppError::Internal(cause.to_string())
    }

    /// The envelope `code`.
    pub fn code(&self) -> u32 {
        match self {
            AppError::Invalid { .. } | AppError::BadRequest(_) => 400,
            AppError::Unauthorized => 401,
            AppError::Forbidden => 403,
            AppError::NotFound => 404,
            AppError::MethodNotAllowed => 405,
            AppError::Conflict(_) => 409,
            AppError::PayloadTooLarge => 413,
            AppError::RequestTimeout => 408,
            AppError::RateLimited { .. } => 429,
            AppError::Wechat(_) => 5000,
            AppError::Upstream(_) => 5001,
            AppError::Unavailable(_) | AppError::StoreUnavailable(_) => 503,
            AppError::Internal(_) => 500,
        }
    }

    /// `Retry-After` seconds: a known wait for limits, a short one while a store is down.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            AppError::RateLimited { retry_after, .. } => *retry_after,
            AppError::Unavailable(_) | AppError::StoreUnavailable(_) => {
                Some(UNAVAILABLE_RETRY_AFTER_SECS)
            }
            _ => None,
        }
    }

    fn message(&self) -> Cow<'static, str> {
        match self {
            AppError::Invalid { field, rule } => format!("参数错误: {field} {rule}").into(),
            AppError::BadRequest(why) => format!("请求无法解析: {why}").into(),
            AppError::Unauthorized => "未登录或凭证无效".into(),
            AppError::Forbidden => "无权访问".into(),
            AppError::NotFound => "资源不存在".into(),
            AppError::MethodNotAllowed => "请求方法不允许".into(),
            AppError::Conflict(why) => why.clone(),
            AppError::PayloadTooLarge => "请求体过大(上限 1 MiB)".into(),
            AppError::RequestTimeout => "请求体发送超时".into(),
            AppError::RateLimited { msg, .. } => msg.clone(),
            AppError::Wechat(_) => "微信接口返回错误".into(),
            AppError::Upstream(_) => "微信接口不可达或超时".into(),
            AppError::Unavailable(_) => "服务暂不可用".into(),
            AppError::StoreUnavailable(_) => "存储服务暂不可用(数据库或对象存储),请稍后重试".into(),
            AppError::Internal(_) => "服务器内部错误".into(),
        }
    }

    fn data(&self) -> serde_json::Value {
        match self {
            AppError::Invalid { field, rule } => json!({ "field": field, "rule": rule }),
            AppError::Wechat(fault)
            | AppError::RateLimited {
                wechat: Some(fault),
                ..
            } => {
                json!({ "errcode": fault.errcode, "errmsg": fault.errmsg })
            }
            _ => serde_json::Value::Null,
        }
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::Invalid { .. } | AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Unauthorized => StatusCode::UNAUTHORIZED,
            AppError::Forbidden => StatusCode::FORBIDDEN,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            AppError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Wechat(_) => StatusCode::BAD_GATEWAY,
            AppError::Upstream(_) => StatusCode::GATEWAY_TIMEOUT,
            AppError::Unavailable(_) | AppError::StoreUnavailable(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        // Our faults are errors; WeChat refusing or failing, and a service not ready yet,
        // are warnings: nothing here to fix.
        match self {
            AppError::Internal(_) => tracing::error!(error = %self, "request failed"),
            _ if status.is_server_error() => tracing::warn!(error = %self, "request failed"),
            _ => {}
        }
        let mut response = envelope::respond(status, self.code(), self.message(), self.data());
        if let Some(secs) = self.retry_after() {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// The envelope for a bare status (404 from the router, 405, 413 ...).
pub fn from_status(status: StatusCode) -> AppError {
    match status.as_u16() {
        401 => AppError::Unauthorized,
        403 => AppError::Forbidden,
        404 => AppError::NotFound,
        405 => AppError::MethodNotAllowed,
        408 => AppError::RequestTimeout,
        413 => AppError::PayloadTooLarge,
        s if (400..500).contains(&s) => {
            AppError::BadRequest(status.canonical_reason().unwrap_or("bad request").into())
        }
        _ => AppError::Internal(format!("unhandled status {status}")),
    }
}

/// A database that cannot be reached is a 503 the client may retry; anything else the
/// database says is our fault.
impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        if database_unreachable(&e) {
            AppError::StoreUnavailable(format!("database: {e}"))
        } else {
            AppError::Internal(format!("database: {e}"))
        }
    }
}

fn database_unreachable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        // SQLSTATE class 08 (connection exception) and 57P01..57P03 (the server shutting
        // down or starting up).
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|c| c.starts_with("08") || matches!(&*c, "57P01" | "57P02" | "57P03")),
        _ => false,
    }
}

pub type AppResult<T> = Result<T, AppError>;
