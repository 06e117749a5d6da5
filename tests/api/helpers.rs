//! `TestApp`: the product on a free port with a fresh database (a temp SQLite file, a
//! fresh PostgreSQL schema when `TEST_DATABASE_URL` is set, a fresh MySQL/MariaDB database
//! when `TEST_MYSQL_URL` is set).

use std::io::Write;
use std::path::PathBuf;

use actix_web::dev::ServerHandle;
use sqlx::Connection;
use wxa_backend::app::{AppContext, Application};
use wxa_backend::config::Settings;
use wxa_sim::{SimHandle, Simulator};

#[derive(Clone, Copy, Debug)]
pub enum DbKind {
    Sqlite,
    Postgres,
    Mysql,
}

/// A fresh database on a shared server for one test: a PostgreSQL schema or a MySQL
/// database, named `wxa_t_<uuid>`, dropped by `drop`.
pub struct FreshDb {
    kind: DbKind,
    base: String,
    name: String,
    /// The product's `database.url` for it.
    pub url: String,
}

impl FreshDb {
    /// `None` (after saying so) when the server's URL variable is not set.
    pub async fn create(kind: DbKind, test: &str) -> Option<FreshDb> {
        let name = format!("wxa_t_{}", uuid::Uuid::new_v4().simple());
        match kind {
            DbKind::Sqlite => panic!("SQLite needs no server"),
            DbKind::Postgres => {
                let Some(base) = test_url("TEST_DATABASE_URL") else {
                    say_skipped(test, "TEST_DATABASE_URL is not set (postgres variant)");
                    return None;
                };
                let mut conn = sqlx::PgConnection::connect(&base)
                    .await
                    .expect("TEST_DATABASE_URL is set but PostgreSQL is unreachable");
                sqlx::query(&format!("CREATE SCHEMA {name}"))
                    .execute(&mut conn)
                    .await
                    .expect("create schema");
                let sep = if base.contains('?') { '&' } else { '?' };
                let url = format!("{base}{sep}options=-c%20search_path%3D{name}");
                Some(FreshDb {
                    kind,
                    base,
                    name,
                    url,
                })
            }
            DbKind::Mysql => {
                let Some(base) = test_url("TEST_MYSQL_URL") else {
                    say_skipped(test, "TEST_MYSQL_URL is not set (mysql variant)");
                    return None;
                };
                let mut conn = sqlx::MySqlConnection::connect(&base)
                    .await
                    .expect("TEST_MYSQL_URL is set but MySQL/MariaDB is unreachable");
                sqlx::query(&format!(
                    "CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
                ))
                .execute(&mut conn)
                .await
                .expect("create database");
                let mut url = url::Url::parse(&base).expect("TEST_MYSQL_URL is a URL");
                url.set_path(&name);
                Some(FreshDb {
                    kind,
                    base,
                    name,
                    url: url.to_string(),
                })
            }
        }
    }

    pub async fn drop(self) {
        match self.kind {
            DbKind::Sqlite => {}
            DbKind::Postgres => {
                if let Ok(mut conn) = sqlx::PgConnection::connect(&self.base).await {
                    let drop = format!("DROP SCHEMA {} CASCADE", self.name);
                    let _ = sqlx::query(&drop).execute(&mut conn).await;
                }
            }
            DbKind::Mysql => {
                if let Ok(mut conn) = sqlx::MySqlConnection::connect(&self.base).await {
                    let drop = format!("DROP DATABASE {}", self.name);
                    let _ = sqlx::query(&drop).execute(&mut conn).await;
                }
            }
        }
    }
}

pub const TEST_APP_ID: &str = "wx1111111111111111";
pub const TEST_SECRET: &str = "test-secret-1111";
pub const INTERNAL_KEY: &str = "internal-key-for-tests";

pub struct TestApp {
    pub address: String,
    pub sim: SimHandle,
    pub client: reqwest::Client,
    pub context: AppContext,
    _dir: tempfile::TempDir,
    handle: ServerHandle,
    fresh_db: Option<FreshDb>,
}

