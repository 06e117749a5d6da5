//! The cross-instance half of the codes' single flight. moka makes identical requests of
//! one instance share one future; a claim row in the shared database makes the instances
//! share one WeChat call. The database rather than Redis: it is the one store every
//! instance must reach to record a code anyway, so a Redis outage cannot split the flight.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::AppResult;
use crate::store::{Db, claims};

/// How often an instance waiting for a peer's code looks again.
pub(super) const POLL: Duration = Duration::from_millis(40);

/// A claim held on one code while it is made; released by its job, whatever the outcome.
pub(super) struct Claim {
    db: Db,
    hash: String,
    owner: String,
}

/// Who may make a code, and for how long a claim holds when its holder goes silent.
#[derive(Clone, Copy)]
pub(super) struct Claims {
    /// A claim older than this belongs to an instance that died: it is taken over.
    pub(super) lifetime: Duration,
}

impl Claims {
    /// The claim on `hash`, or `None` while a peer holds a live one.
    pub(super) async fn try_claim(&self, db: &Db, hash: &str) -> AppResult<Option<Claim>> {
        let owner = format!("{:016x}", rand::random::<u64>());
        let now = now_ms();
        let stale_before = now - self.lifetime.as_millis() as i64;
        if claims::claim(db, hash, &owner, now, stale_before).await? {
            Ok(Some(Claim {
                db: db.clone(),
                hash: hash.to_owned(),
                owner,
            }))
        } else {
            Ok(None)
        }
    }
}

impl Claim {
    /// Restarts the claim's lifetime before the WeChat call (a pacing wait came first).
    pub(super) async fn renew(&self) -> AppResult<()> {
        if !claims::renew(&self.db, &self.hash, &self.owner, now_ms()).await? {
            tracing::warn!(hash = %self.hash, "code claim taken over while waiting: a peer may make it too");
        }
        Ok(())
    }

    /// Ends the claim; peers waiting on it then find the record (or, after a failure,
    /// claim it themselves). A claim that cannot be deleted lapses after its lifetime.
    pub(super) async fn release(self) {
        if let Err(e) = claims::release(&self.db, &self.hash, &self.owner).await {
            tracing::warn!(hash = %self.hash, error = %e, "code claim not released: it lapses on its own");
        }
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
