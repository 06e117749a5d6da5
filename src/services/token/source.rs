//! Where a fresh token comes from (`TokenSource`); for mini programs: WeChat's
//! stable_token or classic token endpoint, or, in `remote` mode, the central instance's
//! `/internal` API.

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use super::cell::Flight;
use super::{AccessToken, now_unix};
use crate::config::TokenMode;
use crate::error::{AppError, WechatFault};
use crate::metrics::{Metrics, TokenLabels};
use crate::wechat::{WechatClient, WechatError, api};

/// WeChat ignores a second force_refresh within 30 s; so do we.
const FORCE_SPACING: Duration = Duration::from_secs(30);

/// Asks upstream for a new token; called under the cell's lock (and the cluster's).
pub trait TokenSource: Send + Sync {
    /// `rejected` is the token WeChat just refused, if that is why we ask.
    fn fetch<'a>(
        &'a self,
        app_id: &'a str,
        rejected: Option<&'a str>,
        flight: &'a mut Flight,
    ) -> BoxFuture<'a, Result<AccessToken, AppError>>;
}

/// A configured mini program's token, in the instance's mode.
pub struct MiniProgramSource {
    pub mode: TokenMode,
    pub client: WechatClient,
    pub remote: Option<Remote>,
    pub credentials: Credentials,
    pub metrics: Arc<Metrics>,
}

impl TokenSource for MiniProgramSource {
    fn fetch<'a>(
        &'a self,
        _app_id: &'a str,
        rejected: Option<&'a str>,
        flight: &'a mut Flight,
    ) -> BoxFuture<'a, Result<AccessToken, AppError>> {
        Box::pin(async move {
            let fresh = self.fresh(rejected, flight).await?;
            Ok(AccessToken {
                value: fresh.access_token.into(),
                expires_at: now_unix() + fresh.expires_in,
            })
        })
    }
}

impl MiniProgramSource {
    async fn fresh(
        &self,
        rejected: Option<&str>,
        flight: &mut Flight,
    ) -> Result<FreshToken, AppError> {
        let app = &self.credentials;
        let count = |mode: &'static str| {
            self.metrics
                .token_fetches
                .get_or_create(&TokenLabels {
                    app: app.name.clone(),
                    mode,
                })
                .inc();
        };
        match self.mode {
            TokenMode::Classic => {
                count("classic");
                Ok(fetch_classic(&self.client, app).await?)
            }
            TokenMode::Stable => {
                count("stable");
                let fresh = fetch_stable(&self.client, app, false).await?;
                // The normal call hands back the token WeChat just refused: only a forced
                // refresh replaces it, and WeChat allows one per 30 s.
                let same = rejected.is_some_and(|r| r == fresh.access_token);
                let spaced = flight
                    .last_force
                    .is_none_or(|at| at.elapsed() >= FORCE_SPACING);
                if same && spaced {
                    count("stable_force");
                    flight.last_force = Some(Instant::now());
                    return Ok(fetch_stable(&self.client, app, true).await?);
                }
                Ok(fresh)
            }
            TokenMode::Remote => {
                count("remote");
                let remote = self
                    .remote
                    .as_ref()
                    .ok_or_else(|| AppError::internal("remote mode without remote settings"))?;
                fetch_remote(remote, &app.name, rejected).await
            }
        }
    }
}

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
