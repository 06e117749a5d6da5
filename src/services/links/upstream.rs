//! The three WeChat calls that make links, with the app's shared token (the client builds
//! the URL; these are the bodies docs/wechat.md#links describes).

use serde::{Deserialize, Serialize};

use super::reuse::{LinkKey, Spec};
use crate::domain::links::{Expiry, JumpKind, JumpLink, ShortLink};
use crate::domain::target::Target;
use crate::error::AppError;
use crate::services::mini_program::MiniProgramService;
use crate::wechat::{WechatError, api};

/// `expire_type` 0 takes `expire_time`, 1 takes `expire_interval` days.
#[derive(Serialize)]
struct Expire {
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
#[derive(Serialize)]
struct Jump<'a> {
    #[serde(skip_serializing_if = "str::is_empty")]
    path: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    query: &'a str,
    env_version: &'static str,
}

impl<'a> From<&'a JumpLink> for Jump<'a> {
    fn from(link: &'a JumpLink) -> Self {
        Jump {
            path: link.path.as_str(),
            query: link.query.as_str(),
            env_version: link.env_version.as_str(),
        }
    }
}

#[derive(Serialize)]
struct SchemeBody<'a> {
    jump_wxa: Jump<'a>,
    /// Legacy switch (true = expiring); WeChat now always expires links.
    is_expire: bool,
    #[serde(flatten)]
    expire: Expire,
}

#[derive(Serialize)]
struct UrlLinkBody<'a> {
    #[serde(flatten)]
    jump: Jump<'a>,
    is_expire: bool,
    #[serde(flatten)]
    expire: Expire,
}

#[derive(Serialize)]
struct ShortLinkBody<'a> {
    page_url: String,
    #[serde(skip_serializing_if = "str::is_empty")]
    page_title: &'a str,
    is_permanent: bool,
}

#[derive(Serialize)]
struct NfcBody<'a> {
    jump_wxa: Jump<'a>,
    model_id: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    sn: &'a str,
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

/// Asks WeChat for the link `key` describes, with `app`'s token.
pub async fn generate(
    mini_program: &MiniProgramService,
    app: &Target,
    key: &LinkKey,
) -> Result<String, AppError> {
    match &key.spec {
        Spec::Jump(JumpKind::Scheme, link) => {
            let body = &SchemeBody {
                jump_wxa: link.into(),
                is_expire: true,
                expire: link.expiry.into(),
            };
            let answer: SchemeAnswer = post(mini_program, app, api::GENERATE_SCHEME, body).await?;
            non_empty(answer.openlink, "openlink")
        }
        Spec::Jump(JumpKind::UrlLink, link) => {
            let body = &UrlLinkBody {
                jump: link.into(),
                is_expire: true,
                expire: link.expiry.into(),
            };
            let answer: UrlLinkAnswer =
                post(mini_program, app, api::GENERATE_URLLINK, body).await?;
            non_empty(answer.url_link, "url_link")
        }
        Spec::Short(short) => {
            let body = &short_body(short);
            let answer: ShortLinkAnswer = post(mini_program, app, api::GEN_SHORTLINK, body).await?;
            non_empty(answer.link, "link")
        }
        Spec::Nfc(nfc) => {
            let body = &NfcBody {
                jump_wxa: Jump {
                    path: nfc.path.as_str(),
                    query: nfc.query.as_str(),
                    env_version: nfc.env_version.as_str(),
                },
                model_id: &nfc.model_id,
                sn: &nfc.sn,
            };
            let answer: SchemeAnswer =
                post(mini_program, app, api::GENERATE_NFC_SCHEME, body).await?;
            non_empty(answer.openlink, "openlink")
        }
        Spec::Plain(_) => Err(AppError::internal(
            "a plain-text scheme is built without WeChat",
        )),
    }
}

fn short_body(short: &ShortLink) -> ShortLinkBody<'_> {
    ShortLinkBody {
        page_url: short.page_url.to_url(),
        page_title: short.page_title.as_str(),
        is_permanent: short.permanent,
    }
}

async fn post<B, T>(
    mini_program: &MiniProgramService,
    app: &Target,
    endpoint: api::Api,
    body: &B,
) -> Result<T, AppError>
where
    B: Serialize,
    T: serde::de::DeserializeOwned,
{
    mini_program
        .with_target_token(app, |client, token| async move {
            client
                .post_json(endpoint, &[("access_token", &*token.value)], body)
                .await
        })
        .await
}

/// An `errcode: 0` answer without the link is unreadable, not a link.
fn non_empty(link: String, field: &str) -> Result<String, AppError> {
    if link.is_empty() {
        return Err(WechatError::Decode(format!("empty `{field}` in the answer")).into());
    }
    Ok(link)
}

#[derive(Serialize)]
struct VisitQuotaBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    scheme: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    url_link: Option<&'a str>,
    /// 1: today's remaining opens instead of the link's details.
    query_type: u8,
}

#[derive(Deserialize)]
struct VisitQuotaAnswer {
    quota_info: QuotaInfo,
}

#[derive(Deserialize)]
struct QuotaInfo {
    remain_visit_quota: u64,
}

/// Today's remaining opens of `app`'s schemes and URL links, asked through one of them
/// (`queryscheme` or `query_urllink` with `query_type = 1`).
pub async fn visit_quota(
    mini_program: &MiniProgramService,
    app: &Target,
    kind: JumpKind,
    link: &str,
) -> Result<u64, AppError> {
    let (endpoint, body) = match kind {
        JumpKind::Scheme => (
            api::QUERY_SCHEME,
            VisitQuotaBody {
                scheme: Some(link),
                url_link: None,
                query_type: 1,
            },
        ),
        JumpKind::UrlLink => (
            api::QUERY_URLLINK,
            VisitQuotaBody {
                scheme: None,
                url_link: Some(link),
                query_type: 1,
            },
        ),
    };
    let answer: VisitQuotaAnswer = post(mini_program, app, endpoint, &body).await?;
    Ok(answer.quota_info.remain_visit_quota)
}
