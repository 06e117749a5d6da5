//! The real binary's logs at debug level: no full phone, session_key, session token,
//! access_token, app secret, openid or code in them.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use sqlx::Connection;
use wxa_sim::{SimApp, SimConfig, Simulator};

use crate::helpers::{DbKind, FreshDb, TEST_APP_ID, TEST_SECRET};

const PHONE: &str = "13812345678";
const OPENID: &str = "o-logcheck-0000000001";

/// `wxa serve` as a process, its stderr captured (the gateway's log test uses it too).
pub struct Product {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    reader: std::thread::JoinHandle<()>,
}

impl Product {
    /// `wxa serve` against `sim_url`, logging at debug level to a captured stderr.
    fn start(dir: &std::path::Path, sim_url: &str, database_url: &str) -> Product {
        Self::start_with(dir, sim_url, database_url, &[])
    }

    /// Like `start`, with more `APP__...` variables.
    pub fn start_with(
        dir: &std::path::Path,
        sim_url: &str,
        database_url: &str,
        env: &[(&str, &str)],
    ) -> Product {
        let mut child = Command::new(env!("CARGO_BIN_EXE_wxa"))
            .envs(env.iter().copied())
            .arg("serve")
            .current_dir(dir)
            .env("RUST_LOG", "debug")
            .env("APP__LOG__FORMAT", "text")
            .env("APP__SERVER__PORT", "0")
            .env("APP__SERVER__WORKERS", "1")
            .env("APP__DATABASE__URL", database_url)
            .env("APP__WECHAT__BASE_URL", sim_url)
            .env("APP__WECHAT__MINI_PROGRAM__DEFAULT__APP_ID", TEST_APP_ID)
            .env("APP__WECHAT__MINI_PROGRAM__DEFAULT__SECRET", TEST_SECRET)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        Product {
            child,
            lines,
            reader,
        }
    }

