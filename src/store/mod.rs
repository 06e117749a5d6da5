//! The database: one pool (SQLite, PostgreSQL or MySQL/MariaDB through sqlx's `Any`
//! driver) and the migrations for each dialect (`migrations/README.md`).
//!
//! Writing a query (one text for all three databases):
//! - Run it through `db.query(sql)` (never `sqlx::query` directly) and bind its values in
//!   `$N` order; repeating `$N` or using them out of order is fine.
//! - Write it in the SQLite/PostgreSQL form: `$N` placeholders, `ON CONFLICT (key) DO
//!   UPDATE SET c = excluded.c [WHERE ...]`, `RETURNING`. `src/store/dialect.rs`
//!   translates it for MySQL once per text (placeholders, `ON DUPLICATE KEY UPDATE`,
//!   the conditional upsert, `RETURNING` through the last insert id) and says how.
//! - `INSERT ... RETURNING id` is read with `.insert_id(..)`; other `RETURNING` columns
//!   with `.fetch_one(..)`. A conditional upsert's `rows_affected()` is 1 when it wrote.
//! - Bind text and `i64` only (booleans as 0/1); `LIMIT $n OFFSET $m` is portable, as is
//!   `COUNT(*)` read as `i64`. No `IN (subquery with LIMIT)` (MySQL refuses it): select
//!   from a derived table instead. Strings compare bytewise on every database (MySQL
//!   columns are `utf8mb4_bin`), so `=` and unique keys are case-sensitive everywhere.
//! - Whatever still differs (planner hints, a cast) branches on `db.backend()` in the
//!   query's own function, visibly.

use std::path::Path;
use std::time::Duration;

use secrecy::ExposeSecret;
use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, Executor};

use crate::config::DatabaseSettings;

pub mod admin;
pub mod claims;
pub mod codes;
mod dialect;
pub mod links;
pub mod open_platform;
mod query;
pub mod redis;
pub mod tokens;
pub mod users;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");
static MYSQL_MIGRATIONS: Migrator = sqlx::migrate!("migrations/mysql");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
    /// MySQL 8.0+ or MariaDB 10.5+.
    Mysql,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
            Backend::Mysql => "mysql",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create the SQLite folder {path}: {source}")]
    CreateDir {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot connect to the database: {0}")]
    Connect(sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

#[derive(Clone, Debug)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
    plans: std::sync::Arc<dialect::PlanCache>,
}

impl Db {
    pub async fn connect(settings: &DatabaseSettings) -> Result<Db, StoreError> {
        install_default_drivers();
        let url = settings.url.expose_secret();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("mysql:") || url.starts_with("mariadb:") {
            Backend::Mysql
        } else {
            Backend::Postgres
        };
        if backend == Backend::Sqlite {
            create_sqlite_folder(url)?;
        }
        let pool = AnyPoolOptions::new()
            .max_connections(settings.max_connections.max(1))
            // A database that is down must be a 503 within 2 s (README "Running several
            // instances"), not a request hanging on the pool.
            .acquire_timeout(Duration::from_millis(settings.acquire_timeout_ms.max(1)))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL lets readers run while one writer writes; mmap lets large
                        // index scans (admin counts) read pages without copying them.
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                             PRAGMA foreign_keys = ON; PRAGMA mmap_size = 268435456;",
                        )
                        .await?;
                    }
                    if backend == Backend::Mysql {
                        // Unix-second columns never pass through a server time zone,
                        // but NOW()-style defaults and logs would: pin UTC. Strict mode
                        // refuses (instead of truncating) a too-long value; utf8mb4
                        // carries every character of Chinese pages and titles.
                        conn.execute(
                            "SET time_zone = '+00:00', NAMES utf8mb4 COLLATE utf8mb4_bin, \
                             sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_DATE,NO_ZERO_IN_DATE,\
                             ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION'",
                        )
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect_lazy(url)
            .map_err(StoreError::Connect)?;
        first_connection(&pool).await?;
        Ok(Db {
            pool,
            backend,
            plans: Default::default(),
        })
    }

    pub async fn migrate(&self) -> Result<(), StoreError> {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
            Backend::Mysql => &MYSQL_MIGRATIONS,
        };
        migrator.run(&self.pool).await?;
        Ok(())
    }

    /// A cheap round trip, for readiness.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// True for a unique-constraint violation, on any of the databases (MySQL: 1062).
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .is_some_and(|d| d.is_unique_violation())
}

/// At start the database may be slower than a request may wait (a cluster's database
/// still starting, a first SQLite switch to WAL on a busy disk): keep trying for a while
/// before giving up, without lengthening the wait every request gets.
async fn first_connection(pool: &AnyPool) -> Result<(), StoreError> {
    const PATIENCE: Duration = Duration::from_secs(30);
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        match pool.acquire().await {
            Ok(_) => return Ok(()),
            Err(sqlx::Error::PoolTimedOut) if tokio::time::Instant::now() < deadline => {
                tracing::info!("waiting for the database");
            }
            Err(e) => return Err(StoreError::Connect(e)),
        }
    }
}

/// `sqlite://storage/app.db?mode=rwc` creates the file but not its folder.
fn create_sqlite_folder(url: &str) -> Result<(), StoreError> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    let path = rest.split('?').next().unwrap_or("");
    if path.is_empty() || path.starts_with(":memory:") {
        return Ok(());
    }
    match Path::new(path).parent() {
        Some(dir) if !dir.as_os_str().is_empty() => {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
                path: dir.display().to_string(),
                source,
            })
        }
        _ => Ok(()),
    }
}
