//! One token (a kind and an appid): the current value for readers, one writer at a time
//! in the process and, with Redis, in the cluster.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use arc_swap::ArcSwapOption;
use prometheus_client::metrics::counter::Counter;
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::schedule::{BACKGROUND_SPACING, Scheduler};
use super::shared::{CrossLock, SharedTokens};
use super::source::TokenSource;
use super::{AccessToken, now_unix};
use crate::error::AppError;
use crate::store::{Db, open_platform as op_store, tokens};

/// Never hand out a token this close to its end: the call it is for could outlive it.
pub const MIN_REMAINING_SECS: i64 = 30;
/// A refresh ahead that found the cell busy looks again this much later.
const BUSY_RETRY: Duration = Duration::from_secs(5);

/// What every cell shares: the database, Redis and the scheduler.
pub struct Hub {
    db: Db,
    shared: Option<SharedTokens>,
    /// How long a cross-instance lock lives: a fetch may take two calls of `timeout_ms`.
    lock_ttl: Duration,
    pub(super) scheduler: Scheduler,
}

impl Hub {
    /// Starts the scheduler task: call within the runtime.
    pub fn new(db: Db, shared: Option<SharedTokens>, timeout_ms: u64) -> Arc<Hub> {
        Arc::new(Hub {
            db,
            shared,
            lock_ttl: Duration::from_millis(timeout_ms.max(1) * 2) + Duration::from_secs(2),
            scheduler: Scheduler::start(),
        })
    }

    /// Drops the shared and the stored copy of a token (an authorization was cancelled).
    pub async fn drop_copies(&self, kind: &str, app_id: &str) -> Result<(), AppError> {
        if let Some(shared) = &self.shared {
            shared.remove(kind, app_id).await;
        }
        op_store::delete_token(&self.db, app_id, kind).await?;
        Ok(())
    }
}

/// The state of the one writer at a time.
#[derive(Default)]
pub struct Flight {
    /// The last forced stable_token refresh (WeChat ignores a second one within 30 s).
    pub last_force: Option<Instant>,
    /// The last refresh ahead of expiry: they are `BACKGROUND_SPACING` apart at least.
    last_ahead: Option<Instant>,
}

pub struct TokenCell {
    /// The `kind` of `access_tokens` rows and of Redis keys.
    kind: &'static str,
    app_id: String,
    /// For logs: the configured name of a mini program, else the appid.
    label: String,
    margin: i64,
    current: ArcSwapOption<AccessToken>,
    flight: Mutex<Flight>,
    source: Arc<dyn TokenSource>,
    hub: Arc<Hub>,
    /// The generation of the cell's timer; the scheduler ignores older ones.
    pub(super) armed: AtomicU64,
    /// Cache hit and miss counters (mini programs' tokens only, looked up once).
    lookups: Option<(Counter, Counter)>,
}

impl TokenCell {
    pub fn new(
        kind: &'static str,
        app_id: &str,
        label: &str,
        margin: i64,
        source: Arc<dyn TokenSource>,
        hub: Arc<Hub>,
    ) -> Self {
        TokenCell {
            kind,
            app_id: app_id.to_owned(),
            label: label.to_owned(),
            margin,
            current: ArcSwapOption::empty(),
            flight: Mutex::new(Flight::default()),
            source,
            hub,
            armed: AtomicU64::new(0),
            lookups: None,
        }
    }

    pub fn counting(mut self, hits: Counter, misses: Counter) -> Self {
        self.lookups = Some((hits, misses));
        self
    }

