//! The token manager: one access_token per app, shared by every caller.
//!
//! - Hits read the app's current token from an `ArcSwap`: no I/O, no lock, no queue
//!   shared between cores. (moka, which the many-key caches use, records every read in a
//!   queue all cores share; benches/token_cache.rs has the numbers.)
//! - A miss, a refresh and a compare-and-invalidate take the app's async mutex, so however
//!   many requests arrive at once, one upstream call is made per app (single flight).
//! - Tokens are persisted, so a restart reuses a valid token instead of fetching one.
//! - Within the refresh margin, callers keep the current token while a background task
//!   fetches the next one.

mod background;
pub(crate) mod shared;
mod source;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwapOption;
use prometheus_client::metrics::counter::Counter;
use tokio::sync::Mutex;

pub use background::BACKGROUND_SPACING;
use shared::CrossLock;
pub use shared::SharedTokens;
pub use source::{Credentials, FreshToken, Remote};

use crate::config::{Settings, TokenMode};
use crate::error::AppError;
use crate::metrics::{CacheLabels, Metrics, TokenLabels};
use crate::store::{Db, tokens};
use crate::wechat::WechatClient;

/// Never hand out a token this close to its end: the call it is for could outlive it.
const MIN_REMAINING_SECS: i64 = 30;
/// stable_token only rotates in a token's last 300 s; asking earlier returns the same one.
const STABLE_MAX_MARGIN_SECS: i64 = 290;
/// WeChat ignores a second force_refresh within 30 s; so do we.
const FORCE_SPACING: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessToken {
    pub value: Arc<str>,
    /// Unix seconds.
    pub expires_at: i64,
}

impl AccessToken {
    pub fn expires_in(&self, now: i64) -> i64 {
        (self.expires_at - now).max(0)
    }
}

/// Per-app state behind the single-flight mutex.
struct Slot {
    credentials: Credentials,
    last_force: Option<Instant>,
    last_fetch: Option<Instant>,
}

pub struct TokenManager {
    mode: TokenMode,
    margin: i64,
    client: WechatClient,
    remote: Option<Remote>,
    shared: Option<SharedTokens>,
    /// How long a cross-instance lock lives: a fetch may take two calls of `timeout_ms`.
    lock_ttl: Duration,
    db: Db,
    slots: HashMap<String, AppTokens>,
    metrics: Arc<Metrics>,
    // Looked up once: the hot path only bumps an atomic.
    cache_hits: Counter,
    cache_misses: Counter,
}

/// One app's token: the current one for readers, the slot for the one writer at a time.
struct AppTokens {
    current: ArcSwapOption<AccessToken>,
    slot: Mutex<Slot>,
}

impl AppTokens {
    /// The current token while it has more than `MIN_REMAINING_SECS` left.
    fn usable(&self, now: i64) -> Option<AccessToken> {
        let current = self.current.load();
        current
            .as_deref()
            .filter(|t| t.expires_at - now > MIN_REMAINING_SECS)
            .cloned()
    }
}

pub fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

impl TokenManager {
    pub fn new(
        settings: &Settings,
        client: WechatClient,
        db: Db,
        shared: Option<SharedTokens>,
        metrics: Arc<Metrics>,
    ) -> Arc<Self> {
        let lock_ttl =
            Duration::from_millis(settings.wechat.timeout_ms.max(1) * 2) + Duration::from_secs(2);
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
        let slots = settings
            .wechat
            .mini_program
            .iter()
            .filter(|(_, app)| mode == TokenMode::Remote || !app.app_id.is_empty())
            .map(|(name, app)| {
                let credentials = Credentials {
                    name: name.clone(),
                    app_id: if app.app_id.is_empty() {
                        name.clone()
                    } else {
                        app.app_id.clone()
                    },
                    secret: app.secret.clone(),
                };
                let slot = Slot {
                    credentials,
                    last_force: None,
                    last_fetch: None,
                };
                let tokens = AppTokens {
                    current: ArcSwapOption::empty(),
                    slot: Mutex::new(slot),
                };
                (name.clone(), tokens)
            })
            .collect();
        let lookups = |result| {
            metrics
                .cache_lookups
                .get_or_create(&CacheLabels {
                    cache: "access_token",
                    result,
                })
                .clone()
        };
        let (cache_hits, cache_misses) = (lookups("hit"), lookups("miss"));
        Arc::new(TokenManager {
            mode,
            margin,
            client,
            remote,
            shared,
            lock_ttl,
            db,
            slots,
            metrics,
            cache_hits,
            cache_misses,
        })
    }