    pub async fn port(&self) -> u16 {
        for _ in 0..600 {
            let found = self.lines.lock().unwrap().iter().find_map(|l| {
                let rest = l.split("listening on http://127.0.0.1:").nth(1)?;
                rest.split(|c: char| !c.is_ascii_digit())
                    .next()?
                    .parse()
                    .ok()
            });
            if let Some(port) = found {
                return port;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no port in the logs: {:?}", self.lines.lock().unwrap());
    }

    /// SIGTERM, then everything it wrote.
    pub fn stop(mut self) -> String {
        let killed = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        assert!(self.child.wait().unwrap().success());
        self.reader.join().unwrap();
        self.lines.lock().unwrap().join("\n")
    }
}

async fn call(client: &reqwest::Client, url: String, bearer: Option<&str>, body: Value) -> Value {
    let mut req = client.post(url).json(&body);
    if let Some(t) = bearer {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap().json().await.unwrap()
}

async fn mint(client: &reqwest::Client, sim: &str, path: &str, body: Value) -> String {
    let answer: Value = client
        .post(format!("{sim}{path}"))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    answer["code"].as_str().unwrap().to_owned()
}

/// Reads one text value from the product's database.
async fn read(database_url: &str, sql: &str) -> String {
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(database_url).await.unwrap();
    let (value,): (String,) = sqlx::query_as(sql).fetch_one(&mut conn).await.unwrap();
    value
}

async fn logs_hold_no_secrets(database_url: &str, dir: &std::path::Path) {
    let sim = Simulator::start(
        SimConfig {
            apps: vec![SimApp {
                name: "default".into(),
                app_id: TEST_APP_ID.into(),
                secret: TEST_SECRET.into(),
                pages: vec![],
            }],
            component: None,
        },
        std::net::TcpListener::bind("127.0.0.1:0").unwrap(),
    )
    .unwrap();
    let s = sim.base_url();
    let product = Product::start(dir, &s, database_url);
    let base = format!("http://127.0.0.1:{}", product.port().await);
    let client = reqwest::Client::new();

    let login_code = mint(
        &client,
        &s,
        "/__sim/login_codes",
        json!({"appid": TEST_APP_ID, "openid": OPENID}),
    )
    .await;
    let login = call(
        &client,
        format!("{base}/api/login"),
        None,
        json!({"code": login_code}),
    )
    .await;
    assert_eq!(login["code"], 200, "{login}");
    let token = login["data"]["token"].as_str().unwrap().to_owned();
    let phone_code = mint(
        &client,
        &s,
        "/__sim/phone_codes",
        json!({"appid": TEST_APP_ID, "phone_number": PHONE}),
    )
    .await;
    let bound = call(
        &client,
        format!("{base}/api/bind_phone"),
        Some(&token),
        json!({"code": phone_code}),
    )
    .await;
    assert_eq!(bound["code"], 200, "{bound}");
    // The failure paths log too: a spent code (5000) and a phone of another user (409).
    let again = call(
        &client,
        format!("{base}/api/bind_phone"),
        Some(&token),
        json!({"code": phone_code}),
    )
    .await;
    assert_eq!(again["code"], 5000, "{again}");
    let other_code = mint(
        &client,
        &s,
        "/__sim/login_codes",
        json!({"appid": TEST_APP_ID, "openid": "o-logcheck-0000000002"}),
    )
    .await;
    let other = call(
        &client,
        format!("{base}/api/login"),
        None,
        json!({"code": other_code}),
    )
    .await;
    let other_token = other["data"]["token"].as_str().unwrap().to_owned();
    let phone_code2 = mint(
        &client,
        &s,
        "/__sim/phone_codes",
        json!({"appid": TEST_APP_ID, "phone_number": PHONE}),
    )
    .await;
    let taken = call(
        &client,
        format!("{base}/api/bind_phone"),
        Some(&other_token),
        json!({"code": phone_code2}),
    )
    .await;
    assert_eq!(taken["code"], 409, "{taken}");

    let session_key = read(
        database_url,
        "SELECT session_key FROM user_sessions ORDER BY id LIMIT 1",
    )
    .await;
    let access_token = read(database_url, "SELECT token FROM access_tokens LIMIT 1").await;
    drop(client);
    let logs = product.stop();
    sim.stop().await;

    // Debug level was on (the client's per-call line), and our own lines are there.
    assert!(logs.contains("wechat call"), "{logs}");
    assert!(
        logs.contains("user logged in") && logs.contains("138****5678"),
        "{logs}"
    );
    let secrets = [
        ("the phone", PHONE),
        ("the session_key", session_key.as_str()),
        ("the session token", token.as_str()),
        ("the other session token", other_token.as_str()),
        ("the access_token", access_token.as_str()),
        ("the app secret", TEST_SECRET),
        ("the openid", OPENID),
        ("the login code", login_code.as_str()),
        ("the phone code", phone_code.as_str()),
    ];
    for (what, secret) in secrets {
        assert!(!secret.is_empty());
        let line = logs.lines().find(|l| l.contains(secret));
        assert!(line.is_none(), "{what} is in the logs: {line:?}");
    }
}

#[tokio::test]
async fn the_logs_never_show_a_phone_a_session_key_or_a_token_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("app.db").display());
    logs_hold_no_secrets(&url, dir.path()).await;
}

#[tokio::test]
async fn the_logs_never_show_a_phone_a_session_key_or_a_token_on_postgres() {
    on_a_server(DbKind::Postgres, "users::logs::postgres").await;
}

#[tokio::test]
async fn the_logs_never_show_a_phone_a_session_key_or_a_token_on_mysql() {
    on_a_server(DbKind::Mysql, "users::logs::mysql").await;
}

async fn on_a_server(kind: DbKind, test: &str) {
    let Some(db) = FreshDb::create(kind, test).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    logs_hold_no_secrets(&db.url, dir.path()).await;
    db.drop().await;
}
