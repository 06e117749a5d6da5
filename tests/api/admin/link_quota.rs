//! `GET /admin/links/{id}/quota`: today's remaining opens, asked of WeChat through a link,
//! after users opened the app's links (the simulator counts opens per app and day).

use serde_json::json;

use super::Admin;
use crate::links::ok_data;
use crate::on_every_database;

on_every_database! {
    async fn the_quota_counts_down_as_users_open_the_apps_links(app: &TestApp) {
        let admin = Admin::start(app).await;
        let scheme = ok_data(app, "/api/scheme_code", json!({"path": "pages/index/index"})).await;
        let url_link = ok_data(app, "/api/url_link", json!({"path": "pages/index/index"})).await;
        let remain = |id: &serde_json::Value| {
            let path = format!("/admin/links/{id}/quota");
            let admin = &admin;
            async move {
                let (status, body) = admin.get(&path).await;
                assert_eq!(status, 200, "{body}");
                body["data"]["remain_visit_quota"].as_u64().unwrap()
            }
        };
        let before = remain(&scheme["id"]).await;
        assert_eq!(before, 3_000_000);
        for link in [&scheme["openlink"], &scheme["openlink"], &url_link["url_link"]] {
            let opened = app.sim_post("/__sim/links/open", json!({"link": link})).await;
            assert_eq!(opened["opened"], true, "{opened}");
        }
        // Opens of every link of the app count, whichever link asks.
        assert_eq!(remain(&scheme["id"]).await, before - 3);
        assert_eq!(remain(&url_link["id"]).await, before - 3);

        // Only schemes and URL links can ask; an unknown id is a 404.
        let short = ok_data(app, "/api/short_link", json!({"page_url": "pages/index/index"})).await;
        let (status, body) = admin.get(&format!("/admin/links/{}/quota", short["id"])).await;
        assert_eq!((status, body["data"]["field"].as_str()), (400, Some("id")), "{body}");
        assert_eq!(admin.get("/admin/links/999999/quota").await.0, 404);
        assert_eq!(admin.get_with(&format!("/admin/links/{}/quota", scheme["id"]), None).await.0, 401);
        admin.stop().await;
    }

    async fn past_the_daily_open_cap_the_simulator_refuses_with_85406(app: &TestApp) {
        let res = app
            .client
            .put(app.sim_url("/__sim/limits"))
            .json(&json!({"link_visit_daily": 2}))
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success());
        let scheme = ok_data(app, "/api/scheme_code", json!({"path": "pages/index/index"})).await;
        for expected in [json!(true), json!(true), json!(false)] {
            let opened = app.sim_post("/__sim/links/open", json!({"link": scheme["openlink"]})).await;
            assert_eq!(opened["opened"], expected, "{opened}");
        }
        let refused = app.sim_post("/__sim/links/open", json!({"link": scheme["openlink"]})).await;
        assert_eq!(refused["errcode"], 85406);
    }
}
