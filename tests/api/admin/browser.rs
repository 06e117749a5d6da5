//! The admin page in headless Chromium: it logs in with the token handed over in the URL
//! fragment, lists a real code (made through the simulator) and its thumbnail loads.
//! Screenshots at a laptop and a phone size go to `CARGO_TARGET_TMPDIR` to be looked at.

use std::path::PathBuf;

use super::{ADMIN_TOKEN, Admin};
use crate::chromium;
use crate::helpers::envelope;
use crate::on_every_database;

/// The start tag of the first `<img>` whose `src` is `src`.
fn img_tag<'a>(dom: &'a str, src: &str) -> &'a str {
    chromium::tag_with(dom, &format!("src=\"{src}\""))
}

on_every_database! {
    async fn the_admin_page_logs_in_with_the_token_and_shows_the_codes_thumbnail(app: &TestApp) {
        let Some(browser) = chromium::find(module_path!()) else {
            return;
        };
        let admin = Admin::start(app).await;
        let mut files = Vec::new();
        for query in ["scene=id%3D7", "scene=id%3D8&width=280", "kind=limited&path=pages/index/index%3Fid%3D9",
                      "kind=qrcode&path=pages/index/index%3Fid%3D10", "scene=poster%3D1&is_hyaline=true"] {
            let res = reqwest::Client::new()
                .get(admin.url(&format!("/api/qr_code?{query}")))
                .bearer_auth(crate::helpers::INTERNAL_KEY)
                .send()
                .await
                .unwrap();
            let (status, body) = envelope(res).await;
            assert_eq!(status, 200, "{query}: {body}");
            let url = body["data"]["url"].as_str().unwrap().to_owned();
            files.push(url.rsplit('/').next().unwrap().to_owned());
        }
        let page = admin.url(&format!("/admin/#token={ADMIN_TOKEN}"));

        let dom = chromium::run(&browser, &page, &["--dump-dom"]).await;
        assert!(dom.contains("data-state=\"ready\""), "{dom}");
        assert!(!dom.contains(ADMIN_TOKEN), "the token is not in the DOM");
        for file in &files {
            let img = img_tag(&dom, &format!("/image/{file}"));
            assert!(img.contains("data-loaded=\"1\""), "the thumbnail loaded: {img}");
        }
        assert!(dom.contains("id=\"login\"") && dom.contains("共 5 条"), "{dom}");

        // A wrong token: back to the login form with the reason shown.
        let dom = chromium::run(&browser, &admin.url("/admin/#token=wrong"), &["--dump-dom"]).await;
        assert!(dom.contains("data-state=\"login\""), "{dom}");
        assert!(dom.contains("令牌无效"), "{dom}");

        // The stats tab: the app's token state and the calls just made.
        let stats_page = admin.url(&format!("/admin/#token={ADMIN_TOKEN}&tab=stats"));
        let dom = chromium::run(&browser, &stats_page, &["--dump-dom"]).await;
        assert!(dom.contains("data-state=\"ready\""), "{dom}");
        assert!(dom.contains("default · wx1111111111111111") && dom.contains("getwxacodeunlimit"), "{dom}");

        let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        let kind = format!("{:?}", admin.context.db.backend()).to_lowercase();
        for (name, url, size) in [("laptop", &page, "1366,900"), ("phone", &page, "390,844"),
                                  ("stats-phone", &stats_page, "390,844")] {
            let path = shots.join(format!("admin-{name}-{kind}.png"));
            let _ = std::fs::remove_file(&path);
            chromium::run(&browser, url, &[format!("--screenshot={}", path.display()), format!("--window-size={size}")]).await;
            let png = std::fs::read(&path).unwrap();
            assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000, "{}", path.display());
        }
        admin.stop().await;
    }

    async fn the_links_tab_shows_todays_remaining_opens_of_each_app(app: &TestApp) {
        let Some(browser) = chromium::find(module_path!()) else {
            return;
        };
        let admin = Admin::start(app).await;
        let scheme = crate::links::ok_data(app, "/api/scheme_code", serde_json::json!({"path": "pages/index/index"})).await;
        crate::links::ok_data(app, "/api/url_link", serde_json::json!({"path": "pages/index/index"})).await;
        for _ in 0..2 {
            app.sim_post("/__sim/links/open", serde_json::json!({"link": scheme["openlink"]})).await;
        }
        let page = admin.url(&format!("/admin/#token={ADMIN_TOKEN}&tab=links"));
        let dom = chromium::run(&browser, &page, &["--dump-dom"]).await;
        assert!(dom.contains("data-state=\"ready\""), "{dom}");
        assert_eq!(dom.matches(">2999998</td>").count(), 2, "both links of the app show it: {dom}");
        let counters = app.sim_counters().await;
        let asked = counters["calls"]["wxa/queryscheme"][crate::helpers::TEST_APP_ID].as_u64().unwrap_or(0)
            + counters["calls"]["wxa/query_urllink"][crate::helpers::TEST_APP_ID].as_u64().unwrap_or(0);
        assert_eq!(asked, 1, "one query per app shown");
        admin.stop().await;
    }
}
