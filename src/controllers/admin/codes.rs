//! `GET /admin/codes` and `GET /admin/codes/{id}`: the stored codes, newest first.

use std::cmp::Ordering;
use std::time::Duration;

use actix_web::{HttpResponse, web};
use moka::future::Cache;
use serde::Serialize;

use super::{List, app_filter, app_name, paging};
use crate::app::AppContext;
use crate::envelope::{self, Envelope};
use crate::error::{AppError, AppResult};
use crate::input::Input;
use crate::store::admin::{self, CodeFilter};
use crate::store::codes::{self, CodeRow};

/// Kinds a code may have (`kind` filter).
const KINDS: [&str; 3] = ["unlimited", "limited", "qrcode"];
/// WeChat's limits: a scene is at most 32 characters, a path at most 1024.
const MAX_SCENE_CHARS: usize = 32;
const MAX_PAGE_CHARS: usize = 1024;

/// Each filter's total with the newest code id it was counted at. Codes are only ever added
/// and their filtered columns never change, so a later total is that count plus the
/// matches added since (read by id range): paging through a list counts in full once.
/// Entries live 10 minutes: on PostgreSQL a transaction may commit an id below one already
/// counted, which only a full count sees. One per process (clones share the cache), held in
/// `AppContext` so every worker sees the same totals.
#[derive(Clone)]
pub struct TotalCache(Cache<CodeFilter, (i64, i64)>);

impl Default for TotalCache {
    fn default() -> Self {
        Self::new()
    }
}

