//! `/wx/`: the WeChat API gateway (README "The WeChat API gateway"; logic in
//! `services::gateway`).
//!
//! The callers are WeChat SDKs, so every answer has WeChat's shape: HTTP 200 JSON with
//! `errcode`/`errmsg` for a refusal, WeChat's own answer (status, Content-Type, bytes)
//! for a forwarded call. Never the envelope. Registered only while the gateway is on;
//! otherwise `/wx/*` is the usual 404 envelope.

use std::collections::HashMap;

use actix_web::body::SizedStream;
use actix_web::http::header::{CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt;
use serde_json::Value;

use crate::app::AppContext;
use crate::error::WechatFault;
use crate::middleware::WechatShaped;
use crate::services::gateway::faults::{
    DATA_FORMAT, MEDIA_TOO_LARGE, REQUIRE_GET, REQUIRE_POST, SYSTEM_ERROR,
};
use crate::services::gateway::{
    GatewayService, IssuedToken, JSCODE2SESSION_API, Outgoing, STABLE_TOKEN_API, TOKEN_API,
    TokenRequest,
};
use crate::wechat::forward::{Forwarded, ForwardedBody};

/// Largest body forwarded (media uploads); larger ones are refused with 45001.
pub const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;
/// A body over the cap is read and dropped up to this, so the client gets 45001 instead
/// of a connection closed under it; past it the connection is closed. Only a client with
/// a live stand-in token gets this far.
const MAX_DRAINED_BYTES: usize = 4 * MAX_BODY_BYTES;
/// A stable_token request body is a few fields.
const MAX_TOKEN_BODY_BYTES: usize = 64 * 1024;
/// The Content-Type WeChat puts on its JSON answers.
const JSON_CONTENT_TYPE: &str = "application/json; encoding=utf-8";

pub fn configure(cfg: &mut web::ServiceConfig, gateway: &GatewayService) {
    if !gateway.is_on() {
        return;
    }
    cfg.service(
        web::scope("/wx")
            .route("/cgi-bin/token", web::route().to(token))
            .route("/cgi-bin/stable_token", web::route().to(stable_token))
            .route("/sns/jscode2session", web::route().to(code_to_session))
            .default_service(web::to(forward)),
    );
}

/// `GET /wx/cgi-bin/token?grant_type=client_credential&appid=A&secret=<client key>`.
async fn token(ctx: web::Data<AppContext>, req: HttpRequest) -> HttpResponse {
    if req.method() != Method::GET {
        return refusal(&ctx, TOKEN_API, REQUIRE_GET);
    }
    let query = first_values(req.query_string());
    let field = |name: &str| query.get(name).map(String::as_str);
    let grant = TokenRequest {
        grant_type: field("grant_type"),
        appid: field("appid"),
        secret: field("secret"),
    };
    issued(ctx.gateway.issue_token(TOKEN_API, &grant).await)
}

/// `POST /wx/cgi-bin/stable_token` with `{grant_type, appid, secret, force_refresh}`.
async fn stable_token(
    ctx: web::Data<AppContext>,
    req: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    if req.method() != Method::POST {
        return refusal(&ctx, STABLE_TOKEN_API, REQUIRE_POST);
    }
    let Ok(Some(body)) = read_body(payload, MAX_TOKEN_BODY_BYTES).await else {
        return refusal(&ctx, STABLE_TOKEN_API, DATA_FORMAT);
    };
    let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(&body) else {
        return refusal(&ctx, STABLE_TOKEN_API, DATA_FORMAT);
    };
    let field = |name: &str| fields.get(name).and_then(Value::as_str);
    let grant = TokenRequest {
        grant_type: field("grant_type"),
        appid: field("appid"),
        secret: field("secret"),
    };
    issued(ctx.gateway.issue_token(STABLE_TOKEN_API, &grant).await)
}

/// `GET /wx/sns/jscode2session?appid=A&secret=<client key>&js_code=…&grant_type=…`.
async fn code_to_session(ctx: web::Data<AppContext>, req: HttpRequest) -> HttpResponse {
    if req.method() != Method::GET {
        return refusal(&ctx, JSCODE2SESSION_API, REQUIRE_GET);
    }
    answer(ctx.gateway.code_to_session(req.query_string()).await)
}

/// `/wx/<api>?access_token=<stand-in>&…`, any method: forwarded with the real token.
async fn forward(
    ctx: web::Data<AppContext>,
    req: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    let gateway = &ctx.gateway;
    // The token and the path are checked before a byte of the body is read.
    let call = match gateway.authorize(req.path(), req.query_string()) {
        Ok(call) => call,
        Err(fault) => return wechat_fault(fault),
    };
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_DRAINED_BYTES) {
        return wechat_fault(gateway.refuse(&call, MEDIA_TOO_LARGE));
    }
    let body = match read_body(payload, MAX_BODY_BYTES).await {
        Ok(Some(body)) => body,
        Ok(None) => return wechat_fault(gateway.refuse(&call, MEDIA_TOO_LARGE)),
        // The body broke off: nothing to forward.
        Err(()) => return wechat_fault(gateway.refuse(&call, SYSTEM_ERROR)),
    };
    let content_type = req.headers().get(CONTENT_TYPE).map(HeaderValue::as_bytes);
    let out = Outgoing::new(req.method().as_str(), content_type, body);
    answer(gateway.forward(call, out).await)
}

