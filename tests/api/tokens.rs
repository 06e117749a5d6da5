//! The central token: single flight, persistence, compare-and-invalidate, remote mode,
//! retries, and the `/internal` API.

use serde_json::{Value, json};
use wxa_backend::wechat::{WechatError, api};

use crate::helpers::{DbKind, INTERNAL_KEY, TEST_APP_ID, TEST_SECRET, TestApp, envelope};
use crate::on_every_database;

pub async fn internal_token(app: &TestApp, address: &str) -> Value {
    let res = app
        .client
        .get(format!("{address}/internal/access_token?app=default"))
        .bearer_auth(INTERNAL_KEY)
        .send()
        .await
        .unwrap();
    let (status, body) = envelope(res).await;
    assert_eq!(status, 200, "{body}");
    body["data"].clone()
}

async fn refresh(app: &TestApp, stale: &str) -> Value {
    let res = app
        .client
        .post(app.url("/internal/access_token/refresh"))
        .bearer_auth(INTERNAL_KEY)
        .json(&json!({"app": "default", "stale_token": stale}))
        .send()
        .await
        .unwrap();
    let (status, body) = envelope(res).await;
    assert_eq!(status, 200, "{body}");
    body["data"].clone()
}

/// A real mini-program call with the app's token (generatescheme on the simulator).
async fn make_scheme(app: &TestApp) -> Result<String, wxa_backend::error::AppError> {
    app.context
        .mini_program
        .with_token("default", |client, token| async move {
            let answer: Value = client
                .post_json(
                    api::GENERATE_SCHEME,
                    &[("access_token", &*token.value)],
                    &json!({"jump_wxa": {"path": "pages/index/index"}, "expire_type": 1, "expire_interval": 1}),
                )
                .await?;
            Ok::<_, WechatError>(answer["openlink"].as_str().unwrap_or("").to_owned())
        })
        .await
}

