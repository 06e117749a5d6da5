//! `cgi-bin/token`: lifetime, the 5-minute overlap, parameter checks, the daily cap.

use serde_json::{Value, json};

use crate::helpers::{APP_ID, COMPONENT_APP_ID, SECRET, assert_errcode, spawn};

#[tokio::test]
async fn a_classic_token_is_issued_for_7200_seconds_without_an_errcode() {
    let sim = spawn().await;
    let resp = sim
        .get(&format!(
            "/cgi-bin/token?grant_type=client_credential&appid={APP_ID}&secret={SECRET}"
        ))
        .await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["expires_in"], 7200);
    assert!(body["access_token"].as_str().unwrap().len() >= 64);
    assert!(body.get("errcode").is_none());
    sim.stop().await;
}

#[tokio::test]
async fn a_refreshed_classic_token_keeps_working_for_five_minutes_then_gets_40001() {
    let sim = spawn().await;
    let old = sim.classic_token().await;
    let new = sim.classic_token().await;
    assert_ne!(old, new);
    assert_eq!(sim.token_errcode(&old).await, 0);
    sim.advance(290).await;
    assert_eq!(sim.token_errcode(&old).await, 0);
    sim.advance(11).await;
    assert_eq!(sim.token_errcode(&old).await, 40001);
    assert_eq!(sim.token_errcode(&new).await, 0);
    sim.stop().await;
}

#[tokio::test]
async fn a_classic_token_expires_after_two_hours_with_42001() {
    let sim = spawn().await;
    let token = sim.classic_token().await;
    sim.advance(7_190).await;
    assert_eq!(sim.token_errcode(&token).await, 0);
    sim.advance(11).await;
    assert_eq!(sim.token_errcode(&token).await, 42001);
    sim.stop().await;
}

#[tokio::test]
async fn token_parameters_are_checked_with_their_errcodes() {
    let sim = spawn().await;
    let cases = [
        (
            format!("grant_type=password&appid={APP_ID}&secret={SECRET}"),
            40002,
        ),
        (format!("appid={APP_ID}&secret={SECRET}"), 40002),
        (
            format!("grant_type=client_credential&secret={SECRET}"),
            41002,
        ),
        (
            format!("grant_type=client_credential&appid={APP_ID}"),
            41004,
        ),
        (
            format!("grant_type=client_credential&appid=wxnobody&secret={SECRET}"),
            40013,
        ),
        (
            format!("grant_type=client_credential&appid={APP_ID}&secret=wrong"),
            40125,
        ),
        (
            format!("grant_type=client_credential&appid={COMPONENT_APP_ID}&secret=x"),
            61024,
        ),
    ];
    for (query, code) in cases {
        let body = sim.get_json(&format!("/cgi-bin/token?{query}")).await;
        assert_errcode(&body, code);
    }
    let post = sim.post_json("/cgi-bin/token", &json!({})).await;
    assert_errcode(&post, 43001);
    sim.stop().await;
}

#[tokio::test]
async fn errors_are_http_200_json_with_wechats_content_type_and_a_rid() {
    let sim = spawn().await;
    let resp = sim.get("/cgi-bin/token?grant_type=x").await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["content-type"],
        "application/json; encoding=utf-8"
    );
    let body: Value = resp.json().await.unwrap();
    assert_errcode(&body, 40002);
    assert!(
        body["errmsg"]
            .as_str()
            .unwrap()
            .starts_with("invalid grant_type rid: ")
    );
    sim.stop().await;
}

#[tokio::test]
async fn missing_unknown_and_malformed_tokens_get_41001_40001_and_40014() {
    let sim = spawn().await;
    let missing = sim
        .post_json("/wxa/queryscheme", &json!({"scheme": "x"}))
        .await;
    assert_errcode(&missing, 41001);
    assert_eq!(sim.token_errcode(&"A".repeat(128)).await, 40001);
    assert_eq!(sim.token_errcode("not%20a%20token").await, 40014);
    sim.stop().await;
}

#[tokio::test]
async fn the_daily_token_cap_answers_45009_until_the_next_day() {
    let sim = spawn().await;
    sim.set_limits(json!({"token_daily": 2})).await;
    sim.classic_token().await;
    sim.classic_token().await;
    let body = sim
        .get_json(&format!(
            "/cgi-bin/token?grant_type=client_credential&appid={APP_ID}&secret={SECRET}"
        ))
        .await;
    assert_errcode(&body, 45009);
    sim.advance(86_400).await;
    assert!(!sim.classic_token().await.is_empty());
    sim.stop().await;
}
