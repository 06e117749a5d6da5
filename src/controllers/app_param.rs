//! Which mini program a request acts for: `app=<name>` (default `wechat.default_app`), or
//! `appid=<authorizer appid>` for an Open Platform authorizer. Both at once is a 400.

use crate::app::AppContext;
pub use crate::domain::target::{Target, TokenSource};
use crate::error::{AppError, AppResult};

/// The two fields that say who a request acts for, as the route's params carry them.
#[derive(Debug, Clone, Copy, Default)]
pub struct Acting<'a> {
    pub app: Option<&'a str>,
    pub appid: Option<&'a str>,
}

impl<'a> Acting<'a> {
    pub fn new(app: &'a Option<String>, appid: &'a Option<String>) -> Self {
        Acting {
            app: app.as_deref(),
            appid: appid.as_deref(),
        }
    }

    pub fn is_named(&self) -> bool {
        self.app.is_some() || self.appid.is_some()
    }
}

/// Who the request acts for, decided here, before any side effect: an `appid=` that is
/// not a current authorizer is a 400 before it can reach a token slot, a pacer or the
/// quota table (invented appids must not grow them).
pub async fn target(acting: Acting<'_>, ctx: &AppContext) -> AppResult<Target> {
    if let Some(appid) = acting.appid {
        if acting.app.is_some() {
            return Err(AppError::invalid("appid", "不能与 app 同时使用"));
        }
        if appid.is_empty() {
            return Err(AppError::invalid("appid", "不能为空"));
        }
        if !ctx.open_platform.enabled() {
            return Err(AppError::invalid("appid", "未授权的 appid(开放平台未启用)"));
        }
        if !is_appid(appid) {
            return Err(AppError::invalid("appid", "必须是 wx 开头的 18 位 appid"));
        }
        ctx.open_platform.check_authorized(appid).await?;
        return Ok(Target::authorizer(appid));
    }
    configured(acting.app, ctx)
}

/// A configured mini program: `app=<name>`, or the default app.
pub fn configured(app: Option<&str>, ctx: &AppContext) -> AppResult<Target> {
    let name = app.unwrap_or(&ctx.settings.wechat.default_app);
    match ctx.settings.app(Some(name)) {
        Some((name, app)) if ctx.mini_program.tokens.knows(name) => {
            Ok(Target::configured(name, app.app_id.clone()))
        }
        _ => Err(AppError::invalid("app", "未配置的小程序")),
    }
}

/// Who acts for records kept under `app_id`: the configured app with that appid, else the
/// authorizer (when it still is one). `None` when neither.
pub async fn for_app_id(app_id: &str, ctx: &AppContext) -> AppResult<Option<Target>> {
    let configured = ctx
        .settings
        .wechat
        .mini_program
        .iter()
        .find(|(name, app)| app.app_id == app_id && ctx.mini_program.tokens.knows(name));
    if let Some((name, _)) = configured {
        return Ok(Some(Target::configured(name.clone(), app_id)));
    }
    if !ctx.open_platform.enabled() || !is_appid(app_id) {
        return Ok(None);
    }
    match ctx.open_platform.check_authorized(app_id).await {
        Ok(()) => Ok(Some(Target::authorizer(app_id))),
        Err(AppError::Invalid { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// `wx` and 16 letters or digits.
pub fn is_appid(s: &str) -> bool {
    s.len() == 18 && s.starts_with("wx") && s.bytes().all(|b| b.is_ascii_alphanumeric())
}
