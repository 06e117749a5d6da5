//! `GET /admin/links`: schemes, URL links and short links, newest first, with their expiry.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;

use super::{List, app_filter, app_name, paging};
use crate::app::AppContext;
use crate::controllers::app_param::for_app_id;
use crate::envelope::{self, Envelope};
use crate::error::{AppError, AppResult};
use crate::input::{Params, loose};
use crate::services::token::now_unix;
use crate::store::admin::{self, LinkFilter, LinkRow};

const KINDS: [&str; 5] = [
    "scheme",
    "url_link",
    "short_link",
    "plain_scheme",
    "nfc_scheme",
];

#[derive(Serialize, utoipa::ToSchema)]
pub struct LinkItem {
    pub id: i64,
    pub app: Option<String>,
    pub app_id: String,
    /// `scheme`, `url_link`, `short_link`, `plain_scheme` or `nfc_scheme`.
    pub kind: String,
    /// The openlink, URL link or short link WeChat gave.
    pub link: String,
    pub path: String,
    pub query: String,
    /// `release`, `trial`, `develop`; `""` for short links.
    pub env_version: String,
    /// Short links: `page_title`.
    pub title: String,
    pub permanent: bool,
    /// Days asked for; 0 = an expire_time was given, or permanent.
    pub expire_interval: i64,
    /// Unix seconds; 0 = never.
    pub expires_at: i64,
    /// Still valid now (never expires, or expires later).
    pub valid: bool,
    pub created_at: i64,
}

fn item(ctx: &AppContext, row: LinkRow, now: i64) -> LinkItem {
    LinkItem {
        app: app_name(ctx, &row.app_id),
        valid: row.expires_at == 0 || row.expires_at > now,
        permanent: row.permanent != 0,
        id: row.id,
        app_id: row.app_id,
        kind: row.kind,
        link: row.link,
        path: row.path,
        query: row.query,
        env_version: row.env_version,
        title: row.title,
        expire_interval: row.expire_interval,
        expires_at: row.expires_at,
        created_at: row.created_at,
    }
}

/// The input of `/admin/links` (query string).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LinksParams {
    /// `scheme`, `url_link`, `short_link`, `plain_scheme` or `nfc_scheme`.
    #[serde(default, deserialize_with = "loose::text")]
    kind: Option<String>,
    /// Configured app name (not with `app_id`).
    #[serde(default, deserialize_with = "loose::text")]
    app: Option<String>,
    /// A WeChat appid, configured or not.
    #[serde(default, deserialize_with = "loose::text")]
    app_id: Option<String>,
    /// From 1; default 1.
    #[serde(default, deserialize_with = "loose::int")]
    page: Option<i64>,
    /// 1..100, default 20.
    #[serde(default, deserialize_with = "loose::int")]
    per_page: Option<i64>,
}

/// Links WeChat made for us, newest first.
#[utoipa::path(get, path = "/admin/links", tag = "admin",
    params(LinksParams),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Envelope<List<LinkItem>>),
        (status = 400, description = "a bad filter or paging value (data.field names it)"),
        (status = 401, description = "missing or bad bearer"),
        (status = 404, description = "admin disabled: admin.token is empty"),
    ))]
pub async fn list(
    Params(p): Params<LinksParams>,
    ctx: web::Data<AppContext>,
) -> AppResult<HttpResponse> {
    let request = paging(p.page, p.per_page)?;
    let paging = request.paging();
    let kind = match p.kind.filter(|s| !s.is_empty()) {
        None => None,
        Some(k) => Some(*KINDS.iter().find(|known| **known == k).ok_or_else(|| {
            AppError::invalid(
                "kind",
                "必须是 scheme、url_link、short_link、plain_scheme 或 nfc_scheme",
            )
        })?),
    };
    let filter = LinkFilter {
        app_id: app_filter(p.app.as_deref(), p.app_id, &ctx)?,
        kind,
    };
    let total = admin::count_links(&ctx.db, &filter).await?;
    let rows = if paging.offset < total {
        admin::links(&ctx.db, &filter, paging).await?
    } else {
        Vec::new()
    };
    let now = now_unix();
    let items = rows.into_iter().map(|r| item(&ctx, r, now)).collect();
    Ok(envelope::ok("获取成功", request.list(items, total)))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct VisitQuota {
    /// Opens left today (Beijing time) for the link's app, all its schemes and URL links
    /// together (WeChat allows 3,000,000 a day).
    pub remain_visit_quota: u64,
}

/// Today's remaining opens of the app of link `id`, from WeChat (`queryscheme` or
/// `query_urllink` with `query_type = 1`, through that link).
#[utoipa::path(get, path = "/admin/links/{id}/quota", tag = "admin",
    params(("id" = i64, Path, description = "a scheme or URL link WeChat made")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Envelope<VisitQuota>),
        (status = 400, description = "not a link WeChat made (short links, plain-text schemes), or its app is no longer configured"),
        (status = 401, description = "missing or bad bearer"),
        (status = 404, description = "no such link"),
        (status = 502, description = "WeChat refused (code 5000)"),
    ))]
pub async fn quota(id: web::Path<i64>, ctx: web::Data<AppContext>) -> AppResult<HttpResponse> {
    let link = ctx
        .links
        .find(id.into_inner())
        .await?
        .ok_or(AppError::NotFound)?;
    let app = for_app_id(&link.app_id, &ctx)
        .await?
        .ok_or_else(|| AppError::invalid("id", "该链接的小程序已不在配置中"))?;
    let remain_visit_quota = ctx.links.visit_quota(&app, &link).await?;
    Ok(envelope::ok("获取成功", VisitQuota { remain_visit_quota }))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/links").route(web::get().to(list)))
        .service(web::resource("/links/{id}/quota").route(web::get().to(quota)));
}
