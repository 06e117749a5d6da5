//! One token subsystem for every token the product holds: each mini program's
//! access_token, the Open Platform component_access_token and each authorizer's token.
//!
//! - `cell`: one token (a kind and an appid). Hits read an `ArcSwap`: no I/O, no lock, no
//!   queue shared between cores (moka records every read in one; benches/token_cache.rs
//!   has the numbers). A miss, a refresh and a compare-and-invalidate take the cell's
//!   async mutex (single flight in the process) and, with Redis, a lock in Redis (single
//!   flight across instances, `shared`). A new token is published first, then persisted.
//! - `schedule`: one task holding a timer per cell, armed at each token's own due time
//!   (expiry minus the margin) whenever a token is published: refresh ahead without
//!   traffic, while callers keep the still-valid token.
//! - `source`: where a token comes from; mini programs' (`stable`, `classic`, `remote`)
//!   here, the Open Platform's in `src/services/open_platform/tokens.rs`.
//! - `retry`: "refresh once on 40001/42001/40014 and retry", for every caller.
//! - `manager`: the mini programs' cells, by configured name.

mod cell;
mod cells;
mod manager;
mod retry;
mod schedule;
pub(crate) mod shared;
mod source;

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::redact::Redacted;
pub use cell::{Flight, Hub, TokenCell};
pub use cells::TokenCells;
pub use manager::TokenManager;
pub use retry::with_token;
pub use schedule::BACKGROUND_SPACING;
pub use shared::SharedTokens;
pub use source::{Credentials, FreshToken, Remote, TokenSource};

#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken {
    pub value: Arc<str>,
    /// Unix seconds.
    pub expires_at: i64,
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessToken")
            .field("value", &Redacted(&self.value))
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

impl AccessToken {
    pub fn expires_in(&self, now: i64) -> i64 {
        (self.expires_at - now).max(0)
    }
}

pub fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

pub use crate::redact::mask as mask_token;
