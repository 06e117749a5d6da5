//! Refresh ahead of expiry: a background task that runs even without traffic, and a
//! refresh started by a hit inside the margin while callers keep the current token.

use std::sync::Arc;
use std::time::Duration;

use super::{Slot, TokenManager, now_unix};

/// The background task asks WeChat at most this often per app.
pub const BACKGROUND_SPACING: Duration = Duration::from_secs(30);

/// A background refresh ran within `BACKGROUND_SPACING`.
fn ran_lately(slot: &Slot) -> bool {
    slot.last_fetch
        .is_some_and(|at| at.elapsed() < BACKGROUND_SPACING)
}

impl TokenManager {
    /// Refreshes every app whose token is missing or inside the margin; for the
    /// background task, which runs even without traffic.
    pub async fn refresh_due(self: &Arc<Self>) {
        let apps: Vec<String> = self.slots.keys().cloned().collect();
        for app in apps {
            let due = match self.current(&app) {
                Some(t) => t.expires_at - now_unix() <= self.margin,
                None => true,
            };
            if due {
                self.refresh_now(&app).await;
            }
        }
    }

    pub(super) fn refresh_in_background(self: &Arc<Self>, app: &str) {
        // Every hit inside the margin comes here: spawn only when no refresh is running
        // and none ran lately (`refresh_now` checks again under the lock).
        let idle = self
            .slots
            .get(app)
            .is_some_and(|t| t.slot.try_lock().is_ok_and(|s| !ran_lately(&s)));
        if !idle {
            return;
        }
        let manager = Arc::clone(self);
        let app = app.to_owned();
        tokio::spawn(async move { manager.refresh_now(&app).await });
    }

    /// One background refresh attempt: skipped when another is running or one ran lately.
    async fn refresh_now(self: &Arc<Self>, app: &str) {
        let Some(tokens) = self.slots.get(app) else {
            return;
        };
        let Ok(mut slot) = tokens.slot.try_lock() else {
            return;
        };
        if ran_lately(&slot) {
            return;
        }
        if let Err(e) = self.load_locked(&mut slot, None, true).await {
            tracing::warn!(app, error = %e, "background token refresh failed");
        }
    }
}
