//! `/api/login`, `/api/bind_phone`.

use std::borrow::Cow;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{OpenApi, ToSchema};

use crate::app::AppContext;
use crate::controllers::app_param::{self, Acting};
use crate::controllers::{auth, caller};
use crate::domain::users::{EncryptedPhone, OneTimeCode, Phone, PhoneProof};
use crate::envelope::{self, Envelope};
use crate::error::{AppError, AppResult};
use crate::input::{Params, loose, required};
use crate::services::admission::Work;
use crate::services::users::{LoggedIn, Session};

/// WeChat's answers for a code that is unknown, expired (40029) or already used (40163).
const SPENT_CODE_ERRCODES: [i64; 2] = [40029, 40163];
const LOGIN_CODE_SPENT: &str = "登录 code 无效、已过期或已被使用,请重新调用 wx.login 获取新的 code";
const PHONE_CODE_SPENT: &str =
    "手机号 code 无效、已过期或已被使用,请让用户重新点击手机号授权按钮获取新的 code";

/// This module's part of the OpenAPI document (merged in `openapi.rs`).
#[derive(OpenApi)]
#[openapi(paths(login, bind_phone))]
pub struct Doc;

/// The input of `/api/login` (JSON, form or query string).
#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginBody {
    /// `wx.login`'s code: single use, valid 5 minutes; at most 128 characters. Required.
    #[serde(default, deserialize_with = "loose::text")]
    #[schema(value_type = String, max_length = 128)]
    code: Option<String>,
    /// Config name of the mini program; default `wechat.default_app`.
    #[serde(default, deserialize_with = "loose::text")]
    app: Option<String>,
    /// Refused: an authorizer's users log in through the component.
    #[serde(default, deserialize_with = "loose::text")]
    appid: Option<String>,
}

/// The input of `/api/bind_phone` (JSON, form or query string).
#[derive(Debug, Deserialize, ToSchema)]
pub struct BindPhoneBody {
    /// The getPhoneNumber button's code (`e.detail.code`, not wx.login's); or instead:
    #[serde(default, deserialize_with = "loose::text")]
    code: Option<String>,
    /// The older flow: `e.detail.encryptedData` (base64, at most 4096 characters) ...
    #[serde(default, deserialize_with = "loose::text")]
    encrypted_data: Option<String>,
    /// ... and `e.detail.iv` (base64 of 16 bytes).
    #[serde(default, deserialize_with = "loose::text")]
    iv: Option<String>,
    /// Must name the app of the session when given.
    #[serde(default, deserialize_with = "loose::text")]
    app: Option<String>,
    /// Must be the session's app when given (an authorizer's appid).
    #[serde(default, deserialize_with = "loose::text")]
    appid: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct LoginUser {
    pub id: i64,
    pub has_phone: bool,
}

#[derive(Serialize, ToSchema)]
pub struct LoginData {
    /// Opaque bearer token for `Authorization: Bearer ...`; shown once.
    pub token: String,
    /// Unix seconds.
    pub expires_at: i64,
    pub user: LoginUser,
}

impl From<LoggedIn> for LoginData {
    fn from(l: LoggedIn) -> Self {
        LoginData {
            token: l.token,
            expires_at: l.expires_at,
            user: LoginUser {
                id: l.user_id,
                has_phone: l.has_phone,
            },
        }
    }
}

/// Logs a user in with `wx.login`'s code.
#[utoipa::path(post, path = "/api/login", tag = "users", request_body = LoginBody,
    responses(
        (status = 200, body = Envelope<LoginData>, description = "msg 登录成功"),
        (status = 400, description = "missing or malformed code, unknown app (code 400)"),
        (status = 429, description = "WeChat's 45011: 100 logins per user per minute (code 429)"),
        (status = 502, description = "WeChat refused the code (code 5000; 40029 unknown or expired, 40163 used: get a new one with wx.login)"),
        (status = 504, description = "WeChat unreachable (code 5001)"),
    ))]
