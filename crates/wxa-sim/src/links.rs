//! URL Scheme, URL Link and Short Link (docs/wechat.md#links): `wxa/generatescheme`,
//! `wxa/queryscheme`, `wxa/generate_urllink`, `wxa/query_urllink`, `wxa/genwxashortlink`.

use std::collections::HashMap;
use std::sync::Mutex;

use actix_web::http::Method;
use actix_web::web::{Bytes, Data};
use actix_web::{HttpRequest, HttpResponse};
use serde_json::{Map, Value, json};

use super::call::{
    Call, CallResult, Reply, bool_field, int_field, json_body, mp_caller, query, require_method,
    str_field,
};
use super::errors::WxErr;
use super::limits::Window;
use super::onetime::random_alnum;
use super::state::{AppInfo, SimState, lock};

pub const SCHEME_PREFIX: &str = "weixin://dl/business/?";
pub const URL_LINK_PREFIX: &str = "https://wxaurl.cn/";
const MAX_DAYS: i64 = 30;
const DAY_SECS: i64 = 86_400;

/// A generated scheme or URL link.
#[derive(Clone, Debug)]
struct LinkRec {
    app_id: String,
    path: String,
    query: String,
    env_version: String,
    create_time: i64,
    expire_time: i64,
}

#[derive(Debug, Default)]
pub struct LinkStore {
    /// ticket -> link, for schemes and URL links alike (tickets are unique).
    by_ticket: Mutex<HashMap<String, LinkRec>>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Scheme,
    UrlLink,
}

pub async fn generate_scheme(s: Data<SimState>, r: HttpRequest, b: Bytes) -> HttpResponse {
    run(&s, "wxa/generatescheme", &r, &b, |st, app, body| {
        generate(st, app, body, Kind::Scheme)
    })
    .await
}

pub async fn generate_urllink(s: Data<SimState>, r: HttpRequest, b: Bytes) -> HttpResponse {
    run(&s, "wxa/generate_urllink", &r, &b, |st, app, body| {
        generate(st, app, body, Kind::UrlLink)
    })
    .await
}

pub async fn query_scheme(s: Data<SimState>, r: HttpRequest, b: Bytes) -> HttpResponse {
    run(&s, "wxa/queryscheme", &r, &b, |st, app, body| {
        lookup(st, app, body, Kind::Scheme)
    })
    .await
}

pub async fn query_urllink(s: Data<SimState>, r: HttpRequest, b: Bytes) -> HttpResponse {
    run(&s, "wxa/query_urllink", &r, &b, |st, app, body| {
        lookup(st, app, body, Kind::UrlLink)
    })
    .await
}

pub async fn short_link(s: Data<SimState>, r: HttpRequest, b: Bytes) -> HttpResponse {
    run(&s, "wxa/genwxashortlink", &r, &b, shortlink).await
}

type Work = fn(&SimState, &AppInfo, &Map<String, Value>) -> CallResult;

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
    let result = (|| {
        require_method(req, Method::POST)?;
        let app = mp_caller(state, &mut call, &query(req))?;
        let body = json_body(body)?;
        work(state, &app, &body)
    })();
    call.finish(state, result)
}

