//! Builds the running application: context, routes, server.

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use actix_files::Files;
use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::from_fn;
use actix_web::{App, HttpResponse, HttpServer, ResponseError, web};

use crate::config::{Settings, StorageBackend};
use crate::error::AppError;
use crate::metrics::Metrics;
use crate::services::admission::Gate;
use crate::services::codes::CodeService;
use crate::services::codes::images::ImageError;
use crate::services::gateway::GatewayService;
use crate::services::links::LinkService;
use crate::services::mini_program::MiniProgramService;
use crate::services::open_platform::OpenPlatformService;
use crate::services::rate::RateLimiter;
use crate::services::users::UserService;
use crate::services::{DepsError, ServiceDeps};
use crate::store::redis::RedisStore;
use crate::store::{Db, StoreError};
use crate::{controllers, middleware, openapi};

/// How often ended login sessions are deleted.
const SESSION_PURGE_EVERY: Duration = Duration::from_secs(600);

/// Everything a handler may need, registered once as `web::Data`.
#[derive(Clone)]
pub struct AppContext {
    pub settings: Arc<Settings>,
    pub db: Db,
    pub metrics: Arc<Metrics>,
    pub mini_program: Arc<MiniProgramService>,
    pub codes: Arc<CodeService>,
    pub links: Arc<LinkService>,
    pub users: Arc<UserService>,
    pub open_platform: Arc<OpenPlatformService>,
    /// Set when `redis.url` is (readiness reports it).
    pub redis: Option<RedisStore>,
    /// Who may make WeChat do new work.
    pub gate: Arc<Gate>,
    pub gateway: Arc<GatewayService>,
    /// The admin list's code totals, shared by every worker.
    pub admin_totals: controllers::admin::TotalCache,
}

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("cannot create {path}: {source}")]
    Storage {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Deps(#[from] DepsError),
    #[error("storage: {0}")]
    Images(#[from] ImageError),
}

pub struct Application {
    port: u16,
    server: Server,
    context: AppContext,
    background: tokio::task::JoinHandle<()>,
}

impl Application {
    /// Connects the database, applies migrations, binds the port (0 = any free one).
    pub async fn build(settings: Settings) -> Result<Application, StartupError> {
        let db = Db::connect(&settings.database).await?;
        db.migrate().await?;
        if settings.storage.backend == StorageBackend::Fs {
            prepare_storage(&settings.storage.dir)?;
        }

        let addr = format!("{}:{}", settings.server.host, settings.server.port);
        let listener = TcpListener::bind(&addr).map_err(|source| StartupError::Bind {
            addr: addr.clone(),
            source,
        })?;
        let port = listener
            .local_addr()
            .map_err(|source| StartupError::Bind { addr, source })?
            .port();
        warn_if_public_url_misses(&settings.server.public_url, port);

        let deps = ServiceDeps::build(settings, db).await?;
        let tokens = deps.mini_program.tokens.clone();
        let users = UserService::new(&deps);
        let gate = Arc::new(Gate::new(
            RateLimiter::new(deps.settings.limits.per_ip_per_minute, deps.redis.clone()),
            users.clone(),
            deps.settings.codes.public_limited,
        ));
        let codes = CodeService::new(&deps)?;
        let open_platform = OpenPlatformService::new(&deps);
        let context = AppContext {
            gateway: GatewayService::new(&deps, open_platform.clone(), codes.clone()),
            codes,
            links: LinkService::new(&deps),
            users,
            gate,
            open_platform,
            settings: deps.settings,
            db: deps.db,
            metrics: deps.metrics,
            mini_program: deps.mini_program,
            redis: deps.redis,
            admin_totals: controllers::admin::TotalCache::new(),
        };
        let server = serve(context.clone(), listener)?;
        // Ended login sessions go at start and then every 10 minutes.
        let users = context.users.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(SESSION_PURGE_EVERY);
            loop {
                every.tick().await;
                users.purge_expired_sessions().await;
            }
        });
        // An authorizer whose refresh token was lost gets it back from WeChat.
        if context.open_platform.enabled() {
            let open_platform = context.open_platform.clone();
            tokio::spawn(async move { open_platform.recover_at_start().await });
        }
        // Stored tokens are refreshed at their due time even without traffic.
        let background = tokio::spawn(async move { tokens.arm_from_store().await });
        Ok(Application {
            port,
            server,
            context,
            background,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn context(&self) -> &AppContext {
        &self.context
    }

    /// Stops the server gracefully when called (tests; SIGTERM does the same in production).
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Runs until SIGTERM/SIGINT or `handle().stop(true)`; in-flight requests finish first.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let result = self.server.await;
        self.background.abort();
        self.context.db.close().await;
        result
    }
}

fn serve(context: AppContext, listener: TcpListener) -> Result<Server, StartupError> {
    let workers = match context.settings.server.workers {
        0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
        n => n,
    };
    let bind_err = |source| StartupError::Bind {
        addr: "listener".into(),
        source,
    };
    let limits = &context.settings.limits;
    // actix counts connections per worker.
    let max_connections = (limits.max_connections / workers).max(1);
    let around = middleware::Around {
        metrics: context.metrics.clone(),
        body_timeout: Duration::from_secs(limits.body_timeout_secs.max(1)),
    };
    let server = HttpServer::new(move || {
        let around = around.clone();
        App::new()
            .wrap(from_fn(move |req, next| {
                middleware::around_request(around.clone(), req, next)
            }))
            .configure(|cfg| routes(cfg, &context))
    })
    // Streamed answers (the gateway's images and media) leave in several writes; with
    // Nagle on, the last one waits for the client's delayed ACK (up to 40 ms).
    .on_connect(|conn, _| {
        if let Some(tcp) = conn.downcast_ref::<actix_web::rt::net::TcpStream>() {
            let _ = tcp.set_nodelay(true);
        }
    })
    .workers(workers)
    .max_connections(max_connections)
    .shutdown_timeout(10)
    .listen(listener)
    .map_err(bind_err)?
    .run();
    Ok(server)
}

/// Every route of the product, shared by `serve` and the tests. Static files go last.
pub fn routes(cfg: &mut web::ServiceConfig, context: &AppContext) {
    let settings = &context.settings;
    cfg.app_data(web::Data::new(context.clone()))
        .configure(controllers::ops::configure)
        .configure(controllers::internal::configure)
        .configure(controllers::qr_code::configure)
        .configure(controllers::links::configure)
        .configure(controllers::users::configure)
        .configure(controllers::open_platform::configure)
        .configure(|cfg| controllers::admin::configure(cfg, &context.admin_totals))
        .configure(|cfg| controllers::gateway::configure(cfg, &context.gateway))
        .configure(openapi::configure)
        // Hidden entries (`.tmp/` with half-written images, dotfiles) are never served.
        .service(web::resource(r"/{hidden:(.*/)?\..*}").to(not_found))
        .configure(|cfg| controllers::images::configure(cfg, context))
        .service(
            Files::new("/", PathBuf::from(&settings.server.static_dir))
                .index_file("index.html")
                .default_handler(web::to(not_found)),
        )
        .default_service(web::to(not_found));
}

async fn not_found() -> HttpResponse {
    AppError::NotFound.error_response()
}

/// Creates the image folder and clears temp files a crash may have left behind, so every
/// image file in it is complete.
fn prepare_storage(dir: &std::path::Path) -> Result<(), StartupError> {
    let err = |source| StartupError::Storage {
        path: dir.display().to_string(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(err)?;
    let tmp = dir.join(".tmp");
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(err)?;
    }
    std::fs::create_dir_all(&tmp).map_err(err)?;
    Ok(())
}

/// Image URLs start with `server.public_url`. On loopback, a port other than the one this
/// server listens on is almost always a forgotten setting (e.g. `server.port` changed
/// alone), and every URL handed out would point elsewhere: say so at start.
fn warn_if_public_url_misses(public_url: &str, port: u16) {
    if public_url_misses(public_url, port) {
        tracing::warn!(
            public_url,
            port,
            "server.public_url names another port than this server's: image URLs will point there"
        );
    }
}

fn public_url_misses(public_url: &str, port: u16) -> bool {
    let Ok(url) = url::Url::parse(public_url) else {
        return false;
    };
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name == "localhost",
        None => false,
    };
    loopback && url.port_or_known_default() != Some(port)
}

#[cfg(test)]
mod tests {
    use super::public_url_misses;

    #[test]
    fn a_loopback_public_url_on_another_port_is_noticed() {
        assert!(public_url_misses("http://127.0.0.1:8080", 18080));
        assert!(public_url_misses("http://localhost:8080/base", 9000));
        assert!(public_url_misses("http://[::1]", 8080));
        assert!(!public_url_misses("http://127.0.0.1:8080", 8080));
        assert!(!public_url_misses("http://localhost", 80));
        // Behind a proxy or on a public name the port may differ by design.
        assert!(!public_url_misses("https://wxa.example.com", 8080));
        assert!(!public_url_misses("http://10.0.0.5:8080", 9000));
    }
}
