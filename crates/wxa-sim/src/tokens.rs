//! `GET cgi-bin/token` and `POST cgi-bin/stable_token` (docs/wechat.md#tokens).

use actix_web::http::Method;
use actix_web::web::{Bytes, Data};
use actix_web::{HttpRequest, HttpResponse};
use serde_json::json;

use super::call::{
    Call, CallResult, Reply, bool_field, json_body, query, require_method, str_field,
};
use super::errors::WxErr;
use super::limits::Window;
use super::state::SimState;
use super::token_store::{Issued, StableAnswer, TokenKind};

const GRANT_TYPE: &str = "client_credential";

pub async fn classic(state: Data<SimState>, req: HttpRequest) -> HttpResponse {
    let mut call = match Call::begin(&state, "cgi-bin/token").await {
        Ok(call) => call,
        Err(faulty) => return faulty,
    };
    let result = classic_token(&state, &mut call, &req);
    call.finish(&state, result)
}

pub async fn stable(state: Data<SimState>, req: HttpRequest, body: Bytes) -> HttpResponse {
    let mut call = match Call::begin(&state, "cgi-bin/stable_token").await {
        Ok(call) => call,
        Err(faulty) => return faulty,
    };
    let result = stable_token(&state, &mut call, &req, &body);
    call.finish(&state, result)
}

fn classic_token(state: &SimState, call: &mut Call, req: &HttpRequest) -> CallResult {
    require_method(req, Method::GET)?;
    let q = query(req);
    let field = |name: &str| q.get(name).map(String::as_str).filter(|v| !v.is_empty());
    check_grant(field("grant_type"))?;
    let appid = field("appid").ok_or_else(|| WxErr::of(41002))?;
    call.app = appid.to_owned();
    let secret = field("secret").ok_or_else(|| WxErr::of(41004))?;
    check_credentials(state, appid, secret)?;
    let now = state.now();
    let cap = state.limits().token_daily;
    if !state.windows.try_hit("token", Window::Day, appid, cap, now) {
        return Err(WxErr::of(45009));
    }
    let issued = state.tokens.rotate(TokenKind::Classic, appid, now);
    state
        .counters
        .token_issued(appid, TokenKind::Classic.as_str());
    Ok(token_reply(&issued))
}

fn stable_token(state: &SimState, call: &mut Call, req: &HttpRequest, body: &[u8]) -> CallResult {
    require_method(req, Method::POST)?;
    let body = json_body(body)?;
    let text = |name: &str| {
        str_field(&body, name)
            .map(|v| v.filter(|s| !s.is_empty()))
            .map_err(|()| WxErr::of(47001))
    };
    let appid = text("appid")?.ok_or_else(|| WxErr::of(41002))?;
    call.app = appid.to_owned();
    check_grant(text("grant_type")?)?;
    let secret = text("secret")?.ok_or_else(|| WxErr::of(41004))?;
    let force = bool_field(&body, "force_refresh", false)?;
    check_credentials(state, appid, secret)?;
    let now = state.now();
    let limits = state.limits();
    let windows = &state.windows;
    if !windows.try_hit(
        "stable",
        Window::Minute,
        appid,
        limits.stable_per_minute,
        now,
    ) {
        return Err(WxErr::of(45011));
    }
    if !windows.try_hit("stable", Window::Day, appid, limits.stable_daily, now) {
        return Err(WxErr::of(45009));
    }
    let answer = state
        .tokens
        .stable(appid, now, force, limits.stable_force_spacing_secs, || {
            windows.try_hit(
                "stable_force",
                Window::Day,
                appid,
                limits.stable_force_daily,
                now,
            )
        });
    match answer {
        StableAnswer::Issued { issued, minted } => {
            if minted {
                state
                    .counters
                    .token_issued(appid, TokenKind::Stable.as_str());
            }
            Ok(token_reply(&issued))
        }
        StableAnswer::ForceCapReached => Err(WxErr::of(45009)),
    }
}

fn check_grant(grant_type: Option<&str>) -> Result<(), WxErr> {
    if grant_type == Some(GRANT_TYPE) {
        Ok(())
    } else {
        Err(WxErr::of(40002))
    }
}

/// 61024 for the component's appid, 40013 for an unknown appid, 40125 for a wrong secret.
fn check_credentials(state: &SimState, appid: &str, secret: &str) -> Result<(), WxErr> {
    if state.component_app_id().as_deref() == Some(appid) {
        return Err(WxErr::of(61024));
    }
    let app = state.app(appid).ok_or_else(|| WxErr::of(40013))?;
    if app.secret.as_deref() == Some(secret) {
        Ok(())
    } else {
        Err(WxErr::of(40125))
    }
}

/// Token bodies carry no errcode.
fn token_reply(issued: &Issued) -> Reply {
    Reply::Json(json!({
        "access_token": issued.token,
        "expires_in": issued.expires_in,
    }))
}