fn generate(state: &SimState, app: &AppInfo, body: &Map<String, Value>, kind: Kind) -> CallResult {
    let empty = Map::new();
    let target = match kind {
        Kind::Scheme => jump_wxa(body, &empty)?,
        Kind::UrlLink => body,
    };
    if kind == Kind::UrlLink && body.get("cloud_base").is_some_and(|v| !v.is_null()) {
        return Err(WxErr::of(85088));
    }
    let jump = Jump::parse(app, target)?;
    bool_field(body, "is_expire", true)?;
    let now = state.now();
    let expire_time = expiry(body, now)?;
    let limits = state.limits();
    let windows = &state.windows;
    if !windows.try_hit(
        "link",
        Window::Second,
        &app.app_id,
        limits.link_per_second,
        now,
    ) {
        return Err(WxErr::of(44990));
    }
    if !windows.try_hit("link", Window::Day, &app.app_id, limits.link_daily, now) {
        return Err(WxErr::of(44993));
    }
    let ticket = record(state, app, &jump, now, expire_time);
    Ok(Reply::Json(match kind {
        Kind::Scheme => {
            json!({"errcode": 0, "errmsg": "ok", "openlink": format!("{SCHEME_PREFIX}t={ticket}")})
        }
        Kind::UrlLink => {
            json!({"errcode": 0, "errmsg": "ok", "url_link": format!("{URL_LINK_PREFIX}{ticket}")})
        }
    }))
}

/// The expiry: `expire_type` 0 takes `expire_time` (unix seconds; absent: 30 days), 1 takes
/// `expire_interval` days. Outside 1 minute ..= 30 days from now: 85401.
fn expiry(body: &Map<String, Value>, now: i64) -> Result<i64, WxErr> {
    let int = |name: &str| int_field(body, name).map_err(|()| WxErr::of(47001));
    let at = match int("expire_type")?.unwrap_or(0) {
        0 => int("expire_time")?.unwrap_or(now + MAX_DAYS * DAY_SECS),
        1 => match int("expire_interval")? {
            Some(days @ 1..=MAX_DAYS) => now + days * DAY_SECS,
            _ => return Err(WxErr::of(85401)),
        },
        _ => return Err(WxErr::of(40097)),
    };
    if at - now < 60 || at - now > MAX_DAYS * DAY_SECS {
        return Err(WxErr::of(85401));
    }
    Ok(at)
}

fn lookup(state: &SimState, app: &AppInfo, body: &Map<String, Value>, kind: Kind) -> CallResult {
    let (field, info_key) = match kind {
        Kind::Scheme => ("scheme", "scheme_info"),
        Kind::UrlLink => ("url_link", "url_link_info"),
    };
    let link = text(body, field)?;
    let prefix = match kind {
        Kind::Scheme => SCHEME_PREFIX,
        Kind::UrlLink => URL_LINK_PREFIX,
    };
    if !link.starts_with(prefix) {
        return Err(WxErr::of(40097));
    }
    if let Some(params) = link.strip_prefix(SCHEME_PREFIX) {
        let plain = url::form_urlencoded::parse(params.as_bytes()).any(|(k, _)| k == "appid");
        if plain {
            return plain_info(state, app, params, body);
        }
    }
    let ticket = ticket_of(link).ok_or_else(|| WxErr::of(40097))?;
    let rec = lock(&state.links.by_ticket)
        .get(&ticket)
        .filter(|r| r.app_id == app.app_id)
        .cloned()
        .ok_or_else(|| WxErr::of(85403))?;
    let query_type = int_field(body, "query_type").map_err(|()| WxErr::of(40097))?;
    let mut reply = json!({"errcode": 0, "errmsg": "ok"});
    let remain = remaining_visits(state, &app.app_id);
    if query_type.unwrap_or(0) == 1 {
        reply["quota_info"] = json!({"remain_visit_quota": remain});
    } else {
        reply[info_key] = json!({
            "appid": rec.app_id,
            "path": rec.path,
            "query": rec.query,
            "create_time": rec.create_time,
            "expire_time": rec.expire_time,
            "env_version": rec.env_version,
        });
        reply["quota_info"] = json!({"remain_visit_quota": remain});
    }
    Ok(Reply::Json(reply))
}

