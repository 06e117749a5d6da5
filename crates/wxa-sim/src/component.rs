//! Open Platform component APIs (docs/wechat.md#open-platform) and the authorization page.

use std::collections::HashMap;

use actix_web::http::Method;
use actix_web::web::{Bytes, Data};
use actix_web::{HttpRequest, HttpResponse};
use serde_json::{Map, Value, json};

use super::authorizers::{self, PRE_AUTH_CODE_SECS};
use super::call::{
    Call, CallResult, Reply, int_field, json_body, query, require_method, str_field,
};
use super::errors::WxErr;
use super::onetime::Refused;
use super::push;
use super::state::{SimState, lock};
use super::token_store::{Issued, TokenKind};
use crate::SimComponent;

/// The component APIs, by the name used in counters and faults.
pub const TOKEN: &str = "cgi-bin/component/api_component_token";
pub const PRE_AUTH: &str = "cgi-bin/component/api_create_preauthcode";
pub const QUERY_AUTH: &str = "cgi-bin/component/api_query_auth";
pub const AUTHORIZER_TOKEN: &str = "cgi-bin/component/api_authorizer_token";
pub const AUTHORIZER_INFO: &str = "cgi-bin/component/api_get_authorizer_info";
pub const AUTHORIZER_LIST: &str = "cgi-bin/component/api_get_authorizer_list";
pub const START_PUSH: &str = "cgi-bin/component/api_start_push_ticket";
pub const LOGIN_PAGE: &str = "cgi-bin/componentloginpage";

type Work = fn(&SimState, &mut Call, &HashMap<String, String>, &Map<String, Value>) -> CallResult;

async fn run(
    state: &SimState,
    api: &'static str,
    req: &HttpRequest,
    body: &[u8],
    work: Work,
) -> HttpResponse {
    let mut call = match Call::begin(state, api).await {
        Ok(call) => call,
        Err(faulty) => return faulty,
    };
    let result = require_method(req, Method::POST)
        .and_then(|()| json_body(body))
        .and_then(|body| work(state, &mut call, &query(req), &body));
    call.finish(state, result)
}

pub async fn component_token(s: Data<SimState>, r: HttpRequest, b: Bytes) -> HttpResponse {
    run(&s, TOKEN, &r, &b, token).await
}
pub async fn pre_auth_code(s: Data<SimState>, r: HttpRequest, b: Bytes) -> HttpResponse {
    run(&s, PRE_AUTH, &r, &b, pre_auth).await
}
pub async fn query_auth(s: Data<SimState>, r: HttpRequest, b: Bytes) -> HttpResponse {
    run(&s, QUERY_AUTH, &r, &b, query_auth_code).await
}
pub async fn authorizer_token(s: Data<SimState>, r: HttpRequest, b: Bytes) -> HttpResponse {
    run(&s, AUTHORIZER_TOKEN, &r, &b, refresh_authorizer).await
}
pub async fn authorizer_info(s: Data<SimState>, r: HttpRequest, b: Bytes) -> HttpResponse {
    run(&s, AUTHORIZER_INFO, &r, &b, info).await
}

pub async fn authorizer_list(s: Data<SimState>, r: HttpRequest, b: Bytes) -> HttpResponse {
    run(&s, AUTHORIZER_LIST, &r, &b, list_authorizers).await
}

/// `api_get_authorizer_list`: the authorized accounts in appid order, `offset` and
/// `count` (1..=500, else 40097), each with its current refresh token.
fn list_authorizers(
    state: &SimState,
    call: &mut Call,
    q: &HashMap<String, String>,
    body: &Map<String, Value>,
) -> CallResult {
    component_caller(state, call, q, body)?;
    let int = |name: &str| int_field(body, name).map_err(|()| WxErr::of(47001));
    let offset = int("offset")?.unwrap_or(0);
    let count = int("count")?.unwrap_or(0);
    if offset < 0 || !(1..=500).contains(&count) {
        return Err(WxErr::of(40097));
    }
    let component = lock(&state.component);
    let mut authorized: Vec<_> = component
        .authorizers
        .values()
        .filter(|a| a.authorized)
        .collect();
    authorized.sort_by(|a, b| a.app_id.cmp(&b.app_id));
    let page: Vec<Value> = authorized
        .iter()
        .skip(offset as usize)
        .take(count as usize)
        .map(|a| json!({"authorizer_appid": a.app_id, "refresh_token": a.refresh_token, "auth_time": 0}))
        .collect();
    Ok(Reply::Json(json!({
        "errcode": 0,
        "errmsg": "ok",
        "total_count": authorized.len(),
        "list": page,
    })))
}

