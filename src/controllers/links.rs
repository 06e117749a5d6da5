//! `/api/scheme_code`, `/api/url_link`, `/api/short_link`: links that open the
//! mini program from outside it (SMS, email, web pages). Each takes its input from the
//! query string, a JSON body or a form, on GET or POST.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi};

use crate::app::AppContext;
use crate::controllers::app_param::{Acting, target};
use crate::controllers::caller;
use std::borrow::Cow;

use crate::domain::links::{
    Cq, EnvVersion, Expiry, JumpKind, JumpLink, LinkQuery, NfcScheme, PagePath, PageTitle, PageUrl,
    PlainScheme, ShortLink,
};
use crate::envelope::{self, Envelope};
use crate::error::AppResult;
use crate::input::{Params, loose, required};
use crate::services::token::now_unix;

/// This module's part of the OpenAPI document (merged in `openapi.rs`).
#[derive(OpenApi)]
#[openapi(
    paths(scheme_code, url_link, short_link, nfc_scheme),
    tags((name = "links", description = "URL Scheme, URL Link and Short Link for H5 pages"))
)]
pub struct Doc;

#[derive(Serialize, utoipa::ToSchema)]
pub struct SchemeData<'a> {
    /// The record's id.
    pub id: i64,
    /// `weixin://dl/business/?t=...`
    pub openlink: &'a str,
    /// Unix seconds.
    pub expire_time: i64,
    /// True when an earlier link was handed out again (no call to WeChat).
    pub reused: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct PlainSchemeData<'a> {
    /// `weixin://dl/business/?appid=...&path=...`: built here, no WeChat call.
    pub openlink: &'a str,
    /// Always true.
    pub plaintext: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct UrlLinkData<'a> {
    pub id: i64,
    /// `https://wxaurl.cn/...`
    pub url_link: &'a str,
    /// Unix seconds.
    pub expire_time: i64,
    pub reused: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ShortLinkData<'a> {
    pub id: i64,
    /// `#小程序://<app>/<title>/<code>`: opens only inside WeChat.
    pub link: &'a str,
    pub reused: bool,
}

/// The input of `/api/scheme_code` and `/api/url_link` (query string, JSON or form).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JumpParams {
    /// Published page, no query, no leading `/`, ≤1024 chars; empty: the home page.
    #[serde(default, deserialize_with = "loose::text")]
    #[param(max_length = 1024, pattern = r"^[^/?][^?]*$")]
    path: Option<String>,
    /// ≤1024 chars of `0-9a-zA-Z!#$&'()*+,/:;=?@-._~%` (URL-encode the rest).
    #[serde(default, deserialize_with = "loose::text")]
    #[param(max_length = 1024, pattern = r"^[0-9a-zA-Z!#$&'()*+,/:;=?@\-._~%]*$")]
    query: Option<String>,
    /// `release` (default), `trial` or `develop`.
    #[serde(default, deserialize_with = "loose::text")]
    #[param(pattern = "^(release|trial|develop)$")]
    env_version: Option<String>,
    /// Unix seconds, more than 1 minute and at most 30 days ahead; not with `expire_interval`.
    #[serde(default, deserialize_with = "loose::int")]
    expire_time: Option<i64>,
    /// Days, 1..30; neither given: `schemes.default_expire_days`.
    #[serde(default, deserialize_with = "loose::int")]
    #[param(minimum = 1, maximum = 30)]
    expire_interval: Option<i64>,
    /// The developer's own parameter (≤256 chars of the query charset), appended to the
    /// link as `cq=` without a new WeChat call.
    #[serde(default, deserialize_with = "loose::text")]
    #[param(max_length = 256, pattern = r"^[0-9a-zA-Z!#$&'()*+,/:;=?@\-._~%]*$")]
    cq: Option<String>,
    /// `/api/scheme_code` only: `true` builds the plain-text scheme (no WeChat call, no
    /// generation quota; `path` required, `query` ≤512 chars, no expiry).
    #[serde(default, deserialize_with = "loose::flag")]
    plaintext: Option<bool>,
    /// Configured app name; default `wechat.default_app`. Not with `appid`.
    #[serde(default, deserialize_with = "loose::text")]
    app: Option<String>,
    /// An Open Platform authorizer's appid to act for. Not with `app`.
    #[serde(default, deserialize_with = "loose::text")]
    #[param(pattern = "^wx[0-9a-zA-Z]{16}$")]
    appid: Option<String>,
}

impl JumpParams {
    /// `path`, `query`, `env_version` and the expiry, checked before any upstream call.
    fn link(self, ctx: &AppContext) -> AppResult<JumpLink> {
        Ok(JumpLink {
            path: PagePath::parse("path", self.path)?,
            query: LinkQuery::parse("query", self.query)?,
            env_version: EnvVersion::parse("env_version", self.env_version)?,
            expiry: Expiry::parse(
                self.expire_time,
                self.expire_interval,
                ctx.settings.schemes.default_expire_days,
                now_unix(),
            )?,
        })
    }
}