    pub fn mode(&self) -> TokenMode {
        self.mode
    }

    /// The names of the apps this manager serves.
    pub fn apps(&self) -> impl Iterator<Item = &str> {
        self.slots.keys().map(String::as_str)
    }

    pub fn knows(&self, app: &str) -> bool {
        self.slots.contains_key(app)
    }

    /// The current token of `app`. The hot path is one wait-free read.
    pub async fn get(self: &Arc<Self>, app: &str) -> Result<AccessToken, AppError> {
        let now = now_unix();
        if let Some(token) = self.slots.get(app).and_then(|t| t.usable(now)) {
            self.cache_hits.inc();
            if token.expires_at - now <= self.margin {
                self.refresh_in_background(app);
            }
            return Ok(token);
        }
        self.cache_misses.inc();
        self.load(app, None).await
    }

    /// The current token of `app` (if usable), without fetching.
    fn current(&self, app: &str) -> Option<AccessToken> {
        self.slots.get(app).and_then(|t| t.usable(now_unix()))
    }

    /// Makes `token` the one every caller of `app` gets.
    fn publish(&self, app: &str, token: &AccessToken) {
        if let Some(tokens) = self.slots.get(app) {
            tokens.current.store(Some(Arc::new(token.clone())));
        }
    }

    /// Called with a token WeChat rejected (40001/42001/40014): refreshes only if it is
    /// still the current one, so a burst of rejections costs one upstream call.
    pub async fn refresh_if_current(
        self: &Arc<Self>,
        app: &str,
        rejected: &str,
    ) -> Result<AccessToken, AppError> {
        if let Some(token) = self.current(app) {
            if &*token.value != rejected {
                return Ok(token);
            }
        }
        self.load(app, Some(rejected)).await
    }

    /// What is stored for `app`, without fetching (for `wxa token` and admin stats).
    pub async fn stored(&self, app: &str) -> Result<Option<tokens::StoredToken>, AppError> {
        let Some(app_tokens) = self.slots.get(app) else {
            return Ok(None);
        };
        let app_id = app_tokens.slot.lock().await.credentials.app_id.clone();
        Ok(tokens::load(&self.db, &app_id, source::kind(self.mode)).await?)
    }

    async fn load(
        self: &Arc<Self>,
        app: &str,
        rejected: Option<&str>,
    ) -> Result<AccessToken, AppError> {
        let tokens = self
            .slots
            .get(app)
            .ok_or_else(|| AppError::invalid("app", "未配置的小程序"))?;
        let mut slot = tokens.slot.lock().await;
        self.load_locked(&mut slot, rejected, false).await
    }

    /// Under the app's lock: the current token again (a caller ahead of us may have
    /// refreshed), then the stored token, then upstream.
    async fn load_locked(
        &self,
        slot: &mut Slot,
        rejected: Option<&str>,
        ahead_of_expiry: bool,
    ) -> Result<AccessToken, AppError> {
        let name = slot.credentials.name.clone();
        let now = now_unix();
        let usable = |t: &AccessToken| {
            let left = t.expires_at - now;
            rejected != Some(&*t.value)
                && left > MIN_REMAINING_SECS
                && (!ahead_of_expiry || left > self.margin)
        };
        if let Some(token) = self.current(&name).filter(usable) {
            return Ok(token);
        }
        // Another holder's token (a peer instance, or ours before a restart) is worth
        // adopting only while it is outside the margin; inside it, we refresh.
        let adoptable = |t: &AccessToken| usable(t) && t.expires_at - now > self.margin;
        if let Some(token) = self.peer_token(slot, &adoptable).await? {
            self.publish(&name, &token);
            return Ok(token);
        }
        let held = match self.lock_across_instances(slot, &adoptable).await? {
            CrossLock::Adopted(token) => {
                self.publish(&name, &token);
                return Ok(token);
            }
            CrossLock::Held(held) => Some(held),
            CrossLock::Alone => None,
        };
        let result = self.fetch_and_store(slot, rejected).await;
        if let (Some(shared), Some(held)) = (&self.shared, held) {
            shared.unlock(held).await;
        }
        result
    }

