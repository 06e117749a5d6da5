//! `GET /admin/stats`: token state, quota, and the upstream calls this instance made.

use serde_json::Value;

use super::Admin;
use crate::helpers::{TEST_APP_ID, envelope};
use crate::on_every_database;

async fn code(admin: &Admin, query: &str) -> (u16, Value) {
    // An internal key, as the team's backend: limited codes need a bearer.
    let res = reqwest::Client::new()
        .get(admin.url(&format!("/api/qr_code?{query}")))
        .bearer_auth(crate::helpers::INTERNAL_KEY)
        .send()
        .await
        .unwrap();
    envelope(res).await
}

fn api<'a>(stats: &'a Value, name: &str) -> &'a Value {
    stats["upstream"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["api"] == name)
        .unwrap_or_else(|| panic!("no {name} in {stats}"))
}

on_every_database! {
    async fn stats_show_token_state_quota_and_upstream_calls_with_errors(app: &TestApp) {
        let admin = Admin::start(app).await;
        let (status, body) = admin.get("/admin/stats").await;
        assert_eq!(status, 200, "{body}");
        let fresh = &body["data"]["apps"].as_array().unwrap().iter().find(|a| a["app"] == "default").unwrap().clone();
        assert_eq!(fresh["app_id"], TEST_APP_ID);
        assert_eq!(fresh["token"]["mode"], "stable");
        assert_eq!(fresh["quota"]["used"], 0);
        assert_eq!(body["data"]["upstream"], serde_json::json!([]), "{body}");

        assert_eq!(code(&admin, "scene=a%3D1").await.0, 200);
        assert_eq!(code(&admin, "kind=limited&path=pages/index/index%3Fx%3D1").await.0, 200);
        // Not a published page: WeChat's 41030, counted as an error.
        let (status, refused) = code(&admin, "scene=a%3D2&page=pages/missing/missing").await;
        assert_eq!((status, &refused["data"]["errcode"]), (502, &41030.into()), "{refused}");

        let (_, body) = admin.get("/admin/stats").await;
        let data = &body["data"];
        let default = data["apps"].as_array().unwrap().iter().find(|a| a["app"] == "default").unwrap();
        let token = &default["token"];
        assert_eq!(token["stored"], true, "{default}");
        assert!(token["expires_at"].as_i64().unwrap() > wxa_backend::services::token::now_unix(), "{token}");
        assert!(token["expires_in"].as_i64().unwrap() > 0, "{token}");
        assert!(token["refreshed_at"].as_i64().unwrap() > 0, "{token}");
        assert!(token["refresh_count"].as_i64().unwrap() >= 1, "{token}");
        let quota = &default["quota"];
        let limit = admin.context.settings.codes.limited_quota as i64;
        assert_eq!((quota["used"].as_i64(), quota["limit"].as_i64(), quota["left"].as_i64()), (Some(1), Some(limit), Some(limit - 1)), "{quota}");

        let unlimit = api(data, "getwxacodeunlimit");
        assert_eq!((unlimit["calls"].as_u64(), unlimit["errors"].as_u64()), (Some(2), Some(1)), "{unlimit}");
        assert_eq!((unlimit["by_errcode"]["0"].as_u64(), unlimit["by_errcode"]["41030"].as_u64()), (Some(1), Some(1)));
        let limited = api(data, "getwxacode");
        assert_eq!((limited["calls"].as_u64(), limited["errors"].as_u64()), (Some(1), Some(0)));
        let token_calls = api(data, "stable_token");
        assert!(token_calls["calls"].as_u64().unwrap() >= 1, "{token_calls}");
        admin.stop().await;
    }
}
