//! Tokens shared across instances through Redis: the current token of each app, and a
//! lock so that one instance at a time asks WeChat. The lock expires on its own, so a
//! holder that dies frees it. Redis trouble is logged once by the store
//! (`src/store/redis.rs`); here it only means "go on alone".

use std::time::{Duration, Instant};

use super::AccessToken;
use crate::error::AppError;
use crate::store::redis::RedisStore;

/// Deletes the lock only if we still hold it (another holder may own it after expiry).
const UNLOCK: &str = r#"if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) else return 0 end"#;

#[derive(Clone)]
pub struct SharedTokens {
    redis: RedisStore,
    unlock: redis::Script,
}

/// How often a waiter looks at Redis while a peer refreshes.
const LOCK_POLL: Duration = Duration::from_millis(50);

/// The outcome of waiting for the cross-instance lock.
pub enum CrossLock {
    /// A peer published a usable token meanwhile.
    Adopted(AccessToken),
    /// We hold the lock: fetch, publish, then unlock.
    Held(Held),
    /// No Redis, or Redis failed: refresh on our own.
    Alone,
}

/// A held lock: its key and our random value.
pub struct Held {
    key: String,
    value: String,
}

impl SharedTokens {
    pub fn new(redis: RedisStore) -> Self {
        SharedTokens {
            redis,
            unlock: redis::Script::new(UNLOCK),
        }
    }

    fn token_key(&self, kind: &str, app_id: &str) -> String {
        self.redis.key(format_args!("token:{kind}:{app_id}"))
    }

    /// The shared token, if any. Redis trouble reads as "none": instances then fall back
    /// to their own single flight and the database.
    pub async fn get(&self, kind: &str, app_id: &str) -> Option<AccessToken> {
        let mut conn = self.redis.conn();
        let raw: Option<String> = match self
            .redis
            .run(
                redis::cmd("GET")
                    .arg(self.token_key(kind, app_id))
                    .query_async(&mut conn),
            )
            .await
        {
            Ok(v) => v,
            Err(e) => {
                tracing::debug!(error = %e, "redis: reading the shared token failed");
                return None;
            }
        };
        let (expires_at, token) = raw?
            .split_once(':')
            .map(|(e, t)| (e.parse().ok(), t.to_owned()))?;
        Some(AccessToken {
            value: token.into(),
            expires_at: expires_at?,
        })
    }

    pub async fn put(&self, kind: &str, app_id: &str, token: &AccessToken, now: i64) {
        let ttl_ms = (token.expires_at - now).max(1) * 1000;
        let mut conn = self.redis.conn();
        let value = format!("{}:{}", token.expires_at, token.value);
        let stored: Result<(), _> = self
            .redis
            .run(
                redis::cmd("SET")
                    .arg(self.token_key(kind, app_id))
                    .arg(value)
                    .arg("PX")
                    .arg(ttl_ms)
                    .query_async(&mut conn),
            )
            .await;
        if let Err(e) = stored {
            tracing::debug!(error = %e, "redis: storing the shared token failed");
        }
    }

    /// Drops the shared token (an authorization was cancelled).
    pub async fn remove(&self, kind: &str, app_id: &str) {
        let mut conn = self.redis.conn();
        let removed: Result<i64, _> = self
            .redis
            .run(
                redis::cmd("DEL")
                    .arg(self.token_key(kind, app_id))
                    .query_async(&mut conn),
            )
            .await;
        if let Err(e) = removed {
            tracing::warn!(error = %e, kind, "redis: dropping a shared token failed (it expires on its own)");
        }
    }

    /// One attempt at the app's lock. `Err` means Redis is unusable (callers go on alone).
    pub async fn try_lock(
        &self,
        kind: &str,
        app_id: &str,
        ttl: Duration,
    ) -> Result<Option<Held>, redis::RedisError> {
        let key = self.redis.key(format_args!("lock:{kind}:{app_id}"));
        let value = uuid::Uuid::new_v4().simple().to_string();
        let mut conn = self.redis.conn();
        let got: Option<String> = self
            .redis
            .run(
                redis::cmd("SET")
                    .arg(&key)
                    .arg(&value)
                    .arg("NX")
                    .arg("PX")
                    .arg(ttl.as_millis() as u64)
                    .query_async(&mut conn),
            )
            .await?;
        Ok(got.map(|_| Held { key, value }))
    }

    /// Waits for the app's lock, at most one lock lifetime (after which a dead holder's
    /// lock has expired), adopting a token a peer publishes meanwhile.
    pub async fn wait_for_lock(
        &self,
        kind: &str,
        app_id: &str,
        ttl: Duration,
        adoptable: &impl Fn(&AccessToken) -> bool,
    ) -> Result<CrossLock, AppError> {
        let deadline = Instant::now() + ttl + Duration::from_secs(1);
        loop {
            match self.try_lock(kind, app_id, ttl).await {
                Ok(Some(held)) => {
                    // A peer may have published just before we got the lock.
                    if let Some(token) = self.get(kind, app_id).await.filter(adoptable) {
                        self.unlock(held).await;
                        return Ok(CrossLock::Adopted(token));
                    }
                    return Ok(CrossLock::Held(held));
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::debug!(error = %e, "redis: token lock unavailable; refreshing alone");
                    return Ok(CrossLock::Alone);
                }
            }
            if let Some(token) = self.get(kind, app_id).await.filter(adoptable) {
                return Ok(CrossLock::Adopted(token));
            }
            if Instant::now() >= deadline {
                return Err(AppError::upstream("another instance holds the token lock"));
            }
            tokio::time::sleep(LOCK_POLL).await;
        }
    }

    pub async fn unlock(&self, held: Held) {
        let mut conn = self.redis.conn();
        let released: Result<i64, _> = self
            .redis
            .run(
                self.unlock
                    .key(&held.key)
                    .arg(&held.value)
                    .invoke_async(&mut conn),
            )
            .await;
        if let Err(e) = released {
            tracing::debug!(error = %e, "redis: releasing the token lock failed (it expires on its own)");
        }
    }
}
