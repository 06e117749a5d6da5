//! Single-flight token slots for the component and the authorizers, persisted in
//! `access_tokens` (kinds `component` and `authorizer`) so a restart reuses them.
//!
//! A hit is one cache read. A miss takes the appid's async mutex, so concurrent callers
//! make one upstream call; with Redis, the same cross-instance lock and shared copy as the
//! mini-program tokens (`src/services/token/shared.rs`) make it one call per cluster.
//! Inside the refresh margin, the caller that gets the mutex refreshes while the others
//! keep the still-valid token.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex as StdMutex};

use moka::future::Cache;
use tokio::sync::Mutex;

use crate::error::AppError;
use crate::services::token::shared::CrossLock;
use crate::services::token::{AccessToken, SharedTokens, now_unix};
use crate::store::{Db, open_platform as store, tokens};

/// Never hand out a token this close to its end: the call it is for could outlive it.
const MIN_REMAINING_SECS: i64 = 30;

pub struct TokenSlots {
    kind: &'static str,
    margin: i64,
    db: Db,
    cache: Cache<String, AccessToken>,
    locks: StdMutex<HashMap<String, Arc<Mutex<()>>>>,
    shared: Option<SharedTokens>,
    /// How long a cross-instance lock lives (a fetch and its retries fit in it).
    lock_ttl: std::time::Duration,
}

impl TokenSlots {
    pub fn new(
        kind: &'static str,
        margin: i64,
        db: Db,
        shared: Option<SharedTokens>,
        lock_ttl: std::time::Duration,
    ) -> Self {
        TokenSlots {
            kind,
            margin: margin.max(MIN_REMAINING_SECS),
            db,
            cache: Cache::new(10_000),
            locks: StdMutex::new(HashMap::new()),
            shared,
            lock_ttl,
        }
    }

    /// The current token of `app_id`; `fetch` asks WeChat for a new one.
    pub async fn get<F, Fut>(&self, app_id: &str, fetch: F) -> Result<AccessToken, AppError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<AccessToken, AppError>>,
    {
        if let Some(token) = self.cache.get(app_id).await {
            let left = token.expires_at - now_unix();
            if left > self.margin {
                return Ok(token);
            }
            if left > MIN_REMAINING_SECS {
                let lock = self.lock(app_id);
                let Ok(_held) = lock.try_lock() else {
                    return Ok(token);
                };
                return match self.load_locked(app_id, None, fetch).await {
                    Ok(fresh) => Ok(fresh),
                    Err(e) => {
                        tracing::warn!(kind = self.kind, app_id, error = %e, "early token refresh failed");
                        Ok(token)
                    }
                };
            }
        }
        let lock = self.lock(app_id);
        let _held = lock.lock().await;
        self.load_locked(app_id, None, fetch).await
    }

    /// Compare-and-invalidate: refreshes only if `rejected` is still the current token.
    pub async fn refresh_if_current<F, Fut>(
        &self,
        app_id: &str,
        rejected: &str,
        fetch: F,
    ) -> Result<AccessToken, AppError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<AccessToken, AppError>>,
    {
        let lock = self.lock(app_id);
        let _held = lock.lock().await;
        self.load_locked(app_id, Some(rejected), fetch).await
    }

    /// Stores a token obtained elsewhere (api_query_auth hands one out).
    pub async fn put(&self, app_id: &str, token: &AccessToken) -> Result<(), AppError> {
        let now = now_unix();
        // Published first (this instance, then the others), persisted after.
        self.cache.insert(app_id.to_owned(), token.clone()).await;
        if let Some(shared) = &self.shared {
            shared.put(self.kind, app_id, token, now).await;
        }
        tokens::save(
            &self.db,
            app_id,
            self.kind,
            &token.value,
            token.expires_at,
            now,
        )
        .await?;
        Ok(())
    }

    /// Drops the cached and the stored token (the authorization was cancelled).
    pub async fn forget(&self, app_id: &str) -> Result<(), AppError> {
        let lock = self.lock(app_id);
        let _held = lock.lock().await;
        self.cache.invalidate(app_id).await;
        if let Some(shared) = &self.shared {
            shared.remove(self.kind, app_id).await;
        }
        store::delete_token(&self.db, app_id, self.kind).await?;
        Ok(())
    }

    /// A usable token a peer instance published (Redis) or stored (the database).
    async fn peer_token(
        &self,
        app_id: &str,
        good: &impl Fn(&AccessToken) -> bool,
    ) -> Result<Option<AccessToken>, AppError> {
        if let Some(shared) = &self.shared {
            if let Some(token) = shared.get(self.kind, app_id).await.filter(good) {
                return Ok(Some(token));
            }
        }
        Ok(tokens::load(&self.db, app_id, self.kind)
            .await?
            .map(|stored| AccessToken {
                value: stored.token.into(),
                expires_at: stored.expires_at,
            })
            .filter(good))
    }

    fn lock(&self, app_id: &str) -> Arc<Mutex<()>> {
        let mut locks = self.locks.lock().unwrap_or_else(|e| e.into_inner());
        locks.entry(app_id.to_owned()).or_default().clone()
    }

    /// Under the appid's mutex: the cache again (a caller ahead may have refreshed), the
    /// stored token, then upstream.
    async fn load_locked<F, Fut>(
        &self,
        app_id: &str,
        rejected: Option<&str>,
        fetch: F,
    ) -> Result<AccessToken, AppError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<AccessToken, AppError>>,
    {
        let now = now_unix();
        let good =
            |t: &AccessToken| rejected != Some(&*t.value) && t.expires_at - now > self.margin;
        if let Some(token) = self.cache.get(app_id).await.filter(good) {
            return Ok(token);
        }
        if let Some(token) = self.peer_token(app_id, &good).await? {
            self.cache.insert(app_id.to_owned(), token.clone()).await;
            return Ok(token);
        }
        let held = match &self.shared {
            None => None,
            Some(shared) => match shared
                .wait_for_lock(self.kind, app_id, self.lock_ttl, &good)
                .await?
            {
                CrossLock::Adopted(token) => {
                    self.cache.insert(app_id.to_owned(), token.clone()).await;
                    return Ok(token);
                }
                CrossLock::Held(held) => Some(held),
                CrossLock::Alone => None,
            },
        };
        let fetched = fetch().await;
        let result = match fetched {
            Ok(token) => self.put(app_id, &token).await.map(|()| token),
            Err(e) => Err(e),
        };
        if let (Some(shared), Some(held)) = (&self.shared, held) {
            shared.unlock(held).await;
        }
        let token = result?;
        tracing::info!(kind = self.kind, app_id, "token refreshed");
        Ok(token)
    }
}
