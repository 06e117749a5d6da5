//! Rate limits and quotas: the documented values (changeable through the control API so
//! tests can reach them quickly) and fixed-window counters.

use std::collections::HashMap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::clock::{day_index, minute_index};
use super::state::lock;

/// Every limit the simulator enforces, with WeChat's documented values as defaults.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitValues {
    /// `cgi-bin/token` calls per app per day (45009).
    pub token_daily: u64,
    /// `cgi-bin/stable_token` calls per app per minute (45011).
    pub stable_per_minute: u64,
    /// `cgi-bin/stable_token` calls per app per day (45009).
    pub stable_daily: u64,
    /// Effective force refreshes per app per day (45009).
    pub stable_force_daily: u64,
    /// Minimum spacing of force refreshes; a closer one returns the current token.
    pub stable_force_spacing_secs: i64,
    /// `wxa/getwxacodeunlimit` calls per app per minute (45011).
    pub unlimited_per_minute: u64,
    /// Distinct `getwxacode` + `createwxaqrcode` codes per app, lifetime (45029).
    pub code_lifetime: u64,
    /// Schemes plus URL links generated per app per day (44993).
    pub link_daily: u64,
    /// Schemes plus URL links generated per app per second (44990).
    pub link_per_second: u64,
    /// Permanent short links per app, lifetime (85400).
    pub shortlink_permanent: u64,
    /// `sns/jscode2session` calls per user (openid) per minute (45011).
    pub login_per_minute_per_user: u64,
    /// Opens of schemes and URL links per app per day (85406); `queryscheme` and
    /// `query_urllink` with `query_type = 1` report what is left.
    pub link_visit_daily: u64,
    /// `wxa/business/getuserphonenumber` calls per app per minute (45011; undocumented value).
    pub phone_per_minute: u64,
    /// The lifetime of every token issued from now on (WeChat's is 7200 s); tests shorten
    /// it to see refreshes ahead of expiry.
    pub token_lifetime_secs: i64,
    /// Not a WeChat limit: bytes of comment added to every JPEG code, to answer codes the
    /// size of real ones (30-60 KB at 430 px; the simulator's plain QR codes are smaller).
    pub image_pad_bytes: usize,
    /// Not a WeChat limit: draw every code this many pixels wide whatever the request
    /// asked (0: as asked); a few dozen makes images of a few hundred bytes.
    pub image_side_px: u32,
}

impl Default for LimitValues {
    fn default() -> Self {
        Self {
            token_daily: 2_000,
            stable_per_minute: 10_000,
            stable_daily: 500_000,
            stable_force_daily: 20,
            stable_force_spacing_secs: 30,
            unlimited_per_minute: 5_000,
            code_lifetime: 100_000,
            link_daily: 500_000,
            link_per_second: 100,
            shortlink_permanent: 100_000,
            login_per_minute_per_user: 100,
            link_visit_daily: 3_000_000,
            phone_per_minute: 10_000,
            token_lifetime_secs: super::token_store::LIFETIME_SECS,
            image_pad_bytes: 0,
            image_side_px: 0,
        }
    }
}

/// The length of a counting window.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Window {
    Second,
    Minute,
    Day,
    Lifetime,
}

impl Window {
    fn index(self, now: i64) -> i64 {
        match self {
            Window::Second => now,
            Window::Minute => minute_index(now),
            Window::Day => day_index(now),
            Window::Lifetime => 0,
        }
    }
}

type WindowKey = (&'static str, Window, String);

/// Fixed-window counters keyed by (limit name, window, subject).
#[derive(Debug, Default)]
pub struct Windows {
    counts: Mutex<HashMap<WindowKey, (i64, u64)>>,
}

impl Windows {
    /// Counts one call; false (and nothing counted) when the window is already full.
    pub fn try_hit(
        &self,
        name: &'static str,
        window: Window,
        subject: &str,
        cap: u64,
        now: i64,
    ) -> bool {
        let index = window.index(now);
        let mut counts = lock(&self.counts);
        let slot = counts
            .entry((name, window, subject.to_owned()))
            .or_insert((index, 0));
        if slot.0 != index {
            *slot = (index, 0);
        }
        if slot.1 >= cap {
            return false;
        }
        slot.1 += 1;
        true
    }

    /// How many calls the current window holds.
    pub fn used(&self, name: &'static str, window: Window, subject: &str, now: i64) -> u64 {
        let index = window.index(now);
        lock(&self.counts)
            .get(&(name, window, subject.to_owned()))
            .filter(|slot| slot.0 == index)
            .map_or(0, |slot| slot.1)
    }

    pub fn clear(&self) {
        lock(&self.counts).clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_window_refuses_until_the_next_one() {
        let windows = Windows::default();
        assert!(windows.try_hit("x", Window::Minute, "app", 2, 120));
        assert!(windows.try_hit("x", Window::Minute, "app", 2, 121));
        assert!(!windows.try_hit("x", Window::Minute, "app", 2, 179));
        assert!(windows.try_hit("x", Window::Minute, "app", 2, 180));
        assert_eq!(windows.used("x", Window::Minute, "app", 180), 1);
    }
}