impl TotalCache {
    pub fn new() -> Self {
        TotalCache(
            Cache::builder()
                .max_capacity(1024)
                .time_to_live(Duration::from_secs(600))
                .build(),
        )
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CodeItem {
    pub id: i64,
    /// The configured name of the app, when it is one of ours.
    pub app: Option<String>,
    pub app_id: String,
    /// `unlimited`, `limited` or `qrcode`.
    pub kind: String,
    /// The page (`unlimited`) or path (the others).
    pub page: String,
    /// `unlimited` only; else `""`.
    pub scene: String,
    pub width: i64,
    pub content_type: String,
    /// Bytes.
    pub size: i64,
    /// Absolute image URL, as `/api/qr_code` hands it out.
    pub url: String,
    /// Unix seconds.
    pub created_at: i64,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CodeDetail {
    #[serde(flatten)]
    pub code: CodeItem,
    pub file: String,
    pub hash: String,
    /// The normalized parameters sent to WeChat.
    #[schema(value_type = Object)]
    pub params: serde_json::Value,
}

fn item(ctx: &AppContext, row: CodeRow) -> CodeItem {
    CodeItem {
        app: app_name(ctx, &row.app_id),
        url: ctx.codes.image_url(&row.file),
        id: row.id,
        app_id: row.app_id,
        kind: row.kind,
        page: row.page,
        scene: row.scene,
        width: row.width,
        content_type: row.content_type,
        size: row.size,
        created_at: row.created_at,
    }
}

fn filter(input: &Input, ctx: &AppContext) -> AppResult<CodeFilter> {
    let kind = match input.str("kind")?.filter(|s| !s.is_empty()) {
        None => None,
        Some(k) => Some(
            *KINDS
                .iter()
                .find(|known| **known == k)
                .ok_or_else(|| AppError::invalid("kind", "必须是 unlimited、limited 或 qrcode"))?,
        ),
    };
    let page_prefix = input.str("page_prefix")?.filter(|s| !s.is_empty());
    if page_prefix
        .as_ref()
        .is_some_and(|p| p.chars().count() > MAX_PAGE_CHARS)
    {
        return Err(AppError::invalid("page_prefix", "长度不能超过 1024"));
    }
    let scene = input.str("scene")?.filter(|s| !s.is_empty());
    if scene
        .as_ref()
        .is_some_and(|s| s.chars().count() > MAX_SCENE_CHARS)
    {
        return Err(AppError::invalid("scene", "长度不能超过 32"));
    }
    let created_from = input.i64("created_from")?;
    let created_to = input.i64("created_to")?;
    if created_from.is_some_and(|t| t < 0) {
        return Err(AppError::invalid("created_from", "必须是非负的 unix 秒"));
    }
    if let (Some(from), Some(to)) = (created_from, created_to) {
        if to < from {
            return Err(AppError::invalid("created_to", "不能早于 created_from"));
        }
    }
    Ok(CodeFilter {
        app_id: app_filter(input, ctx)?,
        kind,
        page_prefix,
        scene,
        created_from,
        created_to,
    })
}

/// Stored codes, newest first, with filters and paging.
#[utoipa::path(get, path = "/admin/codes", tag = "admin",
    params(
        ("app" = Option<String>, Query, description = "configured app name (not with app_id)"),
        ("app_id" = Option<String>, Query, description = "WeChat appid"),
        ("kind" = Option<String>, Query, description = "unlimited | limited | qrcode"),
        ("page_prefix" = Option<String>, Query, description = "page/path starts with this (<= 1024 chars)"),
        ("scene" = Option<String>, Query, description = "exact scene (<= 32 chars)"),
        ("created_from" = Option<i64>, Query, description = "unix seconds, inclusive"),
        ("created_to" = Option<i64>, Query, description = "unix seconds, inclusive"),
        ("page" = Option<i64>, Query, description = "from 1"),
        ("per_page" = Option<i64>, Query, description = "1..100, default 20"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Envelope<List<CodeItem>>),
        (status = 400, description = "a bad filter or paging value (data.field names it)"),
        (status = 401, description = "missing or bad bearer"),
        (status = 404, description = "admin disabled: admin.token is empty"),
    ))]
pub async fn list(
    input: Input,
    ctx: web::Data<AppContext>,
    totals: web::Data<TotalCache>,
) -> AppResult<HttpResponse> {
    let request = paging(&input)?;
    let paging = request.paging();
    let filter = filter(&input, &ctx)?;
    let db = &ctx.db;
    let total = match totals.0.get(&filter).await {
        Some((counted_at, counted)) => {
            let newest = admin::newest_code_id(db).await?;
            match counted_at.cmp(&newest) {
                Ordering::Equal => Some((newest, counted)),
                Ordering::Less => {
                    let added = admin::count_codes_added(db, &filter, counted_at, newest).await?;
                    Some((newest, counted + added))
                }
                Ordering::Greater => None, // the table was emptied: count again
            }
        }
        None => None,
    };
    let (counted_at, total) = match total {
        Some(known) => known,
        None => admin::count_codes(db, &filter).await?,
    };
    totals.0.insert(filter.clone(), (counted_at, total)).await;
    // Knowing the total first lets a deep page be read from the oldest end.
    let rows = if paging.offset < total {
        admin::codes(db, &filter, paging, total, counted_at).await?
    } else {
        Vec::new()
    };
    let items = rows.into_iter().map(|row| item(&ctx, row)).collect();
    Ok(envelope::ok("获取成功", request.list(items, total)))
}

/// One stored code, with its parameters.
#[utoipa::path(get, path = "/admin/codes/{id}", tag = "admin",
    params(("id" = i64, Path, description = "code id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Envelope<CodeDetail>),
        (status = 400, description = "id is not an integer"),
        (status = 401, description = "missing or bad bearer"),
        (status = 404, description = "no such code (or admin disabled)"),
    ))]
pub async fn show(id: web::Path<String>, ctx: web::Data<AppContext>) -> AppResult<HttpResponse> {
    let id: i64 = id
        .parse()
        .map_err(|_| AppError::invalid("id", "必须是整数"))?;
    let row = codes::find_by_id(&ctx.db, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let params = serde_json::from_str(&row.params).unwrap_or(serde_json::Value::Null);
    let (file, hash) = (row.file.clone(), row.hash.clone());
    Ok(envelope::ok(
        "获取成功",
        CodeDetail {
            code: item(&ctx, row),
            file,
            hash,
            params,
        },
    ))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/codes").route(web::get().to(list)))
        .service(web::resource("/codes/{id}").route(web::get().to(show)));
}