    pub fn kind(&self) -> &'static str {
        self.kind
    }

    pub fn app_id(&self) -> &str {
        &self.app_id
    }

    pub fn label(&self) -> &str {
        &self.label
    }

    /// The current token while it has more than `MIN_REMAINING_SECS` left.
    pub fn current(&self) -> Option<AccessToken> {
        let now = now_unix();
        self.current
            .load()
            .as_deref()
            .filter(|t| t.expires_at - now > MIN_REMAINING_SECS)
            .cloned()
    }

    /// The token. The hot path is one wait-free read; a miss is one fetch per cluster.
    pub async fn get(self: &Arc<Self>) -> Result<AccessToken, AppError> {
        if let Some(token) = self.current() {
            if let Some((hits, _)) = &self.lookups {
                hits.inc();
            }
            return Ok(token);
        }
        if let Some((_, misses)) = &self.lookups {
            misses.inc();
        }
        let mut flight = self.flight.lock().await;
        self.load_locked(&mut flight, None, false).await
    }

    /// Called with a token WeChat rejected (40001/42001/40014): refreshes only if it is
    /// still the current one, so a burst of rejections costs one upstream call.
    pub async fn refresh_if_current(
        self: &Arc<Self>,
        rejected: &str,
    ) -> Result<AccessToken, AppError> {
        if let Some(token) = self.current().filter(|t| &*t.value != rejected) {
            return Ok(token);
        }
        let mut flight = self.flight.lock().await;
        self.load_locked(&mut flight, Some(rejected), false).await
    }

    /// Makes a token obtained elsewhere current (api_query_auth hands one out).
    pub async fn put(self: &Arc<Self>, token: &AccessToken) {
        let flight = self.flight.lock().await;
        self.publish_and_store(&flight, token).await;
    }

    /// Forgets the token here (the caller drops the copies): no reader gets it, no
    /// refresh is scheduled.
    pub async fn forget(&self) {
        let _flight = self.flight.lock().await;
        self.current.store(None);
        self.hub.scheduler.disarm(self);
    }

    /// What the database holds, without fetching (for `wxa token` and admin stats).
    pub async fn stored(&self) -> Result<Option<tokens::StoredToken>, AppError> {
        Ok(tokens::load(&self.hub.db, &self.app_id, self.kind).await?)
    }

    /// At start: a token a previous run (or a peer) stored is refreshed at its due time
    /// even if no request asks for it. Nothing is fetched now.
    pub async fn arm_from_store(self: &Arc<Self>) {
        let flight = self.flight.lock().await;
        if self.current.load().is_some() {
            return;
        }
        if let Some(token) = self.peer_token(&|t| t.expires_at > now_unix()).await {
            self.arm(&flight, &token);
        }
    }

    /// The scheduler's call at the token's due time: one attempt, skipped when another
    /// runs. Only one instance asks upstream (the Redis lock); the others adopt its token.
    pub(super) async fn refresh_ahead(self: Arc<Self>) {
        let Ok(mut flight) = self.flight.try_lock() else {
            self.hub.scheduler.arm(&self, Instant::now() + BUSY_RETRY);
            return;
        };
        if let Some(last) = flight.last_ahead {
            if last.elapsed() < BACKGROUND_SPACING {
                self.hub.scheduler.arm(&self, last + BACKGROUND_SPACING);
                return;
            }
        }
        flight.last_ahead = Some(Instant::now());
        if let Err(e) = self.load_locked(&mut flight, None, true).await {
            tracing::warn!(kind = self.kind, app = %self.label, error = %e, "token refresh ahead of expiry failed");
            // Try again while the token still serves; after that, the next caller fetches.
            if self.current().is_some() {
                self.hub
                    .scheduler
                    .arm(&self, Instant::now() + BACKGROUND_SPACING);
            }
        }
    }

    /// Under the cell's lock: the current token again (a caller ahead of us may have
    /// refreshed), then a peer's token (Redis, the database), then upstream.
    async fn load_locked(
        self: &Arc<Self>,
        flight: &mut Flight,
        rejected: Option<&str>,
        ahead: bool,
    ) -> Result<AccessToken, AppError> {
        let now = now_unix();
        let usable = |t: &AccessToken| {
            let left = t.expires_at - now;
            rejected != Some(&*t.value)
                && left > MIN_REMAINING_SECS
                && (!ahead || left > self.margin)
        };
        if let Some(token) = self.current().filter(usable) {
            return Ok(token);
        }
        // Another holder's token (a peer instance, or ours before a restart) is worth
        // adopting only while it is outside the margin; inside it, we refresh.
        let adoptable = |t: &AccessToken| usable(t) && t.expires_at - now > self.margin;
        if let Some(token) = self.peer_token(&adoptable).await {
            self.publish(flight, &token);
            return Ok(token);
        }
        let held = match &self.hub.shared {
            None => None,
            Some(shared) => match shared
                .wait_for_lock(self.kind, &self.app_id, self.hub.lock_ttl, &adoptable)
                .await?
            {
                CrossLock::Adopted(token) => {
                    self.publish(flight, &token);
                    return Ok(token);
                }
                CrossLock::Held(held) => Some(held),
                CrossLock::Alone => None,
            },
        };
        let fetched = self.source.fetch(&self.app_id, rejected, flight).await;
        if let Ok(token) = &fetched {
            self.publish_and_store(flight, token).await;
            tracing::info!(kind = self.kind, app = %self.label, expires_in = token.expires_in(now_unix()), "token refreshed");
        }
        if let (Some(shared), Some(held)) = (&self.hub.shared, held) {
            shared.unlock(held).await;
        }
        fetched
    }

    /// The token Redis or the database holds, if `good`.
    async fn peer_token(&self, good: &impl Fn(&AccessToken) -> bool) -> Option<AccessToken> {
        if let Some(shared) = &self.hub.shared {
            if let Some(token) = shared.get(self.kind, &self.app_id).await.filter(good) {
                return Some(token);
            }
        }
        // A database that is down only means no stored token to adopt.
        match tokens::load(&self.hub.db, &self.app_id, self.kind).await {
            Ok(stored) => stored
                .map(|s| AccessToken {
                    value: s.token.into(),
                    expires_at: s.expires_at,
                })
                .filter(good),
            Err(e) => {
                tracing::warn!(kind = self.kind, app = %self.label, error = %e, "stored token unreadable");
                None
            }
        }
    }

    /// Makes `token` the one every caller gets, and schedules its refresh.
    fn publish(self: &Arc<Self>, flight: &Flight, token: &AccessToken) {
        self.current.store(Some(Arc::new(token.clone())));
        self.arm(flight, token);
    }

    /// Publishes first: upstream may already have replaced the old token (classic mode),
    /// so callers need this one whatever happens to the copies. The stored copy only saves
    /// a restart a fetch; a database that is down must not fail the request.
    async fn publish_and_store(self: &Arc<Self>, flight: &Flight, token: &AccessToken) {
        let now = now_unix();
        self.publish(flight, token);
        if let Some(shared) = &self.hub.shared {
            shared.put(self.kind, &self.app_id, token, now).await;
        }
        let (db, kind) = (&self.hub.db, self.kind);
        if let Err(e) =
            tokens::save(db, &self.app_id, kind, &token.value, token.expires_at, now).await
        {
            tracing::warn!(kind, app = %self.label, error = %e, "token in use but not stored: a restart will fetch a new one");
        }
    }

    /// The refresh of `token` at expiry minus the margin, and never sooner than
    /// `BACKGROUND_SPACING` after the last refresh ahead.
    fn arm(self: &Arc<Self>, flight: &Flight, token: &AccessToken) {
        let wait = (token.expires_at - self.margin - now_unix()).max(0) as u64;
        let mut at = Instant::now() + Duration::from_secs(wait);
        if let Some(last) = flight.last_ahead {
            at = at.max(last + BACKGROUND_SPACING);
        }
        self.hub.scheduler.arm(self, at);
    }
}

impl std::fmt::Debug for TokenCell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCell")
            .field("kind", &self.kind)
            .field("app", &self.label)
            .finish_non_exhaustive()
    }
}
