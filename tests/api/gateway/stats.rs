//! `/admin/stats` (key `gateway`) and `/metrics` count calls per client, API and errcode,
//! with labels from bounded sets whatever a caller sends.

use serde_json::{Value, json};

use super::*;
use crate::chromium;
use crate::helpers::{TEST_APP_ID, envelope};
use crate::on_every_database;

fn row<'a>(calls: &'a [Value], client: &str, api: &str, errcode: &str) -> Option<&'a Value> {
    calls
        .iter()
        .find(|r| r["client"] == client && r["api"] == api && r["errcode"] == errcode)
}

on_every_database! {
    spawn = super::spawn_gateway;

    async fn admin_stats_and_metrics_count_calls_per_client_api_and_errcode(app: &TestApp) {
        let php = stand_in(app, PHP_KEY).await;
        assert_eq!(scheme_through(app, &php).await["errcode"], 0);
        assert_eq!(scheme_through(app, &php).await["errcode"], 0);
        let reader = stand_in(app, READER_KEY).await;
        // Paths and tokens an attacker makes up never become labels.
        let invented = "wxa/invented-path-7f3a9c";
        assert_errcode(&wx(post(app, invented, &reader, json!({})).await).await, 48001);
        assert_errcode(&wx(post(app, "cgi-bin/evil-4b1d", "gw1_made-up-token", json!({})).await).await, 40001);
        assert_errcode(&token_answer(app, TEST_APP_ID, "wrong-key-0e2c").await, 40125);

        let res = app.client.get(app.url("/admin/stats")).bearer_auth(ADMIN_TOKEN).send().await.unwrap();
        let (status, body) = envelope(res).await;
        assert_eq!(status, 200, "{body}");
        let gateway = &body["data"]["gateway"];
        assert_eq!(gateway["enabled"], true);
        assert_eq!(gateway["token_ttl_secs"], 7200);
        let clients = gateway["clients"].as_array().unwrap();
        let php_view = clients.iter().find(|c| c["name"] == "php").unwrap();
        assert_eq!(php_view["apps"], json!(["default"]));
        assert_eq!((php_view["calls"].as_u64(), php_view["errors"].as_u64()), (Some(3), Some(0)));
        assert!(php_view["last_call_at"].as_i64().unwrap() > 1_700_000_000);
        assert!(!body.to_string().contains(PHP_KEY), "keys never shown");

        let calls = gateway["calls"].as_array().unwrap();
        assert_eq!(row(calls, "php", "wxa/*", "0").unwrap()["calls"], 2);
        assert_eq!(row(calls, "php", "cgi-bin/token", "0").unwrap()["calls"], 1);
        assert_eq!(row(calls, "reader", "denied", "48001").unwrap()["calls"], 1);
        assert_eq!(row(calls, "unknown", "other", "40001").unwrap()["calls"], 1);
        assert_eq!(row(calls, "unknown", "cgi-bin/token", "40125").unwrap()["calls"], 1);

        let metrics = app.get("/metrics").await.text().await.unwrap();
        assert!(
            metrics.contains(r#"wxa_gateway_calls_total{client="php",api="wxa/*",errcode="0"} 2"#),
            "{metrics}"
        );
        assert!(metrics.contains(r#"wxa_gateway_calls_total{client="reader",api="denied",errcode="48001"} 1"#));
        assert!(metrics.contains(r#"wxa_upstream_calls_total{api="gateway",errcode="0"} 2"#), "{metrics}");
        for made_up in ["invented-path-7f3a9c", "evil-4b1d", "made-up-token", "wrong-key-0e2c"] {
            assert!(!metrics.contains(made_up), "{made_up} became a label");
        }
    }

    async fn the_admin_page_shows_the_gateways_clients_and_calls(app: &TestApp) {
        let Some(browser) = chromium::find(module_path!()) else {
            return;
        };
        let php = stand_in(app, PHP_KEY).await;
        assert_eq!(scheme_through(app, &php).await["errcode"], 0);
        let reader = stand_in(app, READER_KEY).await;
        assert_errcode(&wx(post(app, "wxa/getwxacode", &reader, json!({})).await).await, 48001);

        let page = app.url(&format!("/admin/#token={ADMIN_TOKEN}&tab=gateway"));
        let dom = chromium::run(&browser, &page, &["--dump-dom"]).await;
        assert!(dom.contains("data-state=\"ready\""), "{dom}");
        assert!(dom.contains("网关已启用"), "{dom}");
        for text in ["<strong>php</strong>", "<strong>reader</strong>", "wxa/queryscheme", "<td>wxa/*</td>", "<td>denied</td>", "48001"] {
            assert!(dom.contains(text), "{text} missing: {dom}");
        }
        assert!(!dom.contains(PHP_KEY) && !dom.contains(ADMIN_TOKEN));
        let shot = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("admin-gateway.png");
        chromium::run(&browser, &page, &[format!("--screenshot={}", shot.display()), "--window-size=1366,900".to_owned()]).await;
        assert!(std::fs::read(&shot).unwrap().starts_with(b"\x89PNG"));
    }
}