/// `queryscheme` of a plain-text scheme: its own fields; 85405 unless it names this app
/// and a page enabled for plain-text schemes (`plain_pages`).
fn plain_info(
    state: &SimState,
    app: &AppInfo,
    params: &str,
    body: &Map<String, Value>,
) -> CallResult {
    let mut fields: HashMap<String, String> = url::form_urlencoded::parse(params.as_bytes())
        .into_owned()
        .collect();
    let mut field = |name: &str| fields.remove(name).unwrap_or_default();
    let (appid, path, q) = (field("appid"), field("path"), field("query"));
    let env_version = match field("env_version").as_str() {
        "" => "release".to_owned(),
        other => other.to_owned(),
    };
    if appid != app.app_id || !app.plain_pages.contains(&path) {
        return Err(WxErr::of(85405));
    }
    let remain = json!({"remain_visit_quota": remaining_visits(state, &app.app_id)});
    let query_type = int_field(body, "query_type").map_err(|()| WxErr::of(40097))?;
    if query_type.unwrap_or(0) == 1 {
        return Ok(Reply::Json(
            json!({"errcode": 0, "errmsg": "ok", "quota_info": remain}),
        ));
    }
    Ok(Reply::Json(json!({
        "errcode": 0,
        "errmsg": "ok",
        "scheme_info": {
            "appid": appid,
            "path": path,
            "query": q,
            "create_time": 0,
            "expire_time": 0,
            "env_version": env_version,
        },
        "quota_info": remain,
    })))
}

fn shortlink(state: &SimState, app: &AppInfo, body: &Map<String, Value>) -> CallResult {
    let page_url = str_field(body, "page_url")
        .map_err(|()| WxErr::of(40066))?
        .unwrap_or_default();
    let page = page_url.split('?').next().unwrap_or_default();
    if page_url.chars().count() > 1024 || !app.has_page(page) {
        return Err(WxErr::of(40066));
    }
    let title = str_field(body, "page_title").map_err(|()| WxErr::of(40225))?;
    let title = title.unwrap_or_default();
    let title: String = if title.chars().count() > 20 {
        title.chars().take(20).chain("...".chars()).collect()
    } else {
        title.to_owned()
    };
    if bool_field(body, "is_permanent", false)? {
        let cap = state.limits().shortlink_permanent;
        let now = state.now();
        if !state
            .windows
            .try_hit("shortlink", Window::Lifetime, &app.app_id, cap, now)
        {
            return Err(WxErr::of(85400));
        }
    }
    let code = random_alnum(15);
    let link = if title.is_empty() {
        format!("#小程序://{}/{code}", app.name)
    } else {
        format!("#小程序://{}/{title}/{code}", app.name)
    };
    Ok(Reply::Json(
        json!({"errcode": 0, "errmsg": "ok", "link": link}),
    ))
}

/// Where a scheme (`jump_wxa`), a URL link (top level) or an NFC scheme jumps, checked:
/// a published page (40165), the query charset and length (40212), the version (85402).
struct Jump<'a> {
    path: &'a str,
    query: &'a str,
    env_version: &'a str,
}

impl<'a> Jump<'a> {
    fn parse(app: &AppInfo, target: &'a Map<String, Value>) -> Result<Self, WxErr> {
        let path = text(target, "path")?;
        if !path.is_empty() && !app.has_page(path) {
            return Err(WxErr::of(40165));
        }
        let query = text(target, "query")?;
        if query.chars().count() > 1024 || !query.chars().all(query_char) {
            return Err(WxErr::of(40212));
        }
        let env_version = match text(target, "env_version")? {
            "" => "release",
            v @ ("release" | "trial" | "develop") => v,
            _ => return Err(WxErr::of(85402)),
        };
        Ok(Jump {
            path,
            query,
            env_version,
        })
    }
}

/// The `jump_wxa` object of a scheme body; absent or null: `empty` (the home page).
fn jump_wxa<'a>(
    body: &'a Map<String, Value>,
    empty: &'a Map<String, Value>,
) -> Result<&'a Map<String, Value>, WxErr> {
    match body.get("jump_wxa") {
        None | Some(Value::Null) => Ok(empty),
        Some(Value::Object(obj)) => Ok(obj),
        Some(_) => Err(WxErr::of(47001)),
    }
}

