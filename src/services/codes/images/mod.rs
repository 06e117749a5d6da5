//! The image store: where code images live (`storage.backend`), a local folder (`fs`) or
//! an S3-compatible bucket (`s3`). Either way a file is complete before anyone can see it
//! (fs: temp file and rename; s3: a PUT is atomic), so the record written after it never
//! points at a missing or partial image.

mod bucket;
mod dir;

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;

pub use bucket::{Bucket, StoredImage};
pub use dir::ImageDir;

use super::hot::Stamp;
use crate::config::{StorageBackend, StorageSettings};
use crate::error::AppError;

/// Image names are content hashes, so an image never changes: clients and CDNs may keep
/// it for a year.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";

#[derive(Debug, Clone, thiserror::Error)]
pub enum ImageError {
    #[error("no such image")]
    NotFound,
    /// The object store did not answer in time or answered 5xx: worth a retry.
    #[error("object store unavailable: {0}")]
    Unavailable(String),
    /// Anything else: a refused request (credentials, a missing bucket), a disk error.
    #[error("image store: {0}")]
    Failed(String),
}

impl From<ImageError> for AppError {
    fn from(e: ImageError) -> Self {
        match e {
            ImageError::NotFound => AppError::NotFound,
            ImageError::Unavailable(why) => {
                AppError::StoreUnavailable(format!("object store: {why}"))
            }
            ImageError::Failed(why) => AppError::Internal(format!("image store: {why}")),
        }
    }
}

pub enum ImageStore {
    Dir(ImageDir),
    Bucket(Bucket),
}

impl ImageStore {
    pub fn new(settings: &StorageSettings) -> Result<Self, ImageError> {
        Ok(match settings.backend {
            StorageBackend::Fs => ImageStore::Dir(ImageDir::new(&settings.dir)),
            StorageBackend::S3 => ImageStore::Bucket(Bucket::new(settings)?),
        })
    }

    /// `fs` or `s3`, for `/readyz`.
    pub fn backend(&self) -> &'static str {
        match self {
            ImageStore::Dir(_) => "fs",
            ImageStore::Bucket(_) => "s3",
        }
    }

    /// The folder, for the `fs` backend (served by actix-files).
    pub fn dir(&self) -> Option<&Path> {
        match self {
            ImageStore::Dir(dir) => Some(dir.root()),
            ImageStore::Bucket(_) => None,
        }
    }

    /// Stores `bytes` as `file`, all or nothing.
    pub async fn write(&self, file: &str, bytes: Bytes) -> Result<(), ImageError> {
        match self {
            ImageStore::Dir(dir) => dir.write(file, bytes).await.map_err(io_error),
            ImageStore::Bucket(bucket) => bucket.write(file, bytes).await,
        }
    }

    pub async fn exists(&self, file: &str) -> Result<bool, ImageError> {
        match self {
            ImageStore::Dir(dir) => dir.exists(file).await.map_err(io_error),
            ImageStore::Bucket(bucket) => bucket.exists(file).await,
        }
    }

    /// The version of `file` the store holds now, or `None` when there is none, without
    /// waiting: `fs` asks the file system (a stat of a local file takes a microsecond or
    /// two, less than handing it to a blocking thread would); `s3` objects are taken as
    /// first read (`bucket.rs`), so their stamp is constant.
    pub fn stamp(&self, file: &str) -> Option<Stamp> {
        match self {
            ImageStore::Dir(dir) => dir.stamp(file),
            ImageStore::Bucket(_) => Some(Stamp::OBJECT),
        }
    }

    pub async fn read(&self, file: &str) -> Result<Bytes, ImageError> {
        match self {
            ImageStore::Dir(dir) => dir.read(file).await.map(Bytes::from).map_err(io_error),
            ImageStore::Bucket(bucket) => bucket.fetch(file).await.map(|i| i.bytes.clone()),
        }
    }

    /// The image with what serving it needs (`s3`; the `fs` backend serves files itself).
    pub async fn fetch(&self, file: &str) -> Result<Arc<StoredImage>, ImageError> {
        match self {
            ImageStore::Dir(_) => Err(ImageError::Failed("fetch is for the s3 backend".into())),
            ImageStore::Bucket(bucket) => bucket.fetch(file).await,
        }
    }

    pub async fn remove(&self, file: &str) -> Result<(), ImageError> {
        match self {
            ImageStore::Dir(dir) => dir.remove(file).await.map_err(io_error),
            ImageStore::Bucket(bucket) => bucket.remove(file).await,
        }
    }

    /// Answers when the store can be written now: asked before spending a WeChat call
    /// on a code that could not be stored, and by `/readyz`.
    pub async fn ping(&self) -> Result<(), ImageError> {
        match self {
            ImageStore::Dir(_) => Ok(()),
            ImageStore::Bucket(bucket) => bucket.ping().await,
        }
    }

    /// `fs`: creates the folders and clears temp files of dead writers (how many).
    pub fn prepare(&self) -> std::io::Result<usize> {
        match self {
            ImageStore::Dir(dir) => dir.prepare(),
            ImageStore::Bucket(_) => Ok(0),
        }
    }
}

pub(super) fn io_error(e: std::io::Error) -> ImageError {
    match e.kind() {
        std::io::ErrorKind::NotFound => ImageError::NotFound,
        _ => ImageError::Failed(e.to_string()),
    }
}

/// The file extension for an image content type.
pub fn extension(content_type: &str) -> &'static str {
    match content_type {
        "image/png" => "png",
        _ => "jpg",
    }
}

/// The content type of an image file by its extension; `None` for anything else, which
/// `/image/` never serves.
pub fn content_type_of(file: &str) -> Option<&'static str> {
    let (_, ext) = file.rsplit_once('.')?;
    match ext.to_ascii_lowercase().as_str() {
        "jpg" | "jpeg" => Some("image/jpeg"),
        "png" => Some("image/png"),
        _ => None,
    }
}

/// Whether `/image/<file>` may be answered: one plain name (no folders, not hidden,
/// no temp file) of an image type.
pub fn servable(file: &str) -> bool {
    !file.is_empty()
        && !file.starts_with('.')
        && file
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
        && content_type_of(file).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_image_names_are_servable() {
        for ok in ["abc.png", "9b0c3f.jpg", "A-b_c.JPEG"] {
            assert!(servable(ok), "{ok}");
        }
        for bad in [
            "",
            ".tmp",
            ".hidden.png",
            "x.jpg.tmp",
            "a/b.png",
            "..%2fa.png",
            "x.txt",
            "x",
            "x.png?",
        ] {
            assert!(!servable(bad), "{bad}");
        }
        assert_eq!(content_type_of("a.PNG"), Some("image/png"));
        assert_eq!(extension("image/png"), "png");
        assert_eq!(extension("image/jpeg"), "jpg");
    }
}
