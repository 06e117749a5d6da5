//! Component and authorizer tokens across instances sharing one database and one Redis
//! (README "Running several instances"): fetched once per cluster under a burst, and a
//! ticket received by one instance used by all.

use serde_json::{Value, json};

use super::*;
use crate::helpers::{DbKind, envelope, say_skipped, test_url};

async fn spawn_pair(test: &str) -> Option<(TestApp, String, actix_web::dev::ServerHandle)> {
    let Some(redis_url) = test_url("TEST_REDIS_URL") else {
        say_skipped(test, "TEST_REDIS_URL is not set");
        return None;
    };
    let prefix = format!("wxa-test-{}", uuid::Uuid::new_v4().simple());
    // PostgreSQL when there is one, as a cluster has; SQLite shares a file just as well.
    let kind = if test_url("TEST_DATABASE_URL").is_some() {
        DbKind::Postgres
    } else {
        DbKind::Sqlite
    };
    let app = spawn_open(kind, test, |s| {
        s.redis.url = redis_url.into();
        s.redis.key_prefix = prefix;
    })
    .await?;
    let (peer, _context, handle) = app.another_instance(|_| {}).await;
    Some((app, peer, handle))
}

fn issued(counters: &Value, appid: &str, kind: &str) -> u64 {
    counters["tokens_issued"][appid][kind].as_u64().unwrap_or(0)
}

#[tokio::test]
async fn a_cold_burst_on_two_instances_fetches_each_open_platform_token_once() {
    let test = "open_platform::cluster::a_cold_burst_on_two_instances_fetches_each_open_platform_token_once";
    let Some((app, peer, handle)) = spawn_pair(test).await else {
        return;
    };
    // The ticket reaches one instance; the other uses it.
    push_ticket(&app).await;
    let urls = [app.url("/open/authorize"), format!("{peer}/open/authorize")];
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let burst =
        futures_util::future::join_all((0..20).map(|i| client.get(&urls[i % 2]).send())).await;
    for res in burst {
        assert_eq!(res.unwrap().status(), 302);
    }
    let counters = app.sim_counters().await;
    assert_eq!(
        issued(&counters, COMPONENT_APPID, "component"),
        1,
        "{counters}"
    );

    // A merchant authorizes on one instance; its token, revoked at WeChat, is refreshed
    // once for both.
    authorize_at(&app, &peer, MERCHANT).await;
    let before = issued(&app.sim_counters().await, MERCHANT, "authorizer");
    app.sim_post(
        "/__sim/tokens/revoke",
        json!({"appid": MERCHANT, "kind": "authorizer"}),
    )
    .await;
    let bases = [app.address.clone(), peer.clone()];
    let burst = futures_util::future::join_all((0..20).map(|i| {
        let url = format!("{}/api/scheme_code", bases[i % 2]);
        let client = app.client.clone();
        async move {
            let res = client
                .post(url)
                .json(&json!({"appid": MERCHANT, "path": "pages/index/index", "query": format!("n={i}")}))
                .send()
                .await
                .unwrap();
            envelope(res).await
        }
    }))
    .await;
    for (status, body) in &burst {
        assert_eq!(*status, 200, "{body}");
    }
    let counters = app.sim_counters().await;
    assert_eq!(
        issued(&counters, MERCHANT, "authorizer"),
        before + 1,
        "{counters}"
    );
    handle.stop(true).await;
    app.finish().await;
}
