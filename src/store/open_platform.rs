//! Tickets and authorizers. Refresh tokens live here durably: losing one forces
//! the merchant to authorize again. Nothing here is ever logged.

use crate::store::Db;

/// The latest component_verify_ticket, kept only if newer than the stored one (a delayed
/// push must not replace a fresher ticket).
pub async fn save_ticket(
    db: &Db,
    component_app_id: &str,
    ticket: &str,
    create_time: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    db.query(
        "INSERT INTO component_tickets (component_app_id, ticket, create_time, received_at) \
         VALUES ($1, $2, $3, $4) \
         ON CONFLICT (component_app_id) DO UPDATE SET ticket = excluded.ticket, \
         create_time = excluded.create_time, received_at = excluded.received_at \
         WHERE excluded.create_time >= component_tickets.create_time",
    )
    .bind(component_app_id)
    .bind(ticket)
    .bind(create_time)
    .bind(now)
    .execute(db.pool())
    .await?;
    Ok(())
}

pub async fn ticket(db: &Db, component_app_id: &str) -> Result<Option<String>, sqlx::Error> {
    let row: Option<(String,)> = db
        .query("SELECT ticket FROM component_tickets WHERE component_app_id = $1")
        .bind(component_app_id)
        .fetch_optional(db.pool())
        .await?;
    Ok(row.map(|(t,)| t))
}

/// An authorizer as stored (with its refresh token: never shown, never logged).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Authorizer {
    pub id: i64,
    pub app_id: String,
    pub refresh_token: String,
    pub func_ids: String,
    pub revoked: i64,
    pub authorized_at: i64,
    pub updated_at: i64,
    pub revoked_at: i64,
}

const COLUMNS: &str =
    "id, app_id, refresh_token, func_ids, revoked, authorized_at, updated_at, revoked_at";

/// What an authorization (api_query_auth) gave.
pub struct Grant<'a> {
    pub app_id: &'a str,
    pub refresh_token: &'a str,
    pub func_ids: &'a str,
    pub auth_code_hash: &'a str,
}

