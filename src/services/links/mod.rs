//! URL Scheme, URL Link and Short Link.
//!
//! H5 pages ask for a link on every view and WeChat caps daily generation, so a link is
//! made once and reused (rules in `reuse`):
//! - hits come from a moka cache keyed by the parsed request (no I/O, no lock);
//! - a miss is one `try_get_with` per key: concurrent identical requests wait for one
//!   lookup of the record and, failing that, one upstream call, and share its outcome,
//!   errors included;
//! - every link WeChat makes is recorded, so another instance or a restart reuses it.

mod counts;
mod reuse;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use moka::Expiry;
use moka::future::Cache;
use prometheus_client::metrics::counter::Counter;

use counts::Bucket;
use reuse::{LinkKey, Spec};

use crate::domain::links::{JumpKind, JumpLink, NfcScheme, PlainScheme, ShortLink};
use crate::domain::target::Target;
use crate::error::AppError;
use crate::metrics::CacheLabels;
use crate::services::ServiceDeps;
use crate::services::admission::{Admit, Work};
use crate::services::mini_program::MiniProgramService;
use crate::services::token::now_unix;
use crate::store::{Db, links};
use crate::wechat::links::{
    self as wechat, LinkRequest, NfcSchemeRequest, SchemeRequest, ShortLinkRequest, UrlLinkRequest,
};

/// Distinct requests kept in memory; the record holds the rest.
const CACHE_CAPACITY: u64 = 100_000;

/// A link as handed out.
#[derive(Debug)]
pub struct Link {
    /// The record's id.
    pub id: i64,
    pub link: String,
    /// Unix seconds; 0 = never (permanent short links).
    pub expires_at: i64,
    /// Until when (unix seconds) requests that share the cache key may reuse it.
    reusable_until: i64,
}

/// A link, and whether it came from the record rather than from WeChat for this request.
#[derive(Debug)]
pub struct Obtained {
    pub link: Arc<Link>,
    pub reused: bool,
}

pub struct LinkService {
    db: Db,
    mini_program: Arc<MiniProgramService>,
    reuse_min_secs: i64,
    daily_limit: u64,
    permanent_short_limit: u64,
    cache: Cache<LinkKey, Arc<Link>>,
    // Looked up once: the hot path only bumps an atomic.
    cache_hits: Counter,
    cache_misses: Counter,
}

/// Cached links leave the cache when they stop being reusable.
struct WhileReusable;

impl Expiry<LinkKey, Arc<Link>> for WhileReusable {
    fn expire_after_create(&self, _: &LinkKey, link: &Arc<Link>, _: Instant) -> Option<Duration> {
        (link.reusable_until != i64::MAX)
            .then(|| Duration::from_secs((link.reusable_until - now_unix()).max(0) as u64))
    }
}

impl LinkService {
    pub fn new(deps: &ServiceDeps) -> Arc<Self> {
        let lookups = |result| {
            deps.metrics
                .cache_lookups
                .get_or_create(&CacheLabels {
                    cache: "links",
                    result,
                })
                .clone()
        };
        Arc::new(LinkService {
            db: deps.db.clone(),
            mini_program: deps.mini_program.clone(),
            reuse_min_secs: i64::try_from(deps.settings.schemes.reuse_min_remaining_secs)
                .unwrap_or(i64::MAX),
            daily_limit: deps.settings.schemes.daily_limit,
            permanent_short_limit: deps.settings.links.permanent_short_limit,
            cache: Cache::builder()
                .max_capacity(CACHE_CAPACITY)
                .expire_after(WhileReusable)
                .build(),
            cache_hits: lookups("hit"),
            cache_misses: lookups("miss"),
        })
    }

    /// A URL Scheme or URL Link for `app` (a configured app or an authorizer).
    pub async fn jump_link(
        &self,
        app: &Target,
        kind: JumpKind,
        link: JumpLink,
        admit: Admit<'_>,
    ) -> Result<Obtained, AppError> {
        let key = LinkKey {
            app_id: app.app_id.clone(),
            spec: Spec::Jump(kind, link),
        };
        self.obtain(app, key, admit).await
    }

    /// A plain-text scheme for `app`: built here, recorded, no WeChat call.
    pub async fn plain_scheme(
        &self,
        app: &Target,
        plain: PlainScheme,
        admit: Admit<'_>,
    ) -> Result<Obtained, AppError> {
        let key = LinkKey {
            app_id: app.app_id.clone(),
            spec: Spec::Plain(plain),
        };
        self.obtain(app, key, admit).await
    }

    /// An NFC scheme for `app` (`wxa/generatenfcscheme`), recorded and reused.
    pub async fn nfc_scheme(
        &self,
        app: &Target,
        nfc: NfcScheme,
        admit: Admit<'_>,
    ) -> Result<Obtained, AppError> {
        let key = LinkKey {
            app_id: app.app_id.clone(),
            spec: Spec::Nfc(nfc),
        };
        self.obtain(app, key, admit).await
    }

    /// The stored link `id`: its app and, for schemes and URL links, its kind.
    pub async fn find(&self, id: i64) -> Result<Option<links::LinkRef>, AppError> {
        Ok(links::find_by_id(&self.db, id).await?)
    }

