//! The `codes` table (one row per stored image, keyed by its content hash) and
//! `code_quota` (each app's count of quota-limited codes).

use crate::store::Db;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CodeRow {
    pub id: i64,
    pub app_id: String,
    pub kind: String,
    pub hash: String,
    pub file: String,
    pub page: String,
    pub scene: String,
    pub width: i64,
    pub params: String,
    pub content_type: String,
    pub size: i64,
    pub created_at: i64,
}

/// A row to insert (`id` comes from the database).
#[derive(Debug, Clone)]
pub struct NewCode<'a> {
    pub app_id: &'a str,
    pub kind: &'a str,
    pub hash: &'a str,
    pub file: &'a str,
    pub page: &'a str,
    pub scene: &'a str,
    pub width: i64,
    pub params: &'a str,
    pub content_type: &'a str,
    pub size: i64,
    pub created_at: i64,
}

const COLUMNS: &str =
    "id, app_id, kind, hash, file, page, scene, width, params, content_type, size, created_at";

pub async fn find_by_hash(db: &Db, hash: &str) -> Result<Option<CodeRow>, sqlx::Error> {
    db.query(&format!("SELECT {COLUMNS} FROM codes WHERE hash = $1"))
        .bind(hash)
        .fetch_optional(db.pool())
        .await
}

pub async fn find_by_id(db: &Db, id: i64) -> Result<Option<CodeRow>, sqlx::Error> {
    db.query(&format!("SELECT {COLUMNS} FROM codes WHERE id = $1"))
        .bind(id)
        .fetch_optional(db.pool())
        .await
}

/// Inserts a code and returns its id. A second row for the same hash (another instance
/// made the same code at the same moment) fails with a unique violation.
pub async fn insert(db: &Db, code: &NewCode<'_>) -> Result<i64, sqlx::Error> {
    db.query(
        "INSERT INTO codes (app_id, kind, hash, file, page, scene, width, params, \
         content_type, size, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
    )
    .bind(code.app_id)
    .bind(code.kind)
    .bind(code.hash)
    .bind(code.file)
    .bind(code.page)
    .bind(code.scene)
    .bind(code.width)
    .bind(code.params)
    .bind(code.content_type)
    .bind(code.size)
    .bind(code.created_at)
    .insert_id(db.pool())
    .await
}

/// The image of a stored code was made again (its file had gone missing).
pub async fn update_image(
    db: &Db,
    id: i64,
    file: &str,
    content_type: &str,
    size: i64,
) -> Result<(), sqlx::Error> {
    db.query("UPDATE codes SET file = $2, content_type = $3, size = $4 WHERE id = $1")
        .bind(id)
        .bind(file)
        .bind(content_type)
        .bind(size)
        .execute(db.pool())
        .await?;
    Ok(())
}

pub use super::is_unique_violation;

/// Takes one unit of `app_id`'s quota, atomically across instances: false when `limit`
/// units are taken or WeChat has answered 45029.
pub async fn reserve_quota(db: &Db, app_id: &str, limit: u64) -> Result<bool, sqlx::Error> {
    if limit == 0 {
        return Ok(false);
    }
    let done = db
        .query(
            "INSERT INTO code_quota (app_id, used, exhausted_at) VALUES ($1, 1, 0) \
         ON CONFLICT (app_id) DO UPDATE SET used = code_quota.used + 1 \
         WHERE code_quota.used < $2 AND code_quota.exhausted_at = 0",
        )
        .bind(app_id)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .execute(db.pool())
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Gives a reserved unit back: the code was not made.
pub async fn release_quota(db: &Db, app_id: &str) -> Result<(), sqlx::Error> {
    db.query("UPDATE code_quota SET used = used - 1 WHERE app_id = $1 AND used > 0")
        .bind(app_id)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// WeChat answered 45029: gives the reserved unit back and refuses from now on.
pub async fn mark_exhausted(db: &Db, app_id: &str, now: i64) -> Result<(), sqlx::Error> {
    db.query(
        "UPDATE code_quota SET used = CASE WHEN used > 0 THEN used - 1 ELSE 0 END, \
         exhausted_at = $2 WHERE app_id = $1",
    )
    .bind(app_id)
    .bind(now)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// `(used, exhausted_at)` of an app; `(0, 0)` before its first code.
pub async fn quota(db: &Db, app_id: &str) -> Result<(i64, i64), sqlx::Error> {
    let row: Option<(i64, i64)> = db
        .query("SELECT used, exhausted_at FROM code_quota WHERE app_id = $1")
        .bind(app_id)
        .fetch_optional(db.pool())
        .await?;
    Ok(row.unwrap_or((0, 0)))
}
