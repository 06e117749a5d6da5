//! `GET /admin/stats`: token state and quota per app, upstream calls in the last 24 hours,
//! and the gateway's clients and calls.

use actix_web::{HttpResponse, web};
use serde::Serialize;

use crate::app::AppContext;
use crate::envelope::{self, Envelope};
use crate::error::AppResult;
use crate::services::gateway::GatewayView;
use crate::services::token::now_unix;
use crate::store::admin;
use crate::wechat::call_stats::ApiCalls;

#[derive(Serialize, utoipa::ToSchema)]
pub struct Stats {
    pub apps: Vec<AppStats>,
    /// Calls this instance made to WeChat in the last 24 hours (5-minute steps), by API.
    pub upstream: Vec<ApiCalls>,
    /// The WeChat API gateway (`/wx/`): clients and their calls since this instance started.
    pub gateway: GatewayView,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AppStats {
    /// The configured name.
    pub app: String,
    pub app_id: String,
    pub token: TokenState,
    pub quota: Quota,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TokenState {
    /// `stable`, `classic` or `remote`.
    pub mode: &'static str,
    /// False until a token was fetched and stored.
    pub stored: bool,
    /// Unix seconds; null when none is stored.
    pub expires_at: Option<i64>,
    /// Seconds left (0 when expired or none).
    pub expires_in: i64,
    /// Unix seconds of the last refresh.
    pub refreshed_at: Option<i64>,
    pub refresh_count: i64,
}

/// `limited` + `qrcode` codes against WeChat's lifetime cap.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Quota {
    pub used: i64,
    pub limit: i64,
    pub left: i64,
    /// Unix seconds WeChat answered 45029 (cap reached); 0 = never.
    pub exhausted_at: i64,
}

/// Token health, quota and upstream calls.
#[utoipa::path(get, path = "/admin/stats", tag = "admin",
    security(("bearer" = [])),
    responses(
        (status = 200, body = Envelope<Stats>),
        (status = 401, description = "missing or bad bearer"),
        (status = 404, description = "admin disabled: admin.token is empty"),
    ))]
pub async fn show(ctx: web::Data<AppContext>) -> AppResult<HttpResponse> {
    let now = now_unix();
    let tokens = &ctx.mini_program.tokens;
    let limit = i64::try_from(ctx.settings.codes.limited_quota).unwrap_or(i64::MAX);
    let served: Vec<_> = ctx
        .settings
        .wechat
        .mini_program
        .iter()
        .filter_map(|(name, app)| Some((name, app, tokens.cell(name).ok()?)))
        .collect();
    // Every app's token and quota in one statement: the page polls this.
    let kind = served.first().map_or("", |(_, _, cell)| cell.kind());
    let token_ids: Vec<&str> = served.iter().map(|(_, _, cell)| cell.app_id()).collect();
    let quota_ids: Vec<&str> = served
        .iter()
        .map(|(_, app, _)| app.app_id.as_str())
        .collect();
    let rows = admin::app_rows(&ctx.db, kind, &token_ids, &quota_ids).await?;
    let apps = served
        .into_iter()
        .map(|(name, app, cell)| {
            let stored = rows.tokens.get(cell.app_id());
            let (used, exhausted_at) = rows.quotas.get(&app.app_id).copied().unwrap_or((0, 0));
            AppStats {
                app: name.clone(),
                app_id: app.app_id.clone(),
                token: TokenState {
                    mode: tokens.mode().as_str(),
                    stored: stored.is_some(),
                    expires_at: stored.map(|t| t.expires_at),
                    expires_in: stored.map_or(0, |t| (t.expires_at - now).max(0)),
                    refreshed_at: stored.map(|t| t.refreshed_at),
                    refresh_count: stored.map_or(0, |t| t.refresh_count),
                },
                quota: Quota {
                    used,
                    limit,
                    left: (limit - used).max(0),
                    exhausted_at,
                },
            }
        })
        .collect();
    let upstream = ctx.mini_program.client.call_stats().last_24h(now);
    let gateway = ctx.gateway.view();
    Ok(envelope::ok(
        "获取成功",
        Stats {
            apps,
            upstream,
            gateway,
        },
    ))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/stats").route(web::get().to(show)));
}
