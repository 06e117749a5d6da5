//! A mini program's access_token (docs/wechat.md#tokens): the classic `cgi-bin/token` and
//! `cgi-bin/stable_token`. Both take the app's secret: never log a request.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::api;
use super::client::WechatClient;
use super::error::WechatError;
use crate::redact::Redacted;

/// The app's credentials, as both token APIs take them.
#[derive(Clone, Copy)]
pub struct AppCredentials<'a> {
    pub appid: &'a str,
    pub secret: &'a str,
}

/// What a token API answered: the token and its remaining lifetime in seconds.
#[derive(Clone, Deserialize)]
pub struct FreshToken {
    pub access_token: String,
    pub expires_in: i64,
}

impl fmt::Debug for FreshToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FreshToken")
            .field("access_token", &Redacted(&self.access_token))
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

/// `cgi-bin/token` (GET): every call replaces the app's token.
pub async fn token(
    client: &WechatClient,
    app: AppCredentials<'_>,
) -> Result<FreshToken, WechatError> {
    let query = [
        ("grant_type", "client_credential"),
        ("appid", app.appid),
        ("secret", app.secret),
    ];
    client.get_json(api::TOKEN, &query).await
}

#[derive(Serialize)]
struct StableTokenRequest<'a> {
    grant_type: &'static str,
    appid: &'a str,
    secret: &'a str,
    force_refresh: bool,
}

/// `cgi-bin/stable_token`: the current token, or with `force_refresh` a new one (WeChat
/// allows one forced refresh per 30 s).
pub async fn stable_token(
    client: &WechatClient,
    app: AppCredentials<'_>,
    force_refresh: bool,
) -> Result<FreshToken, WechatError> {
    let body = StableTokenRequest {
        grant_type: "client_credential",
        appid: app.appid,
        secret: app.secret,
        force_refresh,
    };
    client.post_json(api::STABLE_TOKEN, &[], &body).await
}
