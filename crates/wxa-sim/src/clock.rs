//! The simulator's clock: wall time plus an offset that tests move forward.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds in a WeChat day window. Days start at midnight Beijing time (UTC+8).
const DAY_SECS: i64 = 86_400;
const BEIJING_OFFSET_SECS: i64 = 8 * 3_600;

#[derive(Debug, Default)]
pub struct Clock {
    offset_secs: AtomicI64,
}

impl Clock {
    /// Unix seconds as the simulator sees them.
    pub fn now(&self) -> i64 {
        wall_secs() + self.offset_secs.load(Ordering::Relaxed)
    }

    pub fn offset(&self) -> i64 {
        self.offset_secs.load(Ordering::Relaxed)
    }

    /// Moves time forward (or back, with a negative value) by `secs`.
    pub fn advance(&self, secs: i64) -> i64 {
        self.offset_secs.fetch_add(secs, Ordering::Relaxed) + secs
    }

    pub fn set_offset(&self, secs: i64) {
        self.offset_secs.store(secs, Ordering::Relaxed);
    }
}

/// The index of the WeChat day (Beijing time) that contains `now`.
pub fn day_index(now: i64) -> i64 {
    (now + BEIJING_OFFSET_SECS).div_euclid(DAY_SECS)
}

/// The index of the minute that contains `now`.
pub fn minute_index(now: i64) -> i64 {
    now.div_euclid(60)
}

fn wall_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advancing_moves_now_forward() {
        let clock = Clock::default();
        let before = clock.now();
        clock.advance(600);
        assert!(clock.now() >= before + 600);
        assert_eq!(clock.offset(), 600);
    }

    #[test]
    fn days_start_at_beijing_midnight() {
        // 2024-01-01T16:00:00Z is midnight in Beijing.
        let midnight = 1_704_124_800;
        assert_eq!(day_index(midnight - 1) + 1, day_index(midnight));
    }
}
