//! The `wxa` binary: config errors, `migrate`, `serve` and its graceful stop.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn wxa(dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wxa"));
    cmd.current_dir(dir)
        .env("APP__LOG__FORMAT", "text")
        .env_remove("RUST_LOG");
    cmd
}

#[test]
fn a_bad_config_stops_startup_with_one_line_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    for (var, value, key) in [
        ("APP__WECHAT__TOKEN_MODE", "sometimes", "wechat.token_mode"),
        ("APP__SERVER__PORT", "70000", "server.port"),
        ("APP__DATABASE__URL", "::not a url::", "database.url"),
        ("APP__STORAGE__BACKEND", "s3", "storage.bucket"),
    ] {
        let out = wxa(dir.path())
            .arg("serve")
            .env(var, value)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{var}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
        assert!(stderr.contains(key), "{var}: {stderr}");
    }
    let out = wxa(dir.path())
        .args(["serve", "--config", "missing.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.toml"));
}

#[test]
fn migrate_creates_the_sqlite_database_and_its_tables() {
    let dir = tempfile::tempdir().unwrap();
    let out = wxa(dir.path()).arg("migrate").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let db = dir.path().join("storage/app.db");
    assert!(
        db.is_file(),
        "the default database file is created with its folder"
    );
    // Running it again is a no-op, not an error.
    assert!(
        wxa(dir.path())
            .arg("migrate")
            .output()
            .unwrap()
            .status
            .success()
    );
}

#[test]
fn serve_answers_and_stops_gracefully_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = wxa(dir.path())
        .arg("serve")
        .env("APP__SERVER__PORT", "0")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let port: u16 = loop {
        let line = lines.next().expect("serve logs its port").unwrap();
        if let Some(rest) = line.split("listening on http://127.0.0.1:").nth(1) {
            break rest
                .split(|c: char| !c.is_ascii_digit())
                .next()
                .unwrap()
                .parse()
                .unwrap();
        }
    };
    let body = raw_http::get(port, "/healthz");
    assert!(body.contains("\"code\":200"), "{body}");

    let started = Instant::now();
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "did not stop after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "clean exit after SIGTERM: {status:?}");
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(rest.iter().any(|l| l.contains("wxa stopped")), "{rest:?}");
}

mod raw_http {
    /// A tiny blocking GET over a plain socket, so this test needs no async runtime.
    pub fn get(port: u16, path: &str) -> String {
        get_with(port, path, "")
    }

    /// The same, with extra header lines (each ending in `\r\n`).
    pub fn get_with(port: u16, path: &str, headers: &str) -> String {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream
            .write_all(
                format!(
                    "GET {path} HTTP/1.1\r\nHost: localhost\r\n{headers}Connection: close\r\n\r\n"
                )
                .as_bytes(),
            )
            .unwrap();
        let mut out = String::new();
        stream.read_to_string(&mut out).unwrap();
        out
    }
}

#[test]
fn serve_sandbox_starts_the_simulator_and_says_where_to_look() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = wxa(dir.path())
        .args(["serve", "--sandbox"])
        .env("APP__SERVER__PORT", "0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let banner: Vec<String> = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok)
        .take_while(|l| !l.contains("mint a wx.login code"))
        .collect();
    let url_of = |label: &str| {
        let line = banner
            .iter()
            .find(|l| l.trim_start().starts_with(label))
            .unwrap();
        line.split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap()
            .to_owned()
    };
    let sim = url_of("simulator");
    let port: u16 = sim
        .trim_end_matches("/__sim/")
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let answer = raw_http::get(port, "/__sim/apps");
    assert!(
        answer.contains(wxa_backend::sandbox::DEMO_APP_ID),
        "{answer}"
    );
    assert!(url_of("API docs").ends_with("/docs/"));
    // The product answers too (and so has its signal handlers in place).
    let product = url_of("product");
    let product_port: u16 = product
        .trim_end_matches('/')
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(raw_http::get(product_port, "/readyz").contains("\"code\":200"));
    // With no admin.token configured, the sandbox makes one and links the page with it.
    let admin = url_of("admin page");
    let (page, token) = admin
        .split_once("#token=")
        .expect("the link carries the token");
    assert!(page.ends_with("/admin/"), "{admin}");
    let auth = format!("Authorization: Bearer {token}\r\n");
    let listed = raw_http::get_with(product_port, "/admin/codes", &auth);
    assert!(listed.starts_with("HTTP/1.1 200"), "{listed}");
    let refused = raw_http::get_with(product_port, "/admin/codes", "Authorization: Bearer x\r\n");
    assert!(refused.starts_with("HTTP/1.1 401"), "{refused}");
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(child.wait().unwrap().success());
}

#[test]
fn token_prints_the_state_without_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let out = wxa(dir.path())
        .arg("token")
        .env(
            "APP__WECHAT__MINI_PROGRAM__DEFAULT__APP_ID",
            "wx2222222222222222",
        )
        .env(
            "APP__WECHAT__MINI_PROGRAM__DEFAULT__SECRET",
            "very-secret-value",
        )
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("mode: stable")
            && stdout.contains("default (wx2222222222222222): no stored token"),
        "{stdout}"
    );
    assert!(!stdout.contains("very-secret-value"));
    let out = wxa(dir.path())
        .args(["token", "--app", "nope"])
        .output()
        .unwrap();
    assert!(!out.status.success());
}
