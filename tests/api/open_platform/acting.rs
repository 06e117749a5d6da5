//! The mini-program routes acting for an authorizer (`appid=`): its own token, records
//! under its appid, and refusals before any upstream call.

use serde_json::{Value, json};

use super::*;
use crate::helpers::{TEST_APP_ID, envelope};
use crate::on_every_database;

async fn authorized(app: &TestApp) {
    push_ticket(app).await;
    authorize_at(app, &app.address, MERCHANT).await;
}

async fn api(app: &TestApp, path: &str, body: Value) -> (u16, Value) {
    let res = app
        .client
        .post(app.url(path))
        .json(&body)
        .send()
        .await
        .unwrap();
    envelope(res).await
}

fn calls(counters: &Value, api: &str, appid: &str) -> u64 {
    counters["calls"][api][appid].as_u64().unwrap_or(0)
}

on_every_database! {
    spawn = crate::open_platform::spawn_default;
    async fn codes_and_links_for_an_authorizer_use_its_own_token_and_are_recorded_under_its_appid(app: &TestApp) {
        authorized(app).await;
        let (status, code) = api(app, "/api/qr_code", json!({"appid": MERCHANT, "scene": "shop=1"})).await;
        assert_eq!(status, 200, "{code}");
        let (status, scheme) = api(app, "/api/scheme_code", json!({"appid": MERCHANT, "path": "pages/index/index"})).await;
        assert_eq!(status, 200, "{scheme}");
        assert!(scheme["data"]["openlink"].as_str().unwrap().starts_with("weixin://dl/business/?t="));
        let (status, link) = api(app, "/api/url_link", json!({"appid": MERCHANT})).await;
        assert_eq!(status, 200, "{link}");
        let (status, short) = api(app, "/api/short_link", json!({"appid": MERCHANT, "page_url": "pages/index/index"})).await;
        assert_eq!(status, 200, "{short}");

        let counters = app.sim_counters().await;
        for name in ["wxa/getwxacodeunlimit", "wxa/generatescheme", "wxa/generate_urllink", "wxa/genwxashortlink"] {
            assert_eq!(calls(&counters, name, MERCHANT), 1, "{name}: {counters}");
            assert_eq!(calls(&counters, name, TEST_APP_ID), 0, "{name}: {counters}");
        }
        // The app's own token was never fetched.
        assert_eq!(app.stable_token_calls().await, 0);

        let code_row = wxa_backend::store::codes::find_by_id(&app.context.db, code["data"]["id"].as_i64().unwrap())
            .await.unwrap().unwrap();
        assert_eq!(code_row.app_id, MERCHANT);
        let (app_id,): (String,) = app.context.db.query("SELECT app_id FROM links WHERE id = $1")
            .bind(scheme["data"]["id"].as_i64().unwrap())
            .fetch_one(app.context.db.pool()).await.unwrap();
        assert_eq!(app_id, MERCHANT);

        // The same code again is answered from the record.
        let (_, again) = api(app, "/api/qr_code", json!({"appid": MERCHANT, "scene": "shop=1"})).await;
        assert_eq!(again["data"]["cached"], true);
        assert_eq!(calls(&app.sim_counters().await, "wxa/getwxacodeunlimit", MERCHANT), 1);
    }

    async fn an_appid_that_is_not_an_authorized_authorizer_is_a_400_before_any_call(app: &TestApp) {
        push_ticket(app).await;
        for (body, why) in [
            (json!({"appid": "wxb0b0b0b0b0b0b0b0", "scene": "a=1"}), "unknown"),
            (json!({"appid": "nope", "scene": "a=1"}), "malformed"),
            (json!({"appid": MERCHANT, "app": "default", "scene": "a=1"}), "with app"),
        ] {
            let (status, res) = api(app, "/api/qr_code", body).await;
            assert_eq!((status, res["data"]["field"].as_str()), (400, Some("appid")), "{why}: {res}");
        }
        // Revoked.
        authorized(app).await;
        push(app, json!({"info_type": "unauthorized", "authorizer_appid": MERCHANT})).await;
        let (status, res) = api(app, "/api/scheme_code", json!({"appid": MERCHANT})).await;
        assert_eq!((status, res["data"]["field"].as_str()), (400, Some("appid")), "{res}");
        let counters = app.sim_counters().await;
        assert_eq!(calls(&counters, "wxa/getwxacodeunlimit", ""), 0, "{counters}");
        assert!(counters["calls"].get("cgi-bin/component/api_authorizer_token").is_none(), "{counters}");
        let (status, res) = api(app, "/api/login", json!({"appid": MERCHANT, "code": "abc"})).await;
        assert_eq!((status, res["data"]["field"].as_str()), (400, Some("appid")), "{res}");
    }
}

async fn rows(app: &TestApp, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
        .fetch_one(app.context.db.pool())
        .await
        .unwrap()
}

on_every_database! {
    spawn = crate::open_platform::spawn_default;
    async fn invented_appids_grow_no_table_and_no_metric(app: &TestApp) {
        authorized(app).await;
        let (status, _) = api(app, "/api/qr_code", json!({"appid": MERCHANT, "scene": "real"})).await;
        assert_eq!(status, 200);
        let tables = ["code_quota", "access_tokens", "codes", "links", "authorizers"];
        let mut before = Vec::new();
        for t in tables {
            before.push(rows(app, t).await);
        }
        // One refusal per route first: its status series is part of the fixed set.
        for path in ["/api/qr_code", "/api/scheme_code"] {
            api(app, path, json!({"appid": "wxffffffffffffffff"})).await;
        }
        app.get("/metrics").await;
        let metrics_before = app.get("/metrics").await.text().await.unwrap().lines().count();
        let bodies = |i: u32| {
            let appid = format!("wx{i:016x}");
            [
                json!({"appid": appid, "scene": "a=1"}),
                json!({"appid": appid, "kind": "limited", "path": "pages/index/index"}),
                json!({"appid": appid, "path": "pages/index/index"}),
            ]
        };
        for i in 0..2000u32 {
            let body = bodies(i)[(i % 3) as usize].clone();
            let path = if i % 3 == 2 { "/api/scheme_code" } else { "/api/qr_code" };
            let res = app.client.post(app.url(path)).bearer_auth(crate::helpers::INTERNAL_KEY).json(&body).send().await.unwrap();
            assert_eq!(res.status(), 400, "{body}");
        }
        let mut after = Vec::new();
        for t in tables {
            after.push(rows(app, t).await);
        }
        assert_eq!(after, before, "{tables:?}");
        let metrics_after = app.get("/metrics").await.text().await.unwrap().lines().count();
        assert_eq!(metrics_after, metrics_before);
    }
}

on_every_database! {
    async fn appid_is_a_400_when_open_platform_is_disabled(app: &TestApp) {
        let (status, res) = api(app, "/api/qr_code", json!({"appid": MERCHANT, "scene": "a=1"})).await;
        assert_eq!((status, res["data"]["field"].as_str()), (400, Some("appid")), "{res}");
    }
}
