//! `/api/url_link`: the same inputs, validation and reuse as schemes, its own link.

use serde_json::json;

use super::{SCHEME_API, URL_LINK_API, keys, ok_data, post, sim_link_info, upstream_calls};
use crate::on_every_database;

on_every_database! {
    async fn url_links_are_made_then_reused_and_reach_wechat_at_the_top_level(app: &TestApp) {
        let body = json!({
            "path": "pages/index/index", "query": "from=mail", "env_version": "develop", "expire_interval": 5,
        });
        let (status, answer) = post(app, "/api/url_link", body.clone()).await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["msg"], "小程序URL Link返回成功");
        let first = &answer["data"];
        assert_eq!(keys(first), ["expire_time", "id", "reused", "url_link"]);
        assert_eq!(first["reused"], false);
        let link = first["url_link"].as_str().unwrap();
        assert!(link.starts_with("https://wxaurl.cn/"), "{link}");
        let info = sim_link_info(app, link).await;
        assert_eq!(
            (info["path"].as_str(), info["query"].as_str()),
            (Some("pages/index/index"), Some("from=mail"))
        );
        assert_eq!(info["env_version"], "develop");
        let again = ok_data(app, "/api/url_link", body).await;
        assert_eq!(
            (&again["reused"], &again["url_link"], &again["id"]),
            (&json!(true), &first["url_link"], &first["id"])
        );
        assert_eq!(upstream_calls(app, URL_LINK_API).await, 1);
    }

    async fn a_scheme_and_a_url_link_for_the_same_page_are_separate_links(app: &TestApp) {
        let body = json!({"path": "pages/index/index", "query": "a=1"});
        let scheme = ok_data(app, "/api/scheme_code", body.clone()).await;
        let url_link = ok_data(app, "/api/url_link", body).await;
        assert_eq!(
            (&scheme["reused"], &url_link["reused"]),
            (&json!(false), &json!(false))
        );
        assert_ne!(scheme["id"], url_link["id"]);
        assert_eq!(upstream_calls(app, SCHEME_API).await, 1);
        assert_eq!(upstream_calls(app, URL_LINK_API).await, 1);
    }
}
