//! Pushes seen in the last 10 minutes (README "What an anonymous caller cannot do"): a push
//! signed by WeChat and captured on the way can be sent again while its timestamp is fresh;
//! its `msg_signature` and nonce mark it as one already acted on. Kept in Redis when set,
//! so a replay to another instance of a cluster is caught too, else in a bounded local
//! cache.

use std::time::Duration;

use moka::future::Cache;

use crate::store::redis::RedisStore;

/// As long as a timestamp is accepted.
pub const WINDOW: Duration = Duration::from_secs(600);

pub struct SeenPushes {
    local: Cache<String, ()>,
    redis: Option<RedisStore>,
}

impl SeenPushes {
    pub fn new(redis: Option<RedisStore>) -> Self {
        SeenPushes {
            local: Cache::builder()
                .max_capacity(100_000)
                .time_to_live(WINDOW)
                .build(),
            redis,
        }
    }

    /// Records the push; false when it was seen before (a replay).
    pub async fn first_time(&self, msg_signature: &str, nonce: &str) -> bool {
        // The signature check reads hex in either case: so must this, or the same push
        // with its letters recased would pass as new.
        let key = format!("{}:{nonce}", msg_signature.to_ascii_lowercase());
        let locally_new = self.local.entry(key.clone()).or_insert(()).await.is_fresh();
        let Some(redis) = &self.redis else {
            return locally_new;
        };
        let mut conn = redis.conn();
        let set: Result<Option<String>, _> = redis
            .run(
                redis::cmd("SET")
                    .arg(redis.key(format_args!("push:{key}")))
                    .arg(1)
                    .arg("NX")
                    .arg("EX")
                    .arg(WINDOW.as_secs())
                    .query_async(&mut conn),
            )
            .await;
        match set {
            Ok(stored) => locally_new && stored.is_some(),
            // Redis down: this instance's own memory decides.
            Err(_) => locally_new,
        }
    }
}
