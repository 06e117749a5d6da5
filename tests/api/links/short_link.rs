//! `/api/short_link`: `page_url` (may carry a query), `page_title`, `is_permanent`.

use serde_json::json;

use super::{SHORT_LINK_API, assert_invalid, keys, ok_data, post, stored_links, upstream_calls};
use crate::on_every_database;

on_every_database! {
    async fn short_links_are_made_then_reused_and_kept_apart_by_title_and_permanence(app: &TestApp) {
        let body = json!({"page_url": "pages/index/index?id=7", "page_title": "春季活动"});
        let (status, answer) = post(app, "/api/short_link", body.clone()).await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["msg"], "小程序Short Link返回成功");
        let first = &answer["data"];
        assert_eq!(keys(first), ["id", "link", "reused"]);
        assert_eq!(first["reused"], false);
        let link = first["link"].as_str().unwrap();
        assert!(
            link.starts_with("#小程序://") && link.contains("/春季活动/"),
            "{link}"
        );
        let again = ok_data(app, "/api/short_link", body).await;
        assert_eq!(
            (&again["reused"], &again["link"]),
            (&json!(true), &first["link"])
        );

        let other_title = ok_data(
            app,
            "/api/short_link",
            json!({"page_url": "pages/index/index?id=7", "page_title": "夏季活动"}),
        )
        .await;
        assert_eq!(other_title["reused"], false);
        let permanent = json!({
            "page_url": "pages/index/index?id=7", "page_title": "春季活动", "is_permanent": true,
        });
        let forever = ok_data(app, "/api/short_link", permanent.clone()).await;
        assert_eq!(forever["reused"], false);
        assert_ne!(forever["link"], first["link"]);
        let forever_again = ok_data(app, "/api/short_link", permanent).await;
        assert_eq!(
            (&forever_again["reused"], &forever_again["link"]),
            (&json!(true), &forever["link"])
        );
        assert_eq!(upstream_calls(app, SHORT_LINK_API).await, 3);

        let (permanent, expires_at): (i64, i64) =
            app.context.db.query("SELECT permanent, expires_at FROM links WHERE id = $1")
                .bind(forever["id"].as_i64().unwrap())
                .fetch_one(app.context.db.pool())
                .await
                .unwrap();
        assert_eq!(
            (permanent, expires_at),
            (1, 0),
            "a permanent link never expires"
        );
    }

    async fn a_short_link_needs_a_page_url_within_wechats_rules(app: &TestApp) {
        let long_title = "标".repeat(65);
        let long_url = format!("pages/index/index?a={}", "x".repeat(1010));
        let cases = [
            (json!({}), "page_url"),
            (json!({"page_url": ""}), "page_url"),
            (json!({"page_url": "/pages/index/index"}), "page_url"),
            (json!({"page_url": "?id=7"}), "page_url"),
            (
                json!({"page_url": "pages/index/index?name=张三"}),
                "page_url",
            ),
            (json!({"page_url": long_url}), "page_url"),
            (
                json!({"page_url": "pages/index/index", "page_title": long_title}),
                "page_title",
            ),
            (
                json!({"page_url": "pages/index/index", "is_permanent": "forever"}),
                "is_permanent",
            ),
        ];
        for (body, field) in cases {
            assert_invalid(app, "/api/short_link", body, field).await;
        }
        assert_eq!(app.sim_counters().await["calls_total"], 0);
    }

    async fn the_permanent_short_link_quota_is_wechats_85400_as_a_5000(app: &TestApp) {
        app.client
            .put(app.sim_url("/__sim/limits"))
            .json(&json!({"shortlink_permanent": 0}))
            .send()
            .await
            .unwrap();
        let body = json!({"page_url": "pages/index/index", "is_permanent": true});
        let (status, answer) = post(app, "/api/short_link", body).await;
        assert_eq!(
            (status, answer["code"].as_i64()),
            (502, Some(5000)),
            "{answer}"
        );
        assert_eq!(answer["data"]["errcode"], 85400, "{answer}");
        assert_eq!(stored_links(app).await, 0);
        // Short-term links do not count against it.
        let short_term = ok_data(
            app,
            "/api/short_link",
            json!({"page_url": "pages/index/index"}),
        )
        .await;
        assert_eq!(short_term["reused"], false);
    }
}
