//! The control API under `/__sim/`: apps, one-time codes, tokens, clock, counters, limits.
//! Faults and the Open Platform side are in `control_op.rs`. Answers are plain JSON;
//! errors are `{"error": "..."}` with HTTP 400 or 404.

use actix_web::http::StatusCode;
use actix_web::web::{self, Bytes, Data};
use actix_web::{HttpResponse, ResponseError};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::limits::LimitValues;
use super::onetime::random_alnum;
use super::state::{AppInfo, SimState, lock, normalize_pages, read, write};
use super::token_store::TokenKind;
use super::users::{self, CODE_LIFETIME_SECS, LoginGrant, PhoneGrant};

/// A control API error.
#[derive(Debug)]
pub struct ControlErr(pub StatusCode, pub String);

impl std::fmt::Display for ControlErr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.1)
    }
}

impl ResponseError for ControlErr {
    fn status_code(&self) -> StatusCode {
        self.0
    }
    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.0).json(json!({"error": self.1}))
    }
}

pub type Answer = Result<HttpResponse, ControlErr>;

pub fn bad(msg: impl Into<String>) -> ControlErr {
    ControlErr(StatusCode::BAD_REQUEST, msg.into())
}

pub fn not_found(msg: impl Into<String>) -> ControlErr {
    ControlErr(StatusCode::NOT_FOUND, msg.into())
}

/// A JSON body (an empty body reads as `{}`); unknown fields are refused.
pub fn body<T: DeserializeOwned>(raw: &[u8]) -> Result<T, ControlErr> {
    let raw: &[u8] = if raw.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        raw
    };
    serde_json::from_slice(raw).map_err(|e| bad(format!("invalid body: {e}")))
}

pub fn ok(v: Value) -> Answer {
    Ok(HttpResponse::Ok().json(v))
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("", web::get().to(index))
        .route("/", web::get().to(index))
        .route("/apps", web::get().to(list_apps))
        .route("/apps", web::post().to(put_app))
        .route("/login_codes", web::post().to(login_code))
        .route("/phone_codes", web::post().to(phone_code))
        .route("/links/open", web::post().to(open_link))
        .route("/tokens/revoke", web::post().to(revoke))
        .route("/clock", web::get().to(clock))
        .route("/clock", web::post().to(move_clock))
        .route("/counters", web::get().to(counters))
        .route("/counters", web::delete().to(reset_counters))
        .route("/limits", web::get().to(limits))
        .route("/limits", web::put().to(set_limits))
        .route("/quota", web::post().to(set_quota))
        .route("/reset", web::post().to(reset));
    super::control_op::routes(cfg);
}

async fn index(state: Data<SimState>) -> Answer {
    ok(json!({
        "simulator": "wxa WeChat simulator",
        "now": state.now(),
        "docs": "docs/simulator.md",
    }))
}

/// The app a control call means: `appid` when given (404 if unknown), else the only app
/// with a secret.
pub fn pick_app(state: &SimState, appid: Option<&str>) -> Result<String, ControlErr> {
    let apps = read(&state.apps);
    if let Some(id) = appid {
        return apps
            .get(id)
            .map(|a| a.app_id.clone())
            .or_else(|| {
                apps.values()
                    .find(|a| a.name == id)
                    .map(|a| a.app_id.clone())
            })
            .ok_or_else(|| not_found(format!("unknown app {id}")));
    }
    let mut own = apps.values().filter(|a| a.secret.is_some());
    match (own.next(), own.next()) {
        (Some(app), None) => Ok(app.app_id.clone()),
        _ => Err(bad("appid is required when the simulator has several apps")),
    }
}

fn app_json(app: &AppInfo) -> Value {
    json!({
        "name": app.name,
        "app_id": app.app_id,
        "pages": app.pages,
        "plain_pages": app.plain_pages,
        "authorizer": app.secret.is_none(),
    })
}