/// The body, or `None` past `cap` bytes; `Err` when it could not be read. A body over
/// the cap is read on (and dropped) up to `MAX_DRAINED_BYTES`, so that the client, still
/// sending, gets the answer rather than a broken connection.
async fn read_body(mut payload: web::Payload, cap: usize) -> Result<Option<bytes::Bytes>, ()> {
    let mut body = web::BytesMut::new();
    let mut seen = 0usize;
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| ())?;
        seen += chunk.len();
        if seen > MAX_DRAINED_BYTES {
            return Ok(None);
        }
        if seen <= cap {
            body.extend_from_slice(&chunk);
        }
    }
    Ok((seen <= cap).then(|| body.freeze()))
}

/// The first value of each query key, decoded.
fn first_values(query: &str) -> HashMap<String, String> {
    let mut map = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        map.entry(k.into_owned()).or_insert_with(|| v.into_owned());
    }
    map
}

fn issued(result: Result<IssuedToken, WechatFault>) -> HttpResponse {
    match result {
        Ok(token) => json(&serde_json::json!(token)),
        Err(fault) => wechat_fault(fault),
    }
}

/// A refusal decided here (wrong method, unreadable body), counted like the others.
fn refusal(ctx: &AppContext, api: &'static str, errcode: i64) -> HttpResponse {
    wechat_fault(ctx.gateway.refuse_unread(api, errcode))
}

fn wechat_fault(fault: WechatFault) -> HttpResponse {
    json(&serde_json::json!({"errcode": fault.errcode, "errmsg": fault.errmsg}))
}

fn json(body: &Value) -> HttpResponse {
    let mut res = HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, JSON_CONTENT_TYPE))
        .body(body.to_string());
    res.extensions_mut().insert(WechatShaped);
    res
}

/// WeChat's answer as it came: status, Content-Type (and Content-Disposition, which media
/// downloads name their file with), and the bytes, streamed when they were not read.
fn answer(result: Result<Forwarded, WechatFault>) -> HttpResponse {
    let forwarded = match result {
        Ok(forwarded) => forwarded,
        Err(fault) => return wechat_fault(fault),
    };
    let status = StatusCode::from_u16(forwarded.status).unwrap_or(StatusCode::OK);
    let mut builder = HttpResponse::build(status);
    for (name, value) in [
        (CONTENT_TYPE, forwarded.content_type.as_ref()),
        (CONTENT_DISPOSITION, forwarded.content_disposition.as_ref()),
    ] {
        if let Some(value) = value.and_then(|v| HeaderValue::from_bytes(v.as_bytes()).ok()) {
            builder.insert_header((name, value));
        }
    }
    let mut res = match forwarded.body {
        ForwardedBody::Read { bytes, .. } => builder.body(bytes),
        ForwardedBody::Stream {
            len: Some(len),
            chunks,
        } => builder.body(SizedStream::new(len, chunks)),
        ForwardedBody::Stream { len: None, chunks } => builder.streaming(chunks),
    };
    res.extensions_mut().insert(WechatShaped);
    res
}
