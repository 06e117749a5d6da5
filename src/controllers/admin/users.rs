//! `GET /admin/users`: mini-program users, newest first. Phones are masked
//! (`138****5678`); session keys and session tokens are never read.

use actix_web::{HttpResponse, web};
use serde::Serialize;

use super::{List, ListParams, app_filter, app_name, paging};
use crate::app::AppContext;
use crate::domain::users::mask_phone;
use crate::envelope::{self, Envelope};
use crate::error::AppResult;
use crate::input::Params;
use crate::store::admin::{self, UserRow};

#[derive(Serialize, utoipa::ToSchema)]
pub struct UserItem {
    pub id: i64,
    pub app: Option<String>,
    pub app_id: String,
    pub openid: String,
    pub unionid: Option<String>,
    pub has_phone: bool,
    /// Masked: the first 3 and last 4 characters around `****`; null without a phone.
    pub phone: Option<String>,
    pub country_code: Option<String>,
    /// Unix seconds.
    pub phone_bound_at: Option<i64>,
    pub created_at: i64,
    pub last_login_at: i64,
}

fn item(ctx: &AppContext, row: UserRow) -> UserItem {
    let phone = row.phone_number.as_deref().map(mask_phone);
    UserItem {
        app: app_name(ctx, &row.app_id),
        has_phone: phone.is_some(),
        phone,
        id: row.id,
        app_id: row.app_id,
        openid: row.openid,
        unionid: row.unionid,
        country_code: row.country_code,
        phone_bound_at: row.phone_bound_at,
        created_at: row.created_at,
        last_login_at: row.last_login_at,
    }
}

/// Users, newest first, phones masked.
#[utoipa::path(get, path = "/admin/users", tag = "admin",
    params(ListParams),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Envelope<List<UserItem>>),
        (status = 400, description = "a bad filter or paging value (data.field names it)"),
        (status = 401, description = "missing or bad bearer"),
        (status = 404, description = "admin disabled: admin.token is empty"),
    ))]
pub async fn list(
    Params(p): Params<ListParams>,
    ctx: web::Data<AppContext>,
) -> AppResult<HttpResponse> {
    let request = paging(p.page, p.per_page)?;
    let paging = request.paging();
    let app_id = app_filter(p.app.as_deref(), p.app_id, &ctx)?;
    let total = admin::count_users(&ctx.db, app_id.as_deref()).await?;
    let rows = if paging.offset < total {
        admin::users(&ctx.db, app_id.as_deref(), paging).await?
    } else {
        Vec::new()
    };
    let items = rows.into_iter().map(|r| item(&ctx, r)).collect();
    Ok(envelope::ok("获取成功", request.list(items, total)))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/users").route(web::get().to(list)));
}