async fn list_apps(state: Data<SimState>) -> Answer {
    let apps = read(&state.apps);
    let mut list: Vec<&AppInfo> = apps.values().map(AsRef::as_ref).collect();
    list.sort_by(|a, b| a.app_id.cmp(&b.app_id));
    ok(Value::Array(list.into_iter().map(app_json).collect()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewApp {
    name: Option<String>,
    app_id: String,
    secret: String,
    #[serde(default)]
    pages: Vec<String>,
    #[serde(default)]
    plain_pages: Vec<String>,
}

async fn put_app(state: Data<SimState>, raw: Bytes) -> Answer {
    let new: NewApp = body(&raw)?;
    if new.app_id.is_empty() || new.secret.is_empty() {
        return Err(bad("app_id and secret must not be empty"));
    }
    let app = AppInfo {
        name: new.name.unwrap_or_else(|| new.app_id.clone()),
        app_id: new.app_id,
        secret: Some(new.secret),
        pages: normalize_pages(&new.pages),
        plain_pages: normalize_pages(&new.plain_pages),
    };
    let answer = app_json(&app);
    state.put_app(app);
    ok(answer)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewLogin {
    appid: Option<String>,
    openid: Option<String>,
    unionid: Option<String>,
}

async fn login_code(state: Data<SimState>, raw: Bytes) -> Answer {
    let req: NewLogin = body(&raw)?;
    let app_id = pick_app(&state, req.appid.as_deref())?;
    let openid = req
        .openid
        .filter(|o| !o.is_empty())
        .unwrap_or_else(|| format!("o{}", random_alnum(27)));
    let grant = LoginGrant {
        app_id: app_id.clone(),
        openid: openid.clone(),
        unionid: req.unionid.clone(),
    };
    let code = users::mint_login(&state, grant);
    ok(json!({
        "code": code, "appid": app_id, "openid": openid, "unionid": req.unionid,
        "expires_in": CODE_LIFETIME_SECS,
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OpenLink {
    link: String,
}

/// A user opens a scheme or URL link (counts against the app's daily opens).
async fn open_link(state: Data<SimState>, raw: Bytes) -> Answer {
    let req: OpenLink = body(&raw)?;
    match super::links::open(&state, &req.link) {
        Ok(remain) => ok(json!({"opened": true, "remain_visit_quota": remain})),
        Err(e) => ok(json!({"opened": false, "errcode": e.code})),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewPhone {
    appid: Option<String>,
    phone_number: String,
    /// The user whose button made the code: `getuserphonenumber` with another `openid`
    /// is refused. Absent: any caller.
    openid: Option<String>,
    #[serde(default = "china")]
    country_code: String,
}

fn china() -> String {
    "86".to_owned()
}

async fn phone_code(state: Data<SimState>, raw: Bytes) -> Answer {
    let req: NewPhone = body(&raw)?;
    let app_id = pick_app(&state, req.appid.as_deref())?;
    let digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    let country_code = req.country_code.trim_start_matches('+').to_owned();
    if !digits(&req.phone_number) || !digits(&country_code) {
        return Err(bad("phone_number and country_code must be digits"));
    }
    let grant = PhoneGrant {
        app_id: app_id.clone(),
        pure_phone: req.phone_number,
        country_code,
        openid: req.openid.filter(|o| !o.is_empty()),
    };
    let code = users::mint_phone(&state, grant);
    ok(json!({"code": code, "appid": app_id, "expires_in": CODE_LIFETIME_SECS}))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Revoke {
    appid: Option<String>,
    kind: Option<String>,
    token: Option<String>,
}

async fn revoke(state: Data<SimState>, raw: Bytes) -> Answer {
    let req: Revoke = body(&raw)?;
    let kind = match req.kind.as_deref() {
        None | Some("all") => None,
        Some(k) => Some(
            TokenKind::parse(k)
                .ok_or_else(|| bad("kind must be classic, stable, authorizer, component or all"))?,
        ),
    };
    if req.appid.is_none() && req.token.is_none() {
        return Err(bad("give appid or token"));
    }
    let revoked = state.tokens.revoke(
        req.appid.as_deref(),
        kind,
        req.token.as_deref(),
        state.now(),
    );
    ok(json!({"revoked": revoked}))
}

async fn clock(state: Data<SimState>) -> Answer {
    ok(json!({"now": state.now(), "offset_secs": state.clock.offset()}))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MoveClock {
    advance_secs: Option<i64>,
    offset_secs: Option<i64>,
}

async fn move_clock(state: Data<SimState>, raw: Bytes) -> Answer {
    let req: MoveClock = body(&raw)?;
    match (req.advance_secs, req.offset_secs) {
        (Some(secs), None) => {
            state.clock.advance(secs);
        }
        (None, Some(secs)) => state.clock.set_offset(secs),
        _ => return Err(bad("give exactly one of advance_secs and offset_secs")),
    }
    clock(state).await
}

async fn counters(state: Data<SimState>) -> Answer {
    ok(state.counters.snapshot())
}

async fn reset_counters(state: Data<SimState>) -> Answer {
    state.counters.reset();
    ok(json!({"reset": true}))
}

async fn limits(state: Data<SimState>) -> Answer {
    ok(json!(state.limits()))
}

async fn set_limits(state: Data<SimState>, raw: Bytes) -> Answer {
    let changes: serde_json::Map<String, Value> = body(&raw)?;
    let mut merged = json!(state.limits());
    for (k, v) in changes {
        merged[k] = v;
    }
    let values: LimitValues =
        serde_json::from_value(merged).map_err(|e| bad(format!("invalid limits: {e}")))?;
    state.tokens.set_lifetime(values.token_lifetime_secs);
    *write(&state.limits) = values.clone();
    ok(json!(values))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetQuota {
    appid: Option<String>,
    codes_used: u64,
}

/// Sets how much of the limited/qrcode lifetime quota an app has used.
async fn set_quota(state: Data<SimState>, raw: Bytes) -> Answer {
    let req: SetQuota = body(&raw)?;
    let app_id = pick_app(&state, req.appid.as_deref())?;
    let mut quota = lock(&state.code_quota);
    let entry = quota.entry(app_id.clone()).or_default();
    entry.preset = req.codes_used.saturating_sub(entry.made.len() as u64);
    let used = entry.preset + entry.made.len() as u64;
    ok(json!({"appid": app_id, "codes_used": used}))
}

/// Back to a fresh start, keeping apps, component, tokens and codes: no faults, no clock
/// offset, default limits, empty counters, windows and image cache.
async fn reset(state: Data<SimState>) -> Answer {
    state.faults.clear(None);
    state.clock.set_offset(0);
    *write(&state.limits) = LimitValues::default();
    state
        .tokens
        .set_lifetime(LimitValues::default().token_lifetime_secs);
    state.counters.reset();
    state.windows.clear();
    state.images.clear();
    ok(json!({"reset": true}))
}
