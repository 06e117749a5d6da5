//! Resilience against the simulator's fault injection: flaky upstreams, slow upstreams,
//! tokens revoked under load, and a kill -9 in the middle of a burst of generations.
//! (The database is not the subject here: these run on SQLite.)

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use futures_util::stream;
use serde_json::{Value, json};
use wxa_backend::config::Settings;

use crate::helpers::{DbKind, INTERNAL_KEY, TEST_APP_ID, TestApp, envelope};

async fn spawn(test: &str, tweak: impl FnOnce(&mut Settings)) -> TestApp {
    TestApp::spawn_with(DbKind::Sqlite, test, tweak)
        .await
        .expect("sqlite app")
}

/// `n` distinct unlimited codes, `concurrency` at a time; the statuses in order.
async fn make_codes(
    app: &TestApp,
    prefix: &str,
    n: usize,
    concurrency: usize,
) -> Vec<(u16, Value)> {
    stream::iter(0..n)
        .map(|i| async move {
            envelope(app.get(&format!("/api/qr_code?scene={prefix}{i}")).await).await
        })
        .buffered(concurrency)
        .collect()
        .await
}

#[tokio::test]
async fn every_request_succeeds_when_a_fifth_of_upstream_calls_fail() {
    // 20% of calls fail; with 8 retries a call is lost with odds of 0.2^9 (about 5e-7).
    let app = spawn("reliability::flaky_upstream", |s| s.wechat.max_retries = 8).await;
    app.sim_post(
        "/__sim/faults",
        json!({"api": "*", "busy": 0.1, "http_5xx": 0.1, "status": 502}),
    )
    .await;
    let answers = make_codes(&app, "flaky", 120, 16).await;
    let failed: Vec<_> = answers.iter().filter(|(s, _)| *s != 200).collect();
    assert!(failed.is_empty(), "{failed:?}");
    let counters = app.sim_counters().await;
    let faults = counters["errors"]["-1"].as_u64().unwrap_or(0)
        + counters["http_faults"].as_u64().unwrap_or(0);
    assert!(faults >= 10, "the faults really happened: {counters}");
    app.finish().await;
}

#[tokio::test]
async fn a_slow_upstream_is_a_5001_within_the_timeout_and_others_are_still_served() {
    let app = spawn("reliability::slow_upstream", |s| s.wechat.timeout_ms = 400).await;
    // Warm the token first, so only the code call is slow.
    let res = app
        .client
        .get(app.url("/internal/access_token"))
        .bearer_auth(INTERNAL_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    app.sim_post(
        "/__sim/faults",
        json!({"api": "wxa/getwxacodeunlimit", "delay_ms": 3000}),
    )
    .await;
    let started = Instant::now();
    let slow = async {
        let answer = envelope(app.get("/api/qr_code?scene=slow").await).await;
        (answer, started.elapsed())
    };
    let healthy = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let t = Instant::now();
        let (status, _) = envelope(app.get("/healthz").await).await;
        (status, t.elapsed())
    };
    let (((status, body), took), (health, health_took)) = tokio::join!(slow, healthy);
    assert_eq!((status, body["code"].as_u64()), (504, Some(5001)), "{body}");
    assert!(
        took < Duration::from_millis(400 + 300),
        "5001 within the timeout plus a margin: {took:?}"
    );
    assert_eq!(health, 200);
    assert!(
        health_took < Duration::from_millis(200),
        "others are served meanwhile: {health_took:?}"
    );
    app.finish().await;
}

#[tokio::test]
async fn a_token_revoked_every_half_second_during_a_burst_fails_no_request() {
    let app = spawn("reliability::revoked_under_load", |_| {}).await;
    let revoker = {
        let client = app.client.clone();
        let url = app.sim_url("/__sim/tokens/revoke");
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(500)).await;
                let _ = client
                    .post(&url)
                    .json(&json!({"appid": TEST_APP_ID, "kind": "stable"}))
                    .send()
                    .await;
            }
        })
    };
    let started = Instant::now();
    let mut answers = Vec::new();
    while started.elapsed() < Duration::from_secs(3) {
        answers.extend(make_codes(&app, &format!("rv{}x", answers.len()), 40, 8).await);
    }
    revoker.abort();
    let failed: Vec<_> = answers.iter().filter(|(s, _)| *s != 200).collect();
    assert!(
        failed.is_empty(),
        "{} of {} failed: {failed:?}",
        failed.len(),
        answers.len()
    );
    let rejected = app.sim_counters().await["errors"]["40001"]
        .as_u64()
        .unwrap_or(0);
    assert!(rejected >= 1, "revocations really hit requests");
    app.finish().await;
}

