//! The logic between controllers and the outside world.
pub mod admission;
pub mod codes;
pub mod gateway;
pub mod links;
pub mod mini_program;
pub mod open_platform;
pub mod rate;
pub mod token;
pub mod users;

use std::sync::Arc;
use std::time::Duration;

use secrecy::ExposeSecret;

use crate::config::Settings;
use crate::metrics::Metrics;
use crate::services::mini_program::MiniProgramService;
use crate::services::token::{SharedTokens, TokenManager};
use crate::store::Db;
use crate::store::redis::RedisStore;
use crate::wechat::WechatClient;

#[derive(Debug, thiserror::Error)]
pub enum DepsError {
    #[error("{0}")]
    Wechat(String),
    #[error("`redis.url`: {0}")]
    Redis(String),
}

impl ServiceDeps {
    /// The parts every service shares, from settings: metrics, the WeChat client and the
    /// token manager (shared through Redis when `redis.url` is set).
    pub async fn build(settings: Settings, db: Db) -> Result<ServiceDeps, DepsError> {
        let metrics = Metrics::new();
        let client =
            WechatClient::new(&settings.wechat, metrics.clone()).map_err(DepsError::Wechat)?;
        let redis = match settings.redis.url.expose_secret() {
            "" => None,
            url => Some(
                RedisStore::connect(
                    url,
                    &settings.redis.key_prefix,
                    Duration::from_millis(settings.redis.timeout_ms.max(1)),
                )
                .map_err(|e| DepsError::Redis(e.to_string()))?,
            ),
        };
        let shared = redis.clone().map(SharedTokens::new);
        let tokens = TokenManager::new(
            &settings,
            client.clone(),
            db.clone(),
            shared,
            metrics.clone(),
        );
        let mini_program = MiniProgramService::new(tokens, client);
        Ok(ServiceDeps {
            settings: Arc::new(settings),
            db,
            metrics,
            mini_program,
            redis,
        })
    }
}

/// What every service is built from; one constructor shape for all of them.
#[derive(Clone)]
pub struct ServiceDeps {
    pub settings: Arc<Settings>,
    pub db: Db,
    pub metrics: Arc<Metrics>,
    pub mini_program: Arc<MiniProgramService>,
    /// Set when `redis.url` is: for state shared across instances.
    pub redis: Option<RedisStore>,
}
