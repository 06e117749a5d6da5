//! `GET sns/jscode2session` and `POST wxa/business/getuserphonenumber`
//! (docs/wechat.md#users), and minting their one-time codes for the control API.

use actix_web::http::Method;
use actix_web::web::{Bytes, Data};
use actix_web::{HttpRequest, HttpResponse};
use rand::Rng;
use serde_json::{Value, json};

use super::authorizers;
use super::call::{
    Call, CallResult, Reply, json_body, mp_caller, query, require_method, str_field,
};
use super::errors::WxErr;
use super::limits::Window;
use super::onetime::Refused;
use super::state::SimState;
use super::token_store::TokenKind;

/// wx.login codes and phone codes live five minutes.
pub const CODE_LIFETIME_SECS: i64 = 300;

/// What a wx.login code stands for.
#[derive(Clone, Debug)]
pub struct LoginGrant {
    pub app_id: String,
    pub openid: String,
    pub unionid: Option<String>,
}

/// What a phone code stands for.
#[derive(Clone, Debug)]
pub struct PhoneGrant {
    pub app_id: String,
    pub pure_phone: String,
    pub country_code: String,
    /// The user whose button made the code, when known.
    pub openid: Option<String>,
}

pub fn mint_login(state: &SimState, grant: LoginGrant) -> String {
    let now = state.now();
    state
        .login_codes
        .mint("", grant, now + CODE_LIFETIME_SECS, now)
}

pub fn mint_phone(state: &SimState, grant: PhoneGrant) -> String {
    let now = state.now();
    state
        .phone_codes
        .mint("", grant, now + CODE_LIFETIME_SECS, now)
}

pub async fn jscode2session(state: Data<SimState>, req: HttpRequest) -> HttpResponse {
    let mut call = match Call::begin(&state, "sns/jscode2session").await {
        Ok(call) => call,
        Err(faulty) => return faulty,
    };
    let result = login(&state, &mut call, &req);
    call.finish(&state, result)
}

pub async fn phone_number(state: Data<SimState>, req: HttpRequest, body: Bytes) -> HttpResponse {
    let mut call = match Call::begin(&state, "wxa/business/getuserphonenumber").await {
        Ok(call) => call,
        Err(faulty) => return faulty,
    };
    let result = phone(&state, &mut call, &req, &body);
    call.finish(&state, result)
}

fn login(state: &SimState, call: &mut Call, req: &HttpRequest) -> CallResult {
    require_method(req, Method::GET)?;
    let q = query(req);
    let field = |name: &str| q.get(name).map(String::as_str).filter(|v| !v.is_empty());
    let appid = field("appid").ok_or_else(|| WxErr::of(41002))?;
    call.app = appid.to_owned();
    let secret = field("secret").ok_or_else(|| WxErr::of(41004))?;
    let js_code = field("js_code").ok_or_else(|| WxErr::of(41008))?;
    if field("grant_type") != Some("authorization_code") {
        return Err(WxErr::of(40002));
    }
    let app = state.app(appid).ok_or_else(|| WxErr::of(40013))?;
    if app.secret.as_deref() != Some(secret) {
        return Err(WxErr::of(40125));
    }
    session(state, appid, js_code)
}

/// `sns/component/jscode2session`: a third-party platform logs a user of an authorizer in
/// with its component token instead of the authorizer's secret.
pub async fn component_jscode2session(state: Data<SimState>, req: HttpRequest) -> HttpResponse {
    let mut call = match Call::begin(&state, "sns/component/jscode2session").await {
        Ok(call) => call,
        Err(faulty) => return faulty,
    };
    let result = component_login(&state, &mut call, &req);
    call.finish(&state, result)
}