on_every_database! {
    async fn a_cold_burst_of_200_requests_makes_exactly_one_token_call(app: &TestApp) {
        let burst = (0..200).map(|_| internal_token(app, &app.address));
        let answers = futures_util::future::join_all(burst).await;
        let first = answers[0]["access_token"].as_str().unwrap().to_owned();
        assert!(answers.iter().all(|a| a["access_token"] == first.as_str()));
        assert!(answers[0]["expires_in"].as_i64().unwrap() > 7000);
        assert_eq!(app.stable_token_calls().await, 1);
    }

    async fn a_restart_reuses_the_stored_token_without_a_call(app: &TestApp) {
        let before = internal_token(app, &app.address).await;
        let (address, context, handle) = app.another_instance(|_| {}).await;
        let after = internal_token(app, &address).await;
        assert_eq!(before["access_token"], after["access_token"]);
        assert_eq!(app.stable_token_calls().await, 1);
        handle.stop(true).await;
        context.db.close().await;
    }

    async fn a_revoked_token_costs_one_extra_call_and_the_request_succeeds(app: &TestApp) {
        let token = internal_token(app, &app.address).await;
        app.sim_post("/__sim/tokens/revoke", json!({"token": token["access_token"]})).await;
        let link = make_scheme(app).await.expect("the call succeeds after one refresh");
        assert!(link.starts_with("weixin://dl/business/?t="), "{link}");
        assert_eq!(app.stable_token_calls().await, 2);
        let calls = &app.sim_counters().await["calls"]["wxa/generatescheme"][TEST_APP_ID];
        assert_eq!(calls.as_u64(), Some(1), "the rejected call counts under no app");
    }

    async fn a_stale_refresh_request_makes_no_call(app: &TestApp) {
        let current = internal_token(app, &app.address).await;
        let answer = refresh(app, "an-old-token-nobody-holds").await;
        assert_eq!(answer["access_token"], current["access_token"]);
        assert_eq!(app.stable_token_calls().await, 1);
    }

    async fn refreshing_the_current_token_replaces_it(app: &TestApp) {
        let current = internal_token(app, &app.address).await;
        let stale = current["access_token"].as_str().unwrap();
        let answer = refresh(app, stale).await;
        assert_ne!(answer["access_token"], current["access_token"]);
        // The normal call returned the same token, so one force refresh replaced it:
        // the first fetch, the normal call, the forced one.
        assert_eq!(app.stable_token_calls().await, 3);
        // A second identical request is now stale: no call.
        let again = refresh(app, stale).await;
        assert_eq!(again["access_token"], answer["access_token"]);
        assert_eq!(app.stable_token_calls().await, 3);
    }

    async fn remote_mode_takes_tokens_from_the_central_instance_only(app: &TestApp) {
        let central = app.address.clone();
        let (address, context, handle) = app
            .another_instance(|s| {
                s.wechat.token_mode = wxa_backend::config::TokenMode::Remote;
                s.wechat.remote_url = central;
                s.wechat.remote_key = INTERNAL_KEY.into();
                s.wechat.mini_program.get_mut("default").unwrap().secret = "".into();
                s.database.url = format!(
                    "sqlite://{}?mode=rwc",
                    std::env::temp_dir().join(format!("wxa-remote-{}.db", uuid::Uuid::new_v4())).display()
                )
                .into();
            })
            .await;
        let from_remote = internal_token(app, &address).await;
        let from_central = internal_token(app, &app.address).await;
        assert_eq!(from_remote["access_token"], from_central["access_token"]);
        let issued = &app.sim_counters().await["tokens_issued"][TEST_APP_ID];
        assert_eq!(issued["stable"].as_u64(), Some(1), "{issued}");
        assert_eq!(issued["classic"].as_u64().unwrap_or(0), 0, "{issued}");
        handle.stop(true).await;
        context.db.close().await;
    }

    async fn busy_answers_are_retried(app: &TestApp) {
        app.sim_post("/__sim/faults", json!({"api": "cgi-bin/stable_token", "busy": 1, "times": 2})).await;
        internal_token(app, &app.address).await;
        let counters = app.sim_counters().await;
        assert_eq!(counters["errors_by_api"]["cgi-bin/stable_token"]["-1"].as_u64(), Some(2), "{counters}");
        assert_eq!(app.stable_token_calls().await, 1);
    }

    async fn single_use_codes_are_never_sent_twice(app: &TestApp) {
        app.sim_post("/__sim/faults", json!({"api": "sns/jscode2session", "busy": 1, "times": 1})).await;
        let minted = app.sim_post("/__sim/login_codes", json!({"appid": TEST_APP_ID, "openid": "o-1"})).await;
        let code = minted["code"].as_str().unwrap();
        let query = [("appid", TEST_APP_ID), ("secret", TEST_SECRET), ("js_code", code), ("grant_type", "authorization_code")];
        let answer: Result<Value, WechatError> =
            app.context.mini_program.client.get_json(api::JSCODE2SESSION, &query).await;
        assert_eq!(answer.unwrap_err().errcode(), Some(-1), "the busy answer is final");
        let calls = &app.sim_counters().await["calls"]["sns/jscode2session"];
        let total: u64 = calls.as_object().unwrap().values().filter_map(Value::as_u64).sum();
        assert_eq!(total, 1, "{calls}");
    }

    async fn the_internal_api_needs_a_key_and_a_known_app(app: &TestApp) {
        let url = app.url("/internal/access_token");
        let (status, _) = envelope(app.client.get(&url).send().await.unwrap()).await;
        assert_eq!(status, 401);
        let (status, _) = envelope(app.client.get(&url).bearer_auth("wrong").send().await.unwrap()).await;
        assert_eq!(status, 401);
        let res = app.client.get(format!("{url}?app=nope")).bearer_auth(INTERNAL_KEY).send().await.unwrap();
        let (status, body) = envelope(res).await;
        assert_eq!((status, body["data"]["field"].as_str()), (400, Some("app")));
        let res = app.client.get(format!("{url}?app=default&appid=wx1")).bearer_auth(INTERNAL_KEY).send().await.unwrap();
        assert_eq!(envelope(res).await.0, 400);
        let res = app.client.post(app.url("/internal/access_token/refresh")).bearer_auth(INTERNAL_KEY).json(&json!({})).send().await.unwrap();
        let (status, body) = envelope(res).await;
        assert_eq!((status, body["data"]["field"].as_str()), (400, Some("stale_token")));
        assert_eq!(app.stable_token_calls().await, 0);
    }
}

