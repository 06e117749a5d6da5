//! The `s3` backend: code images as objects in an S3-compatible bucket (AWS S3, MinIO,
//! Aliyun OSS and Tencent COS through their S3 endpoints), through Apache Arrow's
//! `object_store`.
//!
//! Every call is bounded (a short connect timeout, one quick retry, and a hard deadline)
//! so a store that is down costs a request well under 2 s and becomes a 503, instead of
//! the client library's default of minutes of retries. Images read for serving are kept
//! in memory: their names are content hashes, so a copy never goes stale, and the ones
//! already served keep being served while the store is down.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use moka::future::Cache;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path;
use object_store::{
    Attribute, Attributes, BackoffConfig, ClientOptions, ObjectStore, ObjectStoreExt, PutOptions,
    RetryConfig,
};
use secrecy::ExposeSecret;

use super::{IMMUTABLE, ImageError, content_type_of};
use crate::config::StorageSettings;
use crate::services::codes::hot::Stamp;

/// Connecting to a healthy store in the same region takes milliseconds.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(300);
/// One request, body included (images are tens of kilobytes).
const REQUEST_TIMEOUT: Duration = Duration::from_millis(1000);
/// The whole operation, retries included: the 503 comes well within 2 s.
const DEADLINE: Duration = Duration::from_millis(1500);
/// Memory for images read back for serving.
const CACHE_BYTES: u64 = 64 * 1024 * 1024;

/// An image read from the bucket, with what its HTTP answer needs.
#[derive(Debug)]
pub struct StoredImage {
    pub bytes: Bytes,
    /// The store's entity tag, quoted (`"…"`): the same on every instance.
    pub etag: String,
    pub last_modified: SystemTime,
    pub content_type: &'static str,
}

impl StoredImage {
    /// A file of the `fs` backend, with the validators actix-files gives it (`ETag` from
    /// inode, length and modification time), so either way of serving it agrees.
    pub fn from_file(file: &str, bytes: Bytes, stamp: Stamp) -> Self {
        let since = stamp
            .modified
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        StoredImage {
            bytes,
            etag: format!(
                "\"{:x}:{:x}:{:x}:{:x}\"",
                stamp.ino,
                stamp.len,
                since.as_secs(),
                since.subsec_nanos()
            ),
            last_modified: stamp.modified,
            content_type: content_type_of(file).unwrap_or("application/octet-stream"),
        }
    }
}

pub struct Bucket {
    store: AmazonS3,
    /// For messages (the client's `Debug` is its whole configuration, keys included).
    name: String,
    /// Key prefix without slashes at either end; empty for the bucket's root.
    prefix: String,
    cache: Cache<String, Arc<StoredImage>>,
}