pub async fn start_push_ticket(s: Data<SimState>, r: HttpRequest, b: Bytes) -> HttpResponse {
    let response = run(&s, START_PUSH, &r, &b, start_push).await;
    if response.status().is_success() && lock(&s.component).push_url.is_some() {
        let state = s.clone();
        actix_web::rt::spawn(async move { push::push_ticket_if_configured(&state).await });
    }
    response
}

fn text<'a>(body: &'a Map<String, Value>, name: &str) -> Result<Option<&'a str>, WxErr> {
    str_field(body, name)
        .map(|v| v.filter(|s| !s.is_empty()))
        .map_err(|()| WxErr::of(47001))
}

/// The configured component, when `component_appid` names it (41018 absent, 61011 for a
/// mini program's appid, 40013 otherwise).
fn own_component(
    state: &SimState,
    call: &mut Call,
    body: &Map<String, Value>,
) -> Result<SimComponent, WxErr> {
    let appid = text(body, "component_appid")?.ok_or_else(|| WxErr::of(41018))?;
    call.app = appid.to_owned();
    match lock(&state.component).config.clone() {
        Some(c) if c.app_id == appid => Ok(c),
        _ if state.app(appid).is_some() => Err(WxErr::of(61011)),
        _ => Err(WxErr::of(40013)),
    }
}

/// The URL token (`component_access_token`, or `access_token` as the new docs write) must be
/// a live component token of this component (61014 for other kinds).
fn component_caller(
    state: &SimState,
    call: &mut Call,
    q: &HashMap<String, String>,
    body: &Map<String, Value>,
) -> Result<SimComponent, WxErr> {
    let token = q
        .get("component_access_token")
        .or_else(|| q.get("access_token"))
        .filter(|t| !t.is_empty())
        .ok_or_else(|| WxErr::of(41001))?;
    let (owner, kind) = state.tokens.check(token, state.now()).map_err(WxErr::of)?;
    if kind != TokenKind::Component {
        return Err(WxErr::of(61014));
    }
    let component = own_component(state, call, body)?;
    if component.app_id != owner {
        return Err(WxErr::of(40013));
    }
    Ok(component)
}

fn token(
    state: &SimState,
    call: &mut Call,
    _: &HashMap<String, String>,
    body: &Map<String, Value>,
) -> CallResult {
    let component = own_component(state, call, body)?;
    let secret = text(body, "component_appsecret")?.ok_or_else(|| WxErr::of(41004))?;
    if secret != component.secret {
        return Err(WxErr::of(40125));
    }
    let ticket = text(body, "component_verify_ticket")?.ok_or_else(|| WxErr::of(61006))?;
    authorizers::check_ticket(state, ticket).map_err(WxErr::of)?;
    let issued = state
        .tokens
        .rotate(TokenKind::Component, &component.app_id, state.now());
    state
        .counters
        .token_issued(&component.app_id, TokenKind::Component.as_str());
    Ok(Reply::Json(json!({
        "component_access_token": issued.token,
        "expires_in": issued.expires_in,
    })))
}

fn pre_auth(
    state: &SimState,
    call: &mut Call,
    q: &HashMap<String, String>,
    body: &Map<String, Value>,
) -> CallResult {
    component_caller(state, call, q, body)?;
    let now = state.now();
    let code = state
        .pre_auth_codes
        .mint("preauthcode@@@", (), now + PRE_AUTH_CODE_SECS, now);
    Ok(Reply::Json(
        json!({"pre_auth_code": code, "expires_in": PRE_AUTH_CODE_SECS}),
    ))
}