/// Inserts or re-authorizes (one statement: two pushes at once cannot make two rows).
pub async fn upsert_authorized(
    db: &Db,
    component_app_id: &str,
    grant: &Grant<'_>,
    now: i64,
) -> Result<(), sqlx::Error> {
    db.query(
        "INSERT INTO authorizers (component_app_id, app_id, refresh_token, func_ids, revoked, \
         auth_code_hash, authorized_at, updated_at, revoked_at) \
         VALUES ($1, $2, $3, $4, 0, $5, $6, $6, 0) \
         ON CONFLICT (component_app_id, app_id) DO UPDATE SET \
         refresh_token = excluded.refresh_token, func_ids = excluded.func_ids, revoked = 0, \
         auth_code_hash = excluded.auth_code_hash, authorized_at = excluded.authorized_at, \
         updated_at = excluded.updated_at, revoked_at = 0",
    )
    .bind(component_app_id)
    .bind(grant.app_id)
    .bind(grant.refresh_token)
    .bind(grant.func_ids)
    .bind(grant.auth_code_hash)
    .bind(now)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Marks an authorizer revoked; `false` when it was not known (or already revoked).
pub async fn revoke(
    db: &Db,
    component_app_id: &str,
    app_id: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = db
        .query(
            "UPDATE authorizers SET revoked = 1, revoked_at = $3, updated_at = $3 \
         WHERE component_app_id = $1 AND app_id = $2 AND revoked = 0",
        )
        .bind(component_app_id)
        .bind(app_id)
        .bind(now)
        .execute(db.pool())
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Authorizers still authorized but without a refresh token (a restored database, a row
/// written by hand): their tokens cannot be refreshed until it is recovered.
pub async fn without_refresh_token(
    db: &Db,
    component_app_id: &str,
) -> Result<Vec<String>, sqlx::Error> {
    let rows: Vec<(String,)> = db
        .query(
            "SELECT app_id FROM authorizers \
             WHERE component_app_id = $1 AND revoked = 0 AND refresh_token = '' ORDER BY app_id",
        )
        .bind(component_app_id)
        .fetch_all(db.pool())
        .await?;
    Ok(rows.into_iter().map(|(app_id,)| app_id).collect())
}

/// Authorizers still authorized that have a stored token (`access_tokens`, `kind`): at
/// start each one's timer is armed, so it is refreshed ahead with no traffic.
pub async fn with_stored_token(
    db: &Db,
    component_app_id: &str,
    kind: &str,
) -> Result<Vec<String>, sqlx::Error> {
    let rows: Vec<(String,)> = db
        .query(
            "SELECT a.app_id FROM authorizers a JOIN access_tokens t \
             ON t.app_id = a.app_id AND t.kind = $2 \
             WHERE a.component_app_id = $1 AND a.revoked = 0 ORDER BY a.app_id",
        )
        .bind(component_app_id)
        .bind(kind)
        .fetch_all(db.pool())
        .await?;
    Ok(rows.into_iter().map(|(app_id,)| app_id).collect())
}

/// Stores the refresh token WeChat returned with a new authorizer token.
pub async fn update_refresh_token(
    db: &Db,
    component_app_id: &str,
    app_id: &str,
    refresh_token: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    db.query(
        "UPDATE authorizers SET refresh_token = $3, updated_at = $4 \
         WHERE component_app_id = $1 AND app_id = $2 AND refresh_token <> $3",
    )
    .bind(component_app_id)
    .bind(app_id)
    .bind(refresh_token)
    .bind(now)
    .execute(db.pool())
    .await?;
    Ok(())
}

pub async fn find(
    db: &Db,
    component_app_id: &str,
    app_id: &str,
) -> Result<Option<Authorizer>, sqlx::Error> {
    db.query(&format!(
        "SELECT {COLUMNS} FROM authorizers WHERE component_app_id = $1 AND app_id = $2"
    ))
    .bind(component_app_id)
    .bind(app_id)
    .fetch_optional(db.pool())
    .await
}

/// The authorizer a given auth code was already exchanged for (a push and the callback
/// carry the same single-use code).
pub async fn find_by_auth_code(
    db: &Db,
    component_app_id: &str,
    auth_code_hash: &str,
) -> Result<Option<Authorizer>, sqlx::Error> {
    db.query(&format!(
        "SELECT {COLUMNS} FROM authorizers \
         WHERE component_app_id = $1 AND auth_code_hash = $2 AND revoked = 0"
    ))
    .bind(component_app_id)
    .bind(auth_code_hash)
    .fetch_optional(db.pool())
    .await
}

/// A page of authorizers, most recently changed first, and the total.
pub async fn list(
    db: &Db,
    component_app_id: &str,
    limit: i64,
    offset: i64,
) -> Result<(Vec<Authorizer>, i64), sqlx::Error> {
    let items = db
        .query(&format!(
            "SELECT {COLUMNS} FROM authorizers WHERE component_app_id = $1 \
         ORDER BY updated_at DESC, id DESC LIMIT $2 OFFSET $3"
        ))
        .bind(component_app_id)
        .bind(limit)
        .bind(offset)
        .fetch_all(db.pool())
        .await?;
    let (total,): (i64,) = db
        .query("SELECT COUNT(*) FROM authorizers WHERE component_app_id = $1")
        .bind(component_app_id)
        .fetch_one(db.pool())
        .await?;
    Ok((items, total))
}

/// Removes a stored access token (`access_tokens`) of a cancelled authorizer, so no
/// instance adopts it after a restart.
pub async fn delete_token(db: &Db, app_id: &str, kind: &str) -> Result<(), sqlx::Error> {
    db.query("DELETE FROM access_tokens WHERE app_id = $1 AND kind = $2")
        .bind(app_id)
        .bind(kind)
        .execute(db.pool())
        .await?;
    Ok(())
}
