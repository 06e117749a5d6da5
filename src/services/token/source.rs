//! Where a fresh token comes from (`TokenSource`); for mini programs: WeChat's
//! stable_token or classic token endpoint (`crate::wechat::tokens`), or, in `remote`
//! mode, the central instance's `/internal` API.

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use super::cell::Flight;
use super::{AccessToken, now_unix};
use crate::config::TokenMode;
use crate::error::AppError;
use crate::metrics::{Metrics, TokenLabels};
use crate::wechat::tokens::{self, AppCredentials};
use crate::wechat::{WechatClient, WechatFault};

/// What a token API (or the central instance) answered.
pub use crate::wechat::tokens::FreshToken;

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
    #[tracing::instrument(
        name = "token.refresh",
        skip_all,
        fields(app = %self.credentials.name, kind = self.mode.as_str(), rejected = rejected.is_some())
    )]
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
                Ok(tokens::token(&self.client, app.wechat()).await?)
            }
            TokenMode::Stable => {
                count("stable");
                let fresh = tokens::stable_token(&self.client, app.wechat(), false).await?;
                // The normal call hands back the token WeChat just refused: only a forced
                // refresh replaces it, and WeChat allows one per 30 s.
                let same = rejected.is_some_and(|r| r == fresh.access_token);
                let spaced = flight
                    .last_force
                    .is_none_or(|at| at.elapsed() >= FORCE_SPACING);
                if same && spaced {
                    count("stable_force");
                    flight.last_force = Some(Instant::now());
                    return Ok(tokens::stable_token(&self.client, app.wechat(), true).await?);
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

pub struct Credentials {
    pub name: String,
    pub app_id: String,
    pub secret: SecretString,
}

impl Credentials {
    /// As the WeChat token and login APIs take them.
    pub fn wechat(&self) -> AppCredentials<'_> {
        AppCredentials {
            appid: &self.app_id,
            secret: self.secret.expose_secret(),
        }
    }
}

#[derive(Clone)]
pub struct Remote {
    pub http: reqwest::Client,
    pub base: String,
    pub key: SecretString,
}

/// The central instance's refresh request.
#[derive(Serialize)]
struct RemoteRefresh<'a> {
    app: &'a str,
    stale_token: &'a str,
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
            .json(&RemoteRefresh {
                app,
                stale_token: stale,
            }),
    };
    let res = request
        .bearer_auth(remote.key.expose_secret())
        .send()
        .await
        .map_err(|e| {
            let e = e.without_url();
            AppError::upstream_caused(format!("central token server: {e}"), e)
        })?;
    let envelope: RemoteEnvelope = res.json().await.map_err(|e| {
        AppError::upstream_caused(format!("central token server answered garbage: {e}"), e)
    })?;
    if envelope.code != 200 {
        // Pass WeChat's own errcode through when the central instance relayed one.
        if let Some(fault) = envelope
            .data
            .and_then(|d| serde_json::from_value::<WechatFault>(d).ok())
        {
            return Err(AppError::Wechat(fault));
        }
        return Err(AppError::upstream(format!(
            "central token server: {} {}",
            envelope.code, envelope.msg
        )));
    }
    envelope
        .data
        .and_then(|d| serde_json::from_value::<FreshToken>(d).ok())
        .ok_or_else(|| AppError::upstream("central token server: no token in answer"))
}

/// The `kind` column of the token table for a mode.
pub fn kind(mode: TokenMode) -> &'static str {
    mode.as_str()
}
