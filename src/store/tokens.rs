//! The `access_tokens` table: the current token of each app and kind, so a restart (or
//! another instance) reuses it instead of asking WeChat again.

use crate::redact::Redacted;
use crate::store::Db;

#[derive(Clone, PartialEq, Eq)]
pub struct StoredToken {
    pub token: String,
    pub expires_at: i64,
    pub refreshed_at: i64,
    pub refresh_count: i64,
}

impl std::fmt::Debug for StoredToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredToken")
            .field("token", &Redacted(&self.token))
            .field("expires_at", &self.expires_at)
            .field("refreshed_at", &self.refreshed_at)
            .field("refresh_count", &self.refresh_count)
            .finish()
    }
}

pub async fn load(db: &Db, app_id: &str, kind: &str) -> Result<Option<StoredToken>, sqlx::Error> {
    let row: Option<(String, i64, i64, i64)> = db
        .query(
            "SELECT token, expires_at, refreshed_at, refresh_count FROM access_tokens \
         WHERE app_id = $1 AND kind = $2",
        )
        .bind(app_id)
        .bind(kind)
        .fetch_optional(db.pool())
        .await?;
    Ok(row.map(
        |(token, expires_at, refreshed_at, refresh_count)| StoredToken {
            token,
            expires_at,
            refreshed_at,
            refresh_count,
        },
    ))
}

pub async fn save(
    db: &Db,
    app_id: &str,
    kind: &str,
    token: &str,
    expires_at: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    db.query(
        "INSERT INTO access_tokens (app_id, kind, token, expires_at, refreshed_at, refresh_count) \
         VALUES ($1, $2, $3, $4, $5, 1) \
         ON CONFLICT (app_id, kind) DO UPDATE SET token = excluded.token, \
         expires_at = excluded.expires_at, refreshed_at = excluded.refreshed_at, \
         refresh_count = access_tokens.refresh_count + 1",
    )
    .bind(app_id)
    .bind(kind)
    .bind(token)
    .bind(expires_at)
    .bind(now)
    .execute(db.pool())
    .await?;
    Ok(())
}