fn component_login(state: &SimState, call: &mut Call, req: &HttpRequest) -> CallResult {
    require_method(req, Method::GET)?;
    let q = query(req);
    let field = |name: &str| q.get(name).map(String::as_str).filter(|v| !v.is_empty());
    let appid = field("appid").ok_or_else(|| WxErr::of(41002))?;
    call.app = appid.to_owned();
    let component_appid = field("component_appid").ok_or_else(|| WxErr::of(41018))?;
    let token = field("component_access_token").ok_or_else(|| WxErr::of(41001))?;
    let js_code = field("js_code").ok_or_else(|| WxErr::of(41008))?;
    if field("grant_type") != Some("authorization_code") {
        return Err(WxErr::of(40002));
    }
    let (owner, kind) = state.tokens.check(token, state.now()).map_err(WxErr::of)?;
    if kind != TokenKind::Component {
        return Err(WxErr::of(61014));
    }
    if owner != component_appid || state.component_app_id().as_deref() != Some(component_appid) {
        return Err(WxErr::of(40013));
    }
    match authorizers::get(state, appid) {
        Some(a) if a.authorized => session(state, appid, js_code),
        _ => Err(WxErr::of(61003)),
    }
}

/// Spends a wx.login code of `appid`: the session, or WeChat's errcode for the code.
fn session(state: &SimState, appid: &str, js_code: &str) -> CallResult {
    let now = state.now();
    let cap = state.limits().login_per_minute_per_user;
    let taken = state.login_codes.take_if(js_code, now, |grant| {
        if grant.app_id != appid {
            return Err(WxErr::of(40029));
        }
        let user = format!("{appid}/{}", grant.openid);
        if !state
            .windows
            .try_hit("login", Window::Minute, &user, cap, now)
        {
            return Err(WxErr::of(45011));
        }
        Ok(())
    });
    let grant = match taken {
        Ok(accepted) => accepted?,
        Err(Refused::Used) => return Err(WxErr::of(40163)),
        Err(Refused::Unknown | Refused::Expired) => return Err(WxErr::of(40029)),
    };
    let mut body = json!({
        "openid": grant.openid,
        "session_key": session_key(),
    });
    if let Some(unionid) = grant.unionid {
        body["unionid"] = Value::String(unionid);
    }
    Ok(Reply::Json(body))
}

fn phone(state: &SimState, call: &mut Call, req: &HttpRequest, body: &[u8]) -> CallResult {
    require_method(req, Method::POST)?;
    let app = mp_caller(state, call, &query(req))?;
    let body = json_body(body)?;
    let code = str_field(&body, "code")
        .ok()
        .flatten()
        .filter(|c| !c.is_empty())
        .ok_or_else(|| WxErr::of(47001))?;
    let now = state.now();
    let cap = state.limits().phone_per_minute;
    if !state
        .windows
        .try_hit("phone", Window::Minute, &app.app_id, cap, now)
    {
        return Err(WxErr::of(45011));
    }
    // `openid` is optional; sent, it must be the code's user. WeChat's errcode for a
    // mismatch is not documented: 40029, as for any code that is not the caller's.
    let openid = str_field(&body, "openid")
        .ok()
        .flatten()
        .filter(|o| !o.is_empty());
    let taken = state.phone_codes.take_if(code, now, |grant| {
        if grant.app_id != app.app_id {
            Err(WxErr::of(40013))
        } else if matches!((&grant.openid, openid), (Some(owner), Some(asker)) if owner != asker) {
            Err(WxErr::of(40029))
        } else {
            Ok(())
        }
    });
    let grant = taken.map_err(|_| WxErr::of(40029))??;
    let phone_number = if grant.country_code == "86" {
        grant.pure_phone.clone()
    } else {
        format!("+{}{}", grant.country_code, grant.pure_phone)
    };
    let country_code = grant
        .country_code
        .parse::<u64>()
        .map_or_else(|_| Value::String(grant.country_code.clone()), Value::from);
    Ok(Reply::Json(json!({
        "errcode": 0,
        "errmsg": "ok",
        "phone_info": {
            "phoneNumber": phone_number,
            "purePhoneNumber": grant.pure_phone,
            "countryCode": country_code,
            "watermark": {"timestamp": now, "appid": app.app_id},
        },
    })))
}

/// A base64 session key of 16 random bytes (24 characters ending in `==`).
fn session_key() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    // 16 bytes = 21 full characters plus one that carries 2 bits (its low 4 bits zero).
    const LAST: &[u8] = b"AQgw";
    let mut rng = rand::thread_rng();
    let mut key: String = (0..21)
        .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
        .collect();
    key.push(char::from(LAST[rng.gen_range(0..LAST.len())]));
    key.push_str("==");
    key
}