pub async fn login(
    req: HttpRequest,
    Params(body): Params<LoginBody>,
    ctx: web::Data<AppContext>,
) -> AppResult<HttpResponse> {
    let target = app_param::target(Acting::new(&body.app, &body.appid), &ctx).await?;
    if target.source == app_param::TokenSource::Authorizer {
        // An authorizer's users log in through the component (sns/component/jscode2session).
        return Err(AppError::invalid("appid", "暂不支持代授权小程序登录"));
    }
    let code = OneTimeCode::parse("code", required("code", body.code)?)?;
    let caller = caller::caller(&req, &ctx);
    caller::admit(&ctx, &caller).check(Work::Other).await?;
    match ctx.users.login(&target, &code).await {
        Ok(done) => Ok(envelope::ok("登录成功", LoginData::from(done))),
        Err(e) => spent_code(e, LOGIN_CODE_SPENT),
    }
}

/// Binds the phone to the session's user: the button's `code`, or `encrypted_data` + `iv`.
#[utoipa::path(post, path = "/api/bind_phone", tag = "users", request_body = BindPhoneBody,
    security(("bearer" = [])),
    responses(
        (status = 200, body = Envelope<Phone>, description = "msg 手机号绑定成功"),
        (status = 400, description = "bad code, encrypted_data or iv; one answer for every encrypted_data that does not yield this app's phone; app other than the session's (code 400)"),
        (status = 429, description = "5 failures of the encrypted flow in 10 minutes: the session is refused, Retry-After says for how long (code 429)"),
        (status = 401, description = "missing, unknown or expired bearer (code 401)"),
        (status = 409, description = "the phone is bound to another user of this app (code 409)"),
        (status = 502, description = "WeChat refused the code (code 5000; 40029: ask the button again)"),
        (status = 504, description = "WeChat unreachable (code 5001)"),
    ))]
pub async fn bind_phone(
    req: HttpRequest,
    Params(body): Params<BindPhoneBody>,
    ctx: web::Data<AppContext>,
) -> AppResult<HttpResponse> {
    let session = ctx.users.authenticate(auth::bearer(&req)).await?;
    let app = session_app(Acting::new(&body.app, &body.appid), &ctx, &session).await?;
    let proof = body.proof()?;
    let caller = caller::caller(&req, &ctx);
    caller::admit(&ctx, &caller).check(Work::Other).await?;
    match ctx.users.bind_phone(&session, &app, &proof).await {
        Ok(phone) => Ok(envelope::ok("手机号绑定成功", phone)),
        Err(e) => spent_code(e, PHONE_CODE_SPENT),
    }
}

/// The session's app. `app=` may repeat it; naming another app is a 400.
async fn session_app(acting: Acting<'_>, ctx: &AppContext, session: &Session) -> AppResult<String> {
    if acting.is_named() {
        let target = app_param::target(acting, ctx).await?;
        if target.app_id != session.app_id {
            return Err(AppError::invalid("app", "与登录会话的小程序不一致"));
        }
    }
    // An app removed from the configuration since the login: the session is no good.
    ctx.users
        .session_app(session)
        .map(str::to_owned)
        .ok_or(AppError::Unauthorized)
}

impl BindPhoneBody {
    fn proof(self) -> AppResult<PhoneProof> {
        let code = self.code.filter(|c| !c.is_empty());
        let data = self.encrypted_data.filter(|d| !d.is_empty());
        match (code, data) {
            (Some(_), Some(_)) => Err(AppError::invalid(
                "encrypted_data",
                "不能与 code 同时使用(二选一)",
            )),
            (Some(code), None) => Ok(PhoneProof::Code(OneTimeCode::parse("code", code)?)),
            (None, Some(data)) => {
                let iv = required("iv", self.iv)?;
                Ok(PhoneProof::Encrypted(EncryptedPhone::parse(&data, &iv)?))
            }
            (None, None) => Err(AppError::invalid(
                "code",
                "不能为空(或改用 encrypted_data 和 iv)",
            )),
        }
    }
}

/// A spent or unknown code is WeChat's 5000, with a message that says how to get a new one.
fn spent_code(e: AppError, msg: &'static str) -> AppResult<HttpResponse> {
    match e {
        AppError::Wechat(fault) if SPENT_CODE_ERRCODES.contains(&fault.errcode) => {
            Ok(envelope::respond(
                StatusCode::BAD_GATEWAY,
                5000,
                Cow::Borrowed(msg),
                json!({ "errcode": fault.errcode, "errmsg": fault.errmsg }),
            ))
        }
        other => Err(other),
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/api/login").route(web::post().to(login)))
        .service(web::resource("/api/bind_phone").route(web::post().to(bind_phone)));
}
