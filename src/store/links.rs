//! The `links` table: every scheme, URL link and short link WeChat made for us, so an
//! identical request (here, on another instance, or after a restart) can reuse one.

use sha1::{Digest, Sha1};

use crate::store::Db;

/// What a link is for; identical requests have equal descriptions.
#[derive(Debug, Clone, Copy)]
pub struct LinkTarget<'a> {
    pub app_id: &'a str,
    /// `scheme`, `url_link` or `short_link`.
    pub kind: &'static str,
    pub path: &'a str,
    pub query: &'a str,
    /// `''` for short links.
    pub env_version: &'a str,
    /// `''` except for short links.
    pub title: &'a str,
    pub permanent: bool,
}

impl LinkTarget<'_> {
    /// The indexed digest of every field (length-prefixed, so fields cannot run together).
    /// Lookups still compare each column: a digest only narrows the search.
    fn lookup(&self) -> String {
        let mut hasher = Sha1::new();
        let permanent = if self.permanent { "1" } else { "0" };
        for field in [
            self.app_id,
            self.kind,
            self.path,
            self.query,
            self.env_version,
            self.title,
            permanent,
        ] {
            hasher.update((field.len() as u64).to_le_bytes());
            hasher.update(field.as_bytes());
        }
        hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// A stored link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredLink {
    pub id: i64,
    pub link: String,
    /// Unix seconds; 0 = never.
    pub expires_at: i64,
}

/// The stored link for `target` that expires latest, at `min_expires_at` or later, made for
/// `interval` days (0: whatever it was made for).
pub async fn find_reusable(
    db: &Db,
    target: &LinkTarget<'_>,
    min_expires_at: i64,
    interval: i64,
) -> Result<Option<StoredLink>, sqlx::Error> {
    let row: Option<(i64, String, i64)> = db
        .query(
            "SELECT id, link, expires_at FROM links \
         WHERE lookup = $1 AND app_id = $2 AND kind = $3 AND path = $4 AND query = $5 \
         AND env_version = $6 AND title = $7 AND permanent = $8 \
         AND expires_at >= $9 AND ($10 = 0 OR expire_interval = $10) \
         ORDER BY expires_at DESC, id DESC LIMIT 1",
        )
        .bind(target.lookup())
        .bind(target.app_id)
        .bind(target.kind)
        .bind(target.path)
        .bind(target.query)
        .bind(target.env_version)
        .bind(target.title)
        .bind(i64::from(target.permanent))
        .bind(min_expires_at)
        .bind(interval)
        .fetch_optional(db.pool())
        .await?;
    Ok(row.map(|(id, link, expires_at)| StoredLink {
        id,
        link,
        expires_at,
    }))
}

/// Records a link WeChat made for `interval` days (0: an absolute expiry, or permanent);
/// returns its id. WeChat's links are unique, so a link seen
/// twice (it never should be) keeps its first row and id.
pub async fn insert(
    db: &Db,
    target: &LinkTarget<'_>,
    link: &str,
    interval: i64,
    expires_at: i64,
    now: i64,
) -> Result<i64, sqlx::Error> {
    db.query(
        "INSERT INTO links (app_id, kind, lookup, path, query, env_version, title, permanent, \
         link, expire_interval, expires_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
         ON CONFLICT (kind, link) DO UPDATE SET link = excluded.link \
         RETURNING id",
    )
    .bind(target.app_id)
    .bind(target.kind)
    .bind(target.lookup())
    .bind(target.path)
    .bind(target.query)
    .bind(target.env_version)
    .bind(target.title)
    .bind(i64::from(target.permanent))
    .bind(link)
    .bind(interval)
    .bind(expires_at)
    .bind(now)
    .insert_id(db.pool())
    .await
}

/// Takes one unit of `app_id`'s `bucket`, atomically across instances: false when `limit`
/// units are taken.
pub async fn take_count(
    db: &Db,
    app_id: &str,
    bucket: &str,
    limit: u64,
) -> Result<bool, sqlx::Error> {
    if limit == 0 {
        return Ok(false);
    }
    let done = db
        .query(
            "INSERT INTO link_counts (app_id, bucket, used) VALUES ($1, $2, 1) \
         ON CONFLICT (app_id, bucket) DO UPDATE SET used = link_counts.used + 1 \
         WHERE link_counts.used < $3",
        )
        .bind(app_id)
        .bind(bucket)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .execute(db.pool())
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Gives a unit back: WeChat made nothing.
pub async fn give_back_count(db: &Db, app_id: &str, bucket: &str) -> Result<(), sqlx::Error> {
    db.query(
        "UPDATE link_counts SET used = used - 1 WHERE app_id = $1 AND bucket = $2 AND used > 0",
    )
    .bind(app_id)
    .bind(bucket)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// A stored link, for the admin's quota query.
#[derive(Debug, Clone)]
pub struct LinkRef {
    pub app_id: String,
    pub kind: String,
    pub link: String,
}

pub async fn find_by_id(db: &Db, id: i64) -> Result<Option<LinkRef>, sqlx::Error> {
    let row: Option<(String, String, String)> = db
        .query("SELECT app_id, kind, link FROM links WHERE id = $1")
        .bind(id)
        .fetch_optional(db.pool())
        .await?;
    Ok(row.map(|(app_id, kind, link)| LinkRef { app_id, kind, link }))
}