/// The input of `/api/short_link` (query string, JSON or form).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ShortParams {
    /// Published page, may carry a query (`pages/a/a?id=1`); ≤1024 chars. Required.
    #[serde(default, deserialize_with = "loose::text")]
    #[param(min_length = 1, max_length = 1024)]
    page_url: Option<String>,
    /// ≤64 chars; WeChat shows the first 20.
    #[serde(default, deserialize_with = "loose::text")]
    #[param(max_length = 64)]
    page_title: Option<String>,
    /// `false` (default): valid 30 days; `true`: never expires, ≤100,000 per app.
    #[serde(default, deserialize_with = "loose::flag")]
    is_permanent: Option<bool>,
    /// Configured app name; default `wechat.default_app`. Not with `appid`.
    #[serde(default, deserialize_with = "loose::text")]
    app: Option<String>,
    /// An Open Platform authorizer's appid to act for. Not with `app`.
    #[serde(default, deserialize_with = "loose::text")]
    #[param(pattern = "^wx[0-9a-zA-Z]{16}$")]
    appid: Option<String>,
}

/// The link as stored, or with the caller's `cq` appended.
fn with_cq<'a>(cq: Option<&Cq>, kind: JumpKind, link: &'a str) -> Cow<'a, str> {
    match cq {
        Some(cq) => Cow::Owned(cq.append_to(kind, link)),
        None => Cow::Borrowed(link),
    }
}

/// An encrypted URL Scheme (`wxa/generatescheme`) for H5 pages to jump to.
#[utoipa::path(method(get, post), path = "/api/scheme_code", tag = "links",
    params(JumpParams),
    responses(
        (status = 200, body = Envelope<SchemeData>, description = "with `plaintext=true`: data is PlainSchemeData"),
        (status = 400, description = "invalid parameter; data {field, rule} (code 400)"),
        (status = 429, description = "`schemes.daily_limit` reached (before any call), or WeChat's 44990/44993/45009 limits (code 429)"),
        (status = 502, description = "WeChat refused; data {errcode, errmsg} (code 5000)"),
        (status = 504, description = "WeChat unreachable (code 5001)"),
    ))]
pub async fn scheme_code(
    req: HttpRequest,
    Params(mut p): Params<JumpParams>,
    ctx: web::Data<AppContext>,
) -> AppResult<HttpResponse> {
    let app = target(Acting::new(&p.app, &p.appid), &ctx).await?;
    let caller = caller::caller(&req, &ctx);
    if p.plaintext.unwrap_or(false) {
        let plain = PlainScheme::parse(
            p.path,
            p.query,
            EnvVersion::parse("env_version", p.env_version)?,
        )?;
        let got = ctx
            .links
            .plain_scheme(&app, plain, caller::admit(&ctx, &caller))
            .await?;
        return Ok(envelope::ok(
            "小程序明文scheme返回成功",
            PlainSchemeData {
                openlink: &got.link.link,
                plaintext: true,
            },
        ));
    }
    let cq = Cq::parse(p.cq.take())?;
    let link = p.link(&ctx)?;
    let got = ctx
        .links
        .jump_link(&app, JumpKind::Scheme, link, caller::admit(&ctx, &caller))
        .await?;
    Ok(envelope::ok(
        "小程序scheme码返回成功",
        SchemeData {
            id: got.link.id,
            openlink: &with_cq(cq.as_ref(), JumpKind::Scheme, &got.link.link),
            expire_time: got.link.expires_at,
            reused: got.reused,
        },
    ))
}

/// A URL Link (`wxa/generate_urllink`): an https link that opens the mini program.
#[utoipa::path(method(get, post), path = "/api/url_link", tag = "links",
    params(JumpParams),
    responses(
        (status = 200, body = Envelope<UrlLinkData>),
        (status = 400, description = "invalid parameter (code 400)"),
        (status = 429, description = "WeChat's limits (code 429)"),
        (status = 502, description = "WeChat refused (code 5000)"),
        (status = 504, description = "WeChat unreachable (code 5001)"),
    ))]
pub async fn url_link(
    req: HttpRequest,
    Params(mut p): Params<JumpParams>,
    ctx: web::Data<AppContext>,
) -> AppResult<HttpResponse> {
    let app = target(Acting::new(&p.app, &p.appid), &ctx).await?;
    let caller = caller::caller(&req, &ctx);
    let cq = Cq::parse(p.cq.take())?;
    let link = p.link(&ctx)?;
    let got = ctx
        .links
        .jump_link(&app, JumpKind::UrlLink, link, caller::admit(&ctx, &caller))
        .await?;
    Ok(envelope::ok(
        "小程序URL Link返回成功",
        UrlLinkData {
            id: got.link.id,
            url_link: &with_cq(cq.as_ref(), JumpKind::UrlLink, &got.link.link),
            expire_time: got.link.expires_at,
            reused: got.reused,
        },
    ))
}

