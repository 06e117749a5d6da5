//! The `{code, msg, data}` body every JSON answer wears.

use std::borrow::Cow;

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::ContentType;
use serde::Serialize;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Envelope<T> {
    /// 200 on success, else the error class (see routes.md).
    pub code: u32,
    /// A short human message, Chinese by default.
    pub msg: Cow<'static, str>,
    pub data: T,
}

/// A success envelope with HTTP 200.
pub fn ok<T: Serialize>(msg: impl Into<Cow<'static, str>>, data: T) -> HttpResponse {
    respond(StatusCode::OK, 200, msg.into(), data)
}

/// Any envelope: serialized once, straight into the body.
pub fn respond<T: Serialize>(
    status: StatusCode,
    code: u32,
    msg: Cow<'static, str>,
    data: T,
) -> HttpResponse {
    let body = Envelope { code, msg, data };
    match serde_json::to_vec(&body) {
        Ok(bytes) => HttpResponse::build(status)
            .content_type(ContentType::json())
            .body(bytes),
        // Only a broken Serialize impl of ours can get here.
        Err(e) => {
            tracing::error!(error = %e, "envelope serialization failed");
            HttpResponse::InternalServerError()
                .content_type(ContentType::json())
                .body(r#"{"code":500,"msg":"服务器内部错误","data":null}"#)
        }
    }
}
