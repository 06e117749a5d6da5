//! The one Redis connection (when `redis.url` is set), shared by whatever coordinates
//! instances: the token lock and shared token, the code pacer. Every key is prefixed.

use std::time::Duration;

use redis::aio::ConnectionManager;

#[derive(Clone)]
pub struct RedisStore {
    conn: ConnectionManager,
    prefix: String,
}

impl RedisStore {
    pub async fn connect(url: &str, prefix: &str) -> Result<Self, redis::RedisError> {
        let client = redis::Client::open(url)?;
        let conn = tokio::time::timeout(Duration::from_secs(5), client.get_connection_manager())
            .await
            .map_err(|_| {
                redis::RedisError::from(std::io::Error::from(std::io::ErrorKind::TimedOut))
            })??;
        Ok(RedisStore {
            conn,
            prefix: prefix.to_owned(),
        })
    }

    /// `<prefix>:<rest>`.
    pub fn key(&self, rest: std::fmt::Arguments<'_>) -> String {
        format!("{}:{rest}", self.prefix)
    }

    /// A handle for one command; clones share the multiplexed connection.
    pub fn conn(&self) -> ConnectionManager {
        self.conn.clone()
    }
}
