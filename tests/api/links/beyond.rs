//! What links carry beyond WeChat's API: plain-text schemes (no call), `cq` (appended,
//! never a new call), and the product's own count of the caps WeChat sets.

use serde_json::json;

use super::{
    SCHEME_API, SHORT_LINK_API, URL_LINK_API, assert_invalid, keys, ok_data, post, upstream_calls,
};
use crate::helpers::{TEST_APP_ID, TestApp};
use crate::on_every_database;

/// Like `on_every_database!`, with small caps.
async fn spawn_capped(kind: crate::helpers::DbKind, test: &str) -> Option<TestApp> {
    TestApp::spawn_with(kind, test, |s| {
        s.schemes.daily_limit = 3;
        s.links.permanent_short_limit = 1;
    })
    .await
}

on_every_database! {
    async fn a_plain_text_scheme_is_built_and_recorded_without_calling_wechat(app: &TestApp) {
        let body = json!({"plaintext": true, "path": "pages/item/item", "query": "id=7&from=sms", "env_version": "trial"});
        let first = ok_data(app, "/api/scheme_code", body.clone()).await;
        assert_eq!(keys(&first), ["openlink", "plaintext"]);
        assert_eq!(first["plaintext"], true);
        assert_eq!(
            first["openlink"],
            format!("weixin://dl/business/?appid={TEST_APP_ID}&path=pages%2Fitem%2Fitem&query=id%3D7%26from%3Dsms&env_version=trial")
        );
        let again = ok_data(app, "/api/scheme_code", body).await;
        assert_eq!(again, first);
        let stored: (i64,) = app
            .context
            .db
            .query("SELECT COUNT(*) FROM links WHERE kind = $1")
            .bind("plain_scheme")
            .fetch_one(app.context.db.pool())
            .await
            .unwrap();
        assert_eq!(stored.0, 1, "recorded once, then reused");
        assert_eq!(upstream_calls(app, SCHEME_API).await, 0, "no WeChat call");
        // Its own rules: a page is required, the query is at most 512 characters.
        assert_invalid(app, "/api/scheme_code", json!({"plaintext": true}), "path").await;
        assert_invalid(app, "/api/scheme_code", json!({"plaintext": "true", "path": "pages/a", "query": "q".repeat(513)}), "query").await;
    }

    async fn cq_is_appended_and_a_new_cq_reuses_the_stored_link(app: &TestApp) {
        let first = ok_data(app, "/api/scheme_code", json!({"path": "pages/index/index", "cq": "ch=mail&u=1"})).await;
        let openlink = first["openlink"].as_str().unwrap();
        let (bare, cq) = openlink.split_once("&cq=").expect("cq appended");
        assert!(bare.starts_with("weixin://dl/business/?t="), "{openlink}");
        assert_eq!(cq, "ch%3Dmail%26u%3D1");
        let other = ok_data(app, "/api/scheme_code", json!({"path": "pages/index/index", "cq": "ch=sms"})).await;
        assert_eq!(other["openlink"], format!("{bare}&cq=ch%3Dsms"));
        assert_eq!((&other["id"], other["reused"].as_bool()), (&first["id"], Some(true)));
        assert_eq!(upstream_calls(app, SCHEME_API).await, 1);

        let link = ok_data(app, "/api/url_link", json!({"path": "pages/index/index", "cq": "x"})).await;
        let url = link["url_link"].as_str().unwrap();
        assert!(url.starts_with("https://") && url.ends_with("?cq=x"), "{url}");
        assert_eq!(upstream_calls(app, URL_LINK_API).await, 1);
        assert_invalid(app, "/api/url_link", json!({"cq": "x".repeat(257)}), "cq").await;
        assert_invalid(app, "/api/scheme_code", json!({"cq": "a b"}), "cq").await;
    }
}

on_every_database! {
    spawn = spawn_capped;

    async fn past_the_daily_cap_schemes_and_url_links_are_refused_before_any_call(app: &TestApp) {
        for (route, query) in [("/api/scheme_code", "n=1"), ("/api/url_link", "n=2"), ("/api/scheme_code", "n=3")] {
            ok_data(app, route, json!({"path": "pages/index/index", "query": query})).await;
        }
        for route in ["/api/scheme_code", "/api/url_link"] {
            let (status, body) = post(app, route, json!({"path": "pages/index/index", "query": "n=4"})).await;
            assert_eq!(status, 429, "{body}");
            assert!(body["msg"].as_str().unwrap().contains('3'), "{body}");
        }
        // Come back after Beijing midnight: within a day.
        let res = app
            .client
            .get(app.url("/api/scheme_code?path=pages/index/index&query=n%3D5"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 429);
        let retry_after: u64 = res.headers()["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=86_400).contains(&retry_after), "{retry_after}");
        let calls = upstream_calls(app, SCHEME_API).await + upstream_calls(app, URL_LINK_API).await;
        assert_eq!(calls, 3, "the fourth was refused before WeChat");
        // Stored links are still handed out, and plain-text schemes do not count.
        ok_data(app, "/api/scheme_code", json!({"path": "pages/index/index", "query": "n=1"})).await;
        ok_data(app, "/api/scheme_code", json!({"plaintext": true, "path": "pages/index/index"})).await;
    }

    async fn permanent_short_links_stop_at_their_cap_and_short_term_ones_do_not_count(app: &TestApp) {
        ok_data(app, "/api/short_link", json!({"page_url": "pages/index/index?n=1", "is_permanent": true})).await;
        let (status, body) = post(app, "/api/short_link", json!({"page_url": "pages/index/index?n=2", "is_permanent": true})).await;
        assert_eq!(status, 429, "{body}");
        ok_data(app, "/api/short_link", json!({"page_url": "pages/index/index?n=2"})).await;
        assert_eq!(upstream_calls(app, SHORT_LINK_API).await, 2);
    }
}

on_every_database! {
    async fn an_nfc_scheme_is_made_once_per_page_and_device_and_never_expires(app: &TestApp) {
        let body = json!({"path": "pages/index/index", "query": "tag=1", "model_id": "m-100", "sn": "SN0001"});
        let first = ok_data(app, "/api/nfc_scheme", body.clone()).await;
        assert_eq!(keys(&first), ["id", "openlink"]);
        assert!(first["openlink"].as_str().unwrap().starts_with("weixin://dl/business/?t="), "{first}");
        assert_eq!(ok_data(app, "/api/nfc_scheme", body).await, first);
        let other_device = json!({"path": "pages/index/index", "query": "tag=1", "model_id": "m-100", "sn": "SN0002"});
        assert_ne!(ok_data(app, "/api/nfc_scheme", other_device).await["id"], first["id"]);
        assert_eq!(upstream_calls(app, "wxa/generatenfcscheme").await, 2);
        assert_invalid(app, "/api/nfc_scheme", json!({"path": "pages/index/index"}), "model_id").await;
        assert_invalid(app, "/api/nfc_scheme", json!({"model_id": "a/b"}), "model_id").await;
        assert_invalid(app, "/api/nfc_scheme", json!({"model_id": "m", "sn": "x y"}), "sn").await;
        assert_eq!(upstream_calls(app, "wxa/generatenfcscheme").await, 2);
    }
}
