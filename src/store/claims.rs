//! Claims on codes being made (`code_claims`): the cross-instance half of the codes'
//! single flight (src/services/codes/claim.rs).

use super::Db;

/// Claims `hash` for `owner`, or takes over a claim made before `stale_before` (its
/// holder died). False while someone else holds a live claim. One statement, so two
/// instances racing for a claim cannot both get it.
pub async fn claim(
    db: &Db,
    hash: &str,
    owner: &str,
    now_ms: i64,
    stale_before: i64,
) -> Result<bool, sqlx::Error> {
    let done = db
        .query(
            "INSERT INTO code_claims (hash, owner, claimed_at) VALUES ($1, $2, $3) \
         ON CONFLICT (hash) DO UPDATE SET owner = excluded.owner, claimed_at = excluded.claimed_at \
         WHERE code_claims.claimed_at < $4",
        )
        .bind(hash)
        .bind(owner)
        .bind(now_ms)
        .bind(stale_before)
        .execute(db.pool())
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Restarts the lifetime of `owner`'s claim (the slow part, waiting for a pacing slot,
/// is behind it). False when the claim was taken over meanwhile.
pub async fn renew(db: &Db, hash: &str, owner: &str, now_ms: i64) -> Result<bool, sqlx::Error> {
    let done = db
        .query("UPDATE code_claims SET claimed_at = $1 WHERE hash = $2 AND owner = $3")
        .bind(now_ms)
        .bind(hash)
        .bind(owner)
        .execute(db.pool())
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Ends `owner`'s claim on `hash` (a claim taken over by another is left alone).
pub async fn release(db: &Db, hash: &str, owner: &str) -> Result<(), sqlx::Error> {
    db.query("DELETE FROM code_claims WHERE hash = $1 AND owner = $2")
        .bind(hash)
        .bind(owner)
        .execute(db.pool())
        .await?;
    Ok(())
}
