//! Mini-program codes: `/api/qr_code` and `wxa pregen`.
//!
//! A code is addressed by the SHA-256 of its app and normalized parameters. A repeat is
//! answered from moka (no database, no file I/O), else from the `codes` table; only a
//! code never made reaches WeChat, once however many identical requests arrive together
//! (moka's per-key single flight). Making one runs in its own task, so a client that hangs
//! up cannot leave the quota, the file and the record out of step.

mod claim;
pub mod hot;
pub mod images;
mod job;
pub mod pacer;

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use moka::future::Cache;
use prometheus_client::metrics::counter::Counter;

use crate::domain::codes::{CodeKind, CodeSpec};
use crate::domain::target::Target;
use crate::error::{AppError, AppResult};
use crate::metrics::CacheLabels;
use crate::services::ServiceDeps;
use crate::services::admission::{Admit, Work};
use crate::services::mini_program::MiniProgramService;
use crate::store::Db;
use crate::store::codes::{self as store, CodeRow};

use claim::Claims;
use hot::{HotCache, HotEntry, Stamp};
use images::{ImageError, ImageStore, StoredImage};
use job::Job;
pub use job::QUOTA_EXHAUSTED;
use pacer::Pacer;

/// Records kept in memory; a record is ~200 bytes.
const CACHE_ENTRIES: u64 = 100_000;
/// A cached record is looked at again this often (its file may have been deleted).
const CACHE_TTL: Duration = Duration::from_secs(600);

/// A stored code, as handed out.
#[derive(Debug)]
pub struct StoredCode {
    pub id: i64,
    pub kind: CodeKind,
    pub width: u32,
    pub content_type: &'static str,
    pub file: String,
    /// Absolute: `storage.public_base_url` + file, or `server.public_url` + `/image/` + file.
    pub url: String,
    /// The controller's whole answer for a repeat, serialized once.
    pub repeat_response: OnceLock<Bytes>,
}

pub struct CodeResult {
    pub code: Arc<StoredCode>,
    /// False only for the request that made the code now.
    pub cached: bool,
    /// The image, when this request made it or asked for it.
    pub image: Option<Bytes>,
}

/// What the database holds for a code.
enum Lookup {
    /// Recorded, with its image.
    Ready(Arc<StoredCode>),
    /// Recorded, but its image is gone: made again under the same record.
    Missing(i64),
    None,
}

/// How long a call may wait for its `unlimited` pacing slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// Within `wechat.timeout_ms`, else 429 (HTTP requests).
    Request,
    /// As long as it takes (`wxa pregen`).
    Unbounded,
}

pub struct CodeService {
    db: Db,
    mini_program: Arc<MiniProgramService>,
    cache: Cache<[u8; 32], Arc<StoredCode>>,
    images: ImageStore,
    /// Finished `format=base64` answers and `/image/` bytes of repeated codes.
    hot: HotCache,
    pacer: Pacer,
    /// What image URLs start with, `/` included.
    image_base: String,
    limited_quota: u64,
    per_minute: u32,
    request_budget: Duration,
    claims: Claims,
    hits: Counter,
    misses: Counter,
    hot_hits: Counter,
    hot_misses: Counter,
}

impl CodeService {
    pub fn new(deps: &ServiceDeps) -> Result<Arc<Self>, ImageError> {
        let settings = &deps.settings;
        let lookups = |cache, result| {
            deps.metrics
                .cache_lookups
                .get_or_create(&CacheLabels { cache, result })
                .clone()
        };
        Ok(Arc::new(CodeService {
            db: deps.db.clone(),
            mini_program: deps.mini_program.clone(),
            cache: Cache::builder()
                .max_capacity(CACHE_ENTRIES)
                .time_to_live(CACHE_TTL)
                .build(),
            images: ImageStore::new(&settings.storage)?,
            hot: HotCache::new(settings.codes.hot_cache_mb.saturating_mul(1024 * 1024)),
            pacer: Pacer::new(settings.codes.unlimited_per_minute).shared(deps.redis.clone()),
            image_base: image_base(settings),
            limited_quota: settings.codes.limited_quota,
            per_minute: settings.codes.unlimited_per_minute,
            request_budget: Duration::from_millis(settings.wechat.timeout_ms),
            // The WeChat call (twice when its token is refreshed) and the image write.
            claims: Claims {
                lifetime: Duration::from_millis(settings.wechat.timeout_ms.max(1) * 2)
                    + Duration::from_secs(3),
            },
            hits: lookups("codes", "hit"),
            misses: lookups("codes", "miss"),
            hot_hits: lookups("hot", "hit"),
            hot_misses: lookups("hot", "miss"),
        }))
    }

    pub fn images(&self) -> &ImageStore {
        &self.images
    }

