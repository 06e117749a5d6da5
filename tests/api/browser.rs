//! The H5 jump page in a real browser: headless Chromium loads `/scheme.html` from the
//! running product (which asks the simulator) and we read the DOM it ends with.
//!
//! Headless Chromium ignores the page's `location.href = "weixin://..."` (no handler for
//! the scheme; checked by hand), so the dumped DOM is the page after it rendered the link.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::{TEST_APP_ID, TestApp, envelope, say_skipped};
use crate::on_both_databases;

const BROWSER_DEADLINE: Duration = Duration::from_secs(60);

/// `chromium` on PATH. Missing: a failure under CI, else a skip said out loud.
fn chromium(test: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("chromium"))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "chromium is missing and CI is set: .ci/run installs it (apt-get install chromium)"
        );
        say_skipped(test, "chromium is not installed (apt-get install chromium)");
    }
    found
}

/// The DOM after the page settled (`--dump-dom`, with 5 s of virtual time for its fetch).
async fn dump_dom(browser: &Path, url: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("dom.html");
    let out = std::fs::File::create(&out_path).unwrap();
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--virtual-time-budget=5000",
            "--dump-dom",
        ])
        .arg(format!(
            "--user-data-dir={}",
            dir.path().join("profile").display()
        ))
        .arg(url)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(Stdio::null())
        .spawn()
        .expect("chromium starts");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > BROWSER_DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within {BROWSER_DEADLINE:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "chromium exited with {status}");
    std::fs::read_to_string(&out_path).unwrap()
}

/// The start tag of the element with `id` (e.g. `<a id="open" href="...">`).
fn tag<'a>(dom: &'a str, id: &str) -> &'a str {
    let at = dom
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in {dom}"));
    let start = dom[..at].rfind('<').unwrap();
    let end = at + dom[at..].find('>').unwrap();
    &dom[start..=end]
}

/// The text of the element with `id`, up to its closing tag.
fn text<'a>(dom: &'a str, id: &str) -> &'a str {
    let open = tag(dom, id);
    let start = dom.find(open).unwrap() + open.len();
    let end = start + dom[start..].find("</").unwrap();
    &dom[start..end]
}

/// What the API itself answers `msg` for the same parameters.
async fn api_msg(app: &TestApp, query: &str) -> String {
    let res = app.get(&format!("/api/scheme_code?{query}")).await;
    let (_, body) = envelope(res).await;
    body["msg"].as_str().unwrap().to_owned()
}

on_both_databases! {
    async fn the_jump_page_renders_the_simulators_openlink_in_a_real_browser(app: &TestApp) {
        let Some(browser) = chromium(module_path!()) else {
            return;
        };
        let url = app
            .url("/scheme.html?path=pages/index/index&query=id%3D7%26from%3Dsms&env_version=trial");
        let dom = dump_dom(&browser, &url).await;
        let (link, query, env): (String, String, String) =
            sqlx::query_as("SELECT link, query, env_version FROM links WHERE kind = 'scheme'")
                .fetch_one(app.context.db.pool())
                .await
                .unwrap();
        assert!(link.starts_with("weixin://dl/business/?t="), "{link}");
        assert_eq!((query.as_str(), env.as_str()), ("id=7&from=sms", "trial"));
        let open = tag(&dom, "open");
        assert!(open.contains(&format!("href=\"{link}\"")), "{open}");
        assert!(!open.contains("hidden"), "{open}");
        assert_eq!(text(&dom, "open"), "打开小程序");
        assert!(tag(&dom, "error").contains("hidden"), "{dom}");
        assert!(dom.contains("data-state=\"ready\""), "{dom}");
        assert_eq!(
            app.sim_counters().await["calls"]["wxa/generatescheme"][TEST_APP_ID],
            1
        );
    }

    async fn the_jump_page_shows_the_error_message_when_the_call_fails(app: &TestApp) {
        let Some(browser) = chromium(module_path!()) else {
            return;
        };
        // A path that carries a query: our 400, before any upstream call.
        let bad = "path=pages/index/index%3Fid%3D7";
        let dom = dump_dom(&browser, &app.url(&format!("/scheme.html?{bad}"))).await;
        let error = tag(&dom, "error");
        assert!(!error.contains("hidden"), "the error is visible: {error}");
        let shown = text(&dom, "error");
        assert!(shown.contains("path"), "{shown}");
        assert_eq!(shown, api_msg(app, bad).await);
        assert!(tag(&dom, "open").contains("hidden"), "{dom}");
        assert!(dom.contains("data-state=\"error\""), "{dom}");

        // WeChat's refusal (an unpublished page): the message and WeChat's errcode.
        let dom = dump_dom(
            &browser,
            &app.url("/scheme.html?path=pages/missing/missing"),
        )
        .await;
        let shown = text(&dom, "error");
        assert!(shown.starts_with("微信接口返回错误"), "{shown}");
        assert!(shown.contains("errcode 40165"), "{shown}");
    }
}
