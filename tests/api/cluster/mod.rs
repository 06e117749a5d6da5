//! Three instances that behave as one (README "Running several instances"): this test's own
//! instance and two `wxa serve` processes (so one can be killed with SIGKILL), on one
//! PostgreSQL schema, one Redis of our own (so it can be stopped), one S3 bucket (s3s-fs)
//! and one simulator.

mod codes;
mod faults;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use secrecy::ExposeSecret;
use serde_json::Value;
use wxa_backend::config::Settings;

use crate::helpers::{DbKind, INTERNAL_KEY, TestApp, envelope, say_skipped, test_url};
use crate::private_redis::PrivateRedis;
use crate::s3_server::S3Server;

/// The bucket's folder for this suite's images.
const PREFIX: &str = "cluster/";

pub struct Cluster {
    /// Instance 0, in this process: it owns the simulator and the database schema.
    pub app: TestApp,
    /// Instances 1 and 2.
    pub peers: Vec<Peer>,
    pub s3: S3Server,
    pub redis: PrivateRedis,
    pub client: reqwest::Client,
}

/// One `wxa serve` process.
pub struct Peer {
    child: Child,
    pub url: String,
}

impl Cluster {
    /// `None` (said out loud) without PostgreSQL; without s3s-fs or redis-server, the
    /// helpers skip the same way (and fail under CI).
    pub async fn start(test: &str, tweak: impl Fn(&mut Settings)) -> Option<Cluster> {
        if test_url("TEST_DATABASE_URL").is_none() {
            say_skipped(
                test,
                "TEST_DATABASE_URL is not set (a cluster shares PostgreSQL)",
            );
            return None;
        }
        let s3 = S3Server::start(test).await?;
        let redis = PrivateRedis::start(test)?;
        let app = TestApp::spawn_with(DbKind::Postgres, test, |s| {
            s3.configure(s, PREFIX);
            s.redis.url = redis.url().into();
            s.redis.key_prefix = format!("wxa-cluster-{}", uuid::Uuid::new_v4().simple());
            // A claim of a killed instance lapses after two of these plus 3 s.
            s.wechat.timeout_ms = 1000;
            tweak(s);
        })
        .await?;
        let mut peers = Vec::new();
        for _ in 0..2 {
            // Blocking reads of its log: off the runtime that serves instance 0.
            let settings = (*app.context.settings).clone();
            let peer = tokio::task::spawn_blocking(move || Peer::spawn(&settings));
            peers.push(peer.await.expect("peer starts"));
        }
        Some(Cluster {
            app,
            peers,
            s3,
            redis,
            client: reqwest::Client::new(),
        })
    }

    /// Every instance's base URL; instance `i % 3` takes request `i` of a burst.
    pub fn urls(&self) -> Vec<String> {
        std::iter::once(self.app.address.clone())
            .chain(self.peers.iter().map(|p| p.url.clone()))
            .collect()
    }

    /// `/api/qr_code` with `body` on the instance at `base`, with the internal key.
    pub async fn code(&self, base: &str, body: &Value) -> Result<(u16, Value), reqwest::Error> {
        let res = self
            .client
            .post(format!("{base}/api/qr_code"))
            .bearer_auth(INTERNAL_KEY)
            .json(body)
            .send()
            .await?;
        Ok(envelope(res).await)
    }

    /// The simulator's count of `api` calls for the test app.
    pub async fn calls(&self, api: &str) -> u64 {
        crate::codes::calls(&self.app, api).await
    }

    pub async fn image(&self, base: &str, file: &str) -> (u16, bytes::Bytes) {
        let res = self
            .client
            .get(format!("{base}/image/{file}"))
            .send()
            .await
            .unwrap();
        (res.status().as_u16(), res.bytes().await.unwrap())
    }

    pub async fn finish(mut self) {
        for peer in &mut self.peers {
            peer.stop();
        }
        self.app.finish().await;
    }
}

impl Peer {
    /// `wxa serve` with `settings`' shared parts, given as environment variables (the
    /// way an operator configures a container).
    fn spawn(settings: &Settings) -> Peer {
        let app = &settings.wechat.mini_program["default"];
        let storage = &settings.storage;
        let dir = tempfile::tempdir().expect("peer dir");
        let mut child = Command::new(env!("CARGO_BIN_EXE_wxa"))
            .arg("serve")
            .current_dir(dir.path())
            .env_remove("RUST_LOG")
            .envs([
                ("APP__LOG__FORMAT", "text".to_owned()),
                ("APP__SERVER__PORT", "0".into()),
                ("APP__SERVER__WORKERS", "1".into()),
                (
                    "APP__DATABASE__URL",
                    settings.database.url.expose_secret().into(),
                ),
                ("APP__REDIS__URL", settings.redis.url.expose_secret().into()),
                ("APP__REDIS__KEY_PREFIX", settings.redis.key_prefix.clone()),
                ("APP__STORAGE__BACKEND", "s3".into()),
                ("APP__STORAGE__BUCKET", storage.bucket.clone()),
                ("APP__STORAGE__ENDPOINT", storage.endpoint.clone()),
                ("APP__STORAGE__ACCESS_KEY_ID", storage.access_key_id.clone()),
                (
                    "APP__STORAGE__SECRET_ACCESS_KEY",
                    storage.secret_access_key.expose_secret().into(),
                ),
                ("APP__STORAGE__PREFIX", storage.prefix.clone()),
                ("APP__WECHAT__BASE_URL", settings.wechat.base_url.clone()),
                (
                    "APP__WECHAT__TIMEOUT_MS",
                    settings.wechat.timeout_ms.to_string(),
                ),
                (
                    "APP__WECHAT__MINI_PROGRAM__DEFAULT__APP_ID",
                    app.app_id.clone(),
                ),
                (
                    "APP__WECHAT__MINI_PROGRAM__DEFAULT__SECRET",
                    app.secret.expose_secret().into(),
                ),
                ("APP__INTERNAL__KEYS", format!("[\"{INTERNAL_KEY}\"]")),
                ("APP__LIMITS__PER_IP_PER_MINUTE", "0".into()),
                (
                    "APP__CODES__LIMITED_QUOTA",
                    settings.codes.limited_quota.to_string(),
                ),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("wxa serve starts");
        let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
        let port: u16 = loop {
            let line = lines
                .next()
                .expect("wxa serve logs its port before anything fails")
                .expect("log line");
            if let Some(rest) = line.split("listening on http://127.0.0.1:").nth(1) {
                break rest
                    .split(|c: char| !c.is_ascii_digit())
                    .next()
                    .and_then(|p| p.parse().ok())
                    .expect("a port");
            }
        };
        // Keep reading its log, or the process blocks once the pipe is full.
        std::thread::spawn(move || {
            let _dir = dir;
            for _ in lines.map_while(Result::ok) {}
        });
        Peer {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL: no graceful stop, nothing flushed.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn stop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::time::Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.kill9();
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
