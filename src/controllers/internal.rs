//! `/internal`: the central token server. Other instances (the test environment,
//! services in other languages) take the one shared token here instead of fetching their
//! own, which would invalidate production's.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;

use crate::app::AppContext;
use crate::controllers::auth;
use crate::envelope::{self, Envelope};
use crate::error::{AppError, AppResult};
use crate::input::Input;
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

/// The app named by `app` (default `wechat.default_app`); `appid` is not accepted here.
fn app_name(input: &Input, ctx: &AppContext) -> AppResult<String> {
    if input.has("appid") {
        return Err(AppError::invalid(
            "appid",
            "内部令牌接口只接受 app(配置中的小程序名)",
        ));
    }
    let app = input
        .str("app")?
        .unwrap_or_else(|| ctx.settings.wechat.default_app.clone());
    if !ctx.mini_program.tokens.knows(&app) {
        return Err(AppError::invalid("app", "未配置的小程序"));
    }
    Ok(app)
}

/// The current access_token of an app.
#[utoipa::path(get, path = "/internal/access_token", tag = "internal",
    params(("app" = Option<String>, Query, description = "app name; default wechat.default_app")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Envelope<TokenData>),
        (status = 400, description = "unknown app (code 400)"),
        (status = 401, description = "missing or bad bearer (code 401)"),
        (status = 403, description = "internal API disabled: internal.keys is empty (code 403)"),
    ))]
pub async fn access_token(
    req: HttpRequest,
    input: Input,
    ctx: web::Data<AppContext>,
) -> AppResult<HttpResponse> {
    authorize(&req, &ctx)?;
    let app = app_name(&input, &ctx)?;
    let token = ctx.mini_program.tokens.get(&app).await?;
    Ok(envelope::ok("access_token返回成功", TokenData::from(token)))
}

/// Refreshes the token only if `stale_token` is still the current one.
#[utoipa::path(post, path = "/internal/access_token/refresh", tag = "internal",
    security(("bearer" = [])),
    responses(
        (status = 200, body = Envelope<TokenData>, description = "the current token (new if stale_token was current)"),
        (status = 400, description = "missing stale_token or unknown app"),
        (status = 401, description = "missing or bad bearer"),
    ))]
pub async fn refresh(
    req: HttpRequest,
    input: Input,
    ctx: web::Data<AppContext>,
) -> AppResult<HttpResponse> {
    authorize(&req, &ctx)?;
    let app = app_name(&input, &ctx)?;
    let stale = input.required_str("stale_token")?;
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