/// Two instances on one database and one Redis, each under a key prefix of its own test.
async fn pair_with_redis(test: &str) -> Option<(TestApp, String, String)> {
    let Some(redis_url) = crate::helpers::test_url("TEST_REDIS_URL") else {
        crate::helpers::say_skipped(test, "TEST_REDIS_URL is not set");
        return None;
    };
    let kind = if crate::helpers::test_url("TEST_DATABASE_URL").is_some() {
        DbKind::Postgres
    } else {
        DbKind::Sqlite
    };
    let prefix = format!("wxa-test-{}", uuid::Uuid::new_v4().simple());
    let app = TestApp::spawn_with(kind, test, |s| {
        s.redis.url = redis_url.clone().into();
        s.redis.key_prefix = prefix.clone();
    })
    .await?;
    Some((app, redis_url, prefix))
}

#[tokio::test]
async fn two_instances_sharing_the_database_and_redis_make_one_token_call() {
    let Some((app, _, _)) = pair_with_redis("two_instances_sharing_redis").await else {
        return;
    };
    let (peer, context, handle) = app.another_instance(|_| {}).await;
    let burst = (0..200).map(|i| {
        let address = if i % 2 == 0 {
            app.address.clone()
        } else {
            peer.clone()
        };
        let app = &app;
        async move { internal_token(app, &address).await }
    });
    let answers = futures_util::future::join_all(burst).await;
    assert!(
        answers
            .iter()
            .all(|a| a["access_token"] == answers[0]["access_token"])
    );
    assert_eq!(app.stable_token_calls().await, 1);
    handle.stop(true).await;
    context.db.close().await;
    app.finish().await;
}

#[tokio::test]
async fn a_lock_left_by_a_dead_instance_expires_and_the_token_is_fetched_once() {
    let Some((app, redis_url, prefix)) = pair_with_redis("dead_lock_holder").await else {
        return;
    };
    let client = redis::Client::open(redis_url).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let key = format!("{prefix}:lock:stable:{TEST_APP_ID}");
    let _: () = redis::cmd("SET")
        .arg(&key)
        .arg("a-dead-holder")
        .arg("PX")
        .arg(1500)
        .query_async(&mut conn)
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let token = internal_token(&app, &app.address).await;
    assert!(token["access_token"].is_string());
    let waited = started.elapsed();
    assert!(
        waited >= std::time::Duration::from_millis(1000),
        "waited for the lock: {waited:?}"
    );
    assert!(
        waited < std::time::Duration::from_secs(8),
        "bounded wait: {waited:?}"
    );
    assert_eq!(app.stable_token_calls().await, 1);
    app.finish().await;
}

/// Polls the simulator until `done` holds (at most `secs`), sending nothing to the product.
pub async fn wait_for(app: &TestApp, secs: u64, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        let counters = app.sim_counters().await;
        if done(&counters) || std::time::Instant::now() >= deadline {
            return counters;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// Tokens the simulator issues from now on live `secs` (its `token_lifetime_secs`).
pub async fn token_lifetime(app: &TestApp, secs: i64) {
    let res = app
        .client
        .put(app.sim_url("/__sim/limits"))
        .json(&json!({"token_lifetime_secs": secs}))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.status());
}

#[tokio::test]
async fn a_token_is_refreshed_at_its_due_time_without_traffic() {
    // stable_token rotates only in a token's last 300 s: a 295 s token with the 290 s
    // margin is due 5 s after it is issued.
    let Some(app) = TestApp::spawn_with(DbKind::Sqlite, "refreshed_ahead", |s| {
        s.wechat.refresh_margin_secs = 290;
    })
    .await
    else {
        return;
    };
    token_lifetime(&app, 295).await;
    let first = internal_token(&app, &app.address).await;
    assert_eq!(app.stable_token_calls().await, 1);
    let stable_calls = |c: &Value| c["calls"]["cgi-bin/stable_token"][TEST_APP_ID].as_u64();
    let counters = wait_for(&app, 15, |c| stable_calls(c) == Some(2)).await;
    assert_eq!(stable_calls(&counters), Some(2), "{counters}");
    // Published: callers get the new token with no call of their own.
    let now = internal_token(&app, &app.address).await;
    assert_ne!(now["access_token"], first["access_token"]);
    let stored = app
        .context
        .mini_program
        .tokens
        .stored("default")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(now["access_token"].as_str(), Some(stored.token.as_str()));
    // The next one is due at once too, but refreshes ahead are 30 s apart.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    assert_eq!(app.stable_token_calls().await, 2);
    app.finish().await;
}
