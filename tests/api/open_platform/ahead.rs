//! The Open Platform's tokens in the one token subsystem: refreshed ahead at their due
//! time without traffic, fetched once per kind by a cold cluster, and no token cell for
//! an appid that is not authorized.

use serde_json::{Value, json};

use super::*;
use crate::helpers::{DbKind, TEST_APP_ID, TestApp, envelope, say_skipped, test_url};
use crate::tokens::{internal_token, token_lifetime, wait_for};

fn issued(counters: &Value, appid: &str, kind: &str) -> u64 {
    counters["tokens_issued"][appid][kind].as_u64().unwrap_or(0)
}

/// An instance with `margin` whose simulator issues 295 s tokens, and the merchant
/// authorized. A 290 s margin makes such a token due 5 s after it is issued.
async fn merchant_with_short_tokens(test: &str, margin: u64) -> Option<TestApp> {
    let app = spawn_open(DbKind::Sqlite, test, |s| {
        s.wechat.refresh_margin_secs = margin;
    })
    .await?;
    token_lifetime(&app, 295).await;
    push_ticket(&app).await;
    authorize_at(&app, &app.address, MERCHANT).await;
    Some(app)
}

#[tokio::test]
async fn component_and_authorizer_tokens_are_refreshed_at_their_due_time() {
    let test = "open_platform::ahead::refreshed_at_their_due_time";
    let Some(app) = merchant_with_short_tokens(test, 290).await else {
        return;
    };
    let op = &app.context.open_platform;
    let component = op.component_token().await.unwrap();
    let merchant = op.authorizer_token(MERCHANT).await.unwrap();
    let counters = app.sim_counters().await;
    let (components, authorizers) = (
        issued(&counters, COMPONENT_APPID, "component"),
        issued(&counters, MERCHANT, "authorizer"),
    );
    assert_eq!(components, 1, "{counters}");
    let counters = wait_for(&app, 15, |c| {
        issued(c, COMPONENT_APPID, "component") == components + 1
            && issued(c, MERCHANT, "authorizer") == authorizers + 1
    })
    .await;
    assert_eq!(
        issued(&counters, COMPONENT_APPID, "component"),
        components + 1,
        "{counters}"
    );
    assert_eq!(
        issued(&counters, MERCHANT, "authorizer"),
        authorizers + 1,
        "{counters}"
    );
    // Callers now get the new tokens without a call of their own.
    assert_ne!(op.component_token().await.unwrap().value, component.value);
    assert_ne!(
        op.authorizer_token(MERCHANT).await.unwrap().value,
        merchant.value
    );
    let after = app.sim_counters().await;
    assert_eq!(issued(&after, COMPONENT_APPID, "component"), components + 1);
    assert_eq!(issued(&after, MERCHANT, "authorizer"), authorizers + 1);
    app.finish().await;
}

#[tokio::test]
async fn a_started_instance_refreshes_stored_authorizer_tokens_without_traffic() {
    let test = "open_platform::ahead::armed_at_start";
    // This instance would refresh only at expiry; the one started below, with a 290 s
    // margin, finds the 295 s token due 5 s after it was issued.
    let Some(app) = merchant_with_short_tokens(test, 0).await else {
        return;
    };
    app.context
        .open_platform
        .authorizer_token(MERCHANT)
        .await
        .unwrap();
    let before = issued(&app.sim_counters().await, MERCHANT, "authorizer");
    let (_, started, handle) = app
        .another_instance(|s| s.wechat.refresh_margin_secs = 290)
        .await;
    // No request reaches the new instance: its start alone arms the authorizer's timer.
    let counters = wait_for(&app, 15, |c| {
        issued(c, MERCHANT, "authorizer") == before + 1
    })
    .await;
    assert_eq!(
        issued(&counters, MERCHANT, "authorizer"),
        before + 1,
        "{counters}"
    );
    assert_eq!(started.open_platform.authorizer_cells(), 1);
    handle.stop(true).await;
    app.finish().await;
}