    /// The token Redis or the database holds, if adoptable.
    async fn peer_token(
        &self,
        slot: &Slot,
        adoptable: &impl Fn(&AccessToken) -> bool,
    ) -> Result<Option<AccessToken>, AppError> {
        let (app_id, kind) = (&slot.credentials.app_id, source::kind(self.mode));
        if let Some(shared) = &self.shared {
            if let Some(token) = shared.get(kind, app_id).await.filter(adoptable) {
                return Ok(Some(token));
            }
        }
        // A database that is down only means no stored token to adopt.
        let stored = match tokens::load(&self.db, app_id, kind).await {
            Ok(stored) => stored,
            Err(e) => {
                tracing::warn!(app_id = %app_id, error = %e, "stored access_token unreadable");
                None
            }
        };
        Ok(stored
            .map(|s| AccessToken {
                value: s.token.into(),
                expires_at: s.expires_at,
            })
            .filter(adoptable))
    }

    /// With Redis: waits (bounded) for the app's cross-instance lock, adopting the token
    /// a peer publishes meanwhile. Without Redis, or when Redis fails: goes on alone.
    async fn lock_across_instances(
        &self,
        slot: &Slot,
        adoptable: &impl Fn(&AccessToken) -> bool,
    ) -> Result<CrossLock, AppError> {
        match &self.shared {
            None => Ok(CrossLock::Alone),
            Some(shared) => {
                let kind = source::kind(self.mode);
                shared
                    .wait_for_lock(kind, &slot.credentials.app_id, self.lock_ttl, adoptable)
                    .await
            }
        }
    }

    async fn fetch_and_store(
        &self,
        slot: &mut Slot,
        rejected: Option<&str>,
    ) -> Result<AccessToken, AppError> {
        let fresh = self.fetch(slot, rejected).await?;
        slot.last_fetch = Some(Instant::now());
        let now = now_unix();
        let token = AccessToken {
            value: fresh.access_token.into(),
            expires_at: now + fresh.expires_in,
        };
        let (name, app_id, kind) = (
            &slot.credentials.name,
            &slot.credentials.app_id,
            source::kind(self.mode),
        );
        // Publish first: WeChat already replaced the old token (classic mode), so callers
        // need this one whatever happens to the copies. The stored copy only saves a
        // restart a fetch; a database that is down must not fail the request.
        self.publish(name, &token);
        if let Some(shared) = &self.shared {
            shared.put(kind, app_id, &token, now).await;
        }
        if let Err(e) =
            tokens::save(&self.db, app_id, kind, &token.value, token.expires_at, now).await
        {
            tracing::warn!(app = %name, error = %e, "access_token in use but not stored: a restart will fetch a new one");
        }
        tracing::info!(app = %name, mode = kind, expires_in = fresh.expires_in, "access_token refreshed");
        Ok(token)
    }

    async fn fetch(&self, slot: &mut Slot, rejected: Option<&str>) -> Result<FreshToken, AppError> {
        let app = &slot.credentials;
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
                Ok(source::fetch_classic(&self.client, app).await?)
            }
            TokenMode::Stable => {
                count("stable");
                let fresh = source::fetch_stable(&self.client, app, false).await?;
                // The normal call hands back the token WeChat just refused: only a forced
                // refresh replaces it, and WeChat allows one per 30 s.
                let same = rejected.is_some_and(|r| r == fresh.access_token);
                let spaced = slot
                    .last_force
                    .is_none_or(|at| at.elapsed() >= FORCE_SPACING);
                if same && spaced {
                    count("stable_force");
                    slot.last_force = Some(Instant::now());
                    return Ok(source::fetch_stable(&self.client, app, true).await?);
                }
                Ok(fresh)
            }
            TokenMode::Remote => {
                count("remote");
                let remote = self
                    .remote
                    .as_ref()
                    .ok_or_else(|| AppError::internal("remote mode without remote settings"))?;
                source::fetch_remote(remote, &app.name, rejected).await
            }
        }
    }
}

/// Masks a token for display: the first 8 characters only.
pub fn mask_token(token: &str) -> String {
    let head: String = token.chars().take(8).collect();
    format!("{head}…({} chars)", token.chars().count())
}

impl std::fmt::Debug for TokenManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenManager")
            .field("mode", &self.mode)
            .field("margin", &self.margin)
            .finish()
    }
}