    /// Today's remaining opens of the app of `link` (a scheme or URL link WeChat made).
    pub async fn visit_quota(&self, app: &Target, link: &links::LinkRef) -> Result<u64, AppError> {
        let kind = match link.kind.as_str() {
            "scheme" | "nfc_scheme" => JumpKind::Scheme,
            "url_link" => JumpKind::UrlLink,
            _ => {
                return Err(AppError::invalid(
                    "id",
                    "只有 WeChat 生成的 scheme 与 URL Link 可以查询访问额度",
                ));
            }
        };
        let link = link.link.as_str();
        self.mini_program
            .with_target_token(app, |client, token| async move {
                match kind {
                    JumpKind::Scheme => {
                        wechat::scheme_visit_quota(&client, &token.value, link).await
                    }
                    JumpKind::UrlLink => {
                        wechat::urllink_visit_quota(&client, &token.value, link).await
                    }
                }
            })
            .await
    }

    /// A Short Link for `app`.
    pub async fn short_link(
        &self,
        app: &Target,
        link: ShortLink,
        admit: Admit<'_>,
    ) -> Result<Obtained, AppError> {
        let key = LinkKey {
            app_id: app.app_id.clone(),
            spec: Spec::Short(link),
        };
        self.obtain(app, key, admit).await
    }

    async fn obtain(
        &self,
        app: &Target,
        key: LinkKey,
        admit: Admit<'_>,
    ) -> Result<Obtained, AppError> {
        if let Some(link) = self.cache.get(&key).await {
            if now_unix() <= link.reusable_until {
                self.cache_hits.inc();
                return Ok(Obtained { link, reused: true });
            }
            // Past its time but not yet evicted: the record decides below.
            self.cache.invalidate(&key).await;
        }
        self.cache_misses.inc();
        let generated = AtomicBool::new(false);
        let link = self
            .cache
            .try_get_with_by_ref(&key, self.find_or_generate(app, &key, &generated, admit))
            .await
            .map_err(|shared| (*shared).clone())?;
        Ok(Obtained {
            link,
            reused: !generated.load(Ordering::Relaxed),
        })
    }

    /// Runs once per key however many requests wait for it.
    #[tracing::instrument(
        name = "link.make",
        skip_all,
        fields(app = %app.name, kind = key.target().kind)
    )]
    async fn find_or_generate(
        &self,
        app: &Target,
        key: &LinkKey,
        generated: &AtomicBool,
        admit: Admit<'_>,
    ) -> Result<Arc<Link>, AppError> {
        let now = now_unix();
        let rule = key.rule(now, self.reuse_min_secs);
        let target = key.target();
        if let Some(stored) =
            links::find_reusable(&self.db, &target, rule.min_expires_at, rule.interval).await?
        {
            return Ok(Arc::new(Link {
                reusable_until: rule.reusable_until(stored.expires_at),
                id: stored.id,
                link: stored.link,
                expires_at: stored.expires_at,
            }));
        }
        let link = match &key.spec {
            Spec::Plain(plain) => plain.link(&app.app_id),
            _ => {
                admit.check(Work::Other).await?;
                self.generate(app, key, now).await?
            }
        };
        generated.store(true, Ordering::Relaxed);
        // Counted from before the call: WeChat's clock starts a little later, so the
        // record never promises more than the link gives.
        let (expires_at, interval) = key.lifetime(now);
        let id = links::insert(&self.db, &target, &link, interval, expires_at, now).await?;
        tracing::info!(app = %app.name, kind = target.kind, id, expires_at, "link made");
        Ok(Arc::new(Link {
            id,
            link,
            expires_at,
            reusable_until: rule.reusable_until(expires_at),
        }))
    }

    /// One WeChat call, counted first where WeChat caps it (the unit is given back when
    /// WeChat made nothing).
    async fn generate(&self, app: &Target, key: &LinkKey, now: i64) -> Result<String, AppError> {
        let counted = match &key.spec {
            Spec::Jump(..) => Some((Bucket::day(now), self.daily_limit)),
            Spec::Short(short) if short.permanent => {
                Some((Bucket::permanent_short(), self.permanent_short_limit))
            }
            _ => None,
        };
        if let Some((bucket, limit)) = &counted {
            counts::take(&self.db, &app.app_id, bucket, *limit, now).await?;
        }
        let made = self.ask_wechat(app, &key.spec).await;
        if let (Err(_), Some((bucket, _))) = (&made, &counted) {
            counts::give_back(&self.db, &app.app_id, bucket).await;
        }
        made
    }

    /// The link `spec` describes, made by WeChat with `app`'s token.
    async fn ask_wechat(&self, app: &Target, spec: &Spec) -> Result<String, AppError> {
        let request = &match spec {
            Spec::Jump(JumpKind::Scheme, link) => LinkRequest::Scheme(SchemeRequest::new(link)),
            Spec::Jump(JumpKind::UrlLink, link) => LinkRequest::UrlLink(UrlLinkRequest::new(link)),
            Spec::Short(short) => LinkRequest::Short(ShortLinkRequest::new(short)),
            Spec::Nfc(nfc) => LinkRequest::Nfc(NfcSchemeRequest::new(nfc)),
            Spec::Plain(_) => {
                return Err(AppError::internal(
                    "a plain-text scheme is built without WeChat",
                ));
            }
        };
        self.mini_program
            .with_target_token(app, |client, token| async move {
                wechat::make(&client, &token.value, request).await
            })
            .await
    }
}
