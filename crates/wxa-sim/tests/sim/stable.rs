//! `cgi-bin/stable_token`: normal mode, the last-5-minutes rotation, force refresh (at once,
//! 30 s spacing, daily cap), isolation from `cgi-bin/token`, method and body checks.

use serde_json::{Value, json};

use crate::helpers::{APP_ID, SECRET, assert_errcode, spawn};

fn token(body: &Value) -> String {
    body["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn stable_token_returns_the_same_token_with_its_remaining_lifetime() {
    let sim = spawn().await;
    let first = sim.stable_token(false).await;
    assert_eq!(first["expires_in"], 7200);
    assert!(first.get("errcode").is_none());
    sim.advance(1_000).await;
    let again = sim.stable_token(false).await;
    assert_eq!(token(&again), token(&first));
    let left = again["expires_in"].as_i64().unwrap();
    assert!((6_190..=6_200).contains(&left), "{left}");
    sim.stop().await;
}

#[tokio::test]
async fn stable_token_rotates_in_the_last_five_minutes_and_the_old_one_lasts_until_expiry() {
    let sim = spawn().await;
    let old = token(&sim.stable_token(false).await);
    sim.advance(6_950).await;
    let new = sim.stable_token(false).await;
    assert_ne!(token(&new), old);
    assert_eq!(new["expires_in"], 7200);
    assert_eq!(sim.token_errcode(&old).await, 0);
    sim.advance(251).await;
    assert_eq!(sim.token_errcode(&old).await, 42001);
    assert_eq!(sim.token_errcode(&token(&new)).await, 0);
    sim.stop().await;
}

#[tokio::test]
async fn force_refresh_stops_the_previous_stable_token_at_once() {
    let sim = spawn().await;
    let old = token(&sim.stable_token(false).await);
    let forced = token(&sim.stable_token(true).await);
    assert_ne!(forced, old);
    assert_eq!(sim.token_errcode(&old).await, 40001);
    assert_eq!(sim.token_errcode(&forced).await, 0);
    sim.stop().await;
}

#[tokio::test]
async fn a_second_force_refresh_within_30_seconds_returns_the_current_token_unchanged() {
    let sim = spawn().await;
    let first = token(&sim.stable_token(true).await);
    sim.advance(20).await;
    let second = token(&sim.stable_token(true).await);
    assert_eq!(second, first);
    assert_eq!(sim.token_errcode(&first).await, 0);
    sim.advance(11).await;
    let third = token(&sim.stable_token(true).await);
    assert_ne!(third, first);
    sim.stop().await;
}

#[tokio::test]
async fn force_refreshes_over_the_daily_cap_get_45009() {
    let sim = spawn().await;
    sim.set_limits(json!({"stable_force_daily": 2})).await;
    sim.stable_token(true).await;
    sim.advance(31).await;
    sim.stable_token(true).await;
    sim.advance(31).await;
    assert_errcode(&sim.stable_token(true).await, 45009);
    // Normal mode still works.
    assert!(sim.stable_token(false).await["access_token"].is_string());
    sim.stop().await;
}

#[tokio::test]
async fn classic_and_stable_tokens_do_not_affect_each_other() {
    let sim = spawn().await;
    let stable = token(&sim.stable_token(false).await);
    let classic = sim.classic_token().await;
    sim.classic_token().await;
    sim.advance(301).await;
    assert_eq!(sim.token_errcode(&stable).await, 0);
    assert_eq!(sim.token_errcode(&classic).await, 40001);
    let fresh_classic = sim.classic_token().await;
    sim.stable_token(true).await;
    assert_eq!(sim.token_errcode(&fresh_classic).await, 0);
    sim.stop().await;
}

#[tokio::test]
async fn stable_token_takes_only_post_with_a_json_body() {
    let sim = spawn().await;
    assert_errcode(&sim.get_json("/cgi-bin/stable_token").await, 43002);
    let not_json = sim
        .http
        .post(sim.url("/cgi-bin/stable_token"))
        .body("appid=x")
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_errcode(&not_json, 47001);
    let empty = sim
        .http
        .post(sim.url("/cgi-bin/stable_token"))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_errcode(&empty, 44002);
    let cases = [
        (
            json!({"grant_type": "client_credential", "secret": SECRET}),
            41002,
        ),
        (
            json!({"grant_type": "x", "appid": APP_ID, "secret": SECRET}),
            40002,
        ),
        (
            json!({"grant_type": "client_credential", "appid": APP_ID}),
            41004,
        ),
        (
            json!({"grant_type": "client_credential", "appid": APP_ID, "secret": "no"}),
            40125,
        ),
        (
            json!({"grant_type": "client_credential", "appid": "wxnobody", "secret": "no"}),
            40013,
        ),
    ];
    for (body, code) in cases {
        assert_errcode(&sim.post_json("/cgi-bin/stable_token", &body).await, code);
    }
    sim.stop().await;
}

#[tokio::test]
async fn stable_token_calls_over_the_minute_limit_get_45011() {
    let sim = spawn().await;
    sim.set_limits(json!({"stable_per_minute": 2})).await;
    sim.stable_token(false).await;
    sim.stable_token(false).await;
    assert_errcode(&sim.stable_token(false).await, 45011);
    sim.advance(60).await;
    assert!(sim.stable_token(false).await["access_token"].is_string());
    sim.stop().await;
}