    pub fn hot(&self) -> &HotCache {
        &self.hot
    }

    /// An image for `/image/<file>`: `s3` from the bucket's own memory (`bucket.rs`); `fs`
    /// from the hot cache while the file is the one read, else from the folder.
    pub async fn image(&self, file: &str) -> Result<Arc<StoredImage>, ImageError> {
        let ImageStore::Dir(dir) = &self.images else {
            return self.images.fetch(file).await;
        };
        // Taken before reading, like `with_image`: a file replaced meanwhile is read again.
        let stamp = dir.stamp(file).ok_or(ImageError::NotFound)?;
        let bytes = match self.hot.image(file).await {
            Some(hit) if hit.stamp == stamp => hit.bytes,
            _ => {
                let bytes = Bytes::from(dir.read(file).await.map_err(images::io_error)?);
                let entry = HotEntry {
                    bytes: bytes.clone(),
                    file: file.into(),
                    stamp,
                };
                self.hot.put_image(entry).await;
                bytes
            }
        };
        Ok(Arc::new(StoredImage::from_file(file, bytes, stamp)))
    }

    /// The absolute URL handed out for a stored image.
    pub fn image_url(&self, file: &str) -> String {
        format!("{}{file}", self.image_base)
    }

    /// `unlimited` codes per minute and app, as configured.
    pub fn per_minute(&self) -> u32 {
        self.per_minute
    }

    /// The stored code for `spec`, made (and stored) first if there is none.
    pub async fn get_or_make(
        self: &Arc<Self>,
        target: &Target,
        spec: &CodeSpec,
        wait: Wait,
        admit: Admit<'_>,
    ) -> AppResult<CodeResult> {
        let key = spec.hash(&target.app_id);
        if let Some(code) = self.cache.get(&key).await {
            self.hits.inc();
            return Ok(CodeResult {
                code,
                cached: true,
                image: None,
            });
        }
        self.misses.inc();
        // Only new work passes the gate (outside the single flight, so one caller's 401
        // is not shared with the others waiting for the same code).
        if store::find_by_hash(&self.db, &hex(&key)).await?.is_none() {
            let work = if spec.kind.counts_against_quota() {
                Work::QuotaCode
            } else {
                Work::Other
            };
            admit.check(work).await?;
        }
        let mut made = None;
        let code = self
            .cache
            .try_get_with(key, self.load_or_make(key, target, spec, wait, &mut made))
            .await
            .map_err(|e| (*e).clone())?;
        Ok(CodeResult {
            code,
            cached: made.is_none(),
            image: made,
        })
    }

    /// The whole `format=base64` answer, `render(code, cached, image)`: a repeat's from
    /// the hot cache while its file is the one it was built from, else built from the
    /// store (and kept, when it is a repeat's).
    pub async fn inline_answer(
        self: &Arc<Self>,
        target: &Target,
        spec: &CodeSpec,
        wait: Wait,
        admit: Admit<'_>,
        render: impl Fn(&StoredCode, bool, &[u8]) -> Bytes,
    ) -> AppResult<Bytes> {
        let key = spec.hash(&target.app_id);
        if let Some(hit) = self.hot.answer(&key).await {
            if self.images.stamp(&hit.file) == Some(hit.stamp) {
                self.hot_hits.inc();
                return Ok(hit.bytes);
            }
        }
        if self.hot.enabled() {
            self.hot_misses.inc();
        }
        let (result, stamp) = self.with_image(target, spec, wait, admit).await?;
        let image = result.image.unwrap_or_default();
        let body = render(&result.code, result.cached, &image);
        if let (true, Some(stamp)) = (result.cached, stamp) {
            let entry = HotEntry {
                bytes: body.clone(),
                file: result.code.file.as_str().into(),
                stamp,
            };
            self.hot.put_answer(key, entry).await;
        }
        Ok(body)
    }

    /// Like `get_or_make`, with the image bytes (`format=base64`).
    pub async fn get_with_image(
        self: &Arc<Self>,
        target: &Target,
        spec: &CodeSpec,
        wait: Wait,
        admit: Admit<'_>,
    ) -> AppResult<CodeResult> {
        Ok(self.with_image(target, spec, wait, admit).await?.0)
    }