/// A Short Link (`wxa/genwxashortlink`) to share inside WeChat.
#[utoipa::path(method(get, post), path = "/api/short_link", tag = "links",
    params(ShortParams),
    responses(
        (status = 200, body = Envelope<ShortLinkData>),
        (status = 400, description = "invalid parameter (code 400)"),
        (status = 429, description = "WeChat's limits (code 429)"),
        (status = 502, description = "WeChat refused, e.g. 85400 permanent quota used (code 5000)"),
        (status = 504, description = "WeChat unreachable (code 5001)"),
    ))]
pub async fn short_link(
    req: HttpRequest,
    Params(p): Params<ShortParams>,
    ctx: web::Data<AppContext>,
) -> AppResult<HttpResponse> {
    let app = target(Acting::new(&p.app, &p.appid), &ctx).await?;
    let caller = caller::caller(&req, &ctx);
    let link = ShortLink {
        page_url: PageUrl::parse("page_url", required("page_url", p.page_url)?)?,
        page_title: PageTitle::parse("page_title", p.page_title)?,
        permanent: p.is_permanent.unwrap_or(false),
    };
    let got = ctx
        .links
        .short_link(&app, link, caller::admit(&ctx, &caller))
        .await?;
    Ok(envelope::ok(
        "小程序Short Link返回成功",
        ShortLinkData {
            id: got.link.id,
            link: &got.link.link,
            reused: got.reused,
        },
    ))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct NfcSchemeData<'a> {
    /// The record's id.
    pub id: i64,
    /// `weixin://dl/business/?t=...`: written to the NFC tag; never expires.
    pub openlink: &'a str,
}

/// The input of `/api/nfc_scheme` (JSON, form or query string).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NfcParams {
    /// Published page, no query; empty: the home page.
    #[serde(default, deserialize_with = "loose::text")]
    path: Option<String>,
    /// ≤1024 chars of the query charset.
    #[serde(default, deserialize_with = "loose::text")]
    query: Option<String>,
    /// `release` (default), `trial` or `develop`.
    #[serde(default, deserialize_with = "loose::text")]
    env_version: Option<String>,
    /// The device model registered in the MP admin (required; letters, digits, `-_.`).
    #[serde(default, deserialize_with = "loose::text")]
    #[param(max_length = 64)]
    model_id: Option<String>,
    /// The device's serial number (optional; letters, digits, `-_.`).
    #[serde(default, deserialize_with = "loose::text")]
    #[param(max_length = 64)]
    sn: Option<String>,
    /// Configured app name; default `wechat.default_app`. Not with `appid`.
    #[serde(default, deserialize_with = "loose::text")]
    app: Option<String>,
    /// An Open Platform authorizer's appid to act for. Not with `app`.
    #[serde(default, deserialize_with = "loose::text")]
    #[param(pattern = "^wx[0-9a-zA-Z]{16}$")]
    appid: Option<String>,
}

/// An NFC scheme (`wxa/generatenfcscheme`) for a tag: recorded, and reused for the same
/// page, query, version and device.
#[utoipa::path(post, path = "/api/nfc_scheme", tag = "links",
    params(NfcParams),
    responses(
        (status = 200, body = Envelope<NfcSchemeData>),
        (status = 400, description = "invalid parameter (code 400)"),
        (status = 502, description = "WeChat refused (code 5000)"),
        (status = 504, description = "WeChat unreachable (code 5001)"),
    ))]
pub async fn nfc_scheme(
    req: HttpRequest,
    Params(p): Params<NfcParams>,
    ctx: web::Data<AppContext>,
) -> AppResult<HttpResponse> {
    let app = target(Acting::new(&p.app, &p.appid), &ctx).await?;
    let caller = caller::caller(&req, &ctx);
    let nfc = NfcScheme::parse(
        PagePath::parse("path", p.path)?,
        LinkQuery::parse("query", p.query)?,
        EnvVersion::parse("env_version", p.env_version)?,
        p.model_id.unwrap_or_default(),
        p.sn,
    )?;
    let got = ctx
        .links
        .nfc_scheme(&app, nfc, caller::admit(&ctx, &caller))
        .await?;
    Ok(envelope::ok(
        "小程序NFC scheme返回成功",
        NfcSchemeData {
            id: got.link.id,
            openlink: &got.link.link,
        },
    ))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    // Explicit resources, so another method is a 405 rather than a 404.
    cfg.service(
        web::resource("/api/scheme_code")
            .route(web::get().to(scheme_code))
            .route(web::post().to(scheme_code)),
    )
    .service(
        web::resource("/api/url_link")
            .route(web::get().to(url_link))
            .route(web::post().to(url_link)),
    )
    .service(web::resource("/api/nfc_scheme").route(web::post().to(nfc_scheme)))
    .service(
        web::resource("/api/short_link")
            .route(web::get().to(short_link))
            .route(web::post().to(short_link)),
    );
}
