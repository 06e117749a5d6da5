//! Reuse: identical requests get the stored link without an upstream call; concurrent ones
//! make one; a stored link is reused only while it suits the request.

use std::io::Write;
use std::time::Instant;

use serde_json::{Value, json};

use super::{SCHEME_API, keys, now, ok_data, post, upstream_calls};
use crate::helpers::{TEST_APP_ID, TestApp, envelope};
use crate::on_every_database;

const DAY: i64 = 86_400;

/// What scheme.html asks on every view.
async fn page_view(app: &TestApp) -> Value {
    let res = app
        .get("/api/scheme_code?path=pages/index/index&query=from%3Dsms%26id%3D42")
        .await;
    let (status, body) = envelope(res).await;
    assert_eq!(status, 200, "{body}");
    body["data"].clone()
}

on_every_database! {
    async fn the_same_scheme_request_again_is_answered_from_the_record_without_calling_wechat(app: &TestApp) {
        let body = json!({"path": "pages/index/index", "query": "a=1"});
        let first = ok_data(app, "/api/scheme_code", body.clone()).await;
        assert_eq!(keys(&first), ["expire_time", "id", "openlink", "reused"]);
        assert_eq!(first["reused"], false);
        let again = ok_data(app, "/api/scheme_code", body).await;
        assert_eq!(again["reused"], true);
        assert_eq!(
            (&again["id"], &again["openlink"], &again["expire_time"]),
            (&first["id"], &first["openlink"], &first["expire_time"])
        );
        assert_eq!(upstream_calls(app, SCHEME_API).await, 1);
        // Another query, env_version or kind is another link.
        let other_query = ok_data(
            app,
            "/api/scheme_code",
            json!({"path": "pages/index/index", "query": "a=2"}),
        )
        .await;
        let other_env = ok_data(
            app,
            "/api/scheme_code",
            json!({"path": "pages/index/index", "query": "a=1", "env_version": "trial"}),
        )
        .await;
        assert_eq!(
            (&other_query["reused"], &other_env["reused"]),
            (&json!(false), &json!(false))
        );
        assert_ne!(other_query["openlink"], first["openlink"]);
        assert_ne!(other_env["openlink"], first["openlink"]);
        assert_eq!(upstream_calls(app, SCHEME_API).await, 3);
    }

    async fn a_thousand_page_views_of_the_same_link_make_one_upstream_call(app: &TestApp) {
        let started = Instant::now();
        let mut views = Vec::with_capacity(1000);
        // A cold burst of 200 at once, then 8 waves of 100.
        views.extend(futures_util::future::join_all((0..200).map(|_| page_view(app))).await);
        for _ in 0..8 {
            views.extend(futures_util::future::join_all((0..100).map(|_| page_view(app))).await);
        }
        let elapsed = started.elapsed();
        assert_eq!(views.len(), 1000);
        let openlink = &views[0]["openlink"];
        assert!(
            views
                .iter()
                .all(|v| &v["openlink"] == openlink && v["id"] == views[0]["id"])
        );
        let fresh = views.iter().filter(|v| v["reused"] == false).count();
        assert_eq!(fresh, 1, "exactly one view made the link");
        let calls = upstream_calls(app, SCHEME_API).await;
        assert_eq!(calls, 1);
        assert_eq!(app.tokens_issued("stable").await, 1);
        let _ = writeln!(
            std::io::stderr(),
            "links: 1000 page views of one link -> {calls} generatescheme call(s), {} ms",
            elapsed.as_millis()
        );
    }

    async fn concurrent_identical_requests_share_one_upstream_failure(app: &TestApp) {
        app.client
            .put(app.sim_url("/__sim/limits"))
            .json(&json!({"link_daily": 0}))
            .send()
            .await
            .unwrap();
        app.sim_post("/__sim/faults", json!({"api": SCHEME_API, "delay_ms": 400}))
            .await;
        let burst = (0..20).map(|_| {
            post(
                app,
                "/api/scheme_code",
                json!({"path": "pages/index/index"}),
            )
        });
        for (status, body) in futures_util::future::join_all(burst).await {
            assert_eq!((status, body["code"].as_i64()), (429, Some(429)), "{body}");
            assert_eq!(body["data"]["errcode"], 44993, "{body}");
        }
        assert_eq!(upstream_calls(app, SCHEME_API).await, 1);
    }

    async fn a_restart_reuses_the_stored_link_and_one_with_too_little_left_is_replaced(app: &TestApp) {
        let body = json!({"path": "pages/index/index", "query": "campaign=spring"});
        let first = ok_data(app, "/api/scheme_code", body.clone()).await;
        let (address, context, handle) = app.another_instance(|_| {}).await;
        let ask = |address: String, body: Value| async move {
            let res = app
                .client
                .post(format!("{address}/api/scheme_code"))
                .json(&body)
                .send()
                .await
                .unwrap();
            let (status, answer) = envelope(res).await;
            assert_eq!(status, 200, "{answer}");
            answer["data"].clone()
        };
        let after_restart = ask(address.clone(), body.clone()).await;
        assert_eq!(after_restart["reused"], true);
        assert_eq!(after_restart["openlink"], first["openlink"]);
        assert_eq!(upstream_calls(app, SCHEME_API).await, 1);
        handle.stop(true).await;
        context.db.close().await;

        // An hour left is under schemes.reuse_min_remaining_secs (a day): a new link.
        app.context.db.query("UPDATE links SET expires_at = $1")
            .bind(now() + 3600)
            .execute(app.context.db.pool())
            .await
            .unwrap();
        let (address, context, handle) = app.another_instance(|_| {}).await;
        let replaced = ask(address, body).await;
        assert_eq!(replaced["reused"], false);
        assert_ne!(replaced["openlink"], first["openlink"]);
        assert!(replaced["expire_time"].as_i64().unwrap() >= now() + 30 * DAY - 60);
        assert_eq!(upstream_calls(app, SCHEME_API).await, 2);
        handle.stop(true).await;
        context.db.close().await;
    }

    async fn an_absolute_expiry_reuses_a_link_that_lasts_until_then(app: &TestApp) {
        let body = |expiry: Value| {
            let mut body = json!({"path": "pages/index/index", "query": "via=sms"});
            body.as_object_mut()
                .unwrap()
                .extend(expiry.as_object().unwrap().clone());
            body
        };
        let at = now() + 7 * DAY;
        let week = ok_data(app, "/api/scheme_code", body(json!({"expire_time": at}))).await;
        assert_eq!(
            (&week["reused"], &week["expire_time"]),
            (&json!(false), &json!(at))
        );
        // Asked again, or for an earlier end: the week link lasts long enough.
        for asked in [at, at - 3600, now() + 120] {
            let again = ok_data(app, "/api/scheme_code", body(json!({"expire_time": asked}))).await;
            assert_eq!(
                (&again["reused"], &again["openlink"]),
                (&json!(true), &week["openlink"])
            );
            assert_eq!(again["expire_time"], at);
        }
        // A later end: the week link would stop too early.
        let longer = ok_data(
            app,
            "/api/scheme_code",
            body(json!({"expire_time": at + 120})),
        )
        .await;
        assert_eq!(
            (&longer["reused"], &longer["expire_time"]),
            (&json!(false), &json!(at + 120))
        );
        assert_eq!(upstream_calls(app, SCHEME_API).await, 2);
    }

    async fn a_relative_expiry_reuses_only_links_made_for_as_many_days(app: &TestApp) {
        let page = "pages/index/index";
        let default = ok_data(app, "/api/scheme_code", json!({"path": page})).await;
        let thirty = ok_data(
            app,
            "/api/scheme_code",
            json!({"path": page, "expire_interval": 30}),
        )
        .await;
        assert_eq!(
            (&thirty["reused"], &thirty["openlink"]),
            (&json!(true), &default["openlink"])
        );
        let one_day = ok_data(
            app,
            "/api/scheme_code",
            json!({"path": page, "expire_interval": 1}),
        )
        .await;
        assert_eq!(one_day["reused"], false);
        let one_day_again = ok_data(
            app,
            "/api/scheme_code",
            json!({"path": page, "expire_interval": "1"}),
        )
        .await;
        assert_eq!(
            (&one_day_again["reused"], &one_day_again["openlink"]),
            (&json!(true), &one_day["openlink"])
        );
        let week = ok_data(
            app,
            "/api/scheme_code",
            json!({"path": page, "expire_interval": 7}),
        )
        .await;
        assert_eq!(week["reused"], false);
        assert_eq!(upstream_calls(app, SCHEME_API).await, 3);
    }

    async fn every_link_is_recorded_with_its_app_kind_target_and_expiry(app: &TestApp) {
        let before = now();
        let body = json!({
            "path": "pages/index/index", "query": "a=1", "env_version": "develop", "expire_interval": 2,
        });
        let data = ok_data(app, "/api/scheme_code", body).await;
        let row: (String, String, String, String, String, String, i64, i64) = app.context.db.query(
            "SELECT app_id, kind, path, query, env_version, link, expires_at, created_at \
             FROM links WHERE id = $1",
        )
        .bind(data["id"].as_i64().unwrap())
        .fetch_one(app.context.db.pool())
        .await
        .unwrap();
        let (app_id, kind, path, query, env, link, expires_at, created_at) = row;
        assert_eq!((app_id.as_str(), kind.as_str()), (TEST_APP_ID, "scheme"));
        assert_eq!(
            (path.as_str(), query.as_str(), env.as_str()),
            ("pages/index/index", "a=1", "develop")
        );
        assert_eq!(link, data["openlink"].as_str().unwrap());
        assert_eq!(expires_at, data["expire_time"].as_i64().unwrap());
        assert!((before..=now()).contains(&created_at));
        assert_eq!(expires_at - created_at, 2 * DAY);
    }
}
