//! Every bad input is a 400 naming the field, before any upstream call.

use serde_json::{Value, json};

use super::{SCHEME_API, assert_invalid, now, ok_data, upstream_calls};
use crate::helpers::envelope;
use crate::on_every_database;

const DAY: i64 = 86_400;

/// Nothing at all reached the simulator (no token call either).
async fn assert_no_upstream_call(app: &crate::helpers::TestApp) {
    let counters = app.sim_counters().await;
    assert_eq!(counters["calls_total"], 0, "{counters}");
}

on_every_database! {
    async fn an_expiry_outside_one_minute_to_thirty_days_is_a_400_before_any_upstream_call(app: &TestApp) {
        let t = now();
        let page = "pages/index/index";
        let cases: [(Value, &str); 9] = [
            // The original service asked for 11 months and got WeChat's 85401.
            (
                json!({"path": page, "expire_time": t + 330 * DAY}),
                "expire_time",
            ),
            (
                json!({"path": page, "expire_time": t + 30 * DAY + 10}),
                "expire_time",
            ),
            (json!({"path": page, "expire_time": t + 30}), "expire_time"),
            (json!({"path": page, "expire_time": t - 10}), "expire_time"),
            (
                json!({"path": page, "expire_time": (t + DAY) * 1000}),
                "expire_time",
            ),
            (
                json!({"path": page, "expire_interval": 0}),
                "expire_interval",
            ),
            (
                json!({"path": page, "expire_interval": 31}),
                "expire_interval",
            ),
            (
                json!({"path": page, "expire_interval": "a week"}),
                "expire_interval",
            ),
            (
                json!({"path": page, "expire_time": t + DAY, "expire_interval": 1}),
                "expire_interval",
            ),
        ];
        for (body, field) in cases {
            assert_invalid(app, "/api/scheme_code", body.clone(), field).await;
            assert_invalid(app, "/api/url_link", body, field).await;
        }
        assert_no_upstream_call(app).await;
        // The edges WeChat accepts.
        ok_data(
            app,
            "/api/scheme_code",
            json!({"path": page, "expire_time": now() + 30 * DAY - 5}),
        )
        .await;
        ok_data(
            app,
            "/api/scheme_code",
            json!({"path": page, "expire_interval": 30}),
        )
        .await;
        ok_data(
            app,
            "/api/scheme_code",
            json!({"path": page, "expire_time": now() + 120}),
        )
        .await;
    }

    async fn queries_outside_wechats_charset_or_length_are_refused(app: &TestApp) {
        for query in ["name=张三", "a=1 b=2", "a=<b>", &"x".repeat(1025)] {
            let body = json!({"path": "pages/index/index", "query": query});
            assert_invalid(app, "/api/scheme_code", body.clone(), "query").await;
            assert_invalid(app, "/api/url_link", body, "query").await;
        }
        assert_no_upstream_call(app).await;
        let encoded = "name=%E5%BC%A0%E4%B8%89&tag=!$'()*+,/:;=?@-._~";
        ok_data(
            app,
            "/api/scheme_code",
            json!({"path": "pages/index/index", "query": encoded}),
        )
        .await;
        let longest = format!("a={}", "x".repeat(1022));
        ok_data(
            app,
            "/api/scheme_code",
            json!({"path": "pages/index/index", "query": longest}),
        )
        .await;
    }

    async fn a_path_with_a_query_a_leading_slash_or_blanks_is_refused(app: &TestApp) {
        for path in [
            "pages/index/index?id=1",
            "/pages/index/index",
            "pages/index index",
            &"p".repeat(1025),
        ] {
            assert_invalid(app, "/api/scheme_code", json!({"path": path}), "path").await;
            assert_invalid(app, "/api/url_link", json!({"path": path}), "path").await;
        }
        assert_invalid(
            app,
            "/api/scheme_code",
            json!({"path": ["pages/index/index"]}),
            "path",
        )
        .await;
        assert_no_upstream_call(app).await;
        // No path at all is the home page.
        let data = ok_data(app, "/api/scheme_code", json!({})).await;
        assert!(
            data["openlink"]
                .as_str()
                .unwrap()
                .starts_with("weixin://dl/business/?t=")
        );
    }

    async fn env_version_must_be_release_trial_or_develop(app: &TestApp) {
        for env in ["beta", "RELEASE", "prod"] {
            let body = json!({"path": "pages/index/index", "env_version": env});
            assert_invalid(app, "/api/scheme_code", body.clone(), "env_version").await;
            assert_invalid(app, "/api/url_link", body, "env_version").await;
        }
        assert_no_upstream_call(app).await;
        for env in ["release", "trial", "develop"] {
            ok_data(
                app,
                "/api/scheme_code",
                json!({"path": "pages/index/index", "env_version": env}),
            )
            .await;
        }
    }

    async fn an_unknown_app_or_app_with_appid_is_a_400(app: &TestApp) {
        for route in ["/api/scheme_code", "/api/url_link", "/api/short_link"] {
            let body = json!({"page_url": "pages/index/index", "app": "nope"});
            assert_invalid(app, route, body, "app").await;
            let body = json!({"page_url": "pages/index/index", "app": "default", "appid": "wx2"});
            assert_invalid(app, route, body, "appid").await;
        }
        assert_no_upstream_call(app).await;
    }

    async fn input_is_read_from_the_query_string_a_json_body_or_a_form(app: &TestApp) {
        let res = app
            .get("/api/scheme_code?path=pages/index/index&query=from%3Dsms&expire_interval=7")
            .await;
        let (status, by_query) = envelope(res).await;
        assert_eq!(status, 200, "{by_query}");
        assert_eq!(by_query["msg"], "小程序scheme码返回成功");
        assert_eq!(by_query["data"]["reused"], false);
        let by_json = ok_data(
            app,
            "/api/scheme_code",
            json!({"path": "pages/index/index", "query": "from=sms", "expire_interval": "7"}),
        )
        .await;
        let res = app
            .client
            .post(app.url("/api/scheme_code"))
            .form(&[
                ("path", "pages/index/index"),
                ("query", "from=sms"),
                ("expire_interval", "7"),
            ])
            .send()
            .await
            .unwrap();
        let (status, by_form) = envelope(res).await;
        assert_eq!(status, 200, "{by_form}");
        for other in [&by_json, &by_form["data"]] {
            assert_eq!(other["openlink"], by_query["data"]["openlink"]);
            assert_eq!(other["reused"], true);
        }
        assert_eq!(upstream_calls(app, SCHEME_API).await, 1);
    }

    async fn another_method_on_a_link_route_is_a_405(app: &TestApp) {
        for route in ["/api/scheme_code", "/api/url_link", "/api/short_link"] {
            let res = app.client.put(app.url(route)).send().await.unwrap();
            let (status, body) = envelope(res).await;
            assert_eq!(
                (status, body["code"].as_i64()),
                (405, Some(405)),
                "{route}: {body}"
            );
        }
    }
}
