//! Upstream calls in the last 24 hours, by API and errcode, for `/admin/stats`.
//!
//! Each (API, errcode) pair keeps a ring of 5-minute buckets; a bucket is reused once it is
//! a day old, so the window slides in 5-minute steps and memory stays fixed per pair.
//! Recording takes a std mutex for a few instructions (never held across an await) and
//! allocates only the first time a pair is seen.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

/// Width of one bucket, in seconds.
const BUCKET_SECS: i64 = 300;
/// Buckets in the window: 24 hours.
const BUCKETS: usize = (24 * 3600 / BUCKET_SECS) as usize;

#[derive(Default)]
pub struct CallStats {
    by_api: Mutex<HashMap<&'static str, HashMap<String, Ring>>>,
}

/// `(bucket number since the epoch, calls in it)` per slot.
struct Ring(Box<[(i64, u64); BUCKETS]>);

impl Ring {
    fn new() -> Self {
        Ring(Box::new([(-1, 0); BUCKETS]))
    }

    fn add(&mut self, bucket: i64) {
        let slot = &mut self.0[bucket.rem_euclid(BUCKETS as i64) as usize];
        if slot.0 == bucket {
            slot.1 += 1;
        } else {
            *slot = (bucket, 1);
        }
    }

    /// Calls in the buckets of the last 24 hours up to `bucket`.
    fn total(&self, bucket: i64) -> u64 {
        let oldest = bucket - BUCKETS as i64;
        self.0
            .iter()
            .filter(|(b, _)| *b > oldest && *b <= bucket)
            .map(|(_, n)| n)
            .sum()
    }
}

/// One API's calls in the window: `errcode` "0" is success; the rest are the labels of
/// `WechatError::label` (a WeChat errcode, `timeout`, `transport`, `http_5xx`, `decode`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct ApiCalls {
    pub api: &'static str,
    pub calls: u64,
    pub errors: u64,
    pub by_errcode: BTreeMap<String, u64>,
}

impl CallStats {
    /// Counts one finished call at unix second `now`.
    pub fn record(&self, api: &'static str, errcode: &str, now: i64) {
        let bucket = now.div_euclid(BUCKET_SECS);
        let Ok(mut by_api) = self.by_api.lock() else {
            return; // a panic elsewhere poisoned it: stats are not worth another
        };
        let codes = by_api.entry(api).or_default();
        match codes.get_mut(errcode) {
            Some(ring) => ring.add(bucket),
            None => {
                let mut ring = Ring::new();
                ring.add(bucket);
                codes.insert(errcode.to_owned(), ring);
            }
        }
    }

    /// Every API called in the 24 hours before `now`, by name.
    pub fn last_24h(&self, now: i64) -> Vec<ApiCalls> {
        let bucket = now.div_euclid(BUCKET_SECS);
        let Ok(by_api) = self.by_api.lock() else {
            return Vec::new();
        };
        let mut out: Vec<ApiCalls> = by_api
            .iter()
            .filter_map(|(api, codes)| {
                let by_errcode: BTreeMap<String, u64> = codes
                    .iter()
                    .map(|(code, ring)| (code.clone(), ring.total(bucket)))
                    .filter(|(_, n)| *n > 0)
                    .collect();
                let calls: u64 = by_errcode.values().sum();
                let errors = calls - by_errcode.get("0").copied().unwrap_or(0);
                (calls > 0).then_some(ApiCalls {
                    api,
                    calls,
                    errors,
                    by_errcode,
                })
            })
            .collect();
        out.sort_by_key(|c| c.api);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_700_000_000;

    #[test]
    fn calls_are_counted_by_api_and_errcode() {
        let stats = CallStats::default();
        stats.record("getwxacodeunlimit", "0", T0);
        stats.record("getwxacodeunlimit", "0", T0 + 10);
        stats.record("getwxacodeunlimit", "45009", T0 + 20);
        stats.record("stable_token", "0", T0);
        let all = stats.last_24h(T0 + 30);
        assert_eq!(all.len(), 2);
        let codes = &all[0];
        assert_eq!(codes.api, "getwxacodeunlimit");
        assert_eq!((codes.calls, codes.errors), (3, 1));
        assert_eq!(codes.by_errcode["45009"], 1);
        assert_eq!((all[1].calls, all[1].errors), (1, 0));
    }

    #[test]
    fn calls_older_than_a_day_drop_out_of_the_window() {
        let stats = CallStats::default();
        stats.record("stable_token", "0", T0);
        stats.record("stable_token", "-1", T0 + 12 * 3600);
        assert_eq!(stats.last_24h(T0 + 23 * 3600)[0].calls, 2);
        let later = stats.last_24h(T0 + 25 * 3600);
        assert_eq!((later[0].calls, later[0].errors), (1, 1));
        assert!(stats.last_24h(T0 + 37 * 3600).is_empty());
        // A reused slot starts again from one.
        stats.record("stable_token", "0", T0 + 24 * 3600);
        let again = stats.last_24h(T0 + 24 * 3600);
        assert_eq!(again[0].by_errcode["0"], 1);
    }
}
