//! One error type for the whole app; it renders itself as the envelope.

use std::borrow::Cow;

use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderValue, RETRY_AFTER};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use serde_json::json;

use crate::envelope;

/// What WeChat said when it refused a call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct WechatFault {
    pub errcode: i64,
    pub errmsg: String,
}

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
    /// Our own quota or pacing, or WeChat's limit errcodes.
    #[error("rate or quota limit: {msg}")]
    RateLimited {
        msg: Cow<'static, str>,
        wechat: Option<WechatFault>,
    },
    /// WeChat answered with an errcode.
    #[error("wechat error {}: {}", .0.errcode, .0.errmsg)]
    Wechat(WechatFault),
    /// WeChat could not be reached in time.
    #[error("wechat unreachable: {0}")]
    Upstream(String),
    /// A store we need (the database, the object store) is down; answered with a
    /// `Retry-After`.
    #[error("service unavailable: {0}")]
    Unavailable(String),
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

impl AppError {
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
            AppError::RateLimited { .. } => 429,
            AppError::Wechat(_) => 5000,
            AppError::Upstream(_) => 5001,
            AppError::Unavailable(_) => 503,
            AppError::Internal(_) => 500,
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
            AppError::RateLimited { msg, .. } => msg.clone(),
            AppError::Wechat(_) => "微信接口返回错误".into(),
            AppError::Upstream(_) => "微信接口不可达或超时".into(),
            AppError::Unavailable(_) => "存储暂不可用(数据库或图片存储无法访问),请稍后重试".into(),
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
            AppError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Wechat(_) => StatusCode::BAD_GATEWAY,
            AppError::Upstream(_) => StatusCode::GATEWAY_TIMEOUT,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
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
        if let AppError::Unavailable(_) = self {
            // A store that is down is usually back, or failed over, within seconds.
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from_static("1"));
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
        413 => AppError::PayloadTooLarge,
        s if (400..500).contains(&s) => {
            AppError::BadRequest(status.canonical_reason().unwrap_or("bad request").into())
        }
        _ => AppError::Internal(format!("unhandled status {status}")),
    }
}

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        AppError::Internal(format!("database: {e}"))
    }
}

pub type AppResult<T> = Result<T, AppError>;
