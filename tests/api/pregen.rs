//! `wxa pregen` as a child process against the test's simulator and database: it makes
//! every scene once, skips what exists, keeps the pace, reports failures, and resumes
//! after a kill or Ctrl-C with nothing lost or made twice.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use secrecy::ExposeSecret;
use serde_json::json;
use wxa_backend::config::StorageBackend;

use crate::codes::{calls, count_codes, decode, files_in, storage};
use crate::helpers::{DbKind, TEST_APP_ID, TEST_SECRET, TestApp};
use crate::on_every_database;
use crate::s3_server::S3Server;

const UNLIMIT: &str = "wxa/getwxacodeunlimit";

/// A config file pointing the child at the test's database, simulator and image store.
fn config(app: &TestApp, dir: &Path, per_minute: u32) -> PathBuf {
    let s = &app.context.settings;
    let storage = &s.storage;
    let store = match storage.backend {
        StorageBackend::Fs => String::new(),
        StorageBackend::S3 => format!(
            "backend = \"s3\"\nbucket = \"{}\"\nendpoint = \"{}\"\nprefix = \"{}\"\n\
             access_key_id = \"{}\"\nsecret_access_key = \"{}\"\n",
            storage.bucket,
            storage.endpoint,
            storage.prefix,
            storage.access_key_id,
            storage.secret_access_key.expose_secret()
        ),
    };
    let text = format!(
        "[database]\nurl = \"{db}\"\n\
         [wechat]\nbase_url = \"{base}\"\n\
         [wechat.mini_program.default]\napp_id = \"{TEST_APP_ID}\"\nsecret = \"{TEST_SECRET}\"\n\
         [codes]\nunlimited_per_minute = {per_minute}\n\
         [storage]\ndir = \"{dir}\"\n{store}\
         [log]\nlevel = \"warn\"\n",
        db = s.database.url.expose_secret(),
        base = s.wechat.base_url,
        dir = storage.dir.display(),
    );
    let path = dir.join("pregen.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn scenes_file(dir: &Path, name: &str, lines: &[String]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, lines.join("\n")).unwrap();
    path
}

fn scenes(prefix: &str, n: usize) -> Vec<String> {
    (1..=n).map(|i| format!("{prefix}{i:03}")).collect()
}

fn pregen(dir: &Path, config: &Path, scenes: &Path, concurrency: u32) -> Child {
    Command::new(env!("CARGO_BIN_EXE_wxa"))
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .env_remove("APP_ENV")
        .args([
            "pregen",
            "--kind",
            "unlimited",
            "--page",
            "pages/index/index",
        ])
        .arg("--scenes")
        .arg(scenes)
        .arg("--config")
        .arg(config)
        .args(["--concurrency", &concurrency.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits without blocking the runtime (the simulator runs on it).
async fn finish(mut child: Child) -> (ExitStatus, String) {
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(started.elapsed() < Duration::from_secs(90), "pregen hangs");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    (status, format!("{stdout}\n--- stderr\n{stderr}"))
}

async fn wait_for_codes(app: &TestApp, at_least: i64) {
    let started = Instant::now();
    while count_codes(app).await < at_least {
        assert!(started.elapsed() < Duration::from_secs(30), "no progress");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn signal(child: &Child, sig: &str) {
    let sent = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
}

/// Every scene has exactly one record and one complete image; nothing is left in `.tmp`.
async fn assert_complete(app: &TestApp, expected: &[String]) {
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT scene, file FROM codes ORDER BY scene")
            .fetch_all(app.context.db.pool())
            .await
            .unwrap();
    let recorded: Vec<&String> = rows.iter().map(|(scene, _)| scene).collect();
    let mut want: Vec<&String> = expected.iter().collect();
    want.sort();
    assert_eq!(recorded, want, "one record per scene");
    let mut files: Vec<&String> = rows.iter().map(|(_, file)| file).collect();
    files.sort();
    assert_eq!(files_in(&storage(app)).iter().collect::<Vec<_>>(), files);
    assert!(
        files_in(&storage(app).join(".tmp")).is_empty(),
        "temp leftovers"
    );
}

on_every_database! {
    async fn pregen_makes_every_scene_once_skips_them_next_time_and_reports_failures(app: &TestApp) {
        let dir = tempfile::tempdir().unwrap();
        let config = config(app, dir.path(), 5000);
        let good = scenes("s", 12);
        let mut lines = good.clone();
        lines.insert(3, "s002".into()); // a repeat
        lines.insert(5, String::new());
        lines.push("bad%scene".into());
        let file = scenes_file(dir.path(), "scenes.txt", &lines);
        let (status, out) = finish(pregen(dir.path(), &config, &file, 4)).await;
        assert_eq!(status.code(), Some(1), "a failure makes the exit non-zero: {out}");
        assert!(out.contains("made     12"), "{out}");
        assert!(out.contains("failed   1") && out.contains("invalid scene") && out.contains("line 15"), "{out}");
        assert!(out.contains("duplicate lines ignored: 1"), "{out}");
        assert_complete(app, &good).await;
        let (file_name,): (String,) = sqlx::query_as("SELECT file FROM codes WHERE scene = 's007'")
            .fetch_one(app.context.db.pool()).await.unwrap();
        let bytes = std::fs::read(storage(app).join(file_name)).unwrap();
        assert_eq!(decode(&bytes), format!("https://sim.wxa/{TEST_APP_ID}/pages/index/index?scene=s007"));

        let file = scenes_file(dir.path(), "good.txt", &good);
        let (status, out) = finish(pregen(dir.path(), &config, &file, 4)).await;
        assert!(status.success(), "{out}");
        assert!(out.contains("made     0") && out.contains("skipped  12"), "{out}");
        assert_eq!(calls(app, UNLIMIT).await, 12);
        // The server hands out what pregen made, without a call.
        let (_, body) = crate::codes::get_code(app, "scene=s001&page=pages/index/index").await;
        assert_eq!(body["data"]["cached"], true, "{body}");
        assert_eq!(calls(app, UNLIMIT).await, 12);
    }

    async fn a_killed_pregen_resumes_with_nothing_lost_or_made_twice(app: &TestApp) {
        app.sim_post("/__sim/faults", json!({"api": UNLIMIT, "delay_ms": 150})).await;
        let dir = tempfile::tempdir().unwrap();
        let config = config(app, dir.path(), 5000);
        let all = scenes("k", 40);
        let file = scenes_file(dir.path(), "scenes.txt", &all);
        let child = pregen(dir.path(), &config, &file, 4);
        wait_for_codes(app, 8).await;
        signal(&child, "-KILL");
        let (status, _) = finish(child).await;
        assert!(!status.success());
        let made_before = count_codes(app).await;
        assert!(made_before < 40, "killed mid-run");
        // What a kill between write and rename leaves: a temp file of a dead writer.
        let tmp = storage(app).join(".tmp");
        std::fs::write(tmp.join("4000000000-0123abcd.jpg"), b"half an image").unwrap();

        app.client.delete(app.sim_url("/__sim/faults")).send().await.unwrap();
        let (status, out) = finish(pregen(dir.path(), &config, &file, 4)).await;
        assert!(status.success(), "{out}");
        assert!(out.contains(&format!("made     {}", 40 - made_before)), "{out}");
        assert!(out.contains(&format!("skipped  {made_before}")), "{out}");
        assert_complete(app, &all).await;
        // At most the four calls in flight at the kill were made twice.
        let upstream = calls(app, UNLIMIT).await;
        assert!((40..=44).contains(&upstream), "{upstream} calls");
    }

    async fn ctrl_c_lets_the_codes_in_flight_finish_and_a_rerun_completes(app: &TestApp) {
        app.sim_post("/__sim/faults", json!({"api": UNLIMIT, "delay_ms": 150})).await;
        let dir = tempfile::tempdir().unwrap();
        let config = config(app, dir.path(), 5000);
        let all = scenes("c", 30);
        let file = scenes_file(dir.path(), "scenes.txt", &all);
        let child = pregen(dir.path(), &config, &file, 3);
        wait_for_codes(app, 6).await;
        signal(&child, "-INT");
        let (status, out) = finish(child).await;
        assert_eq!(status.code(), Some(1), "{out}");
        assert!(out.contains("interrupted") && out.contains("run the same command again"), "{out}");
        // Whatever was in flight was finished: every file has its record, no temp files.
        let made = count_codes(app).await;
        assert!(made < 30, "{out}");
        assert!(out.contains(&format!("made     {made}")), "{out}");
        assert_eq!(files_in(&storage(app)).len() as i64, made);
        assert!(files_in(&storage(app).join(".tmp")).is_empty());

        app.client.delete(app.sim_url("/__sim/faults")).send().await.unwrap();
        let (status, out) = finish(pregen(dir.path(), &config, &file, 3)).await;
        assert!(status.success(), "{out}");
        assert_complete(app, &all).await;
        assert_eq!(calls(app, UNLIMIT).await, 30);
    }

    async fn pregen_keeps_to_the_configured_pace_without_a_45011(app: &TestApp) {
        app.client.put(app.sim_url("/__sim/limits")).json(&json!({"unlimited_per_minute": 120}))
            .send().await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let config = config(app, dir.path(), 120); // one every 0.51 s
        let all = scenes("r", 8);
        let file = scenes_file(dir.path(), "scenes.txt", &all);
        let started = Instant::now();
        let (status, out) = finish(pregen(dir.path(), &config, &file, 8)).await;
        let took = started.elapsed();
        assert!(status.success(), "{out}");
        assert!(took >= Duration::from_millis(3500), "8 codes at 120/min take 3.6 s: {took:?}");
        assert!(app.sim_counters().await["errors"].get("45011").is_none());
        assert_complete(app, &all).await;
    }
}

#[tokio::test]
async fn with_an_s3_store_pregen_puts_every_code_in_the_bucket_and_refuses_to_start_when_it_is_down()
 {
    let test = "pregen::s3_store";
    let Some(mut s3) = S3Server::start(test).await else {
        return;
    };
    let app = TestApp::spawn_with(DbKind::Sqlite, test, |s| s3.configure(s, "pregen/"))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = config(&app, dir.path(), 5000);
    let all = scenes("b", 6);
    let file = scenes_file(dir.path(), "scenes.txt", &all);
    let (status, out) = finish(pregen(dir.path(), &config, &file, 3)).await;
    assert!(status.success(), "{out}");
    assert!(out.contains("made     6"), "{out}");
    let files: Vec<String> = sqlx::query_scalar("SELECT file FROM codes ORDER BY file")
        .fetch_all(app.context.db.pool())
        .await
        .unwrap();
    let keys: Vec<String> = files.iter().map(|f| format!("pregen/{f}")).collect();
    assert_eq!(s3.keys("pregen/"), keys, "one object per record");
    for key in &keys {
        let bytes = s3.object(key).unwrap();
        assert!(
            bytes.starts_with(&[0xFF, 0xD8, 0xFF]) && bytes.ends_with(&[0xFF, 0xD9]),
            "{key}"
        );
    }
    assert!(
        files_in(&storage(&app)).is_empty(),
        "nothing on the local disk"
    );
    // The server answers and serves what pregen made, without a call.
    let (_, body) = crate::codes::get_code(&app, "scene=b003&page=pages/index/index").await;
    assert_eq!(body["data"]["cached"], true, "{body}");
    let image = app.get(&crate::codes::image_path(&body["data"])).await;
    assert_eq!(image.status(), 200);
    assert_eq!(calls(&app, UNLIMIT).await, 6);

    s3.stop();
    let more = scenes_file(dir.path(), "more.txt", &scenes("m", 3));
    let (status, out) = finish(pregen(dir.path(), &config, &more, 3)).await;
    assert!(!status.success(), "{out}");
    assert!(out.contains("object store unavailable"), "{out}");
    assert_eq!(
        (count_codes(&app).await, calls(&app, UNLIMIT).await),
        (6, 6)
    );
    app.finish().await;
}
