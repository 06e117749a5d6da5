//! Where a fresh token comes from: WeChat's stable_token or classic token endpoint, or,
//! in `remote` mode, the central instance's `/internal` API.

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::config::TokenMode;
use crate::error::{AppError, WechatFault};
use crate::wechat::{WechatClient, WechatError, api};

/// What an upstream answered: the token and its remaining lifetime in seconds.
#[derive(Debug, Clone, Deserialize)]
pub struct FreshToken {
    pub access_token: String,
    pub expires_in: i64,
}

pub struct Credentials {
    pub name: String,
    pub app_id: String,
    pub secret: SecretString,
}

#[derive(Clone)]
pub struct Remote {
    pub http: reqwest::Client,
    pub base: String,
    pub key: SecretString,
}

#[derive(Serialize)]
struct StableTokenBody<'a> {
    grant_type: &'static str,
    appid: &'a str,
    secret: &'a str,
    force_refresh: bool,
}

pub async fn fetch_stable(
    client: &WechatClient,
    app: &Credentials,
    force_refresh: bool,
) -> Result<FreshToken, WechatError> {
    let body = StableTokenBody {
        grant_type: "client_credential",
        appid: &app.app_id,
        secret: app.secret.expose_secret(),
        force_refresh,
    };
    client.post_json(api::STABLE_TOKEN, &[], &body).await
}

pub async fn fetch_classic(
    client: &WechatClient,
    app: &Credentials,
) -> Result<FreshToken, WechatError> {
    let query = [
        ("grant_type", "client_credential"),
        ("appid", app.app_id.as_str()),
        ("secret", app.secret.expose_secret()),
    ];
    client.get_json(api::TOKEN, &query).await
}

#[derive(Deserialize)]
struct RemoteEnvelope {
    code: u32,
    msg: String,
    data: Option<serde_json::Value>,
}

/// Asks the central instance: the current token, or a refresh of `stale` when given.
pub async fn fetch_remote(
    remote: &Remote,
    app: &str,
    stale: Option<&str>,
) -> Result<FreshToken, AppError> {
    let base = remote.base.trim_end_matches('/');
    let request = match stale {
        None => remote
            .http
            .get(format!("{base}/internal/access_token"))
            .query(&[("app", app)]),
        Some(stale) => remote
            .http
            .post(format!("{base}/internal/access_token/refresh"))
            .json(&serde_json::json!({ "app": app, "stale_token": stale })),
    };
    let res = request
        .bearer_auth(remote.key.expose_secret())
        .send()
        .await
        .map_err(|e| AppError::Upstream(format!("central token server: {}", e.without_url())))?;
    let envelope: RemoteEnvelope = res
        .json()
        .await
        .map_err(|e| AppError::Upstream(format!("central token server answered garbage: {e}")))?;
    if envelope.code != 200 {
        // Pass WeChat's own errcode through when the central instance relayed one.
        if let Some(fault) = envelope
            .data
            .and_then(|d| serde_json::from_value::<WechatFault>(d).ok())
        {
            return Err(AppError::Wechat(fault));
        }
        return Err(AppError::Upstream(format!(
            "central token server: {} {}",
            envelope.code, envelope.msg
        )));
    }
    envelope
        .data
        .and_then(|d| serde_json::from_value::<FreshToken>(d).ok())
        .ok_or_else(|| AppError::Upstream("central token server: no token in answer".into()))
}

/// The `kind` column of the token table for a mode.
pub fn kind(mode: TokenMode) -> &'static str {
    mode.as_str()
}
