//! The code APIs through the gateway spend what `/api/qr_code` spends: `getwxacode` and
//! `createwxaqrcode` the lifetime quota ledger, `getwxacodeunlimit` the per-app pace.

use serde_json::json;
use wxa_backend::store::codes;

use super::*;
use crate::helpers::{DbKind, TEST_APP_ID, TestApp, envelope};
use crate::on_every_database;

/// The gateway with a quota of 2 limited codes and a pace of 6 unlimited codes a minute
/// (one per 10.2 s: a second call would wait past its 5 s budget).
async fn spawn_metered(kind: DbKind, test: &str) -> Option<TestApp> {
    TestApp::spawn_with(kind, test, |s| {
        configure(s);
        s.codes.limited_quota = 2;
        s.codes.unlimited_per_minute = 6;
    })
    .await
}

async fn is_image(res: reqwest::Response) -> bool {
    res.status() == 200 && res.headers()["content-type"] == "image/jpeg"
}

on_every_database! {
    spawn = spawn_metered;

    async fn limited_codes_through_the_gateway_count_against_the_quota_ledger(app: &TestApp) {
        let token = stand_in(app, PHP_KEY).await;
        // WeChat refusing a code (a path over 1024 characters) gives the unit back.
        let long = format!("pages/index/index?x={}", "a".repeat(1100));
        let refused = wx(post(app, "wxa/getwxacode", &token, json!({"path": long})).await).await;
        assert_eq!(refused["errcode"], 40159, "{refused}");
        assert_eq!(codes::quota(&app.context.db, TEST_APP_ID).await.unwrap(), (0, 0));

        let made = post(app, "wxa/getwxacode", &token, json!({"path": "pages/index/index?a=1"})).await;
        assert!(is_image(made).await);
        let made = post(app, "cgi-bin/wxaapp/createwxaqrcode", &token, json!({"path": "pages/index/index"})).await;
        assert!(is_image(made).await);
        assert_eq!(codes::quota(&app.context.db, TEST_APP_ID).await.unwrap(), (2, 0));

        // The ledger is full: refused here, before WeChat.
        let over = wx(post(app, "wxa/getwxacode", &token, json!({"path": "pages/index/index?a=2"})).await).await;
        assert_errcode(&over, 45029);
        assert_eq!(sim_calls(app, "wxa/getwxacode").await, 2);
        // And the product's own limited codes share it.
        let res = app.client.post(app.url("/api/qr_code"))
            .bearer_auth(crate::helpers::INTERNAL_KEY)
            .json(&json!({"kind": "limited", "path": "pages/index/index?a=3"}))
            .send().await.unwrap();
        let (status, body) = envelope(res).await;
        assert_eq!(status, 429, "{body}");
    }

    async fn unlimited_codes_through_the_gateway_keep_the_products_pace(app: &TestApp) {
        let token = stand_in(app, PHP_KEY).await;
        let first = post(app, "wxa/getwxacodeunlimit", &token, json!({"scene": "p=1"})).await;
        assert!(is_image(first).await);
        let started = std::time::Instant::now();
        let second = wx(post(app, "wxa/getwxacodeunlimit", &token, json!({"scene": "p=2"})).await).await;
        assert_errcode(&second, 45011);
        assert!(started.elapsed().as_secs() < 2, "refused at once, not after waiting");
        let res = app.client.post(app.url("/api/qr_code"))
            .json(&json!({"scene": "p=3"})).send().await.unwrap();
        let (status, body) = envelope(res).await;
        assert_eq!(status, 429, "one pace for both: {body}");
        assert_eq!(sim_calls(app, "wxa/getwxacodeunlimit").await, 1);
    }
}
