//! The one Redis connection (when `redis.url` is set), shared by whatever coordinates
//! instances: the token lock and shared token, the code pacer. Every key is prefixed.
//!
//! Redis is a helper, never a dependency: when it is unreachable each instance goes on
//! alone (README "Running several instances"). Every command therefore runs under a short
//! deadline, and a breaker stops trying for a while after a failure, so a request pays the
//! deadline at most once per outage window instead of on every command. After the pause one
//! command probes; when Redis answers again the instance rejoins by itself.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{ErrorKind, RedisError, RedisResult};

/// How long the breaker stays open before one command probes again.
const PAUSE: Duration = Duration::from_secs(2);

#[derive(Clone)]
pub struct RedisStore {
    conn: ConnectionManager,
    prefix: Arc<str>,
    timeout: Duration,
    breaker: Arc<Breaker>,
}

impl RedisStore {
    /// Checks the URL and returns at once: the connection is made by the first command,
    /// so an instance starts (alone) while Redis is down and joins when it comes up.
    pub fn connect(url: &str, prefix: &str, timeout: Duration) -> RedisResult<Self> {
        let client = redis::Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            // Reconnecting is the breaker's job: one try per probe.
            .set_number_of_retries(0);
        let conn = ConnectionManager::new_lazy_with_config(client, config)?;
        Ok(RedisStore {
            conn,
            prefix: prefix.into(),
            timeout,
            breaker: Arc::new(Breaker::new()),
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

    /// Runs one command (built on `conn()`) under the deadline and the breaker. While the
    /// breaker is open it fails at once without touching the network.
    pub async fn run<T>(&self, command: impl Future<Output = RedisResult<T>>) -> RedisResult<T> {
        if !self.breaker.allows(Instant::now()) {
            return Err(RedisError::from((
                ErrorKind::Io,
                "redis unavailable (breaker open)",
            )));
        }
        let outcome = match tokio::time::timeout(self.timeout, command).await {
            Ok(outcome) => outcome,
            Err(_) => Err(RedisError::from(std::io::Error::from(
                std::io::ErrorKind::TimedOut,
            ))),
        };
        match &outcome {
            Err(e) if unreachable(e) => {
                if self.breaker.trip(Instant::now()) {
                    tracing::warn!(error = %e, pause_ms = PAUSE.as_millis() as u64, "redis unreachable: going on alone");
                }
            }
            _ => {
                if self.breaker.close() {
                    tracing::info!("redis reachable again: sharing state with the other instances");
                }
            }
        }
        outcome
    }

    /// Whether Redis answers a PING now (for `/readyz`; under the breaker, so a down Redis
    /// costs nothing while the breaker is open).
    pub async fn is_up(&self) -> bool {
        let mut conn = self.conn();
        self.run(redis::cmd("PING").query_async::<String>(&mut conn))
            .await
            .is_ok()
    }
}

/// Errors that say Redis cannot be reached, as opposed to a refused command.
fn unreachable(e: &RedisError) -> bool {
    e.is_io_error()
        || e.is_timeout()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || e.is_unrecoverable_error()
}

/// Closed (0), or open until a moment (milliseconds since `epoch`). Lock-free: it is
/// consulted by every Redis command.
struct Breaker {
    epoch: Instant,
    open_until_ms: AtomicU64,
}

const CLOSED: u64 = 0;

impl Breaker {
    fn new() -> Self {
        Breaker {
            epoch: Instant::now(),
            open_until_ms: AtomicU64::new(CLOSED),
        }
    }

    fn ms(&self, at: Instant) -> u64 {
        // +1 so that no open state is ever confused with CLOSED.
        at.saturating_duration_since(self.epoch).as_millis() as u64 + 1
    }

    /// Closed: yes. Open: no, until the pause has passed; then exactly one caller gets to
    /// probe (it pushes the deadline on for everyone else while it tries).
    fn allows(&self, now: Instant) -> bool {
        let until = self.open_until_ms.load(Ordering::Acquire);
        if until == CLOSED {
            return true;
        }
        let now_ms = self.ms(now);
        if now_ms < until {
            return false;
        }
        self.open_until_ms
            .compare_exchange(
                until,
                now_ms + PAUSE.as_millis() as u64,
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .is_ok()
    }

    /// Opens for `PAUSE`; true when it was closed (the outage starts now).
    fn trip(&self, now: Instant) -> bool {
        let until = self.ms(now + PAUSE);
        self.open_until_ms.swap(until, Ordering::AcqRel) == CLOSED
    }

    /// Closes; true when it was open (Redis is back).
    fn close(&self) -> bool {
        self.open_until_ms.load(Ordering::Acquire) != CLOSED
            && self.open_until_ms.swap(CLOSED, Ordering::AcqRel) != CLOSED
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_breaker_pauses_then_lets_one_probe_through() {
        let b = Breaker::new();
        let t0 = Instant::now();
        assert!(b.allows(t0));
        assert!(b.trip(t0));
        assert!(!b.trip(t0), "already open");
        assert!(!b.allows(t0 + PAUSE / 2));
        let later = t0 + PAUSE + Duration::from_millis(1);
        assert!(b.allows(later), "one probe");
        assert!(!b.allows(later), "only one");
        assert!(b.close());
        assert!(b.allows(later));
        assert!(!b.close(), "already closed");
    }
}
