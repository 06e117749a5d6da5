//! `/admin`: JSON lists and stats behind the admin bearer, and the admin page.
//!
//! The page (`/admin/`, `/admin/index.html`, its css and js) holds no data and needs no
//! bearer; it is registered before the scope so the scope does not take it. Everything
//! inside the scope, routes other modules add included, goes through [`require_admin`].

mod codes;
mod links;
mod stats;
mod users;

use std::path::PathBuf;

use actix_files::NamedFile;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{CACHE_CONTROL, HeaderValue};
use actix_web::middleware::{Next, from_fn};
use actix_web::{HttpRequest, HttpResponse, web};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi};

use crate::app::AppContext;
use crate::controllers::{app_param, auth};
use crate::error::{AppError, AppResult};
use crate::input::loose;
use crate::store::admin::Paging;

/// This module's part of the OpenAPI document (merged in `openapi.rs`).
#[derive(OpenApi)]
#[openapi(paths(
    codes::list,
    codes::show,
    links::list,
    links::quota,
    users::list,
    stats::show
))]
pub struct Doc;

pub const DEFAULT_PER_PAGE: i64 = 20;
pub const MAX_PER_PAGE: i64 = 100;
/// Deeper than any real list; keeps `(page - 1) * per_page` far from overflow.
const MAX_PAGE: i64 = 10_000_000;

pub use codes::TotalCache;

pub fn configure(cfg: &mut web::ServiceConfig, totals: &TotalCache) {
    cfg.service(web::resource("/admin").to(to_page))
        .service(web::resource(["/admin/", "/admin/index.html"]).to(page))
        .service(web::resource("/admin/admin.css").to(asset))
        .service(web::resource("/admin/admin.js").to(asset))
        .service(
            web::scope("/admin")
                .wrap(from_fn(require_admin))
                .app_data(web::Data::new(totals.clone()))
                .configure(codes::configure)
                .configure(links::configure)
                .configure(users::configure)
                .configure(stats::configure)
                // `/admin/authorizers`; paths there are relative to `/admin`.
                .configure(crate::controllers::open_platform::admin_routes),
        );
}

/// The admin bearer, compared in constant time. An empty `admin.token` turns the JSON API
/// off: it answers 404, as if it did not exist.
async fn require_admin(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let ctx = req
        .app_data::<web::Data<AppContext>>()
        .ok_or_else(|| AppError::internal("AppContext is not registered"))?;
    let token = &ctx.settings.admin.token;
    if token.expose_secret().is_empty() {
        return Err(AppError::NotFound.into());
    }
    auth::require_any(req.request(), std::slice::from_ref(token))?;
    next.call(req).await
}

/// `/admin` -> `/admin/`, so the page's relative URLs resolve the same way.
async fn to_page() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header(("location", "/admin/"))
        .finish()
}

async fn page(req: HttpRequest, ctx: web::Data<AppContext>) -> AppResult<HttpResponse> {
    serve(&req, &ctx, "index.html").await
}

async fn asset(req: HttpRequest, ctx: web::Data<AppContext>) -> AppResult<HttpResponse> {
    let name = req.path().rsplit('/').next().unwrap_or_default().to_owned();
    serve(&req, &ctx, &name).await
}

/// A file of `public/admin/` (names come from our own route table, never the request).
async fn serve(req: &HttpRequest, ctx: &AppContext, name: &str) -> AppResult<HttpResponse> {
    let path: PathBuf = ctx.settings.server.static_dir.join("admin").join(name);
    let file = NamedFile::open_async(path)
        .await
        .map_err(|_| AppError::NotFound)?;
    let mut res = file.use_etag(true).into_response(req);
    // Revalidated on every load (ETag): a new release is seen at once.
    res.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(res)
}

/// The paging parameters of every admin list, checked declaratively.
#[derive(Debug, Clone, Copy, validator::Validate)]
pub struct PageRequest {
    #[validate(range(min = 1, max = MAX_PAGE, message = "必须是 1 到 10000000 之间的整数"))]
    pub page: i64,
    #[validate(range(min = 1, max = MAX_PER_PAGE, message = "必须是 1 到 100 之间的整数"))]
    pub per_page: i64,
}

impl PageRequest {
    /// The rows this page covers.
    pub fn paging(self) -> Paging {
        Paging {
            limit: self.per_page,
            offset: (self.page - 1) * self.per_page,
        }
    }

    /// This page of a list of `total`.
    pub fn list<T>(self, items: Vec<T>, total: i64) -> List<T> {
        List {
            items,
            total,
            page: self.page,
            per_page: self.per_page,
        }
    }
}

/// The paging of a list (query string).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PagingParams {
    /// From 1 (at most 10,000,000); default 1.
    #[serde(default, deserialize_with = "loose::int")]
    pub page: Option<i64>,
    /// 1..100, default 20.
    #[serde(default, deserialize_with = "loose::int")]
    pub per_page: Option<i64>,
}

/// A list filtered by app, and its paging (query string).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Configured app name (not with `app_id`).
    #[serde(default, deserialize_with = "loose::text")]
    pub app: Option<String>,
    /// A WeChat appid, configured or not (at most 64 characters).
    #[serde(default, deserialize_with = "loose::text")]
    pub app_id: Option<String>,
    /// From 1 (at most 10,000,000); default 1.
    #[serde(default, deserialize_with = "loose::int")]
    pub page: Option<i64>,
    /// 1..100, default 20.
    #[serde(default, deserialize_with = "loose::int")]
    pub per_page: Option<i64>,
}

/// `page` (from 1) and `per_page` (1..100, default 20), else a 400 naming the field.
pub fn paging(page: Option<i64>, per_page: Option<i64>) -> AppResult<PageRequest> {
    let request = PageRequest {
        page: page.unwrap_or(1),
        per_page: per_page.unwrap_or(DEFAULT_PER_PAGE),
    };
    validator::Validate::validate(&request)?;
    Ok(request)
}

/// The appid to filter by: `app` (a configured name) or `app_id` (any appid); neither = all.
pub fn app_filter(
    app: Option<&str>,
    app_id: Option<String>,
    ctx: &AppContext,
) -> AppResult<Option<String>> {
    let app_id = app_id.filter(|s| !s.is_empty());
    if app.is_some() {
        if app_id.is_some() {
            return Err(AppError::invalid("app_id", "不能与 app 同时使用"));
        }
        return Ok(Some(app_param::configured(app, ctx)?.app_id));
    }
    if let Some(id) = &app_id {
        if id.chars().count() > 64 {
            return Err(AppError::invalid("app_id", "长度不能超过 64"));
        }
    }
    Ok(app_id)
}

/// The configured name of an appid, for display.
pub fn app_name(ctx: &AppContext, app_id: &str) -> Option<String> {
    ctx.settings
        .wechat
        .mini_program
        .iter()
        .find(|(_, app)| app.app_id == app_id)
        .map(|(name, _)| name.clone())
}

/// A page of a list.
#[derive(Serialize, utoipa::ToSchema)]
pub struct List<T> {
    pub items: Vec<T>,
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
}
