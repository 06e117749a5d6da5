//! New WeChat work per client address and minute (`limits.per_ip_per_minute`).
//!
//! A fixed window per address and minute, counted in Redis when it is set (so a cluster
//! counts once: `INCR` then an expiry) and in a bounded in-process cache otherwise or
//! while Redis is down. One algorithm in both places keeps their answers alike. governor
//! (GCRA) was the alternative: it has no shared-store mode, so the Redis path would be a
//! second algorithm beside it; moka, already here, bounds the local table by entries and
//! age, so invented addresses cannot grow it.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use crate::error::AppError;
use crate::services::token::now_unix;
use crate::store::redis::RedisStore;

/// Counts one hit and returns the window's count; the key lives a little over a minute.
const HIT: &str = r#"local n = redis.call("INCR", KEYS[1])
if n == 1 then redis.call("PEXPIRE", KEYS[1], 61000) end
return n"#;

/// Addresses tracked at most in-process (a few MB), the oldest forgotten first.
const LOCAL_ENTRIES: u64 = 100_000;

pub struct RateLimiter {
    per_minute: u32,
    local: moka::future::Cache<(IpAddr, i64), Arc<AtomicU32>>,
    shared: Option<(RedisStore, redis::Script)>,
}

impl RateLimiter {
    pub fn new(per_minute: u32, redis: Option<RedisStore>) -> Self {
        RateLimiter {
            per_minute,
            local: moka::future::Cache::builder()
                .max_capacity(LOCAL_ENTRIES)
                .time_to_live(Duration::from_secs(61))
                .build(),
            shared: redis.map(|r| (r, redis::Script::new(HIT))),
        }
    }

    /// One unit of new work for `client`: 429 with `Retry-After` past the limit.
    pub async fn admit(&self, client: IpAddr) -> Result<(), AppError> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let now = now_unix();
        let minute = now.div_euclid(60);
        let count = match self.shared_hit(client, minute).await {
            Some(n) => n,
            None => self.local_hit(client, minute).await,
        };
        if count <= u64::from(self.per_minute) {
            return Ok(());
        }
        Err(AppError::RateLimited {
            msg: format!(
                "请求过于频繁: 每个客户端每分钟最多 {} 次新的微信调用(生成码、链接、登录、绑定手机号)",
                self.per_minute
            )
            .into(),
            wechat: None,
            retry_after: Some((60 - now.rem_euclid(60)) as u64),
        })
    }

    async fn local_hit(&self, client: IpAddr, minute: i64) -> u64 {
        let counter = self
            .local
            .get_with((client, minute), async { Arc::default() })
            .await;
        u64::from(counter.fetch_add(1, Ordering::Relaxed)) + 1
    }

    /// `None` without Redis or when it fails (the local window then counts).
    async fn shared_hit(&self, client: IpAddr, minute: i64) -> Option<u64> {
        let (redis, script) = self.shared.as_ref()?;
        let key = redis.key(format_args!("rate:{client}:{minute}"));
        let mut conn = redis.conn();
        redis
            .run(script.key(key).invoke_async::<u64>(&mut conn))
            .await
            .ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn each_address_gets_its_own_window() {
        let limiter = RateLimiter::new(3, None);
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        for _ in 0..3 {
            limiter.admit(a).await.unwrap();
        }
        match limiter.admit(a).await {
            Err(AppError::RateLimited { retry_after, .. }) => {
                assert!(matches!(retry_after, Some(1..=60)), "{retry_after:?}");
            }
            other => panic!("expected 429, got {other:?}"),
        }
        limiter.admit(b).await.unwrap();
        assert!(RateLimiter::new(0, None).admit(a).await.is_ok(), "0 = off");
    }
}
