//! The link APIs (docs/wechat.md#links): `generatescheme`, `generate_urllink`,
//! `genwxashortlink` and `generatenfcscheme` make links; `queryscheme` and
//! `query_urllink` (with `query_type = 1`) tell today's remaining opens. Each call takes
//! the app's access_token; the requests borrow from the checked domain values.

use serde::{Deserialize, Serialize};

use super::api;
use super::client::WechatClient;
use super::error::WechatError;
use super::token_query;
use crate::domain::links::{
    EnvVersion, Expiry, JumpLink, LinkQuery, NfcScheme, PagePath, ShortLink,
};

/// `expire_type` 0 takes `expire_time`, 1 takes `expire_interval` days.
#[derive(Debug, Serialize)]
pub struct Expire {
    expire_type: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    expire_time: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expire_interval: Option<i64>,
}

impl From<Expiry> for Expire {
    fn from(expiry: Expiry) -> Self {
        match expiry {
            Expiry::At(at) => Expire {
                expire_type: 0,
                expire_time: Some(at),
                expire_interval: None,
            },
            Expiry::InDays(days) => Expire {
                expire_type: 1,
                expire_time: None,
                expire_interval: Some(days),
            },
        }
    }
}

/// Where the link jumps: inside `jump_wxa` for schemes, at the top level for URL links.
#[derive(Debug, Serialize)]
pub struct Jump<'a> {
    #[serde(skip_serializing_if = "str::is_empty")]
    path: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    query: &'a str,
    env_version: &'static str,
}

impl<'a> Jump<'a> {
    fn to(path: &'a PagePath, query: &'a LinkQuery, env_version: EnvVersion) -> Self {
        Jump {
            path: path.as_str(),
            query: query.as_str(),
            env_version: env_version.as_str(),
        }
    }
}

impl<'a> From<&'a JumpLink> for Jump<'a> {
    fn from(link: &'a JumpLink) -> Self {
        Jump::to(&link.path, &link.query, link.env_version)
    }
}

/// `wxa/generatescheme`'s body.
#[derive(Debug, Serialize)]
pub struct SchemeRequest<'a> {
    jump_wxa: Jump<'a>,
    /// Legacy switch (true = expiring); WeChat now always expires links.
    is_expire: bool,
    #[serde(flatten)]
    expire: Expire,
}

impl<'a> SchemeRequest<'a> {
    pub fn new(link: &'a JumpLink) -> Self {
        SchemeRequest {
            jump_wxa: link.into(),
            is_expire: true,
            expire: link.expiry.into(),
        }
    }
}

/// `wxa/generate_urllink`'s body.
#[derive(Debug, Serialize)]
pub struct UrlLinkRequest<'a> {
    #[serde(flatten)]
    jump: Jump<'a>,
    is_expire: bool,
    #[serde(flatten)]
    expire: Expire,
}

impl<'a> UrlLinkRequest<'a> {
    pub fn new(link: &'a JumpLink) -> Self {
        UrlLinkRequest {
            jump: link.into(),
            is_expire: true,
            expire: link.expiry.into(),
        }
    }
}

/// `wxa/genwxashortlink`'s body.
#[derive(Debug, Serialize)]
pub struct ShortLinkRequest<'a> {
    page_url: String,
    #[serde(skip_serializing_if = "str::is_empty")]
    page_title: &'a str,
    is_permanent: bool,
}

impl<'a> ShortLinkRequest<'a> {
    pub fn new(short: &'a ShortLink) -> Self {
        ShortLinkRequest {
            page_url: short.page_url.to_url(),
            page_title: short.page_title.as_str(),
            is_permanent: short.permanent,
        }
    }
}

/// `wxa/generatenfcscheme`'s body. It never expires.
#[derive(Debug, Serialize)]
pub struct NfcSchemeRequest<'a> {
    jump_wxa: Jump<'a>,
    model_id: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    sn: &'a str,
}

impl<'a> NfcSchemeRequest<'a> {
    pub fn new(nfc: &'a NfcScheme) -> Self {
        NfcSchemeRequest {
            jump_wxa: Jump::to(&nfc.path, &nfc.query, nfc.env_version),
            model_id: &nfc.model_id,
            sn: &nfc.sn,
        }
    }
}

#[derive(Deserialize)]
struct SchemeAnswer {
    openlink: String,
}

#[derive(Deserialize)]
struct UrlLinkAnswer {
    url_link: String,
}

#[derive(Deserialize)]
struct ShortLinkAnswer {
    link: String,
}