impl Bucket {
    pub fn new(settings: &StorageSettings) -> Result<Self, ImageError> {
        let virtual_hosted = settings.virtual_hosted();
        let options = ClientOptions::new()
            .with_allow_http(settings.endpoint.starts_with("http://"))
            .with_connect_timeout(CONNECT_TIMEOUT)
            .with_timeout(REQUEST_TIMEOUT);
        let retry = RetryConfig {
            backoff: BackoffConfig {
                init_backoff: Duration::from_millis(50),
                max_backoff: Duration::from_millis(200),
                base: 2.0,
            },
            max_retries: 1,
            retry_timeout: Duration::from_secs(1),
        };
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&settings.bucket)
            .with_region(&settings.region)
            .with_access_key_id(&settings.access_key_id)
            .with_secret_access_key(settings.secret_access_key.expose_secret())
            .with_virtual_hosted_style_request(virtual_hosted)
            .with_client_options(options)
            .with_retry(retry);
        if !settings.endpoint.is_empty() {
            let endpoint = if virtual_hosted {
                bucket_host(&settings.endpoint, &settings.bucket)
            } else {
                settings.endpoint.trim_end_matches('/').to_owned()
            };
            builder = builder.with_endpoint(endpoint);
        }
        let store = builder
            .build()
            .map_err(|e| ImageError::Failed(format!("storage settings: {e}")))?;
        Ok(Bucket {
            store,
            name: settings.bucket.clone(),
            prefix: settings.prefix.trim_matches('/').to_owned(),
            cache: Cache::builder()
                .max_capacity(CACHE_BYTES)
                .weigher(|_, image: &Arc<StoredImage>| {
                    u32::try_from(image.bytes.len()).unwrap_or(u32::MAX)
                })
                .build(),
        })
    }

    fn path(&self, file: &str) -> Path {
        if self.prefix.is_empty() {
            Path::from(file)
        } else {
            Path::from(format!("{}/{file}", self.prefix))
        }
    }

    /// One PUT: the object exists whole or not at all.
    pub async fn write(&self, file: &str, bytes: Bytes) -> Result<(), ImageError> {
        let mut attributes = Attributes::new();
        let content_type = content_type_of(file).unwrap_or("application/octet-stream");
        attributes.insert(Attribute::ContentType, content_type.into());
        // So a CDN or the bucket's own URL (`public_base_url`) serves it like `/image/`.
        attributes.insert(Attribute::CacheControl, IMMUTABLE.into());
        let options = PutOptions {
            attributes,
            ..PutOptions::default()
        };
        let path = self.path(file);
        match within(self.store.put_opts(&path, bytes.into(), options)).await {
            Ok(_) => Ok(()),
            // On a PUT, a 404 is the bucket's.
            Err(ImageError::NotFound) => Err(ImageError::Failed(format!(
                "bucket {:?} not found",
                self.name
            ))),
            Err(e) => Err(e),
        }
    }

    pub async fn exists(&self, file: &str) -> Result<bool, ImageError> {
        if self.cache.contains_key(file) {
            return Ok(true);
        }
        match within(self.store.head(&self.path(file))).await {
            Ok(_) => Ok(true),
            Err(ImageError::NotFound) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The image, from memory or else the bucket (concurrent misses share one GET).
    pub async fn fetch(&self, file: &str) -> Result<Arc<StoredImage>, ImageError> {
        self.cache
            .try_get_with_by_ref(file, self.load(file))
            .await
            .map_err(|e| (*e).clone())
    }

    async fn load(&self, file: &str) -> Result<Arc<StoredImage>, ImageError> {
        let read = async {
            let got = self.store.get(&self.path(file)).await?;
            let meta = got.meta.clone();
            Ok((got.bytes().await?, meta))
        };
        let (bytes, meta) = within(read).await?;
        let etag = match meta.e_tag {
            Some(tag) if tag.starts_with('"') || tag.starts_with("W/") => tag,
            Some(tag) => format!("\"{tag}\""),
            // Some gateways send none: size and time identify a content-addressed file.
            None => format!("\"{:x}-{:x}\"", meta.size, meta.last_modified.timestamp()),
        };
        Ok(Arc::new(StoredImage {
            content_type: content_type_of(file).unwrap_or("application/octet-stream"),
            last_modified: SystemTime::from(meta.last_modified),
            etag,
            bytes,
        }))
    }

    pub async fn remove(&self, file: &str) -> Result<(), ImageError> {
        self.cache.invalidate(file).await;
        match within(self.store.delete(&self.path(file))).await {
            Ok(()) | Err(ImageError::NotFound) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Any answer from the store (even a 404 or 403 for the probe key) means it is up.
    pub async fn ping(&self) -> Result<(), ImageError> {
        match within(self.store.head(&self.path(".ping"))).await {
            Ok(_) | Err(ImageError::NotFound) | Err(ImageError::Failed(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// Runs one store operation under the deadline, with its error classified.
async fn within<T>(
    operation: impl Future<Output = object_store::Result<T>>,
) -> Result<T, ImageError> {
    match tokio::time::timeout(DEADLINE, operation).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(classify(e)),
        Err(_) => Err(ImageError::Unavailable(format!(
            "no answer within {} ms",
            DEADLINE.as_millis()
        ))),
    }
}

fn classify(e: object_store::Error) -> ImageError {
    match e {
        object_store::Error::NotFound { .. } => ImageError::NotFound,
        // Transport failures, timeouts and 5xx answers once the retry is spent.
        object_store::Error::Generic { .. } => ImageError::Unavailable(e.to_string()),
        // Refused credentials, bad requests: a configuration to fix, not to wait out.
        other => ImageError::Failed(other.to_string()),
    }
}

/// `https://endpoint` -> `https://bucket.endpoint` for virtual-hosted requests (kept as
/// is when it already names the bucket).
fn bucket_host(endpoint: &str, bucket: &str) -> String {
    let trimmed = endpoint.trim_end_matches('/');
    let Ok(mut url) = url::Url::parse(trimmed) else {
        return trimmed.to_owned();
    };
    let Some(host) = url.host_str().map(str::to_owned) else {
        return trimmed.to_owned();
    };
    let is_domain = matches!(url.host(), Some(url::Host::Domain(_)));
    if !is_domain
        || host.starts_with(&format!("{bucket}."))
        || url.set_host(Some(&format!("{bucket}.{host}"))).is_err()
    {
        return trimmed.to_owned();
    }
    url.as_str().trim_end_matches('/').to_owned()
}

#[cfg(test)]
mod tests {
    use super::bucket_host;

    #[test]
    fn virtual_hosted_endpoints_name_the_bucket_once() {
        assert_eq!(
            bucket_host("https://oss-cn-hangzhou.aliyuncs.com", "codes"),
            "https://codes.oss-cn-hangzhou.aliyuncs.com"
        );
        assert_eq!(
            bucket_host("https://codes.cos.ap-guangzhou.myqcloud.com/", "codes"),
            "https://codes.cos.ap-guangzhou.myqcloud.com"
        );
        // An address cannot carry the bucket: left for the server to route.
        assert_eq!(
            bucket_host("http://127.0.0.1:9000", "b"),
            "http://127.0.0.1:9000"
        );
    }
}
