//! What reaches WeChat, and how WeChat's answers come back.

use serde_json::json;

use super::{SCHEME_API, now, ok_data, post, sim_link_info, stored_links, upstream_calls};
use crate::on_every_database;

const DAY: i64 = 86_400;

on_every_database! {
    async fn env_version_and_the_expiry_reach_wechat_inside_jump_wxa(app: &TestApp) {
        let data = ok_data(
            app,
            "/api/scheme_code",
            json!({
                "path": "pages/index/index", "query": "id=7&from=mail",
                "env_version": "trial", "expire_interval": 3,
            }),
        )
        .await;
        let info = sim_link_info(app, data["openlink"].as_str().unwrap()).await;
        assert_eq!(info["path"], "pages/index/index");
        assert_eq!(info["query"], "id=7&from=mail");
        assert_eq!(info["env_version"], "trial");
        let ours = data["expire_time"].as_i64().unwrap();
        let theirs = info["expire_time"].as_i64().unwrap();
        assert!(
            (0..=5).contains(&(theirs - ours)),
            "ours {ours}, WeChat's {theirs}"
        );
        let at = now() + 2 * DAY;
        let data = ok_data(
            app,
            "/api/scheme_code",
            json!({"path": "pages/index/index", "expire_time": at}),
        )
        .await;
        assert_eq!(data["expire_time"], at);
        let info = sim_link_info(app, data["openlink"].as_str().unwrap()).await;
        assert_eq!(
            (info["expire_time"].as_i64(), info["env_version"].as_str()),
            (Some(at), Some("release"))
        );
    }

    async fn without_an_expiry_a_link_lives_schemes_default_expire_days(app: &TestApp) {
        let before = now();
        let data = ok_data(
            app,
            "/api/scheme_code",
            json!({"path": "pages/index/index"}),
        )
        .await;
        let days = i64::from(app.context.settings.schemes.default_expire_days);
        let expire = data["expire_time"].as_i64().unwrap();
        assert!(
            (before + days * DAY..=now() + days * DAY).contains(&expire),
            "{data}"
        );
    }

    async fn an_unpublished_page_is_wechats_40165_as_a_5000_and_nothing_is_recorded(app: &TestApp) {
        let (status, body) = post(
            app,
            "/api/scheme_code",
            json!({"path": "pages/missing/missing"}),
        )
        .await;
        assert_eq!((status, body["code"].as_i64()), (502, Some(5000)), "{body}");
        assert_eq!(body["data"]["errcode"], 40165, "{body}");
        assert!(
            body["data"]["errmsg"].as_str().unwrap().contains("rid:"),
            "{body}"
        );
        assert_eq!(stored_links(app).await, 0);
        // A refusal is not remembered as a link: the next request asks again.
        post(
            app,
            "/api/scheme_code",
            json!({"path": "pages/missing/missing"}),
        )
        .await;
        assert_eq!(upstream_calls(app, SCHEME_API).await, 2);
    }

    async fn wechats_rate_and_daily_limits_are_429_with_the_errcode(app: &TestApp) {
        for (limit, errcode) in [("link_per_second", 44990), ("link_daily", 44993)] {
            app.client
                .post(app.sim_url("/__sim/reset"))
                .send()
                .await
                .unwrap();
            app.client
                .put(app.sim_url("/__sim/limits"))
                .json(&json!({limit: 0}))
                .send()
                .await
                .unwrap();
            for route in ["/api/scheme_code", "/api/url_link"] {
                let (status, body) = post(app, route, json!({"path": "pages/index/index"})).await;
                assert_eq!((status, body["code"].as_i64()), (429, Some(429)), "{body}");
                assert_eq!(body["data"]["errcode"], errcode, "{body}");
            }
        }
        assert_eq!(stored_links(app).await, 0);
    }

    async fn wechat_unreachable_is_a_5001(app: &TestApp) {
        // Take the token first, so only generatescheme fails.
        app.context
            .mini_program
            .tokens
            .get("default")
            .await
            .unwrap();
        app.sim_post(
            "/__sim/faults",
            json!({"api": SCHEME_API, "http_5xx": 1, "status": 503}),
        )
        .await;
        let (status, body) = post(
            app,
            "/api/scheme_code",
            json!({"path": "pages/index/index"}),
        )
        .await;
        assert_eq!((status, body["code"].as_i64()), (504, Some(5001)), "{body}");
        assert_eq!(stored_links(app).await, 0);
    }
}