/// `wxa/generatescheme`: the `weixin://dl/business/?t=...` link.
pub async fn generate_scheme(
    client: &WechatClient,
    token: &str,
    request: &SchemeRequest<'_>,
) -> Result<String, WechatError> {
    let answer: SchemeAnswer = client
        .post_json(api::GENERATE_SCHEME, &token_query(token), request)
        .await?;
    non_empty(answer.openlink, "openlink")
}

/// `wxa/generate_urllink`: the `https://wxaurl.cn/...` link.
pub async fn generate_urllink(
    client: &WechatClient,
    token: &str,
    request: &UrlLinkRequest<'_>,
) -> Result<String, WechatError> {
    let answer: UrlLinkAnswer = client
        .post_json(api::GENERATE_URLLINK, &token_query(token), request)
        .await?;
    non_empty(answer.url_link, "url_link")
}

/// `wxa/genwxashortlink`: the `#小程序://...` short link.
pub async fn gen_shortlink(
    client: &WechatClient,
    token: &str,
    request: &ShortLinkRequest<'_>,
) -> Result<String, WechatError> {
    let answer: ShortLinkAnswer = client
        .post_json(api::GEN_SHORTLINK, &token_query(token), request)
        .await?;
    non_empty(answer.link, "link")
}

/// `wxa/generatenfcscheme`: a scheme for an NFC tag.
pub async fn generate_nfc_scheme(
    client: &WechatClient,
    token: &str,
    request: &NfcSchemeRequest<'_>,
) -> Result<String, WechatError> {
    let answer: SchemeAnswer = client
        .post_json(api::GENERATE_NFC_SCHEME, &token_query(token), request)
        .await?;
    non_empty(answer.openlink, "openlink")
}

/// One link request, whichever API makes it.
#[derive(Debug)]
pub enum LinkRequest<'a> {
    Scheme(SchemeRequest<'a>),
    UrlLink(UrlLinkRequest<'a>),
    Short(ShortLinkRequest<'a>),
    Nfc(NfcSchemeRequest<'a>),
}

/// Makes the link `request` describes, with the app's `token`.
pub async fn make(
    client: &WechatClient,
    token: &str,
    request: &LinkRequest<'_>,
) -> Result<String, WechatError> {
    match request {
        LinkRequest::Scheme(r) => generate_scheme(client, token, r).await,
        LinkRequest::UrlLink(r) => generate_urllink(client, token, r).await,
        LinkRequest::Short(r) => gen_shortlink(client, token, r).await,
        LinkRequest::Nfc(r) => generate_nfc_scheme(client, token, r).await,
    }
}

/// An `errcode: 0` answer without the link is unreadable, not a link.
fn non_empty(link: String, field: &str) -> Result<String, WechatError> {
    if link.is_empty() {
        return Err(WechatError::unexpected(format!(
            "empty `{field}` in the answer"
        )));
    }
    Ok(link)
}

/// `queryscheme`'s body; `query_type` 1 asks for today's remaining opens instead of the
/// link's details.
#[derive(Debug, Serialize)]
struct QuerySchemeRequest<'a> {
    scheme: &'a str,
    query_type: u8,
}

/// `query_urllink`'s body, likewise.
#[derive(Debug, Serialize)]
struct QueryUrlLinkRequest<'a> {
    url_link: &'a str,
    query_type: u8,
}

/// Asks for today's remaining opens rather than the link's details.
const QUERY_VISIT_QUOTA: u8 = 1;

#[derive(Deserialize)]
struct VisitQuotaAnswer {
    quota_info: QuotaInfo,
}

#[derive(Deserialize)]
struct QuotaInfo {
    remain_visit_quota: u64,
}

/// `wxa/queryscheme` with `query_type = 1`: today's remaining opens of the app's schemes
/// and URL links, asked through one of its schemes.
pub async fn scheme_visit_quota(
    client: &WechatClient,
    token: &str,
    scheme: &str,
) -> Result<u64, WechatError> {
    let body = QuerySchemeRequest {
        scheme,
        query_type: QUERY_VISIT_QUOTA,
    };
    let answer: VisitQuotaAnswer = client
        .post_json(api::QUERY_SCHEME, &token_query(token), &body)
        .await?;
    Ok(answer.quota_info.remain_visit_quota)
}

/// `wxa/query_urllink` with `query_type = 1`: the same figure, asked through a URL link.
pub async fn urllink_visit_quota(
    client: &WechatClient,
    token: &str,
    url_link: &str,
) -> Result<u64, WechatError> {
    let body = QueryUrlLinkRequest {
        url_link,
        query_type: QUERY_VISIT_QUOTA,
    };
    let answer: VisitQuotaAnswer = client
        .post_json(api::QUERY_URLLINK, &token_query(token), &body)
        .await?;
    Ok(answer.quota_info.remain_visit_quota)
}
