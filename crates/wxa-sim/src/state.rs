//! The simulator's in-memory state. Each part has its own lock; no lock is held across an
//! await, and hot paths (token checks, cached images) take one short lock each.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};

use super::clock::Clock;
use super::codes::ImageCache;
use super::counters::Counters;
use super::faults::Faults;
use super::limits::{LimitValues, Windows};
use super::links::LinkStore;
use super::media::MediaStore;
use super::onetime::OneTimeStore;
use super::token_store::TokenStore;
use super::users::{LoginGrant, PhoneGrant};
use super::{SimApp, SimComponent, SimConfig};

/// The page an app publishes when it lists none.
pub const DEFAULT_PAGE: &str = "pages/index/index";

/// A mini program the simulator knows: configured, registered, or an Open Platform
/// authorizer (which has no secret the simulator would accept).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppInfo {
    pub name: String,
    pub app_id: String,
    pub secret: Option<String>,
    pub pages: Vec<String>,
    /// Pages that may be opened by a plain-text scheme (the MP admin's "明文Scheme拉起此
    /// 小程序"); `queryscheme` answers 85405 for the others.
    pub plain_pages: Vec<String>,
}

impl AppInfo {
    pub fn from_sim_app(app: &SimApp) -> Self {
        Self {
            name: app.name.clone(),
            app_id: app.app_id.clone(),
            secret: Some(app.secret.clone()),
            pages: normalize_pages(&app.pages),
            plain_pages: Vec::new(),
        }
    }

    /// The home page: the first published page.
    pub fn home(&self) -> &str {
        self.pages.first().map_or(DEFAULT_PAGE, String::as_str)
    }

    pub fn has_page(&self, page: &str) -> bool {
        self.pages.iter().any(|p| p == page)
    }
}

/// Published pages, without a leading `/`; none means the default page.
pub fn normalize_pages(pages: &[String]) -> Vec<String> {
    let pages: Vec<String> = pages
        .iter()
        .map(|p| p.trim().trim_start_matches('/').to_owned())
        .filter(|p| !p.is_empty())
        .collect();
    if pages.is_empty() {
        vec![DEFAULT_PAGE.to_owned()]
    } else {
        pages
    }
}

/// An Open Platform authorizer as the component sees it.
#[derive(Clone, Debug)]
pub struct Authorizer {
    pub app_id: String,
    pub refresh_token: String,
    pub authorized: bool,
    pub func_ids: Vec<u32>,
}

#[derive(Debug, Default)]
pub struct ComponentState {
    pub config: Option<SimComponent>,
    /// The authorization event URL: ticket pushes from api_start_push_ticket and the
    /// ten-minute timer, and `authorized` pushes from the authorization page, go there.
    pub push_url: Option<String>,
    /// component_verify_ticket -> issued at.
    pub tickets: HashMap<String, i64>,
    pub authorizers: HashMap<String, Authorizer>,
}

/// Distinct limited/qrcode codes per app (hashes of the normalized request), plus usage
/// set through the control API.
#[derive(Debug, Default)]
pub struct CodeQuota {
    pub made: HashSet<u64>,
    pub preset: u64,
}

pub struct SimState {
    pub clock: Clock,
    pub apps: RwLock<HashMap<String, Arc<AppInfo>>>,
    pub component: Mutex<ComponentState>,
    pub tokens: TokenStore,
    pub windows: Windows,
    pub limits: RwLock<LimitValues>,
    pub faults: Faults,
    pub counters: Counters,
    pub login_codes: OneTimeStore<LoginGrant>,
    pub phone_codes: OneTimeStore<PhoneGrant>,
    /// auth_code -> authorizer appid.
    pub auth_codes: OneTimeStore<String>,
    pub pre_auth_codes: OneTimeStore<()>,
    pub links: LinkStore,
    pub images: ImageCache,
    pub media: MediaStore,
    pub code_quota: Mutex<HashMap<String, CodeQuota>>,
    pub http: reqwest::Client,
}

impl SimState {
    pub fn new(cfg: &SimConfig) -> Self {
        let apps = cfg
            .apps
            .iter()
            .map(|a| (a.app_id.clone(), Arc::new(AppInfo::from_sim_app(a))))
            .collect();
        let component = ComponentState {
            config: cfg.component.clone(),
            ..ComponentState::default()
        };
        Self {
            clock: Clock::default(),
            apps: RwLock::new(apps),
            component: Mutex::new(component),
            tokens: TokenStore::default(),
            windows: Windows::default(),
            limits: RwLock::new(LimitValues::default()),
            faults: Faults::default(),
            counters: Counters::default(),
            login_codes: OneTimeStore::default(),
            phone_codes: OneTimeStore::default(),
            auth_codes: OneTimeStore::default(),
            pre_auth_codes: OneTimeStore::default(),
            links: LinkStore::default(),
            images: ImageCache::new(),
            media: MediaStore::default(),
            code_quota: Mutex::new(HashMap::new()),
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(10))
                .build()
                .unwrap_or_default(),
        }
    }

    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    pub fn limits(&self) -> LimitValues {
        read(&self.limits).clone()
    }

    pub fn app(&self, app_id: &str) -> Option<Arc<AppInfo>> {
        read(&self.apps).get(app_id).cloned()
    }

    /// Adds or replaces an app.
    pub fn put_app(&self, app: AppInfo) {
        write(&self.apps).insert(app.app_id.clone(), Arc::new(app));
    }

    /// The configured component's appid, if any.
    pub fn component_app_id(&self) -> Option<String> {
        lock(&self.component)
            .config
            .as_ref()
            .map(|c| c.app_id.clone())
    }
}

/// Locks a mutex; a panic elsewhere while holding it does not make the state unusable.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

pub fn read<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(PoisonError::into_inner)
}

pub fn write<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(PoisonError::into_inner)
}
