//! The H5 jump page in a real browser: headless Chromium loads `/scheme.html` from the
//! running product (which asks the simulator) and we read the DOM it ends with.
//!
//! Headless Chromium ignores the page's `location.href = "weixin://..."` (no handler for
//! the scheme; checked by hand), so the dumped DOM is the page after it rendered the link.

use crate::chromium;
use crate::helpers::{TEST_APP_ID, TestApp, envelope};
use crate::on_every_database;

/// The start tag of the element with `id` (e.g. `<a id="open" href="...">`).
fn tag<'a>(dom: &'a str, id: &str) -> &'a str {
    chromium::tag_with(dom, &format!("id=\"{id}\""))
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

on_every_database! {
    async fn the_jump_page_renders_the_simulators_openlink_in_a_real_browser(app: &TestApp) {
        let Some(browser) = chromium::find(module_path!()) else {
            return;
        };
        let url = app
            .url("/scheme.html?path=pages/index/index&query=id%3D7%26from%3Dsms&env_version=trial");
        let dom = chromium::run(&browser, &url, &["--dump-dom"]).await;
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

    async fn the_jump_page_opens_a_plain_text_scheme_when_asked(app: &TestApp) {
        let Some(browser) = chromium::find(module_path!()) else {
            return;
        };
        let url = app.url("/scheme.html?plaintext=1&path=pages/index/index&query=id%3D7");
        let dom = chromium::run(&browser, &url, &["--dump-dom"]).await;
        let expected = format!(
            "weixin://dl/business/?appid={TEST_APP_ID}&amp;path=pages%2Findex%2Findex&amp;query=id%3D7"
        );
        let open = tag(&dom, "open");
        assert!(open.contains(&format!("href=\"{expected}\"")), "{open}");
        assert!(dom.contains("data-state=\"ready\""), "{dom}");
        assert_eq!(
            app.sim_counters().await["calls"]["wxa/generatescheme"][TEST_APP_ID].as_u64().unwrap_or(0),
            0,
            "no WeChat call"
        );
    }

    async fn the_jump_page_shows_the_error_message_when_the_call_fails(app: &TestApp) {
        let Some(browser) = chromium::find(module_path!()) else {
            return;
        };
        // A path that carries a query: our 400, before any upstream call.
        let bad = "path=pages/index/index%3Fid%3D7";
        let dom = chromium::run(&browser, &app.url(&format!("/scheme.html?{bad}")), &["--dump-dom"]).await;
        let error = tag(&dom, "error");
        assert!(!error.contains("hidden"), "the error is visible: {error}");
        let shown = text(&dom, "error");
        assert!(shown.contains("path"), "{shown}");
        assert_eq!(shown, api_msg(app, bad).await);
        assert!(tag(&dom, "open").contains("hidden"), "{dom}");
        assert!(dom.contains("data-state=\"error\""), "{dom}");

        // WeChat's refusal (an unpublished page): the message and WeChat's errcode.
        let dom = chromium::run(
            &browser,
            &app.url("/scheme.html?path=pages/missing/missing"),
            &["--dump-dom"],
        )
        .await;
        let shown = text(&dom, "error");
        assert!(shown.starts_with("微信接口返回错误"), "{shown}");
        assert!(shown.contains("errcode 40165"), "{shown}");
    }
}
