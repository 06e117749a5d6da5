//! `/internal`: the central token server. Other instances (the test environment,
//! services in other languages) take the one shared token here instead of fetching their
//! own, which would invalidate production's.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::app::AppContext;
use crate::controllers::auth;
use crate::envelope::{self, Envelope};
use crate::error::{AppError, AppResult};
use crate::input::{Params, loose, required};
use crate::services::token::{AccessToken, now_unix};

#[derive(Serialize, utoipa::ToSchema)]
pub struct TokenData {
    pub access_token: String,
    /// Seconds left.
    pub expires_in: i64,
    /// Unix seconds.
    pub expires_at: i64,
}

impl From<AccessToken> for TokenData {
    fn from(t: AccessToken) -> Self {
        TokenData {
            expires_in: t.expires_in(now_unix()),
            expires_at: t.expires_at,
            access_token: t.value.to_string(),
        }
    }
}

fn authorize(req: &HttpRequest, ctx: &AppContext) -> AppResult<()> {
    let keys = &ctx.settings.internal.keys;
    if keys.is_empty() {
        return Err(AppError::Forbidden);
    }
    auth::require_any(req, keys)
}

/// The input of `/internal/access_token` (query string).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TokenParams {
    /// Config name of the mini program; default `wechat.default_app`.
    #[serde(default, deserialize_with = "loose::text")]
    app: Option<String>,
    /// Not accepted here (a 400): authorizer tokens stay inside this service.
    #[serde(default, deserialize_with = "loose::text")]
    appid: Option<String>,
}

/// The input of `/internal/access_token/refresh` (JSON, form or query string).
#[derive(Debug, Deserialize, ToSchema)]
pub struct RefreshBody {
    /// The token the caller found rejected (40001/42001/40014). Required.
    #[serde(default, deserialize_with = "loose::text")]
    #[schema(value_type = String)]
    stale_token: Option<String>,
    /// Config name of the mini program; default `wechat.default_app`.
    #[serde(default, deserialize_with = "loose::text")]
    app: Option<String>,
    /// Not accepted here (a 400).
    #[serde(default, deserialize_with = "loose::text")]
    appid: Option<String>,
}

/// The app named by `app` (default `wechat.default_app`); `appid` is not accepted here.
fn app_name(app: Option<String>, appid: Option<&str>, ctx: &AppContext) -> AppResult<String> {
    if appid.is_some() {
        return Err(AppError::invalid(
            "appid",
            "内部令牌接口只接受 app(配置中的小程序名)",
        ));
    }
    let app = app.unwrap_or_else(|| ctx.settings.wechat.default_app.clone());
    if !ctx.mini_program.tokens.knows(&app) {
        return Err(AppError::invalid("app", "未配置的小程序"));
    }
    Ok(app)
}

/// The current access_token of an app.
#[utoipa::path(get, path = "/internal/access_token", tag = "internal",
    params(TokenParams),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Envelope<TokenData>),
        (status = 400, description = "unknown app (code 400)"),
        (status = 401, description = "missing or bad bearer (code 401)"),
        (status = 403, description = "internal API disabled: internal.keys is empty (code 403)"),
    ))]
pub async fn access_token(
    req: HttpRequest,
    Params(p): Params<TokenParams>,
    ctx: web::Data<AppContext>,
) -> AppResult<HttpResponse> {
    authorize(&req, &ctx)?;
    let app = app_name(p.app, p.appid.as_deref(), &ctx)?;
    let token = ctx.mini_program.tokens.get(&app).await?;
    Ok(envelope::ok("access_token返回成功", TokenData::from(token)))
}

/// Refreshes the token only if `stale_token` is still the current one.
#[utoipa::path(post, path = "/internal/access_token/refresh", tag = "internal",
    request_body = RefreshBody,
    security(("bearer" = [])),
    responses(
        (status = 200, body = Envelope<TokenData>, description = "the current token (new if stale_token was current)"),
        (status = 400, description = "missing stale_token or unknown app"),
        (status = 401, description = "missing or bad bearer"),
    ))]
pub async fn refresh(
    req: HttpRequest,
    Params(body): Params<RefreshBody>,
    ctx: web::Data<AppContext>,
) -> AppResult<HttpResponse> {
    authorize(&req, &ctx)?;
    let app = app_name(body.app, body.appid.as_deref(), &ctx)?;
    let stale = required("stale_token", body.stale_token)?;
    let token = ctx
        .mini_program
        .tokens
        .refresh_if_current(&app, &stale)
        .await?;
    Ok(envelope::ok("access_token返回成功", TokenData::from(token)))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/internal/access_token").route(web::get().to(access_token)))
        .service(web::resource("/internal/access_token/refresh").route(web::post().to(refresh)));
}