    /// The code with its image, and the stamp of the file read (taken before reading, so
    /// a file replaced meanwhile makes the stamp old, never the bytes); no stamp for an
    /// image made by this call.
    async fn with_image(
        self: &Arc<Self>,
        target: &Target,
        spec: &CodeSpec,
        wait: Wait,
        admit: Admit<'_>,
    ) -> AppResult<(CodeResult, Option<Stamp>)> {
        let mut result = self.get_or_make(target, spec, wait, admit).await?;
        if result.image.is_some() {
            return Ok((result, None));
        }
        let mut stamp = self.images.stamp(&result.code.file);
        match self.images.read(&result.code.file).await {
            Ok(bytes) => result.image = Some(bytes),
            Err(ImageError::NotFound) => {
                // Deleted behind our back: forget the record, so it is made again.
                let key = spec.hash(&target.app_id);
                self.cache.invalidate(&key).await;
                self.hot.forget_answer(&key).await;
                result = self.get_or_make(target, spec, wait, admit).await?;
                stamp = None;
                if result.image.is_none() {
                    stamp = self.images.stamp(&result.code.file);
                    let bytes = self.images.read(&result.code.file).await;
                    result.image = Some(bytes.map_err(|e| match e {
                        ImageError::NotFound => AppError::internal("a remade code is missing"),
                        other => other.into(),
                    })?);
                }
            }
            Err(e) => return Err(e.into()),
        }
        Ok((result, stamp))
    }

    /// The record (when its file is there), else a new code from WeChat, made by one
    /// instance of the cluster: the others wait for its record.
    async fn load_or_make(
        self: &Arc<Self>,
        key: [u8; 32],
        target: &Target,
        spec: &CodeSpec,
        wait: Wait,
        made: &mut Option<Bytes>,
    ) -> AppResult<Arc<StoredCode>> {
        let hash = hex(&key);
        // A live claim lapses after its lifetime, so waiting longer means something is
        // wrong with the database's clock or with us.
        let give_up = Instant::now() + self.claims.lifetime * 2;
        loop {
            if let Lookup::Ready(code) = self.lookup(&hash).await? {
                return Ok(code);
            }
            if let Some(claim) = self.claims.try_claim(&self.db, &hash).await? {
                // Looked at again under the claim: a peer may have recorded it between
                // our first look and our claim.
                let existing = match self.lookup(&hash).await? {
                    Lookup::Ready(code) => {
                        claim.release().await;
                        return Ok(code);
                    }
                    Lookup::Missing(id) => Some(id),
                    Lookup::None => None,
                };
                let job = Job {
                    service: self.clone(),
                    target: target.clone(),
                    spec: spec.clone(),
                    hash,
                    wait,
                    existing,
                };
                // Its own task, which also ends the claim: a client hanging up cannot
                // leave the quota, the image, the record and the claim out of step.
                let (code, bytes) = tokio::spawn(job.run(claim))
                    .await
                    .map_err(|e| AppError::internal(format!("code task: {e}")))??;
                // A new image under this code's name: nothing built from the old one may
                // be kept.
                self.hot.forget_answer(&key).await;
                self.hot.forget_image(&code.file).await;
                *made = Some(bytes);
                return Ok(code);
            }
            if Instant::now() >= give_up {
                return Err(AppError::Unavailable(
                    "另一实例正在生成该小程序码,请稍后重试".into(),
                ));
            }
            tokio::time::sleep(claim::POLL).await;
        }
    }

    /// The record of `hash`, if it is there and its image too.
    async fn lookup(&self, hash: &str) -> AppResult<Lookup> {
        let Some(row) = store::find_by_hash(&self.db, hash).await? else {
            return Ok(Lookup::None);
        };
        match self.images.exists(&row.file).await {
            Ok(true) => Ok(Lookup::Ready(self.stored(&row)?)),
            Ok(false) => {
                tracing::warn!(id = row.id, file = %row.file, "stored code image missing; making it again");
                Ok(Lookup::Missing(row.id))
            }
            // The record is only written once its image is complete; the store is asked
            // only to notice a deletion behind our back. Unreachable, trust it.
            Err(e) => {
                tracing::warn!(id = row.id, error = %e, "image store not answering; answering from the record");
                Ok(Lookup::Ready(self.stored(&row)?))
            }
        }
    }

    fn stored(&self, row: &CodeRow) -> AppResult<Arc<StoredCode>> {
        let kind = CodeKind::parse(&row.kind)
            .map_err(|_| AppError::internal(format!("code {} has kind {:?}", row.id, row.kind)))?;
        Ok(Arc::new(StoredCode {
            id: row.id,
            kind,
            width: u32::try_from(row.width).unwrap_or(0),
            content_type: if row.content_type == "image/png" {
                "image/png"
            } else {
                "image/jpeg"
            },
            url: self.image_url(&row.file),
            file: row.file.clone(),
            repeat_response: OnceLock::new(),
        }))
    }
}

/// `storage.public_base_url` (a CDN or the bucket) when set, else this product's `/image/`.
fn image_base(settings: &crate::config::Settings) -> String {
    match settings.storage.public_base_url.trim_end_matches('/') {
        "" => format!(
            "{}/image/",
            settings.server.public_url.trim_end_matches('/')
        ),
        base => format!("{base}/"),
    }
}

fn hex(bytes: &[u8; 32]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(64);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    s
}