#[tokio::test]
async fn a_kill_9_mid_burst_leaves_no_partial_file_and_no_row_without_its_file() {
    let app = spawn("reliability::kill_9", |_| {}).await;
    // Every code call takes 150 ms, so the kill lands with many in flight.
    app.sim_post(
        "/__sim/faults",
        json!({"api": "wxa/getwxacodeunlimit", "delay_ms": 150}),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("app.db");
    let storage = dir.path().join("image");
    let start = |port: u16| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_wxa"))
            .arg("serve")
            .current_dir(dir.path())
            .env("APP__SERVER__PORT", port.to_string())
            .env(
                "APP__DATABASE__URL",
                format!("sqlite://{}?mode=rwc", db.display()),
            )
            .env("APP__STORAGE__DIR", &storage)
            .env("APP__WECHAT__BASE_URL", app.sim.base_url())
            .env("APP__WECHAT__MINI_PROGRAM__DEFAULT__APP_ID", TEST_APP_ID)
            .env(
                "APP__WECHAT__MINI_PROGRAM__DEFAULT__SECRET",
                crate::helpers::TEST_SECRET,
            )
            .env("APP__LOG__FORMAT", "text")
            .env_remove("RUST_LOG")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let port = lines
            .by_ref()
            .map_while(Result::ok)
            .find_map(|l| {
                l.split("listening on http://127.0.0.1:")
                    .nth(1)
                    .and_then(|r| {
                        r.split(|c: char| !c.is_ascii_digit())
                            .next()?
                            .parse::<u16>()
                            .ok()
                    })
            })
            .expect("serve logs its port");
        // Keep draining the logs: a full pipe would stall the server.
        std::thread::spawn(move || lines.map_while(Result::ok).for_each(drop));
        (child, format!("http://127.0.0.1:{port}"))
    };
    let (mut child, base) = start(0);
    let burst = {
        let client = app.client.clone();
        let base = base.clone();
        tokio::spawn(async move {
            stream::iter(0..200)
                .map(|i| {
                    let (client, base) = (client.clone(), base.clone());
                    async move {
                        client
                            .get(format!("{base}/api/qr_code?scene=k{i}"))
                            .send()
                            .await
                            .ok()
                    }
                })
                .buffer_unordered(32)
                .collect::<Vec<_>>()
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(900)).await;
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let _ = burst.await;

    // After the crash: every recorded code has its complete file. (Files left in .tmp are
    // cleared at the next start, and never served meanwhile.)
    let recorded = recorded_files(&db).await;
    assert!(!recorded.is_empty(), "some codes were made before the kill");
    for file in &recorded {
        let bytes = std::fs::read(storage.join(file)).unwrap_or_default();
        assert!(
            bytes.starts_with(&[0xFF, 0xD8, 0xFF]),
            "{file} is a complete JPEG"
        );
    }
    let (mut child, base) = start(0);
    let leftovers: Vec<_> = std::fs::read_dir(storage.join(".tmp"))
        .map(|d| d.flatten().count())
        .into_iter()
        .collect();
    assert_eq!(leftovers, vec![0], "temp files are cleared at start");
    for file in &recorded {
        let res = app
            .client
            .get(format!("{base}/image/{file}"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{file} is served after the restart");
    }
    // The file goes in place before its row, so a kill between the two can leave a
    // complete image without a row (the next identical request records it); never a
    // row without its file, and never a partial image in place.
    for entry in std::fs::read_dir(&storage)
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_file())
    {
        let bytes = std::fs::read(entry.path()).unwrap();
        assert!(
            bytes.starts_with(&[0xFF, 0xD8, 0xFF]) && bytes.ends_with(&[0xFF, 0xD9]),
            "{entry:?} is complete"
        );
    }
    child.kill().unwrap();
    child.wait().unwrap();
    app.finish().await;
}

async fn recorded_files(db: &std::path::Path) -> Vec<String> {
    use sqlx::Connection;
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    sqlx::query_scalar::<_, String>("SELECT file FROM codes")
        .fetch_all(&mut conn)
        .await
        .unwrap()
}
