//! One WeChat API call: injected faults first, then the handler's work, then the answer
//! (WeChat-style) and the counters. Also the input helpers every handler shares.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use actix_web::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE, LOCATION};
use actix_web::http::{Method, StatusCode};
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse};
use serde_json::{Map, Value};

use super::errors::{WxErr, json_response};
use super::faults::FaultOutcome;
use super::state::{AppInfo, SimState};
use super::token_store::TokenKind;

/// A successful answer.
pub enum Reply {
    Json(Value),
    Image {
        bytes: Bytes,
        content_type: &'static str,
    },
    Redirect(String),
    /// A stored file (temporary media), with the name WeChat gives it.
    File {
        bytes: Bytes,
        content_type: String,
        filename: String,
    },
}

pub type CallResult = Result<Reply, WxErr>;

/// The call in progress; handlers set `app` once they know whose call it is.
pub struct Call {
    pub api: &'static str,
    pub app: String,
}

impl Call {
    /// Applies injected faults. `Err` is the faulty answer to send instead of doing the work.
    pub async fn begin(state: &SimState, api: &'static str) -> Result<Call, HttpResponse> {
        let action = state.faults.pick(api);
        if action.delay_ms > 0 {
            actix_web::rt::time::sleep(Duration::from_millis(action.delay_ms)).await;
        }
        match action.outcome {
            FaultOutcome::Normal => Ok(Call {
                api,
                app: String::new(),
            }),
            FaultOutcome::Busy => {
                state.counters.call(api, "", Some(-1));
                Err(WxErr::of(-1).to_response(state.now()))
            }
            FaultOutcome::Http(status) => {
                state.counters.call(api, "", None);
                state.counters.http_fault();
                let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
                Err(HttpResponse::build(status)
                    .content_type("text/html")
                    .body(format!("<html><body><h1>{status}</h1></body></html>")))
            }
        }
    }

    /// The answer, counted.
    pub fn finish(self, state: &SimState, result: CallResult) -> HttpResponse {
        match result {
            Ok(reply) => {
                state.counters.call(self.api, &self.app, None);
                match reply {
                    Reply::Json(body) => json_response(&body),
                    Reply::Image {
                        bytes,
                        content_type,
                    } => HttpResponse::Ok()
                        .insert_header((CONTENT_TYPE, content_type))
                        .body(bytes),
                    Reply::Redirect(to) => {
                        HttpResponse::Found().insert_header((LOCATION, to)).finish()
                    }
                    Reply::File {
                        bytes,
                        content_type,
                        filename,
                    } => HttpResponse::Ok()
                        .insert_header((CONTENT_TYPE, content_type))
                        .insert_header((
                            CONTENT_DISPOSITION,
                            format!("attachment; filename=\"{filename}\""),
                        ))
                        .body(bytes),
                }
            }
            Err(e) => {
                state.counters.call(self.api, &self.app, Some(e.code));
                e.to_response(state.now())
            }
        }
    }
}

/// The query string as a map (the first value of a repeated key wins).
pub fn query(req: &HttpRequest) -> HashMap<String, String> {
    let mut map = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(req.query_string().as_bytes()) {
        map.entry(k.into_owned()).or_insert_with(|| v.into_owned());
    }
    map
}

/// 43001 / 43002 when the method is not the one the API takes.
pub fn require_method(req: &HttpRequest, method: Method) -> Result<(), WxErr> {
    if req.method() == method {
        return Ok(());
    }
    Err(WxErr::of(if method == Method::GET { 43001 } else { 43002 }))
}

/// A JSON object body: 44002 when empty, 47001 when not a JSON object.
pub fn json_body(body: &[u8]) -> Result<Map<String, Value>, WxErr> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(WxErr::of(44002));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(WxErr::of(47001)),
    }
}

/// A string field; None when absent or null, Err(()) when present with another type.
pub fn str_field<'a>(body: &'a Map<String, Value>, name: &str) -> Result<Option<&'a str>, ()> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(()),
    }
}

/// A boolean field, also accepting `"true"`/`"false"` and 0/1; `default` when absent.
pub fn bool_field(body: &Map<String, Value>, name: &str, default: bool) -> Result<bool, WxErr> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::String(s)) if s == "true" => Ok(true),
        Some(Value::String(s)) if s == "false" => Ok(false),
        Some(Value::Number(n)) if n.as_i64() == Some(1) => Ok(true),
        Some(Value::Number(n)) if n.as_i64() == Some(0) => Ok(false),
        Some(_) => Err(WxErr::of(47001)),
    }
}

/// An integer field given as a number or a decimal string; None when absent.
pub fn int_field(body: &Map<String, Value>, name: &str) -> Result<Option<i64>, ()> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .or_else(|| n.as_f64().map(|f| f as i64))
            .map(Some)
            .ok_or(()),
        Some(Value::String(s)) => s.trim().parse().map(Some).map_err(|_| ()),
        Some(_) => Err(()),
    }
}

/// The caller of a mini-program API: `access_token` must be a live classic, stable or
/// authorizer token; the app is the token's owner.
pub fn mp_caller(
    state: &SimState,
    call: &mut Call,
    q: &HashMap<String, String>,
) -> Result<Arc<AppInfo>, WxErr> {
    let token = q
        .get("access_token")
        .filter(|t| !t.is_empty())
        .ok_or_else(|| WxErr::of(41001))?;
    let (appid, kind) = state.tokens.check(token, state.now()).map_err(WxErr::of)?;
    call.app.clone_from(&appid);
    if kind == TokenKind::Component {
        return Err(WxErr::of(48001));
    }
    state.app(&appid).ok_or_else(|| WxErr::of(40001))
}