fn query_auth_code(
    state: &SimState,
    call: &mut Call,
    q: &HashMap<String, String>,
    body: &Map<String, Value>,
) -> CallResult {
    component_caller(state, call, q, body)?;
    let code = text(body, "authorization_code")?.ok_or_else(|| WxErr::of(61009))?;
    let app_id = state
        .auth_codes
        .take(code, state.now())
        .map_err(|refused| {
            WxErr::of(if refused == Refused::Expired {
                61010
            } else {
                61009
            })
        })?;
    let authorizer = authorizers::get(state, &app_id)
        .filter(|a| a.authorized)
        .ok_or_else(|| WxErr::of(61003))?;
    let issued = issue_authorizer_token(state, &app_id);
    Ok(Reply::Json(json!({
        "authorization_info": {
            "authorizer_appid": app_id,
            "authorizer_access_token": issued.token,
            "expires_in": issued.expires_in,
            "authorizer_refresh_token": authorizer.refresh_token,
            "func_info": func_info(&authorizer.func_ids),
        }
    })))
}

fn refresh_authorizer(
    state: &SimState,
    call: &mut Call,
    q: &HashMap<String, String>,
    body: &Map<String, Value>,
) -> CallResult {
    component_caller(state, call, q, body)?;
    let app_id = text(body, "authorizer_appid")?.ok_or_else(|| WxErr::of(41002))?;
    let refresh = text(body, "authorizer_refresh_token")?.ok_or_else(|| WxErr::of(61023))?;
    let authorizer = authorizers::get(state, app_id).ok_or_else(|| WxErr::of(40013))?;
    if !authorizer.authorized {
        return Err(WxErr::of(61003));
    }
    if authorizer.refresh_token != refresh {
        return Err(WxErr::of(61023));
    }
    let issued = issue_authorizer_token(state, app_id);
    Ok(Reply::Json(json!({
        "authorizer_access_token": issued.token,
        "expires_in": issued.expires_in,
        "authorizer_refresh_token": authorizer.refresh_token,
    })))
}

fn info(
    state: &SimState,
    call: &mut Call,
    q: &HashMap<String, String>,
    body: &Map<String, Value>,
) -> CallResult {
    component_caller(state, call, q, body)?;
    let app_id = text(body, "authorizer_appid")?.ok_or_else(|| WxErr::of(41002))?;
    let authorizer = authorizers::get(state, app_id).ok_or_else(|| WxErr::of(40013))?;
    if !authorizer.authorized {
        return Err(WxErr::of(61003));
    }
    let name = state
        .app(app_id)
        .map_or_else(|| app_id.to_owned(), |a| a.name.clone());
    Ok(Reply::Json(json!({
        "authorizer_info": {
            "nick_name": name,
            "head_img": "",
            "service_type_info": {"id": 0},
            "verify_type_info": {"id": 0},
            "user_name": format!("gh_{}", &app_id.get(2..14).unwrap_or(app_id)),
            "alias": "",
            "qrcode_url": "",
            "business_info": {"open_pay": 0, "open_shake": 0, "open_scan": 0, "open_card": 0, "open_store": 0},
            "principal_name": format!("{name} (simulated)"),
            "signature": "",
            "MiniProgramInfo": {
                "network": {"RequestDomain": [], "WsRequestDomain": [], "UploadDomain": [], "DownloadDomain": [], "UDPDomain": [], "TCPDomain": []},
                "categories": [],
                "visit_status": 0,
            },
            "register_type": 0,
            "account_status": 1,
            "basic_config": {"is_phone_configured": true, "is_email_configured": false},
        },
        "authorization_info": {
            "authorizer_appid": app_id,
            "authorizer_refresh_token": authorizer.refresh_token,
            "func_info": func_info(&authorizer.func_ids),
        },
    })))
}

fn start_push(
    state: &SimState,
    call: &mut Call,
    _: &HashMap<String, String>,
    body: &Map<String, Value>,
) -> CallResult {
    let component = own_component(state, call, body)?;
    let secret = text(body, "component_secret")?.ok_or_else(|| WxErr::of(41004))?;
    if secret != component.secret {
        return Err(WxErr::of(40125));
    }
    Ok(Reply::Json(json!({"errcode": 0, "errmsg": "ok"})))
}

fn issue_authorizer_token(state: &SimState, app_id: &str) -> Issued {
    let issued = state
        .tokens
        .rotate(TokenKind::Authorizer, app_id, state.now());
    state
        .counters
        .token_issued(app_id, TokenKind::Authorizer.as_str());
    issued
}

fn func_info(ids: &[u32]) -> Value {
    ids.iter()
        .map(|id| json!({"funcscope_category": {"id": id}}))
        .collect()
}
