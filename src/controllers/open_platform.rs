//! `/open`: Open Platform pushes, authorization and callback; and
//! `/admin/authorizers`. With `open_platform.app_id` empty every `/open` route is a 404.

use actix_web::http::header::{CONTENT_TYPE, LOCATION};
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use utoipa::{IntoParams, OpenApi};

use crate::app::AppContext;
use crate::controllers::admin::{self, List};
use crate::controllers::app_param::is_appid;
use crate::envelope::{self, Envelope};
use crate::error::{AppError, AppResult};
use crate::input::{Params, loose, required};
use crate::services::open_platform::{AuthorizerView, PageKind, PushParams};

/// `auth_type` values WeChat's authorization page accepts (docs/wechat.md#open-platform).
const AUTH_TYPES: [i64; 7] = [1, 2, 3, 4, 5, 6, 8];
/// Mini programs only: what this product serves.
const DEFAULT_AUTH_TYPE: i64 = 2;

/// This module's part of the OpenAPI document (merged in `openapi.rs`).
#[derive(OpenApi)]
#[openapi(
    paths(ticket, authorize, callback, authorizers),
    components(schemas(AuthorizerView))
)]
pub struct Doc;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/open/ticket", web::post().to(ticket))
        .route("/open/authorize", web::get().to(authorize))
        .route("/open/callback", web::get().to(callback));
}

/// Routes that live under the admin scope (behind its bearer): `/admin/authorizers`.
pub fn admin_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/authorizers", web::get().to(authorizers));
}

/// The authorization event URL: WeChat's encrypted pushes (ticket, authorized,
/// updateauthorized, unauthorized). Answers the plain text `success`.
#[utoipa::path(post, path = "/open/ticket", tag = "open_platform",
    params(
        ("timestamp" = String, Query, description = "unix seconds; older than 10 minutes is refused"),
        ("nonce" = String, Query),
        ("msg_signature" = String, Query, description = "sha1 over token, timestamp, nonce, Encrypt"),
    ),
    request_body(content = String, content_type = "text/xml",
        description = "<xml><AppId>..</AppId><Encrypt>..</Encrypt></xml>"),
    responses(
        (status = 200, description = "the plain text `success`", content_type = "text/plain"),
        (status = 400, description = "malformed XML, wrong appid, undecryptable (code 400)"),
        (status = 401, description = "bad msg_signature or stale timestamp (code 401)"),
        (status = 404, description = "Open Platform not configured (code 404)"),
        (status = 502, description = "api_query_auth refused the push's code (code 5000)"),
    ))]
pub async fn ticket(
    params: web::Query<PushParams>,
    body: web::Bytes,
    ctx: web::Data<AppContext>,
) -> AppResult<HttpResponse> {
    ctx.open_platform.receive(&params, &body).await?;
    Ok(HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "text/plain; charset=utf-8"))
        .body("success"))
}

/// The input of `/open/authorize` (query string).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuthorizeParams {
    /// 1: the mobile bindcomponent page; default the PC componentloginpage.
    #[serde(default, deserialize_with = "loose::flag")]
    mobile: Option<bool>,
    /// 1, 2, 3, 4, 5, 6 or 8; default 2 (mini programs).
    #[serde(default, deserialize_with = "loose::int")]
    auth_type: Option<i64>,
    /// Restrict to this account (wx + 16 letters/digits).
    #[serde(default, deserialize_with = "loose::text")]
    #[param(pattern = "^wx[0-9a-zA-Z]{16}$")]
    biz_appid: Option<String>,
}

/// The input of `/open/callback` (query string, as WeChat sends it back).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallbackParams {
    /// The authorization code, at most 512 characters. Required.
    #[serde(default, deserialize_with = "loose::text")]
    #[param(value_type = String, max_length = 512)]
    auth_code: Option<String>,
    /// Its lifetime; informative.
    #[serde(default, deserialize_with = "loose::int")]
    expires_in: Option<i64>,
}

