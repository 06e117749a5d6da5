//! `GET /admin/codes` and `GET /admin/codes/{id}`: the stored codes, newest first.

use std::cmp::Ordering;
use std::time::Duration;

use actix_web::{HttpResponse, web};
use moka::future::Cache;
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;

use super::{List, app_filter, app_name, paging};
use crate::app::AppContext;
use crate::envelope::{self, Envelope};
use crate::error::{AppError, AppResult};
use crate::input::{Params, loose};
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

/// The input of `/admin/codes` (query string).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CodesParams {
    /// Configured app name (not with `app_id`).
    #[serde(default, deserialize_with = "loose::text")]
    app: Option<String>,
    /// A WeChat appid, configured or not.
    #[serde(default, deserialize_with = "loose::text")]
    app_id: Option<String>,
    /// `unlimited`, `limited` or `qrcode`.
    #[serde(default, deserialize_with = "loose::text")]
    kind: Option<String>,
    /// The page or path starts with this (at most 1024 characters).
    #[serde(default, deserialize_with = "loose::text")]
    #[param(max_length = 1024)]
    page_prefix: Option<String>,
    /// This exact scene (at most 32 characters).
    #[serde(default, deserialize_with = "loose::text")]
    #[param(max_length = 32)]
    scene: Option<String>,
    /// Unix seconds, inclusive.
    #[serde(default, deserialize_with = "loose::int")]
    created_from: Option<i64>,
    /// Unix seconds, inclusive.
    #[serde(default, deserialize_with = "loose::int")]
    created_to: Option<i64>,
    /// From 1; default 1.
    #[serde(default, deserialize_with = "loose::int")]
    page: Option<i64>,
    /// 1..100, default 20.
    #[serde(default, deserialize_with = "loose::int")]
    per_page: Option<i64>,
}

fn filter(p: CodesParams, ctx: &AppContext) -> AppResult<CodeFilter> {
    let kind = match p.kind.filter(|s| !s.is_empty()) {
        None => None,
        Some(k) => Some(
            *KINDS
                .iter()
                .find(|known| **known == k)
                .ok_or_else(|| AppError::invalid("kind", "必须是 unlimited、limited 或 qrcode"))?,
        ),
    };
    let page_prefix = p.page_prefix.filter(|s| !s.is_empty());
    if page_prefix
        .as_ref()
        .is_some_and(|p| p.chars().count() > MAX_PAGE_CHARS)
    {
        return Err(AppError::invalid("page_prefix", "长度不能超过 1024"));
    }
    let scene = p.scene.filter(|s| !s.is_empty());
    if scene
        .as_ref()
        .is_some_and(|s| s.chars().count() > MAX_SCENE_CHARS)
    {
        return Err(AppError::invalid("scene", "长度不能超过 32"));
    }
    let (created_from, created_to) = (p.created_from, p.created_to);
    if created_from.is_some_and(|t| t < 0) {
        return Err(AppError::invalid("created_from", "必须是非负的 unix 秒"));
    }
    if let (Some(from), Some(to)) = (created_from, created_to) {
        if to < from {
            return Err(AppError::invalid("created_to", "不能早于 created_from"));
        }
    }
    Ok(CodeFilter {
        app_id: app_filter(p.app.as_deref(), p.app_id, ctx)?,
        kind,
        page_prefix,
        scene,
        created_from,
        created_to,
    })
}

/// Stored codes, newest first, with filters and paging.
#[utoipa::path(get, path = "/admin/codes", tag = "admin",
    params(CodesParams),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Envelope<List<CodeItem>>),
        (status = 400, description = "a bad filter or paging value (data.field names it)"),
        (status = 401, description = "missing or bad bearer"),
        (status = 404, description = "admin disabled: admin.token is empty"),
    ))]
pub async fn list(
    Params(p): Params<CodesParams>,
    ctx: web::Data<AppContext>,
    totals: web::Data<TotalCache>,
) -> AppResult<HttpResponse> {
    let request = paging(p.page, p.per_page)?;
    let paging = request.paging();
    let filter = filter(p, &ctx)?;
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
