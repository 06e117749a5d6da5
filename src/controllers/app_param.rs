//! Which mini program a request acts for: `app=<name>` (default `wechat.default_app`), or
//! `appid=<authorizer appid>` for an Open Platform authorizer. Both at once is a 400.

use crate::app::AppContext;
use crate::error::{AppError, AppResult};
use crate::input::Input;

/// A configured mini program: its name in the config and its WeChat appid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub name: String,
    pub app_id: String,
}

pub fn target(input: &Input, ctx: &AppContext) -> AppResult<Target> {
    let app = input.str("app")?;
    if input.has("appid") {
        if app.is_some() {
            return Err(AppError::invalid("appid", "不能与 app 同时使用"));
        }
        // Acting for authorizers comes with Open Platform support.
        return Err(AppError::invalid("appid", "未授权的 appid(开放平台未启用)"));
    }
    let name = app.unwrap_or_else(|| ctx.settings.wechat.default_app.clone());
    match ctx.settings.app(Some(&name)) {
        Some((name, app)) if ctx.mini_program.tokens.knows(name) => Ok(Target {
            name: name.to_owned(),
            app_id: app.app_id.clone(),
        }),
        _ => Err(AppError::invalid("app", "未配置的小程序")),
    }
}
