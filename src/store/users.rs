//! The `users` and `user_sessions` tables.

use sqlx::AnyConnection;

use crate::domain::users::Phone;
use crate::store::Db;

/// A user as login sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginUser {
    pub id: i64,
    pub has_phone: bool,
}

/// A session found by its token hash. No Debug: it carries the session_key.
pub struct SessionRow {
    pub id: i64,
    pub user_id: i64,
    pub app_id: String,
    /// The user's openid (sent with `getuserphonenumber`).
    pub openid: String,
    pub session_key: String,
    pub expires_at: i64,
}

pub struct NewSession<'a> {
    pub token_hash: &'a str,
    pub user_id: i64,
    pub app_id: &'a str,
    pub session_key: &'a str,
    pub created_at: i64,
    pub expires_at: i64,
}

/// Inserts the user or refreshes the existing one (same app and openid). A unionid
/// replaces the stored one only when WeChat sent one.
pub async fn upsert(
    db: &Db,
    conn: &mut AnyConnection,
    app_id: &str,
    openid: &str,
    unionid: Option<&str>,
    now: i64,
) -> Result<LoginUser, sqlx::Error> {
    let (id, phone): (i64, Option<String>) = db
        .query(
            "INSERT INTO users (app_id, openid, unionid, created_at, updated_at, last_login_at) \
         VALUES ($1, $2, $3, $4, $4, $4) \
         ON CONFLICT (app_id, openid) DO UPDATE SET \
         unionid = COALESCE(excluded.unionid, users.unionid), \
         updated_at = excluded.updated_at, last_login_at = excluded.last_login_at \
         RETURNING id, phone_number",
        )
        .bind(app_id)
        .bind(openid)
        .bind(unionid)
        .bind(now)
        .fetch_one(&mut *conn)
        .await?;
    Ok(LoginUser {
        id,
        has_phone: phone.is_some(),
    })
}

/// Drops every session that has ended (the periodic purge; their phone attempts go with
/// them). The number dropped.
pub async fn purge_expired_sessions(db: &Db, now: i64) -> Result<u64, sqlx::Error> {
    let done = db
        .query("DELETE FROM user_sessions WHERE expires_at <= $1")
        .bind(now)
        .execute(db.pool())
        .await?;
    Ok(done.rows_affected())
}

/// Drops the user's sessions that have ended, so the table does not grow without bound.
pub async fn delete_expired_sessions(
    db: &Db,
    conn: &mut AnyConnection,
    user_id: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    db.query("DELETE FROM user_sessions WHERE user_id = $1 AND expires_at <= $2")
        .bind(user_id)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn insert_session(
    db: &Db,
    conn: &mut AnyConnection,
    s: &NewSession<'_>,
) -> Result<(), sqlx::Error> {
    db.query(
        "INSERT INTO user_sessions (token_hash, user_id, app_id, session_key, created_at, \
         expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(s.token_hash)
    .bind(s.user_id)
    .bind(s.app_id)
    .bind(s.session_key)
    .bind(s.created_at)
    .bind(s.expires_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn find_session(db: &Db, token_hash: &str) -> Result<Option<SessionRow>, sqlx::Error> {
    let row: Option<(i64, i64, String, String, String, i64)> = db
        .query(
            "SELECT s.id, s.user_id, s.app_id, u.openid, s.session_key, s.expires_at \
             FROM user_sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(db.pool())
        .await?;
    Ok(row.map(
        |(id, user_id, app_id, openid, session_key, expires_at)| SessionRow {
            id,
            user_id,
            app_id,
            openid,
            session_key,
            expires_at,
        },
    ))
}

/// Stores the phone on the user. A phone bound to another user of the same app fails with
/// the unique violation of `users_app_phone` (the caller maps it to 409).
pub async fn set_phone(db: &Db, user_id: i64, phone: &Phone, now: i64) -> Result<(), sqlx::Error> {
    db.query(
        "UPDATE users SET phone_number = $1, pure_phone_number = $2, country_code = $3, \
         phone_bound_at = $4, updated_at = $4 WHERE id = $5",
    )
    .bind(&phone.phone_number)
    .bind(&phone.pure_phone_number)
    .bind(&phone.country_code)
    .bind(now)
    .bind(user_id)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// A session's phone attempts since some moment: how many, and when the oldest was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempts {
    pub count: i64,
    pub oldest_at: Option<i64>,
}

/// Records an attempt of the encrypted phone flow before it is tried, in the first free
/// of the session's `slots` numbered slots (purging rows that have left the window first).
/// `Err` with the session's attempts when every slot is taken.
pub async fn begin_phone_attempt(
    db: &Db,
    session_id: i64,
    now: i64,
    since: i64,
    slots: i64,
) -> Result<Result<i64, Attempts>, sqlx::Error> {
    db.query("DELETE FROM phone_attempts WHERE at <= $1")
        .bind(since)
        .execute(db.pool())
        .await?;
    for slot in 1..=slots {
        let inserted = db
            .query("INSERT INTO phone_attempts (session_id, slot, at) VALUES ($1, $2, $3) RETURNING id")
            .bind(session_id)
            .bind(slot)
            .bind(now)
            .insert_id(db.pool())
            .await;
        match inserted {
            Ok(id) => return Ok(Ok(id)),
            Err(e) if is_unique_violation(&e) => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(Err(phone_attempts(db, session_id, since).await?))
}

/// The session's attempts made after `since`.
pub async fn phone_attempts(db: &Db, session_id: i64, since: i64) -> Result<Attempts, sqlx::Error> {
    let (count, oldest_at): (i64, Option<i64>) = db
        .query("SELECT COUNT(*), MIN(at) FROM phone_attempts WHERE session_id = $1 AND at > $2")
        .bind(session_id)
        .bind(since)
        .fetch_one(db.pool())
        .await?;
    Ok(Attempts { count, oldest_at })
}

/// Forgets an attempt that succeeded or was refused: only failures count.
pub async fn forget_phone_attempt(db: &Db, attempt_id: i64) -> Result<(), sqlx::Error> {
    db.query("DELETE FROM phone_attempts WHERE id = $1")
        .bind(attempt_id)
        .execute(db.pool())
        .await?;
    Ok(())
}

pub use super::is_unique_violation;