/// Redirects a merchant to WeChat's authorization page with a fresh pre_auth_code.
#[utoipa::path(get, path = "/open/authorize", tag = "open_platform",
    params(AuthorizeParams),
    responses(
        (status = 302, description = "Location: the authorization page"),
        (status = 400, description = "bad parameter (code 400)"),
        (status = 404, description = "Open Platform not configured (code 404)"),
        (status = 502, description = "WeChat error (code 5000)"),
        (status = 503, description = "no component_verify_ticket received yet (code 503)"),
    ))]
pub async fn authorize(
    Params(p): Params<AuthorizeParams>,
    ctx: web::Data<AppContext>,
) -> AppResult<HttpResponse> {
    if !ctx.open_platform.enabled() {
        return Err(AppError::NotFound);
    }
    let page = match p.mobile {
        Some(true) => PageKind::Mobile,
        _ => PageKind::Pc,
    };
    let auth_type = p.auth_type.unwrap_or(DEFAULT_AUTH_TYPE);
    if !AUTH_TYPES.contains(&auth_type) {
        return Err(AppError::invalid("auth_type", "必须是 1,2,3,4,5,6 或 8"));
    }
    let biz_appid = p.biz_appid.filter(|b| !b.is_empty());
    if let Some(b) = &biz_appid {
        if !is_appid(b) {
            return Err(AppError::invalid(
                "biz_appid",
                "必须是 wx 开头的 18 位 appid",
            ));
        }
    }
    let url = ctx
        .open_platform
        .authorize_url(page, auth_type, biz_appid.as_deref())
        .await?;
    Ok(HttpResponse::Found()
        .insert_header((LOCATION, url))
        .finish())
}

/// Where WeChat sends the merchant back: exchanges `auth_code` and shows a small page.
#[utoipa::path(get, path = "/open/callback", tag = "open_platform",
    params(CallbackParams),
    responses(
        (status = 200, description = "an HTML page naming the authorized appid", content_type = "text/html"),
        (status = 400, description = "auth_code missing or too long (code 400)"),
        (status = 404, description = "Open Platform not configured (code 404)"),
        (status = 502, description = "WeChat refused the code, e.g. 61009/61010 (code 5000)"),
    ))]
pub async fn callback(
    Params(p): Params<CallbackParams>,
    ctx: web::Data<AppContext>,
) -> AppResult<HttpResponse> {
    if !ctx.open_platform.enabled() {
        return Err(AppError::NotFound);
    }
    let code = required("auth_code", p.auth_code)?;
    if code.len() > 512 {
        return Err(AppError::invalid("auth_code", "不能超过 512 个字符"));
    }
    // The code itself is a credential: only its lifetime is logged.
    tracing::debug!(expires_in = p.expires_in, "authorization code received");
    let authorizer = ctx.open_platform.exchange_auth_code(&code).await?;
    Ok(HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "text/html; charset=utf-8"))
        .body(result_page(&authorizer.app_id)))
}

/// The authorized mini programs, most recently changed first; never their tokens.
#[utoipa::path(get, path = "/admin/authorizers", tag = "admin",
    params(admin::PagingParams),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Envelope<List<AuthorizerView>>),
        (status = 400, description = "bad page or per_page (code 400)"),
        (status = 401, description = "missing or bad bearer (code 401)"),
    ))]
pub async fn authorizers(
    Params(p): Params<admin::PagingParams>,
    ctx: web::Data<AppContext>,
) -> AppResult<HttpResponse> {
    let request = admin::paging(p.page, p.per_page)?;
    let (items, total) = ctx
        .open_platform
        .list(request.page, request.per_page)
        .await?;
    Ok(envelope::ok(
        "授权方列表返回成功",
        request.list(items, total),
    ))
}

fn result_page(app_id: &str) -> String {
    // The appid comes from WeChat; keep only appid characters (no markup can get in).
    let app_id: String = app_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect();
    format!(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
         <title>授权成功</title></head><body><h1>授权成功</h1>\
         <p>小程序 <code id=\"appid\">{app_id}</code> 已授权给本平台。</p></body></html>"
    )
}
