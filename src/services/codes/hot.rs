//! The hot cache: finished answers for repeated codes, in memory and bounded by bytes
//! (`codes.hot_cache_mb`, 0 = off), shared by every worker of the process.
//!
//! Two kinds of entry share the budget: the whole `format=base64` answer of a code (keyed
//! by the code's hash) and the raw bytes of an `/image/<file>` (keyed by the file name).
//! An entry carries the `Stamp` of the file it was built from; a hit whose file no longer
//! has that stamp (deleted, or made again by any process) is not used, so the cache never
//! answers an image the store no longer holds.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use bytes::Bytes;
use moka::future::Cache;

/// What identifies one version of a stored file: the `fs` backend's inode, length and
/// modification time (a remade file is renamed into place, so it gets a new inode). The
/// `s3` backend's objects are taken as they were first read (see `images/bucket.rs`), so
/// their stamp is constant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    pub ino: u64,
    pub len: u64,
    pub modified: SystemTime,
}

impl Stamp {
    pub const OBJECT: Stamp = Stamp {
        ino: 0,
        len: 0,
        modified: SystemTime::UNIX_EPOCH,
    };
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum HotKey {
    /// A code's whole `format=base64` answer.
    Answer([u8; 32]),
    /// An `/image/` file's bytes.
    Image(Arc<str>),
}

/// One cached answer and the file version it was built from.
#[derive(Debug, Clone)]
pub struct HotEntry {
    pub bytes: Bytes,
    pub file: Arc<str>,
    pub stamp: Stamp,
}

/// What an entry costs beyond its bytes (key, file name, moka's bookkeeping), roughly.
const OVERHEAD: usize = 160;

pub struct HotCache {
    cache: Option<Cache<HotKey, HotEntry>>,
    /// Bytes inserted since moka last applied its pending writes.
    pending: AtomicU64,
    /// moka applies inserts (and evicts) in batches of up to thousands of writes, which at
    /// tens of kilobytes each would overshoot the bound by far: past this many bytes the
    /// inserting request applies them.
    flush_at: u64,
}

impl HotCache {
    /// A cache of at most `max_bytes`; 0 turns it off.
    pub fn new(max_bytes: u64) -> Self {
        let cache = (max_bytes > 0).then(|| {
            Cache::builder()
                .max_capacity(max_bytes)
                .weigher(|_, entry: &HotEntry| {
                    u32::try_from(entry.bytes.len() + entry.file.len() + OVERHEAD)
                        .unwrap_or(u32::MAX)
                })
                .build()
        });
        HotCache {
            cache,
            pending: AtomicU64::new(0),
            flush_at: (max_bytes / 16).max(1),
        }
    }

    async fn insert(&self, key: HotKey, entry: HotEntry) {
        let Some(cache) = &self.cache else { return };
        let weight = entry.bytes.len() as u64;
        cache.insert(key, entry).await;
        if self.pending.fetch_add(weight, Ordering::Relaxed) + weight >= self.flush_at {
            self.pending.store(0, Ordering::Relaxed);
            cache.run_pending_tasks().await;
        }
    }

    pub fn enabled(&self) -> bool {
        self.cache.is_some()
    }

    pub async fn answer(&self, code: &[u8; 32]) -> Option<HotEntry> {
        self.cache.as_ref()?.get(&HotKey::Answer(*code)).await
    }

    pub async fn put_answer(&self, code: [u8; 32], entry: HotEntry) {
        self.insert(HotKey::Answer(code), entry).await;
    }

    pub async fn forget_answer(&self, code: &[u8; 32]) {
        if let Some(cache) = &self.cache {
            cache.invalidate(&HotKey::Answer(*code)).await;
        }
    }

    pub async fn image(&self, file: &str) -> Option<HotEntry> {
        self.cache.as_ref()?.get(&HotKey::Image(file.into())).await
    }

    pub async fn put_image(&self, entry: HotEntry) {
        self.insert(HotKey::Image(entry.file.clone()), entry).await;
    }

    pub async fn forget_image(&self, file: &str) {
        if let Some(cache) = &self.cache {
            cache.invalidate(&HotKey::Image(file.into())).await;
        }
    }

    /// Bytes held (after pending evictions), for tests and metrics.
    pub async fn weighted_size(&self) -> u64 {
        match &self.cache {
            Some(cache) => {
                cache.run_pending_tasks().await;
                cache.weighted_size()
            }
            None => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(len: usize, file: &str) -> HotEntry {
        HotEntry {
            bytes: Bytes::from(vec![b'A'; len]),
            file: file.into(),
            stamp: Stamp::OBJECT,
        }
    }

    #[tokio::test]
    async fn holds_no_more_bytes_than_its_bound() {
        let bound = 256 * 1024;
        let hot = HotCache::new(bound);
        for i in 0u32..200 {
            let mut key = [0u8; 32];
            key[..4].copy_from_slice(&i.to_be_bytes());
            hot.put_answer(key, entry(10_000, "a.jpg")).await;
            hot.put_image(entry(5_000, &format!("{i}.jpg"))).await;
        }
        // 3 MB went in; what is reachable stays near the bound before any explicit flush.
        let Some(cache) = &hot.cache else {
            panic!("on")
        };
        let reachable: usize = cache.iter().map(|(_, e)| e.bytes.len()).sum();
        assert!(
            reachable as u64 <= bound + bound / 16 + 10_000,
            "{reachable}"
        );
        // At most the bound stays, and something does.
        let held = hot.weighted_size().await;
        assert!(held <= bound, "{held} > {bound}");
        assert!(held > 0);
    }

    #[tokio::test]
    async fn zero_turns_it_off() {
        let hot = HotCache::new(0);
        assert!(!hot.enabled());
        hot.put_answer([1; 32], entry(10, "a.jpg")).await;
        assert!(hot.answer(&[1; 32]).await.is_none());
        assert_eq!(hot.weighted_size().await, 0);
    }

    #[tokio::test]
    async fn answers_and_images_are_kept_apart_and_forgotten() {
        let hot = HotCache::new(1 << 20);
        hot.put_answer([7; 32], entry(10, "x.jpg")).await;
        hot.put_image(entry(20, "x.jpg")).await;
        assert_eq!(hot.answer(&[7; 32]).await.map(|e| e.bytes.len()), Some(10));
        assert_eq!(hot.image("x.jpg").await.map(|e| e.bytes.len()), Some(20));
        hot.forget_answer(&[7; 32]).await;
        assert!(hot.answer(&[7; 32]).await.is_none());
        assert!(hot.image("x.jpg").await.is_some());
        hot.forget_image("x.jpg").await;
        assert!(hot.image("x.jpg").await.is_none());
    }
}
