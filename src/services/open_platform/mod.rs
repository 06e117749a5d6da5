//! Open Platform (third-party platform): tickets, component token, authorizers.
//!
//! - `push`: the encrypted pushes to `/open/ticket` (ticket, authorization events).
//! - `authorizers`: exchanging auth codes, authorizer tokens, the authorization page URL.
//! - `tokens`: where the component's and the authorizers' tokens come from; the token
//!   subsystem (`src/services/token`) holds, shares and refreshes them.

mod authorizers;
mod push;
mod recover;
mod replay;
mod tokens;

use std::future::Future;
use std::sync::{Arc, Weak};

use secrecy::ExposeSecret;
use wxa_msgcrypt::MsgCrypt;

pub use authorizers::{AuthorizerView, PageKind};
pub use push::PushParams;
pub use recover::Recovery;

use crate::error::{AppError, AppResult};
use crate::services::ServiceDeps;
use crate::services::token::{self, AccessToken, TokenCell, TokenCells};
use crate::wechat::{WechatClient, WechatError};
use replay::SeenPushes;
use tokens::{AuthorizerSource, ComponentSource};

/// Never refresh closer to the end than this (the cells' own floor).
const MIN_MARGIN_SECS: i64 = 30;

/// The configured component; absent when `open_platform.app_id` is empty.
struct Configured {
    app_id: String,
    crypt: MsgCrypt,
    /// Its component_access_token.
    token: Arc<TokenCell>,
}

pub struct OpenPlatformService {
    deps: ServiceDeps,
    component: Option<Configured>,
    /// One cell per authorizer, made only once the appid is known to be authorized.
    authorizer_tokens: TokenCells,
    /// One lock per auth code: a push and the callback carrying the same code exchange it
    /// once, while other merchants' codes (and junk codes sent to the unauthenticated
    /// callback) never queue behind it. Bounded, and dropped after a minute unused.
    exchanges: moka::future::Cache<String, Arc<tokio::sync::Mutex<()>>>,
    seen_pushes: SeenPushes,
    /// Authorizers found current lately (`check_authorized`).
    authorized: moka::future::Cache<String, ()>,
}

impl OpenPlatformService {
    pub fn new(deps: &ServiceDeps) -> Arc<Self> {
        let op = &deps.settings.open_platform;
        let hub = deps.mini_program.tokens.hub();
        let margin = (deps.settings.wechat.refresh_margin_secs as i64).max(MIN_MARGIN_SECS);
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
                Ok(crypt) => {
                    let source = ComponentSource {
                        secret: op.secret.clone(),
                        db: deps.db.clone(),
                        client: deps.mini_program.client.clone(),
                    };
                    let cell = TokenCell::new(
                        "component",
                        &op.app_id,
                        "component",
                        margin,
                        Arc::new(source),
                        hub.clone(),
                    );
                    Some(Configured {
                        app_id: op.app_id.clone(),
                        crypt,
                        token: Arc::new(cell),
                    })
                }
                Err(e) => {
                    tracing::error!(error = %e, "open_platform keys unusable; Open Platform disabled");
                    None
                }
            }
        };
        if let Some(cell) = component.as_ref().map(|c| Arc::clone(&c.token)) {
            tokio::spawn(async move { cell.arm_from_store().await });
        }
        let service = Arc::new_cyclic(|service: &Weak<OpenPlatformService>| {
            let source = AuthorizerSource {
                service: service.clone(),
            };
            OpenPlatformService {
                authorizer_tokens: TokenCells::new(
                    "authorizer",
                    margin,
                    hub.clone(),
                    Arc::new(source),
                ),
                deps: deps.clone(),
                component,
                exchanges: moka::future::Cache::builder()
                    .max_capacity(10_000)
                    .time_to_idle(std::time::Duration::from_secs(60))
                    .build(),
                seen_pushes: SeenPushes::new(deps.redis.clone()),
                authorized: moka::future::Cache::builder()
                    .max_capacity(10_000)
                    .time_to_live(std::time::Duration::from_secs(60))
                    .build(),
            }
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
        self.configured()?.token.get().await
    }

    /// Runs a component API call; on a rejected token, refreshes it (if still current)
    /// and retries once. (Also the gateway's `sns/component/jscode2session`.)
    pub async fn with_component_token<T, F, Fut>(&self, call: F) -> AppResult<T>
    where
        F: Fn(WechatClient, Arc<str>) -> Fut,
        Fut: Future<Output = Result<T, WechatError>>,
    {
        let cell = &self.configured()?.token;
        token::with_token(cell, self.client(), |client, token| {
            call(client, token.value)
        })
        .await
    }
}
