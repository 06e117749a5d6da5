//! `/api/qr_code`: a mini-program code, made once and served from the image store.

use std::borrow::Cow;

use actix_web::http::header::ContentType;
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::app::AppContext;
use crate::controllers::app_param::{self, Acting};
use crate::controllers::caller;
use crate::domain::codes::{CodeSpec, RawCode};
use crate::envelope::{self, Envelope};
use crate::error::{AppError, AppResult};
use crate::input::{Params, loose};
use crate::services::codes::{CodeResult, StoredCode, Wait};

/// The original service's message.
const OK_MSG: &str = "小程序二维码返回成功";

/// This module's part of the OpenAPI document (merged in `openapi.rs`).
#[derive(OpenApi)]
#[openapi(paths(qr_code))]
pub struct Doc;

/// The input of `/api/qr_code`: query string, JSON body or form, on GET or POST.
#[derive(Debug, Default, Deserialize, ToSchema, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QrCodeParams {
    /// `unlimited` (default, getwxacodeunlimit), `limited` (getwxacode) or `qrcode`
    /// (createwxaqrcode).
    #[serde(default, deserialize_with = "loose::text")]
    #[param(pattern = "^(unlimited|limited|qrcode)$")]
    kind: Option<String>,
    /// unlimited: up to 32 characters of `0-9a-zA-Z!#$&'()*+,/:;=?@-._~` (alias `query`).
    #[serde(default, deserialize_with = "loose::text")]
    #[param(max_length = 32)]
    scene: Option<String>,
    /// unlimited: a published page, no leading `/`, no query; default the home page
    /// (alias `path`).
    #[serde(default, deserialize_with = "loose::text")]
    #[param(max_length = 1024)]
    page: Option<String>,
    /// limited: up to 1024 characters; qrcode: up to 128 bytes; a query may follow `?`
    /// (alias `page`).
    #[serde(default, deserialize_with = "loose::text")]
    #[param(max_length = 1024)]
    path: Option<String>,
    /// limited/qrcode: appended to `path` after `?`.
    #[serde(default, deserialize_with = "loose::text")]
    query: Option<String>,
    /// 280..1280 pixels, default 430.
    #[serde(default, deserialize_with = "loose::int")]
    #[param(minimum = 280, maximum = 1280)]
    width: Option<i64>,
    /// unlimited, limited: `release` (default), `trial` or `develop`.
    #[serde(default, deserialize_with = "loose::text")]
    #[param(pattern = "^(release|trial|develop)$")]
    env_version: Option<String>,
    /// unlimited: default true; false allows unpublished pages.
    #[serde(default, deserialize_with = "loose::flag")]
    check_path: Option<bool>,
    /// unlimited, limited: default false.
    #[serde(default, deserialize_with = "loose::flag")]
    auto_color: Option<bool>,
    /// unlimited, limited: `{"r":0,"g":0,"b":0}` (0..255 each), or `#rrggbb`; a form
    /// may send `line_color[r]`, `line_color[g]` and `line_color[b]`.
    #[serde(default, deserialize_with = "loose::any")]
    #[schema(value_type = Option<Object>)]
    #[param(value_type = Option<String>)]
    line_color: Option<Value>,
    #[serde(default, rename = "line_color[r]", deserialize_with = "loose::any")]
    #[schema(ignore)]
    #[param(ignore)]
    line_color_r: Option<Value>,
    #[serde(default, rename = "line_color[g]", deserialize_with = "loose::any")]
    #[schema(ignore)]
    #[param(ignore)]
    line_color_g: Option<Value>,
    #[serde(default, rename = "line_color[b]", deserialize_with = "loose::any")]
    #[schema(ignore)]
    #[param(ignore)]
    line_color_b: Option<Value>,
    /// unlimited, limited: transparent background (PNG).
    #[serde(default, deserialize_with = "loose::flag")]
    is_hyaline: Option<bool>,
    /// `base64` adds the image inline; `url` (default) does not.
    #[serde(default, deserialize_with = "loose::text")]
    #[param(pattern = "^(url|base64)$")]
    format: Option<String>,
    /// Config name of the mini program; default `wechat.default_app`. Not with `appid`.
    #[serde(default, deserialize_with = "loose::text")]
    app: Option<String>,
    /// An Open Platform authorizer's appid (`wx` and 16 letters or digits) to act for,
    /// when `open_platform` is enabled. Not with `app`.
    #[serde(default, deserialize_with = "loose::text")]
    #[param(pattern = "^wx[0-9a-zA-Z]{16}$")]
    appid: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct QrCodeData<'a> {
    pub id: i64,
    /// Absolute URL of the image: under `/image/`, or `storage.public_base_url` when set.
    pub url: &'a str,
    pub kind: &'static str,
    pub width: u32,
    /// `image/jpeg`, or `image/png` when `is_hyaline`.
    pub content_type: &'static str,
    /// True when answered from the store without calling WeChat.
    pub cached: bool,
    /// With `format=base64`: the image, base64 (standard alphabet, no `data:` prefix).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base64: Option<String>,
}

impl<'a> QrCodeData<'a> {
    fn new(code: &'a StoredCode, cached: bool, base64: Option<String>) -> Self {
        QrCodeData {
            id: code.id,
            url: &code.url,
            kind: code.kind.as_str(),
            width: code.width,
            content_type: code.content_type,
            cached,
            base64,
        }
    }
}

