//! Open Platform (third-party platform): tickets, component token, authorizers (issue 9).
//!
//! - `push`: the encrypted pushes to `/open/ticket` (ticket, authorization events).
//! - `authorizers`: exchanging auth codes, authorizer tokens, the authorization page URL.
//! - `tokens`: single-flight, persisted token slots for the component and authorizers.

mod authorizers;
mod push;
mod replay;
mod tokens;

use std::future::Future;
use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};

pub use authorizers::{AuthorizerView, PageKind};
pub use push::PushParams;

use crate::error::{AppError, AppResult};
use crate::services::ServiceDeps;
use crate::services::token::{AccessToken, SharedTokens, now_unix};
use crate::store::open_platform as store;
use crate::wechat::component::{self, Component};
use crate::wechat::msg_crypto::MsgCrypt;
use crate::wechat::{WechatClient, WechatError};
use replay::SeenPushes;
use tokens::TokenSlots;

/// The configured component; absent when `open_platform.app_id` is empty.
struct Configured {
    app_id: String,
    secret: SecretString,
    crypt: MsgCrypt,
}

pub struct OpenPlatformService {
    deps: ServiceDeps,
    component: Option<Configured>,
    component_tokens: TokenSlots,
    authorizer_tokens: TokenSlots,
    /// Auth-code exchanges run one at a time: a push and the callback carry the same
    /// single-use code, and the second must find what the first stored.
    exchanges: tokio::sync::Mutex<()>,
    seen_pushes: SeenPushes,
    /// Authorizers found current lately (`check_authorized`).
    authorized: moka::future::Cache<String, ()>,
}

impl OpenPlatformService {
    pub fn new(deps: &ServiceDeps) -> Arc<Self> {
        let op = &deps.settings.open_platform;
        let component = if op.app_id.is_empty() {
            None
        } else {
            // The keys were checked with the configuration; a failure here is a bug.
            let crypt = MsgCrypt::new(
                op.token.expose_secret(),
                op.aes_key.expose_secret(),
                &op.app_id,
            )
            .and_then(|c| match op.previous_aes_key.expose_secret() {
                "" => Ok(c),
                previous => c.with_previous_key(previous),
            });
            match crypt {
                Ok(crypt) => Some(Configured {
                    app_id: op.app_id.clone(),
                    secret: op.secret.clone(),
                    crypt,
                }),
                Err(e) => {
                    tracing::error!(error = %e, "open_platform keys unusable; Open Platform disabled");
                    None
                }
            }
        };
        let margin = deps.settings.wechat.refresh_margin_secs as i64;
        let shared = deps.redis.clone().map(SharedTokens::new);
        // As for mini-program tokens: a fetch may take two calls of `timeout_ms`.
        let lock_ttl = std::time::Duration::from_millis(deps.settings.wechat.timeout_ms.max(1) * 2)
            + std::time::Duration::from_secs(2);
        let slots = |kind| TokenSlots::new(kind, margin, deps.db.clone(), shared.clone(), lock_ttl);
        let service = Arc::new(OpenPlatformService {
            component_tokens: slots("component"),
            authorizer_tokens: slots("authorizer"),
            deps: deps.clone(),
            component,
            exchanges: tokio::sync::Mutex::new(()),
            seen_pushes: SeenPushes::new(deps.redis.clone()),
            authorized: moka::future::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(std::time::Duration::from_secs(60))
                .build(),
        });
        // The mini-program routes act for authorizers (`appid=`) through this service.
        deps.mini_program.serve_authorizers(&service);
        service
    }

    pub fn enabled(&self) -> bool {
        self.component.is_some()
    }

    /// The component's appid, when Open Platform is configured.
    pub fn component_app_id(&self) -> Option<&str> {
        self.component.as_ref().map(|c| c.app_id.as_str())
    }

    /// The component, or 404: the `/open` routes do not exist when it is not configured.
    fn configured(&self) -> AppResult<&Configured> {
        self.component.as_ref().ok_or(AppError::NotFound)
    }

    fn client(&self) -> &WechatClient {
        &self.deps.mini_program.client
    }

    /// The component_access_token (single flight, persisted, refreshed ahead).
    pub async fn component_token(&self) -> AppResult<AccessToken> {
        let c = self.configured()?;
        self.component_tokens
            .get(&c.app_id, || self.fetch_component_token(c))
            .await
    }

    async fn fetch_component_token(&self, c: &Configured) -> AppResult<AccessToken> {
        let ticket = store::ticket(&self.deps.db, &c.app_id)
            .await?
            .ok_or_else(|| {
                AppError::Unavailable("no component_verify_ticket received yet".into())
            })?;
        let credentials = Component {
            app_id: &c.app_id,
            secret: c.secret.expose_secret(),
        };
        let fresh = component::component_token(self.client(), &credentials, &ticket).await?;
        Ok(AccessToken {
            value: fresh.component_access_token.into(),
            expires_at: now_unix() + fresh.expires_in,
        })
    }

    /// Runs a component API call; on a rejected token, refreshes it (if still current)
    /// and retries once. (Also the gateway's `sns/component/jscode2session`.)
    pub async fn with_component_token<T, F, Fut>(&self, call: F) -> AppResult<T>
    where
        F: Fn(WechatClient, Arc<str>) -> Fut,
        Fut: Future<Output = Result<T, WechatError>>,
    {
        let c = self.configured()?;
        let token = self.component_token().await?;
        match call(self.client().clone(), token.value.clone()).await {
            Err(e) if e.is_token_rejected() => {
                tracing::warn!(
                    errcode = e.errcode(),
                    "component token rejected; refreshing once"
                );
                let fresh = self
                    .component_tokens
                    .refresh_if_current(&c.app_id, &token.value, || self.fetch_component_token(c))
                    .await?;
                Ok(call(self.client().clone(), fresh.value).await?)
            }
            other => Ok(other?),
        }
    }
}
