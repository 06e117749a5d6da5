//! Counters the control API reads: calls per API and app, errors by errcode, tokens
//! issued per app and kind, image renders and cache hits.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Value, json};

use super::state::lock;

#[derive(Debug, Default)]
struct Inner {
    calls: HashMap<(&'static str, String), u64>,
    errors: HashMap<i64, u64>,
    errors_by_api: HashMap<(&'static str, i64), u64>,
    tokens: HashMap<(String, &'static str), u64>,
}

#[derive(Debug, Default)]
pub struct Counters {
    inner: Mutex<Inner>,
    renders: AtomicU64,
    cache_hits: AtomicU64,
    pushes: AtomicU64,
    http_faults: AtomicU64,
}

impl Counters {
    /// One call of `api` for `app` (empty when the app could not be told), with its errcode.
    pub fn call(&self, api: &'static str, app: &str, errcode: Option<i64>) {
        let mut inner = lock(&self.inner);
        *inner.calls.entry((api, app.to_owned())).or_default() += 1;
        if let Some(code) = errcode {
            *inner.errors.entry(code).or_default() += 1;
            *inner.errors_by_api.entry((api, code)).or_default() += 1;
        }
    }

    pub fn token_issued(&self, app: &str, kind: &'static str) {
        *lock(&self.inner)
            .tokens
            .entry((app.to_owned(), kind))
            .or_default() += 1;
    }

    pub fn rendered(&self) {
        self.renders.fetch_add(1, Ordering::Relaxed);
    }

    pub fn cache_hit(&self) {
        self.cache_hits.fetch_add(1, Ordering::Relaxed);
    }

    pub fn pushed(&self) {
        self.pushes.fetch_add(1, Ordering::Relaxed);
    }

    pub fn http_fault(&self) {
        self.http_faults.fetch_add(1, Ordering::Relaxed);
    }

    pub fn reset(&self) {
        *lock(&self.inner) = Inner::default();
        self.renders.store(0, Ordering::Relaxed);
        self.cache_hits.store(0, Ordering::Relaxed);
        self.pushes.store(0, Ordering::Relaxed);
        self.http_faults.store(0, Ordering::Relaxed);
    }

    /// The JSON the control API returns (sorted keys, stable for tests and diffs).
    pub fn snapshot(&self) -> Value {
        let inner = lock(&self.inner);
        let mut calls: BTreeMap<&str, BTreeMap<&str, u64>> = BTreeMap::new();
        let mut total = 0;
        for ((api, app), n) in &inner.calls {
            calls.entry(api).or_default().insert(app, *n);
            total += n;
        }
        let errors: BTreeMap<String, u64> = inner
            .errors
            .iter()
            .map(|(code, n)| (code.to_string(), *n))
            .collect();
        let mut errors_by_api: BTreeMap<&str, BTreeMap<String, u64>> = BTreeMap::new();
        for ((api, code), n) in &inner.errors_by_api {
            errors_by_api
                .entry(api)
                .or_default()
                .insert(code.to_string(), *n);
        }
        let mut tokens: BTreeMap<&str, BTreeMap<&str, u64>> = BTreeMap::new();
        for ((app, kind), n) in &inner.tokens {
            tokens.entry(app).or_default().insert(kind, *n);
        }
        json!({
            "calls": calls,
            "calls_total": total,
            "errors": errors,
            "errors_by_api": errors_by_api,
            "tokens_issued": tokens,
            "images_rendered": self.renders.load(Ordering::Relaxed),
            "image_cache_hits": self.cache_hits.load(Ordering::Relaxed),
            "pushes_sent": self.pushes.load(Ordering::Relaxed),
            "http_faults": self.http_faults.load(Ordering::Relaxed),
        })
    }
}
