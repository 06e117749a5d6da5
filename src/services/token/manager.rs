//! The configured mini programs' tokens, one cell each, by configured name.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use super::AccessToken;
use super::cell::{Hub, TokenCell};
use super::shared::SharedTokens;
use super::source::{self, Credentials, MiniProgramSource, Remote};
use crate::config::{Settings, TokenMode};
use crate::error::AppError;
use crate::metrics::{CacheLabels, Metrics};
use crate::store::{Db, tokens};
use crate::wechat::WechatClient;

/// stable_token only rotates in a token's last 300 s; asking earlier returns the same one.
const STABLE_MAX_MARGIN_SECS: i64 = 290;

pub struct TokenManager {
    mode: TokenMode,
    margin: i64,
    hub: Arc<Hub>,
    cells: HashMap<String, Arc<TokenCell>>,
}

impl TokenManager {
    pub fn new(
        settings: &Settings,
        client: WechatClient,
        db: Db,
        shared: Option<SharedTokens>,
        metrics: Arc<Metrics>,
    ) -> Arc<Self> {
        let hub = Hub::new(db, shared, settings.wechat.timeout_ms);
        let mode = settings.wechat.token_mode;
        let mut margin = settings.wechat.refresh_margin_secs as i64;
        if mode == TokenMode::Stable {
            margin = margin.min(STABLE_MAX_MARGIN_SECS);
        }
        let remote = (mode == TokenMode::Remote).then(|| Remote {
            http: reqwest::Client::builder()
                .timeout(Duration::from_millis(settings.wechat.timeout_ms.max(1)))
                .build()
                .unwrap_or_default(),
            base: settings.wechat.remote_url.clone(),
            key: settings.wechat.remote_key.clone(),
        });
        // Looked up once: the hot path only bumps an atomic.
        let lookups = |result| {
            metrics
                .cache_lookups
                .get_or_create(&CacheLabels {
                    cache: "access_token",
                    result,
                })
                .clone()
        };
        let (hits, misses) = (lookups("hit"), lookups("miss"));
        let cells = settings
            .wechat
            .mini_program
            .iter()
            .filter(|(_, app)| mode == TokenMode::Remote || !app.app_id.is_empty())
            .map(|(name, app)| {
                let app_id = if app.app_id.is_empty() {
                    name.clone()
                } else {
                    app.app_id.clone()
                };
                let source = MiniProgramSource {
                    mode,
                    client: client.clone(),
                    remote: remote.clone(),
                    credentials: Credentials {
                        name: name.clone(),
                        app_id: app_id.clone(),
                        secret: app.secret.clone(),
                    },
                    metrics: metrics.clone(),
                };
                let kind = source::kind(mode);
                let cell =
                    TokenCell::new(kind, &app_id, name, margin, Arc::new(source), hub.clone())
                        .counting(hits.clone(), misses.clone());
                (name.clone(), Arc::new(cell))
            })
            .collect();
        Arc::new(TokenManager {
            mode,
            margin,
            hub,
            cells,
        })
    }

    pub fn mode(&self) -> TokenMode {
        self.mode
    }

    /// What the Open Platform's cells share with these: the database, Redis, the timers.
    pub fn hub(&self) -> &Arc<Hub> {
        &self.hub
    }

    /// The names of the apps this manager serves.
    pub fn apps(&self) -> impl Iterator<Item = &str> {
        self.cells.keys().map(String::as_str)
    }

    pub fn knows(&self, app: &str) -> bool {
        self.cells.contains_key(app)
    }

    /// The cell of a configured app (else the 400 of `app`).
    pub fn cell(&self, app: &str) -> Result<&Arc<TokenCell>, AppError> {
        self.cells
            .get(app)
            .ok_or_else(|| AppError::invalid("app", "未配置的小程序"))
    }

    /// The current token of `app`. The hot path is one wait-free read.
    pub async fn get(&self, app: &str) -> Result<AccessToken, AppError> {
        self.cell(app)?.get().await
    }

    /// Refreshes `app`'s token only if `rejected` is still the current one.
    pub async fn refresh_if_current(
        &self,
        app: &str,
        rejected: &str,
    ) -> Result<AccessToken, AppError> {
        self.cell(app)?.refresh_if_current(rejected).await
    }

    /// What is stored for `app`, without fetching (for `wxa token` and admin stats).
    pub async fn stored(&self, app: &str) -> Result<Option<tokens::StoredToken>, AppError> {
        match self.cells.get(app) {
            Some(cell) => cell.stored().await,
            None => Ok(None),
        }
    }

    /// At start: tokens stored by a previous run are refreshed at their due time.
    pub async fn arm_from_store(&self) {
        for cell in self.cells.values() {
            cell.arm_from_store().await;
        }
    }
}

impl std::fmt::Debug for TokenManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenManager")
            .field("mode", &self.mode)
            .field("margin", &self.margin)
            .finish()
    }
}