/// A service URL for the tests from `name`; unset or empty means not configured.
pub fn test_url(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// Says, past the test harness's capture, that a test was skipped and why.
pub fn say_skipped(test: &str, why: &str) {
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {why}");
}

impl TestApp {
    /// `None` (after saying so) when the database kind is not available here.
    pub async fn spawn(kind: DbKind, test: &str) -> Option<TestApp> {
        Self::spawn_with(kind, test, |_| {}).await
    }

    pub async fn spawn_with(
        kind: DbKind,
        test: &str,
        tweak: impl FnOnce(&mut Settings),
    ) -> Option<TestApp> {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut settings = Settings::built_in().expect("built-in settings");
        settings.server.port = 0;
        settings.server.workers = 1;
        settings.server.static_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("public");
        settings.storage.dir = dir.path().join("image");
        let mut fresh_db = None;
        settings.database.url = match kind {
            DbKind::Sqlite => format!(
                "sqlite://{}?mode=rwc",
                dir.path().join("db/app.db").display()
            )
            .into(),
            DbKind::Postgres | DbKind::Mysql => {
                let db = FreshDb::create(kind, test).await?;
                let url = db.url.clone();
                fresh_db = Some(db);
                url.into()
            }
        };
        let app = settings
            .wechat
            .mini_program
            .get_mut("default")
            .expect("default app");
        app.app_id = TEST_APP_ID.to_owned();
        app.secret = TEST_SECRET.into();
        settings.internal.keys = vec![INTERNAL_KEY.into()];
        // Most tests make many codes and links from one address; the per-client limit has
        // tests of its own (tests/api/abuse.rs).
        settings.limits.per_ip_per_minute = 0;
        let sim = Simulator::start(
            wxa_backend::sandbox::sim_config(&settings),
            std::net::TcpListener::bind("127.0.0.1:0").expect("sim port"),
        )
        .expect("simulator starts");
        settings.wechat.base_url = sim.base_url();
        tweak(&mut settings);
        let app = Application::build(settings).await.expect("app builds");
        let address = format!("http://127.0.0.1:{}", app.port());
        let context = app.context().clone();
        let handle = app.handle();
        tokio::spawn(app.run_until_stopped());
        Some(TestApp {
            address,
            sim,
            client: reqwest::Client::builder().build().expect("client"),
            context,
            _dir: dir,
            handle,
            fresh_db,
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub fn sim_url(&self, path: &str) -> String {
        format!("{}{}", self.sim.base_url(), path)
    }

    /// The simulator's counters (`/__sim/counters`).
    pub async fn sim_counters(&self) -> serde_json::Value {
        self.client
            .get(self.sim_url("/__sim/counters"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Tokens the simulator issued to the test app, by kind.
    pub async fn tokens_issued(&self, kind: &str) -> u64 {
        self.sim_counters().await["tokens_issued"][TEST_APP_ID][kind]
            .as_u64()
            .unwrap_or(0)
    }

    /// Calls the simulator saw to `cgi-bin/stable_token` for the test app (successful or
    /// not): stable mode hands the same token to repeated calls, so count calls, not tokens.
    pub async fn stable_token_calls(&self) -> u64 {
        self.sim_counters().await["calls"]["cgi-bin/stable_token"][TEST_APP_ID]
            .as_u64()
            .unwrap_or(0)
    }

    pub async fn sim_post(&self, path: &str, body: serde_json::Value) -> serde_json::Value {
        let res = self
            .client
            .post(self.sim_url(path))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "{path}: {}", res.status());
        res.json().await.unwrap()
    }

    /// A second instance on the same database and simulator (a restart, or a peer).
    pub async fn another_instance(
        &self,
        tweak: impl FnOnce(&mut Settings),
    ) -> (String, AppContext, ServerHandle) {
        let mut settings = (*self.context.settings).clone();
        tweak(&mut settings);
        let app = Application::build(settings)
            .await
            .expect("second instance builds");
        let address = format!("http://127.0.0.1:{}", app.port());
        let (context, handle) = (app.context().clone(), app.handle());
        tokio::spawn(app.run_until_stopped());
        (address, context, handle)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request")
    }

    /// Stops the server and drops its PostgreSQL schema or MySQL database.
    pub async fn finish(self) {
        // Idle keep-alive connections would hold the graceful stop open.
        drop(self.client);
        self.handle.stop(true).await;
        self.sim.stop().await;
        self.context.db.close().await;
        if let Some(db) = self.fresh_db {
            db.drop().await;
        }
    }
}

/// Reads an envelope and checks its shape: exactly `code`, `msg` and `data`.
pub async fn envelope(res: reqwest::Response) -> (u16, serde_json::Value) {
    let status = res.status().as_u16();
    let ct = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    assert!(
        ct.starts_with("application/json"),
        "envelope content type, got {ct}"
    );
    let body: serde_json::Value = res.json().await.expect("json body");
    let obj = body.as_object().expect("envelope is an object");
    assert_eq!(obj.len(), 3, "exactly code, msg, data: {body}");
    assert!(obj["code"].is_u64(), "code is an integer: {body}");
    assert!(
        obj["msg"].as_str().is_some_and(|m| !m.is_empty()),
        "msg is text: {body}"
    );
    assert!(obj.contains_key("data"), "data present: {body}");
    (status, body)
}

/// Runs a test body on SQLite, on PostgreSQL and on MySQL/MariaDB (each server when
/// configured), on an app
/// from `TestApp::spawn`, or from `spawn = path;` (an `async fn(DbKind, &str) ->
/// Option<TestApp>`).
#[macro_export]
macro_rules! on_every_database {
    (spawn = $spawn:path; $(async fn $name:ident($app:ident: &TestApp) $body:block)+) => {$(
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            use $crate::helpers::{DbKind, TestApp};

            async fn run($app: &TestApp) $body

            #[tokio::test]
            async fn sqlite() {
                let name = concat!(module_path!(), "::sqlite");
                let app = $spawn(DbKind::Sqlite, name).await.expect("sqlite always runs");
                run(&app).await;
                app.finish().await;
            }

            #[tokio::test]
            async fn postgres() {
                let name = concat!(module_path!(), "::postgres");
                if let Some(app) = $spawn(DbKind::Postgres, name).await {
                    run(&app).await;
                    app.finish().await;
                }
            }

            #[tokio::test]
            async fn mysql() {
                let name = concat!(module_path!(), "::mysql");
                if let Some(app) = $spawn(DbKind::Mysql, name).await {
                    run(&app).await;
                    app.finish().await;
                }
            }
        }
    )+};
    ($(async fn $name:ident($app:ident: &TestApp) $body:block)+) => {
        $crate::on_every_database! {
            spawn = $crate::helpers::TestApp::spawn;
            $(async fn $name($app: &TestApp) $body)+
        }
    };
}
