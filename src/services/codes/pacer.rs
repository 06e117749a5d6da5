//! Pacing of `getwxacodeunlimit` per app: each call reserves the next free slot, one
//! every `interval`, and sleeps until it. Reservations are first come, first served, and
//! a caller knows at once how long it would wait, so it can refuse (429) instead of
//! waiting past its budget. (A token-bucket crate such as governor checks but cannot
//! reserve a future slot, which fairness and the budget need.)
//!
//! WeChat counts calls in calendar minutes. Slots are spaced 2% wider than
//! `60 s / per_minute`, so any 60 s (plus up to 1.2 s of clock skew or network jitter)
//! holds at most `per_minute` calls: no 45011 however the minutes fall.
//!
//! With `redis.url` set, the next free slot lives in Redis (reserved by one script on
//! Redis's own clock), so every instance and `wxa pregen` share one pace per app. If
//! Redis fails, the process falls back to its own pace.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::store::redis::RedisStore;

/// Slots are this much wider than the exact share of a minute.
const MARGIN: f64 = 0.02;

pub struct Pacer {
    interval: Duration,
    /// The next free slot of each app (by appid).
    next: Mutex<HashMap<String, Instant>>,
    shared: Option<(RedisStore, redis::Script)>,
}

/// Reserves the next slot: returns the wait in ms, or `-(wait + 1)` when the wait would
/// exceed the budget (ARGV[2], -1 = none), reserving nothing then.
const RESERVE: &str = r#"
local t = redis.call("TIME")
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local slot = math.max(now, tonumber(redis.call("GET", KEYS[1]) or "0"))
local wait = slot - now
local budget = tonumber(ARGV[2])
if budget >= 0 and wait > budget then return -wait - 1 end
redis.call("SET", KEYS[1], slot + tonumber(ARGV[1]), "PX", wait + tonumber(ARGV[1]) + 60000)
return wait
"#;

/// The wait a caller would face, when it is longer than its budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooLong(pub Duration);

impl Pacer {
    pub fn new(per_minute: u32) -> Self {
        let per_minute = f64::from(per_minute.max(1));
        Pacer {
            interval: Duration::from_secs_f64(60.0 * (1.0 + MARGIN) / per_minute),
            next: Mutex::new(HashMap::new()),
            shared: None,
        }
    }

    /// Keeps the pace in Redis, shared by every instance.
    pub fn shared(mut self, redis: Option<RedisStore>) -> Self {
        self.shared = redis.map(|r| (r, redis::Script::new(RESERVE)));
        self
    }

    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Reserves `app_id`'s next slot and returns when it starts; `None` budget waits as
    /// long as it takes. Nothing is reserved when the wait would exceed the budget.
    pub fn reserve(&self, app_id: &str, budget: Option<Duration>) -> Result<Instant, TooLong> {
        self.reserve_at(app_id, budget, Instant::now())
    }

    fn reserve_at(
        &self,
        app_id: &str,
        budget: Option<Duration>,
        now: Instant,
    ) -> Result<Instant, TooLong> {
        let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
        let slot = match next.get(app_id) {
            Some(&at) if at > now => at,
            _ => now,
        };
        let wait = slot - now;
        if budget.is_some_and(|b| wait > b) {
            return Err(TooLong(wait));
        }
        match next.get_mut(app_id) {
            Some(at) => *at = slot + self.interval,
            None => {
                next.insert(app_id.to_owned(), slot + self.interval);
            }
        }
        Ok(slot)
    }

    /// Waits for `app_id`'s next slot (see `reserve`).
    pub async fn pace(&self, app_id: &str, budget: Option<Duration>) -> Result<(), TooLong> {
        if let Some(shared) = &self.shared {
            match self.reserve_shared(shared, app_id, budget).await {
                Ok(wait) => {
                    tokio::time::sleep(wait).await;
                    return Ok(());
                }
                Err(Some(too_long)) => return Err(too_long),
                Err(None) => {} // Redis failed: keep our own pace.
            }
        }
        let slot = self.reserve(app_id, budget)?;
        tokio::time::sleep_until(slot).await;
        Ok(())
    }

    async fn reserve_shared(
        &self,
        (redis, script): &(RedisStore, redis::Script),
        app_id: &str,
        budget: Option<Duration>,
    ) -> Result<Duration, Option<TooLong>> {
        let budget_ms = budget.map_or(-1, |b| b.as_millis() as i64);
        let key = redis.key(format_args!("pace:unlimited:{app_id}"));
        let mut conn = redis.conn();
        let reserved: Result<i64, _> = redis
            .run(
                script
                    .key(key)
                    .arg(self.interval.as_millis() as u64)
                    .arg(budget_ms)
                    .invoke_async(&mut conn),
            )
            .await;
        match reserved {
            Ok(wait) if wait >= 0 => Ok(Duration::from_millis(wait as u64)),
            Ok(refused) => Err(Some(TooLong(Duration::from_millis((-refused - 1) as u64)))),
            Err(e) => {
                // The outage itself is logged once by the store (src/store/redis.rs).
                tracing::debug!(error = %e, "redis: shared pace unavailable; pacing alone");
                Err(None)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_spaced_and_a_full_budget_is_refused_without_reserving() {
        let pacer = Pacer::new(600); // one per 102 ms
        let step = pacer.interval();
        let start = Instant::now();
        let budget = Some(step * 3);
        let slots: Vec<_> = (0..4)
            .map(|_| {
                pacer
                    .reserve_at("wx1", budget, start)
                    .expect("within budget")
            })
            .collect();
        assert_eq!(slots[0], start);
        assert_eq!(slots[3] - slots[0], step * 3);
        assert_eq!(
            pacer.reserve_at("wx1", budget, start),
            Err(TooLong(step * 4))
        );
        // Another app has its own pace; the refusal reserved nothing.
        assert_eq!(pacer.reserve_at("wx2", budget, start), Ok(start));
        let later = start + step * 4;
        assert_eq!(pacer.reserve_at("wx1", budget, later), Ok(later));
        // An idle app starts again at once, with no burst saved up.
        let much_later = start + step * 100;
        assert_eq!(pacer.reserve_at("wx1", None, much_later), Ok(much_later));
        assert_eq!(
            pacer.reserve_at("wx1", None, much_later),
            Ok(much_later + step)
        );
    }

    #[test]
    fn any_minute_holds_at_most_the_limit() {
        for per_minute in [1u32, 7, 10, 600, 5000] {
            let pacer = Pacer::new(per_minute);
            // Calls in a 61.1 s window (a minute plus skew), the first at its very start.
            let window = Duration::from_millis(61_100);
            let calls = (window.as_secs_f64() / pacer.interval().as_secs_f64()).ceil() as u32;
            assert!(calls <= per_minute, "{per_minute}/min: {calls}");
            let share = 60.0 / pacer.interval().as_secs_f64() / f64::from(per_minute);
            assert!(share > 0.97, "{per_minute}/min paced at {share}");
        }
    }
}