#[tokio::test]
async fn a_cold_burst_on_two_instances_makes_one_token_call_per_kind() {
    let test = "open_platform::ahead::a_cold_burst_on_two_instances";
    let Some(redis_url) = test_url("TEST_REDIS_URL") else {
        say_skipped(test, "TEST_REDIS_URL is not set");
        return;
    };
    let prefix = format!("wxa-test-{}", uuid::Uuid::new_v4().simple());
    let kind = if test_url("TEST_DATABASE_URL").is_some() {
        DbKind::Postgres
    } else {
        DbKind::Sqlite
    };
    let Some(app) = spawn_open(kind, test, |s| {
        s.redis.url = redis_url.clone().into();
        s.redis.key_prefix.clone_from(&prefix);
    })
    .await
    else {
        return;
    };
    // The merchant authorized long ago: its token is gone from every copy, so the two
    // fresh instances below start cold on all three kinds.
    push_ticket(&app).await;
    authorize_at(&app, &app.address, MERCHANT).await;
    let key = format!("{prefix}:token:");
    let client = redis::Client::open(redis_url).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    for k in [
        format!("{key}component:{COMPONENT_APPID}"),
        format!("{key}authorizer:{MERCHANT}"),
    ] {
        let _: i64 = redis::cmd("DEL")
            .arg(k)
            .query_async(&mut conn)
            .await
            .unwrap();
    }
    for (appid, kind) in [(COMPONENT_APPID, "component"), (MERCHANT, "authorizer")] {
        store::delete_token(&app.context.db, appid, kind)
            .await
            .unwrap();
    }
    let before = app.sim_counters().await;
    let (b, _, b_handle) = app.another_instance(|_| {}).await;
    let (c, _, c_handle) = app.another_instance(|_| {}).await;
    let bases = [b, c];
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let burst = (0..30).map(|i| {
        let base = bases[i % 2].clone();
        let (app, no_redirects) = (&app, &no_redirects);
        async move {
            match i % 3 {
                0 => {
                    internal_token(app, &base).await;
                }
                1 => {
                    let res = no_redirects.get(format!("{base}/open/authorize")).send().await.unwrap();
                    assert_eq!(res.status(), 302);
                }
                _ => {
                    let res = app
                        .client
                        .post(format!("{base}/api/scheme_code"))
                        .json(&json!({"appid": MERCHANT, "path": "pages/index/index", "query": format!("n={i}")}))
                        .send()
                        .await
                        .unwrap();
                    let (status, body) = envelope(res).await;
                    assert_eq!(status, 200, "{body}");
                }
            }
        }
    });
    futures_util::future::join_all(burst).await;
    let after = app.sim_counters().await;
    let stable = |c: &Value| {
        c["calls"]["cgi-bin/stable_token"][TEST_APP_ID]
            .as_u64()
            .unwrap_or(0)
    };
    assert_eq!(stable(&after) - stable(&before), 1, "{after}");
    for (appid, kind) in [(COMPONENT_APPID, "component"), (MERCHANT, "authorizer")] {
        assert_eq!(
            issued(&after, appid, kind) - issued(&before, appid, kind),
            1,
            "{kind}: {after}"
        );
    }
    b_handle.stop(true).await;
    c_handle.stop(true).await;
    app.finish().await;
}

#[tokio::test]
async fn an_appid_that_is_not_authorized_makes_no_token_cell() {
    let Some(app) = spawn_open(DbKind::Sqlite, "open_platform::ahead::no_cell", |_| {}).await
    else {
        return;
    };
    push_ticket(&app).await;
    for i in 0..20 {
        let res = app
            .client
            .post(app.url("/api/scheme_code"))
            .json(&json!({"appid": format!("wx{i:016}"), "path": "pages/index/index"}))
            .send()
            .await
            .unwrap();
        let (status, body) = envelope(res).await;
        assert_eq!(
            (status, body["data"]["field"].as_str()),
            (400, Some("appid")),
            "{body}"
        );
    }
    let op = &app.context.open_platform;
    assert_eq!(
        op.authorizer_token("wx0000000000000099")
            .await
            .unwrap_err()
            .code(),
        400
    );
    assert_eq!(op.authorizer_cells(), 0);
    authorize_at(&app, &app.address, MERCHANT).await;
    assert_eq!(op.authorizer_cells(), 1);
    app.finish().await;
}