/// A mini-program code for a page and scene (or a path), stored and served under
/// `/image/`. Input from the query string, a JSON body or a form body.
#[utoipa::path(method(get, post), path = "/api/qr_code", tag = "codes",
    params(QrCodeParams),
    request_body(content = QrCodeParams, description = "the same fields as JSON or a form"),
    responses(
        (status = 200, body = Envelope<QrCodeData>),
        (status = 400, description = "a bad parameter; data.field names it (code 400)"),
        (status = 429, description = "quota used up or pace exceeded, ours or WeChat's (code 429)"),
        (status = 502, description = "WeChat answered an errcode; data {errcode, errmsg} (code 5000)"),
        (status = 504, description = "WeChat unreachable or timed out (code 5001)"),
    ))]
pub async fn qr_code(
    req: HttpRequest,
    Params(params): Params<QrCodeParams>,
    ctx: web::Data<AppContext>,
) -> AppResult<HttpResponse> {
    let target = app_param::target(Acting::new(&params.app, &params.appid), &ctx).await?;
    let (spec, inline) = params.spec()?;
    let caller = caller::caller(&req, &ctx);
    let admit = caller::admit(&ctx, &caller);
    let codes = &ctx.codes;
    if inline {
        let body = codes
            .inline_answer(&target, &spec, Wait::Request, admit, inline_body)
            .await?;
        return Ok(HttpResponse::Ok()
            .content_type(ContentType::json())
            .body(body));
    }
    let CodeResult { code, cached, .. } = codes
        .get_or_make(&target, &spec, Wait::Request, admit)
        .await?;
    if !cached {
        return Ok(envelope::ok(OK_MSG, QrCodeData::new(&code, false, None)));
    }
    // Repeats are the common case: their whole answer is serialized once per record.
    let body = code
        .repeat_response
        .get_or_init(|| repeat_body(&code))
        .clone();
    Ok(HttpResponse::Ok()
        .content_type(ContentType::json())
        .body(body))
}

fn repeat_body(code: &StoredCode) -> Bytes {
    let envelope = Envelope {
        code: 200,
        msg: Cow::Borrowed(OK_MSG),
        data: QrCodeData::new(code, true, None),
    };
    serde_json::to_vec(&envelope).map_or_else(|_| Bytes::new(), Bytes::from)
}

/// The `format=base64` answer in one allocation: the envelope as serde writes it without
/// `base64`, then the field with the image encoded straight into the buffer. Base64
/// needs no JSON escaping, so the big part is never scanned again.
fn inline_body(code: &StoredCode, cached: bool, image: &[u8]) -> Bytes {
    let envelope = Envelope {
        code: 200,
        msg: Cow::Borrowed(OK_MSG),
        data: QrCodeData::new(code, cached, None),
    };
    let Ok(mut body) = serde_json::to_vec(&envelope) else {
        return Bytes::new();
    };
    // `base64` is the last field of `data`, and `data` the envelope's last: `...}}`.
    debug_assert!(body.ends_with(b"}}"));
    body.truncate(body.len() - 2);
    let encoded = base64::encoded_len(image.len(), true).unwrap_or(0);
    body.reserve_exact(FIELD.len() + encoded + 3);
    body.extend_from_slice(FIELD);
    let start = body.len();
    body.resize(start + encoded, 0);
    let written = base64::engine::general_purpose::STANDARD
        .encode_slice(image, &mut body[start..])
        .unwrap_or(0);
    body.truncate(start + written);
    body.extend_from_slice(b"\"}}");
    Bytes::from(body)
}

const FIELD: &[u8] = b",\"base64\":\"";

impl QrCodeParams {
    /// The checked code parameters and whether the image goes inline. Empty strings
    /// count as absent: forms send them.
    fn spec(&self) -> AppResult<(CodeSpec, bool)> {
        let inline = match text(&self.format) {
            None | Some("url") => false,
            Some("base64") => true,
            Some(_) => return Err(AppError::invalid("format", "必须是 base64 或 url")),
        };
        let bracketed = self.bracketed_color();
        let raw = RawCode {
            kind: text(&self.kind),
            page: text(&self.page),
            path: text(&self.path),
            scene: text(&self.scene),
            query: text(&self.query),
            width: self.width,
            env_version: text(&self.env_version),
            check_path: self.check_path,
            auto_color: self.auto_color,
            line_color: self.line_color.as_ref().or(bracketed.as_ref()),
            is_hyaline: self.is_hyaline,
        };
        Ok((CodeSpec::parse(&raw)?, inline))
    }

    /// `line_color[r]=..&line_color[g]=..` (PHP-style form fields) as an object.
    fn bracketed_color(&self) -> Option<Value> {
        let mut map = Map::new();
        for (channel, v) in [
            ("r", &self.line_color_r),
            ("g", &self.line_color_g),
            ("b", &self.line_color_b),
        ] {
            if let Some(v) = v {
                map.insert(channel.to_owned(), v.clone());
            }
        }
        (!map.is_empty()).then_some(Value::Object(map))
    }
}

fn text(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|s| !s.is_empty())
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/api/qr_code")
            .route(web::get().to(qr_code))
            .route(web::post().to(qr_code)),
    );
}
