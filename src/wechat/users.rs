//! The user APIs (docs/wechat.md#users): `jscode2session` (the code from `wx.login` and
//! the app's secret for the openid and session_key) and `getuserphonenumber` (the phone
//! button's code). Both codes are single use; never log a request or an answer.

use serde::{Deserialize, Serialize};

use super::api;
use super::client::WechatClient;
use super::error::WechatError;
use super::token_query;
use super::tokens::AppCredentials;
use crate::domain::users::PhoneInfo;

/// `jscode2session`'s answer: never without an openid and a session_key. No Debug: it
/// holds the session_key.
#[derive(Deserialize)]
pub struct Code2Session {
    pub openid: String,
    pub session_key: String,
    #[serde(default)]
    pub unionid: Option<String>,
}

/// `sns/jscode2session` (GET, with the secret rather than a token). The client never
/// resends it unless it provably never left: the code is single use.
pub async fn jscode2session(
    client: &WechatClient,
    app: AppCredentials<'_>,
    js_code: &str,
) -> Result<Code2Session, WechatError> {
    let query = [
        ("appid", app.appid),
        ("secret", app.secret),
        ("js_code", js_code),
        ("grant_type", "authorization_code"),
    ];
    let answer: Code2Session = client.get_json(api::JSCODE2SESSION, &query).await?;
    if answer.openid.is_empty() || answer.session_key.is_empty() {
        return Err(WechatError::unexpected("jscode2session without openid"));
    }
    Ok(answer)
}

/// `getuserphonenumber`'s body. With the session's openid, so WeChat refuses a code
/// another user's button made.
#[derive(Serialize)]
struct PhoneNumberRequest<'a> {
    code: &'a str,
    openid: &'a str,
}

#[derive(Deserialize)]
struct PhoneAnswer {
    phone_info: PhoneInfo,
}

/// `wxa/business/getuserphonenumber`: the phone behind the button's `code`.
pub async fn phone_number(
    client: &WechatClient,
    token: &str,
    code: &str,
    openid: &str,
) -> Result<PhoneInfo, WechatError> {
    let body = PhoneNumberRequest { code, openid };
    let answer: PhoneAnswer = client
        .post_json(api::PHONE_NUMBER, &token_query(token), &body)
        .await?;
    Ok(answer.phone_info)
}