/// Keeps a made link under a new ticket, which it returns.
fn record(state: &SimState, app: &AppInfo, jump: &Jump<'_>, now: i64, expire_time: i64) -> String {
    let ticket = random_alnum(11);
    let rec = LinkRec {
        app_id: app.app_id.clone(),
        path: jump.path.to_owned(),
        query: jump.query.to_owned(),
        env_version: jump.env_version.to_owned(),
        create_time: now,
        expire_time,
    };
    lock(&state.links.by_ticket).insert(ticket.clone(), rec);
    ticket
}

/// The ticket of an encrypted scheme (`?t=`) or a URL link (its last path segment).
fn ticket_of(link: &str) -> Option<String> {
    if let Some(params) = link.strip_prefix(SCHEME_PREFIX) {
        return url::form_urlencoded::parse(params.as_bytes())
            .find(|(k, _)| k == "t")
            .map(|(_, v)| v.into_owned());
    }
    let rest = link.strip_prefix(URL_LINK_PREFIX)?;
    Some(rest.split(['?', '#']).next().unwrap_or_default().to_owned())
}

/// A string field, "" when absent; 47001 when not a string.
fn text<'a>(body: &'a Map<String, Value>, name: &str) -> Result<&'a str, WxErr> {
    str_field(body, name)
        .map(Option::unwrap_or_default)
        .map_err(|()| WxErr::of(47001))
}

/// The characters a scheme or link query may hold.
fn query_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$&'()*+,/:;=?@-._~%".contains(c)
}

/// Today's opens left for `app_id` (schemes and URL links together).
fn remaining_visits(state: &SimState, app_id: &str) -> u64 {
    let cap = state.limits().link_visit_daily;
    cap.saturating_sub(
        state
            .windows
            .used("visit", Window::Day, app_id, state.now()),
    )
}

/// A user opens `link` (control API): the link must exist and be unexpired, and the app's
/// opens today stay under `link_visit_daily` (else 85406). The app's remaining opens.
pub fn open(state: &SimState, link: &str) -> Result<u64, WxErr> {
    let now = state.now();
    let rec = ticket_of(link)
        .and_then(|t| lock(&state.links.by_ticket).get(&t).cloned())
        .ok_or_else(|| WxErr::of(85403))?;
    if rec.expire_time != 0 && rec.expire_time <= now {
        return Err(WxErr::of(85403));
    }
    let cap = state.limits().link_visit_daily;
    if !state
        .windows
        .try_hit("visit", Window::Day, &rec.app_id, cap, now)
    {
        return Err(WxErr::of(85406));
    }
    Ok(remaining_visits(state, &rec.app_id))
}

/// `wxa/generatenfcscheme`: `jump_wxa` as for schemes, `model_id` required, `sn` optional;
/// an NFC scheme does not expire and is outside the daily generation count.
pub async fn generate_nfc_scheme(s: Data<SimState>, r: HttpRequest, b: Bytes) -> HttpResponse {
    run(&s, "wxa/generatenfcscheme", &r, &b, nfc).await
}

fn nfc(state: &SimState, app: &AppInfo, body: &Map<String, Value>) -> CallResult {
    let empty = Map::new();
    let jump = Jump::parse(app, jump_wxa(body, &empty)?)?;
    // The device model registered for the app: required (WeChat's 9800003-range errors
    // cover unknown models; any non-empty id is accepted here).
    if text(body, "model_id")?.is_empty() {
        return Err(WxErr::of(40097));
    }
    text(body, "sn")?;
    // Expiry 0: never (WeChat's convention for permanent links).
    let ticket = record(state, app, &jump, state.now(), 0);
    Ok(Reply::Json(
        json!({"errcode": 0, "errmsg": "ok", "openlink": format!("{SCHEME_PREFIX}t={ticket}")}),
    ))
}
